/**
 * The engine's tunables: every one has a default, a minimum and a maximum,
 * and a comment saying why the default was chosen and what shows it is wrong.
 * The config package composes `RelayEngineOptions` into relayd's own
 * options; `resolveEngineOptions` fills in defaults and refuses values out of
 * range with a `bad-config` RelayError.
 */
import { RelayError } from '@relayd/common';

export interface CreateQueueOptions {
  /**
   * How many circuit extension handshakes may wait. Default 4096: with
   * node:crypto an ntor or ntor v3 answer costs about 0.1–0.2 ms on one core
   * (three X25519 operations plus hashing), so a full queue drains in under
   * a second, inside C tor's MaxOnionQueueDelay of 1750 ms; more would only
   * make clients wait past the point where they give up and retry. The
   * `onionskin{outcome="dropped"}` counter rising while CPU is idle says it
   * is too small.
   */
  readonly maxLength: number;
  /**
   * At most this many handshakes per drain turn before yielding to I/O.
   * Default 64 (about 10 ms of ntor work); lower it if read latency suffers.
   */
  readonly maxHandshakesPerTurn: number;
  /** And at most this long per turn (ms). Default 10. */
  readonly maxTurnMs: number;
  /**
   * Requests older than this are dropped with RESOURCELIMIT instead of
   * answered, as C tor's ONION_QUEUE_WAIT_CUTOFF (5 s) does: the client has
   * likely given up on them.
   */
  readonly maxWaitMs: number;
}

export interface RelayEngineOptions {
  /**
   * Allow EXTEND2 to private, loopback and link-local addresses (tor's
   * ExtendAllowPrivateAddresses). Off by default: it would let clients probe
   * the bridge's local network. Test networks on 127.0.0.0/8 turn it on.
   */
  readonly extendAllowPrivateAddresses: boolean;
  /**
   * Lowest SENDME version accepted for circuit-level SENDMEs (consensus
   * parameter sendme_accept_min_version, 1 on the live network since 2020):
   * 1 requires the authenticated digest of proposal 289.
   */
  readonly sendmeAcceptMinVersion: 0 | 1;
  readonly createQueue: CreateQueueOptions;
  /**
   * Cells a circuit may have queued towards one channel before it is closed
   * with RESOURCELIMIT: C tor's circ_max_cell_queue_size default (2500,
   * about 1.25 MB), since flow control keeps honest circuits far below it.
   */
  readonly maxCircuitQueueCells: number;
  /**
   * Stop originating DATA on a circuit while this many of its cells are
   * queued towards the client, and resume when the queue drains. Default 64
   * cells (32 KB): enough to keep a channel busy for one write, small enough
   * that a slow client does not hold megabytes here.
   */
  readonly originateQueueCells: number;
  /**
   * The most bytes of HTTP request a BEGIN_DIR stream may send before its
   * head ends. Tor clients send a few hundred bytes; 8 KiB leaves room for
   * long microdescriptor digest lists.
   */
  readonly maxDirectoryRequestBytes: number;
  /**
   * The largest variable-length cell body accepted on an open channel.
   * Default 65535 (the protocol's own limit): C tor accepts that much
   * VPADDING, so less would make relayd distinguishable.
   */
  readonly maxVariableCellBodyLength: number;
  /**
   * A channel from a client (no proven identity) with no circuits is closed
   * after this long plus a random extra of up to half of it: C tor's
   * CONNTIMEOUT_CLIENTS_BASE, 3 to 4.5 minutes (channelpadding.c).
   */
  readonly clientChannelIdleMs: number;
  /**
   * A channel to or from a relay (proven identity) with no circuits is closed
   * after this long, randomised by ±25%: C tor's nf_conntimeout_relays
   * consensus default, 3600 s, giving 45 to 75 minutes.
   */
  readonly relayChannelIdleMs: number;
  /**
   * A circuit that ends here, has no streams, and whose client channel sent
   * nothing for this long is closed with FINISHED (C tor's
   * IDLE_ONE_HOP_CIRC_TIMEOUT, 60 s).
   */
  readonly idleCircuitMs: number;
  /** Send a PADDING cell on a channel that wrote nothing for this long (tor's KeepalivePeriod, 5 min). */
  readonly keepaliveMs: number;
  /** How often the idle, keepalive and stuck-channel checks run (C tor: once a second). */
  readonly housekeepingIntervalMs: number;
}

