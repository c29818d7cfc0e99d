/**
 * What a load run does, with a documented default, minimum and maximum for
 * every number. `resolveLoadOptions` fills in defaults and refuses anything
 * out of range or inconsistent with a BAD_OPTION LoadgenError, so a bench
 * runner gets the same checks as the command line.
 */
import { RELAY_DATA_MAX_LENGTH } from '@relayd/cells';
import type { CreateHandshake, ExtendHandshake } from './client/hop-handshake.js';
import type { UploadCells } from './client/transfer.js';
import { LoadgenError } from './errors.js';
import type { BridgeTarget, NextHop } from './target.js';

export interface LoadOptions {
  /** The bridge under load. */
  readonly target: BridgeTarget;
  /**
   * Where circuits are extended to (the sink). Without it circuits stop at
   * the bridge (one hop) and carry no data: only creation is measured.
   */
  readonly nextHop: NextHop | undefined;
  /** Link connections (TLS + link handshake) to the bridge. Default 1, 1..100000. */
  readonly connections: number;
  /** Circuits in flight on each connection at once. Default 1, 1..10000. */
  readonly circuitsPerConnection: number;
  /**
   * New circuits per second over all connections; 0 launches a circuit as
   * soon as a slot is free. Default 0, at most 1000000.
   */
  readonly circuitRate: number;
  /** The first hop's handshake: CREATE2 ntor, CREATE2 ntor v3, or CREATE_FAST. Default ntor. */
  readonly handshake: CreateHandshake;
  /** The handshake inside EXTEND2 to the next hop. Default ntor. */
  readonly extendHandshake: ExtendHandshake;
  /** Bytes each circuit downloads from the sink (backward). Default 0, at most 256 MiB. */
  readonly downloadBytes: number;
  /** Bytes each circuit sends to the sink (forward). Default 0, at most 2^40. */
  readonly uploadBytes: number;
  /** Forward bytes travel in DATA cells under flow control, or in DROP cells. Default data. */
  readonly uploadCells: UploadCells;
  /** How long circuits are launched for (ms). Default 10 s, 100 ms..1 day. */
  readonly durationMs: number;
  /** The first part of the duration that is run but not measured (ms). Default 0, less than the duration. */
  readonly warmupMs: number;
  /** Stop launching after this many circuits (0: no limit, the duration decides). Default 0. */
  readonly maxCircuits: number;
  /** After the duration, how long circuits still running may finish (ms). Default 10 s, 0..10 min. */
  readonly drainTimeoutMs: number;
  /** TCP + TLS per connection (ms). Default 10 s. */
  readonly connectTimeoutMs: number;
  /** Link handshakes opened at once while connecting. Default 64, 1..10000. */
  readonly connectConcurrency: number;
  /** From launch until every hop answered (ms). Default 30 s (C tor's longest build timeout is 60 s). */
  readonly buildTimeoutMs: number;
  /** An open circuit that neither sends nor receives for this long fails (ms). Default 30 s. */
  readonly stallTimeoutMs: number;
  /** Sample this process's CPU and memory from /proc while the run lasts (the bridge's PID). */
  readonly bridgePid: number | undefined;
  /** How often /proc is sampled (ms). Default 1 s, 50 ms..1 min. */
  readonly sampleIntervalMs: number;
  /** Local addresses to open connections from, round robin (e.g. several 127.x). Default: the system's choice. */
  readonly sourceAddresses: readonly string[];
  /** How often `onProgress` is called (ms); 0 never. Default 1 s. */
  readonly progressIntervalMs: number;
}

export type LoadOptionsInput = Partial<Omit<LoadOptions, 'target'>> & { readonly target: BridgeTarget };

export const defaultLoadOptions: Omit<LoadOptions, 'target' | 'nextHop' | 'bridgePid'> = {
  connections: 1,
  circuitsPerConnection: 1,
  circuitRate: 0,
  handshake: 'ntor',
  extendHandshake: 'ntor',
  downloadBytes: 0,
  uploadBytes: 0,
  uploadCells: 'data',
  durationMs: 10_000,
  warmupMs: 0,
  maxCircuits: 0,
  drainTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  connectConcurrency: 64,
  buildTimeoutMs: 30_000,
  stallTimeoutMs: 30_000,
  sampleIntervalMs: 1_000,
  sourceAddresses: [],
  progressIntervalMs: 1_000,
};

const DAY_MS = 86_400_000;

/** [minimum, maximum] of each numeric option. */
const RANGES: Record<string, readonly [number, number]> = {
  connections: [1, 100_000],
  circuitsPerConnection: [1, 10_000],
  circuitRate: [0, 1_000_000],
  downloadBytes: [0, 256 * 1024 * 1024],
  uploadBytes: [0, 2 ** 40],
  durationMs: [100, DAY_MS],
  warmupMs: [0, DAY_MS],
  maxCircuits: [0, 1e12],
  drainTimeoutMs: [0, 600_000],
  connectTimeoutMs: [100, 600_000],
  connectConcurrency: [1, 10_000],
  buildTimeoutMs: [100, 600_000],
  stallTimeoutMs: [100, 600_000],
  bridgePid: [1, 2 ** 31],
  sampleIntervalMs: [50, 60_000],
  progressIntervalMs: [0, DAY_MS],
};

function bad(message: string): LoadgenError {
  return new LoadgenError('BAD_OPTION', message);
}

export function resolveLoadOptions(input: LoadOptionsInput): LoadOptions {
  const options: LoadOptions = {
    ...defaultLoadOptions,
    nextHop: undefined,
    bridgePid: undefined,
    ...stripUndefined(input),
  };
  for (const [name, [min, max]] of Object.entries(RANGES)) {
    const value = (options as unknown as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw bad(`${name} must be a number in ${min}..${max}, not ${String(value)}`);
    }
    if (name !== 'circuitRate' && !Number.isInteger(value))
      throw bad(`${name} must be an integer, not ${value}`);
  }
  if (!['ntor', 'ntor-v3', 'fast'].includes(options.handshake)) {
    throw bad(`handshake must be ntor, ntor-v3 or fast, not ${String(options.handshake)}`);
  }
  if (!['ntor', 'ntor-v3'].includes(options.extendHandshake)) {
    throw bad(`extendHandshake must be ntor or ntor-v3, not ${String(options.extendHandshake)}`);
  }
  if (options.uploadCells !== 'data' && options.uploadCells !== 'drop') {
    throw bad(`uploadCells must be data or drop, not ${String(options.uploadCells)}`);
  }
  if (options.warmupMs >= options.durationMs) {
    throw bad(
      `the warm-up (${options.warmupMs} ms) must be shorter than the duration (${options.durationMs} ms)`,
    );
  }
  if (!options.nextHop && (options.downloadBytes > 0 || options.uploadBytes > 0)) {
    throw bad('moving data needs a next hop (the sink): give one, or set both byte counts to 0');
  }
  if (options.target.rsaIdentity.length !== 20) throw bad('the bridge RSA identity must be 20 bytes');
  if (options.target.ed25519Identity && options.target.ed25519Identity.length !== 32) {
    throw bad('the bridge Ed25519 identity must be 32 bytes');
  }
  return options;
}

/** Keys given as `undefined` take the default instead of erasing it. */
function stripUndefined<T extends object>(input: T): T {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as T;
}

/** DATA cells one way for `bytes` of payload (498 bytes each). */
export function cellsFor(bytes: number): number {
  return Math.ceil(bytes / RELAY_DATA_MAX_LENGTH);
}
