/**
 * What a worker reports about itself in every heartbeat, and the sums the
 * supervisor logs and writes. Counters are cumulative since the worker
 * started; gauges (channels, circuits, queue length, pending handshakes)
 * are the value at the time of the report.
 *
 * Onionskins are counted by circuit extension handshake type and outcome
 * with C tor's labels (relay_metrics.c `tor_relay_load_onionskins_total`
 * {type, action}): processed (answered), failed (did not verify) and
 * dropped (refused unprocessed: create queue full or too old).
 *
 * Connections are also counted by how they came (`connectionsByTransport`):
 * `vanilla` for those that named no pluggable transport (the plain ORPort,
 * or an Extended ORPort connection without TRANSPORT), and one entry per
 * transport name the Extended ORPort reported (obfs4, snowflake, …). A
 * worker tracks at most MAX_TRACKED_TRANSPORTS names; connections of
 * further names are counted under OTHER_TRANSPORTS.
 */

/** Handshake types, as C tor's metrics name them. */
export const ONIONSKIN_TYPES = ['fast', 'ntor', 'ntor_v3', 'tap', 'unknown'] as const;
export type OnionskinType = (typeof ONIONSKIN_TYPES)[number];

export interface OnionskinCounts {
  readonly processed: number;
  readonly failed: number;
  readonly dropped: number;
}

export type OnionskinStats = Readonly<Record<OnionskinType, OnionskinCounts>>;

/** Connections of one kind: received from the supervisor (or accepted), and how many completed their link handshake. */
export interface TransportCounts {
  readonly connections: number;
  readonly linksAccepted: number;
}

/** Connections by the pluggable transport they came through (see the module comment). */
export interface ConnectionsByTransport {
  readonly vanilla: TransportCounts;
  /** By transport name (Extended ORPort TRANSPORT). */
  readonly pluggable: Readonly<Record<string, TransportCounts>>;
}

/** Transport names a worker counts separately; a bridge runs a handful. */
export const MAX_TRACKED_TRANSPORTS = 32;
/** Where connections of names beyond MAX_TRACKED_TRANSPORTS are counted (a valid transport name itself). */
export const OTHER_TRANSPORTS = '_other';

export interface WorkerStatsReport {
  /** The worker's number (1-based; a replacement keeps its slot's number). */
  readonly workerId: number;
  readonly pid: number;
  readonly uptimeMs: number;
  /** Open channels: clients' and the ones opened for EXTEND2. */
  readonly channels: number;
  readonly circuits: number;
  readonly createQueueLength: number;
  readonly directoryStreams: number;
  /** Channels being opened for EXTEND2. */
  readonly pendingChannelOpens: number;
  /** Connections in their TLS or link handshake. */
  readonly pendingHandshakes: number;
  /** Connections whose link handshake completed (the channel went to the engine). */
  readonly linksAccepted: number;
  /** Connections that failed before their link handshake completed. */
  readonly linkHandshakesFailed: number;
  /** Connections received from the supervisor (handed over) since start. */
  readonly connectionsReceived: number;
  /** Those connections by the pluggable transport they came through. */
  readonly connectionsByTransport: ConnectionsByTransport;
  readonly onionskins: OnionskinStats;
  readonly cellsReceived: number;
  readonly cellsSent: number;
  /** Bytes read from and written to the client connections this worker accepted (TLS included). */
  readonly bytesReceived: number;
  readonly bytesSent: number;
}

export function emptyOnionskinStats(): OnionskinStats {
  const out = {} as Record<OnionskinType, OnionskinCounts>;
  for (const type of ONIONSKIN_TYPES) out[type] = { processed: 0, failed: 0, dropped: 0 };
  return out;
}

export function emptyConnectionsByTransport(): ConnectionsByTransport {
  return { vanilla: { connections: 0, linksAccepted: 0 }, pluggable: {} };
}

/** The totals of several workers' per-transport counts; transport names in sorted order. */
export function sumConnectionsByTransport(list: readonly ConnectionsByTransport[]): ConnectionsByTransport {
  const vanilla = { connections: 0, linksAccepted: 0 };
  // A Map: a transport may be named "__proto__" (a C identifier), which a plain object would not keep.
  const pluggable = new Map<string, { connections: number; linksAccepted: number }>();
  for (const entry of list) {
    vanilla.connections += entry.vanilla.connections;
    vanilla.linksAccepted += entry.vanilla.linksAccepted;
    for (const [name, counts] of Object.entries(entry.pluggable)) {
      const sum = pluggable.get(name) ?? { connections: 0, linksAccepted: 0 };
      sum.connections += counts.connections;
      sum.linksAccepted += counts.linksAccepted;
      pluggable.set(name, sum);
    }
  }
  return {
    vanilla,
    pluggable: Object.fromEntries([...pluggable.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}

/** The totals of several workers' onionskin counts. */
export function sumOnionskins(list: readonly OnionskinStats[]): OnionskinStats {
  const out = {} as Record<OnionskinType, { processed: number; failed: number; dropped: number }>;
  for (const type of ONIONSKIN_TYPES) {
    out[type] = { processed: 0, failed: 0, dropped: 0 };
    for (const stats of list) {
      out[type].processed += stats[type].processed;
      out[type].failed += stats[type].failed;
      out[type].dropped += stats[type].dropped;
    }
  }
  return out;
}

/** The counters and gauges that add up across workers. */
export const SUMMED_STATS = [
  'channels',
  'circuits',
  'createQueueLength',
  'directoryStreams',
  'pendingChannelOpens',
  'pendingHandshakes',
  'linksAccepted',
  'linkHandshakesFailed',
  'connectionsReceived',
  'cellsReceived',
  'cellsSent',
  'bytesReceived',
  'bytesSent',
] as const satisfies readonly (keyof WorkerStatsReport)[];

export type StatsTotals = { readonly [K in (typeof SUMMED_STATS)[number]]: number } & {
  readonly workers: number;
  readonly onionskins: OnionskinStats;
  readonly connectionsByTransport: ConnectionsByTransport;
};

export function totalStats(list: readonly WorkerStatsReport[]): StatsTotals {
  const sums = {} as Record<(typeof SUMMED_STATS)[number], number>;
  for (const key of SUMMED_STATS) sums[key] = list.reduce((n, s) => n + s[key], 0);
  return {
    ...sums,
    workers: list.length,
    onionskins: sumOnionskins(list.map((s) => s.onionskins)),
    connectionsByTransport: sumConnectionsByTransport(list.map((s) => s.connectionsByTransport)),
  };
}
