/**
 * What the supervisor opens in front of its workers: the balancer (the
 * Extended ORPort front, and in BalancerMode proxy the ORPorts too), and
 * the environment files of external transports that connect to it.
 */
import { type Balancer, balancerSettingsFromConfig, startBalancer } from '@relayd/balancer';
import type { Clock, Logger, Random } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import { systemErrorCode } from '@relayd/net';
import { externalTransportEnvironmentFiles, type ServerTransportEndpoints } from '@relayd/transports';
import type { ListenTarget } from '@relayd/worker';
import { writeDataFile } from './data-files.js';
import type { WorkerSet } from './worker-launcher.js';

const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

/**
 * Writes `DataDirectory/pt-<name>.env` for every external (`proxy`)
 * transport: the TOR_PT_* environment of its sibling process
 * (relayd-pt@<name>.service reads it), for the ExtORPort, cookie file and
 * ORPort of this run. Written before the ready notification, so a sibling
 * started after relayd reads this run's values.
 */
export function writeExternalTransportEnvironments(
  config: RelaydConfig,
  endpoints: ServerTransportEndpoints,
  logger: Logger,
): void {
  for (const file of externalTransportEnvironmentFiles(config, endpoints)) {
    if (writeDataFile(config.dataDirectory, file.fileName, file.text)) {
      logger.notice(
        { transports: file.transports, file: file.fileName },
        `wrote the environment of external transport ${file.transports.join(',')} to ${file.fileName}`,
      );
    }
  }
}

/** An address a local process can connect to for a listener bound to `host` (a wildcard means loopback). */
export function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/**
 * Starts the balancer when there is something for it to do: an Extended
 * ORPort (for the transports), or BalancerMode proxy (then it also listens
 * on the ORPorts, `orPortTargets`, falling back to IPv4 where the host has
 * no IPv6, as the workers' own listeners do). Resolves with the balancer,
 * or undefined in handoff mode without an Extended ORPort.
 */
export async function startFront(
  config: RelaydConfig,
  workers: WorkerSet,
  orPortTargets: readonly ListenTarget[],
  services: { readonly logger: Logger; readonly clock: Clock; readonly random: Random },
): Promise<Balancer | undefined> {
  const settings = balancerSettingsFromConfig(config);
  const proxyMode = settings.mode === 'proxy';
  if (!proxyMode && settings.extOrPorts.length === 0) return undefined;
  const open = (fallback: boolean) =>
    startBalancer(
      {
        ...settings,
        orPorts: proxyMode
          ? orPortTargets.map((t) => ({
              host: fallback && t.ipv4Fallback ? t.ipv4Fallback : t.host,
              port: t.port,
            }))
          : [],
      },
      { handoffTarget: workers.handoff, ...services },
    );
  try {
    return await open(false);
  } catch (error) {
    const code = systemErrorCode(error) ?? '';
    if (proxyMode && orPortTargets.some((t) => t.ipv4Fallback) && NO_IPV6.has(code)) return await open(true);
    throw error;
  }
}