export const defaultCreateQueueOptions: CreateQueueOptions = {
  maxLength: 4096,
  maxHandshakesPerTurn: 64,
  maxTurnMs: 10,
  maxWaitMs: 5_000,
};

export const defaultRelayEngineOptions: RelayEngineOptions = {
  extendAllowPrivateAddresses: false,
  sendmeAcceptMinVersion: 1,
  createQueue: defaultCreateQueueOptions,
  maxCircuitQueueCells: 2_500,
  originateQueueCells: 64,
  maxDirectoryRequestBytes: 8_192,
  maxVariableCellBodyLength: 0xffff,
  clientChannelIdleMs: 180_000,
  relayChannelIdleMs: 3_600_000,
  idleCircuitMs: 60_000,
  keepaliveMs: 300_000,
  housekeepingIntervalMs: 1_000,
};

/** Options as a caller may give them: any subset, the create queue's too. */
export type RelayEngineOptionsInput = Partial<Omit<RelayEngineOptions, 'createQueue'>> & {
  readonly createQueue?: Partial<CreateQueueOptions>;
};

const DAY_MS = 86_400_000;

/** [minimum, maximum] of each numeric option. */
const RANGES: Record<string, readonly [number, number]> = {
  'createQueue.maxLength': [1, 1_000_000],
  'createQueue.maxHandshakesPerTurn': [1, 100_000],
  'createQueue.maxTurnMs': [1, 1_000],
  'createQueue.maxWaitMs': [1, 600_000],
  maxCircuitQueueCells: [50, 1_000_000],
  originateQueueCells: [1, 10_000],
  maxDirectoryRequestBytes: [256, 1_048_576],
  maxVariableCellBodyLength: [0, 0xffff],
  clientChannelIdleMs: [1_000, DAY_MS],
  relayChannelIdleMs: [1_000, DAY_MS],
  idleCircuitMs: [1_000, DAY_MS],
  keepaliveMs: [1_000, DAY_MS],
  housekeepingIntervalMs: [10, 60_000],
};

function checkRange(name: string, value: number): void {
  const range = RANGES[name];
  if (!range) return;
  if (!Number.isInteger(value) || value < range[0] || value > range[1]) {
    throw new RelayError(
      'bad-config',
      'ENGINE_OPTION_RANGE',
      `engine option ${name} must be an integer in ${range[0]}..${range[1]}, not ${value}`,
    );
  }
}

/** Fills in defaults and checks every value against its range. */
export function resolveEngineOptions(input: RelayEngineOptionsInput = {}): RelayEngineOptions {
  const createQueue: CreateQueueOptions = { ...defaultCreateQueueOptions, ...input.createQueue };
  const options: RelayEngineOptions = { ...defaultRelayEngineOptions, ...input, createQueue };
  for (const [key, value] of Object.entries(createQueue)) checkRange(`createQueue.${key}`, value);
  for (const [key, value] of Object.entries(options)) {
    if (typeof value === 'number') checkRange(key, value);
  }
  if (options.sendmeAcceptMinVersion !== 0 && options.sendmeAcceptMinVersion !== 1) {
    throw new RelayError(
      'bad-config',
      'ENGINE_OPTION_RANGE',
      `engine option sendmeAcceptMinVersion must be 0 or 1, not ${String(options.sendmeAcceptMinVersion)}`,
    );
  }
  return options;
}
