/**
 * What a configuration reload (SIGHUP) can change in a running relayd, and
 * how. Pure: the old and the new RelaydConfig in, the plan out.
 *
 *   live     applied at once: the logs (Log, SafeLogging), what goes into
 *            the descriptor (BandwidthRate and its relatives, ContactInfo,
 *            BridgeDistribution: a new descriptor is built and published),
 *            the number of workers (Workers: started or drained), and the
 *            onion-key policy (OnionKeyRotation);
 *   workers  read by the workers when they start (ExtendAllowPrivateAddresses,
 *            ThrottleAlgorithm): applied by restarting the worker processes
 *            one at a time, with no connection refused meanwhile;
 *   restart  everything else (ORPort, Address, DataDirectory, Nickname, the
 *            directory authorities, OutboundBindAddress, the Extended ORPort
 *            and transports, BalancerMode, ControlSocket, MetricsPort, …):
 *            kept at its old value until relayd is restarted, and named in
 *            the log. A field this table does not know is "restart": the
 *            safe answer for an option added later.
 */
import type { RelaydConfig } from '@relayd/config';

export type ReloadDisposition = 'live' | 'workers' | 'restart';

type ConfigField = keyof RelaydConfig;

const LIVE: readonly ConfigField[] = [
  'logs',
  'safeLogging',
  'bandwidth',
  'contactInfo',
  'bridgeDistribution',
  'workers',
  'workersAuto',
  'onionKeyRotation',
  'files',
];
const WORKERS: readonly ConfigField[] = ['extendAllowPrivateAddresses', 'throttleAlgorithm'];

export function reloadDisposition(field: string): ReloadDisposition {
  if ((LIVE as readonly string[]).includes(field)) return 'live';
  if ((WORKERS as readonly string[]).includes(field)) return 'workers';
  return 'restart';
}

export interface ReloadPlan {
  /** Fields whose value changed, by disposition. */
  readonly live: readonly ConfigField[];
  readonly workers: readonly ConfigField[];
  readonly restart: readonly ConfigField[];
  /** The configuration to run with: the new values of live and worker fields, the old ones of the rest. */
  readonly effective: RelaydConfig;
}

/** Structural equality of plain configuration values (no cycles, no class instances). */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every(
    (k) =>
      Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

export function planReload(current: RelaydConfig, next: RelaydConfig): ReloadPlan {
  const fields = new Set([...Object.keys(current), ...Object.keys(next)]) as Set<ConfigField>;
  const live: ConfigField[] = [];
  const workers: ConfigField[] = [];
  const restart: ConfigField[] = [];
  const effective: Record<string, unknown> = { ...current };
  for (const field of fields) {
    if (sameValue(current[field], next[field])) continue;
    const disposition = reloadDisposition(field);
    if (disposition === 'restart') {
      restart.push(field);
      continue;
    }
    (disposition === 'live' ? live : workers).push(field);
    effective[field] = next[field];
  }
  return { live, workers, restart, effective: effective as unknown as RelaydConfig };
}
