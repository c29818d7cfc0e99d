/**
 * What the control socket asks of the daemon: the `ControlTarget` interface
 * the supervisor implements, and the reports it returns. The reports are the
 * `result` objects relayctl receives, so they are plain JSON: numbers,
 * strings, booleans, null, arrays and objects; times are ISO 8601 strings in
 * UTC, durations seconds, amounts of data bytes. docs/relayctl.md documents
 * every field.
 *
 * A target refuses a request by throwing a ControlError with a precise code
 * (`no-such-worker`, `unavailable`, `refused`, `failed`); anything else it
 * throws becomes `internal` (a bug) or, for a RelayError, `failed`.
 */
import type { OnionskinType } from '@relayd/ipc';

/** A value or a promise of it: a target may answer at once or later. */
export type Awaitable<T> = T | Promise<T>;

export type WorkerState = 'starting' | 'ready' | 'draining' | 'stopping' | 'exited';
export type SafeLoggingMode = 'all' | 'relay' | 'none';

export interface OnionskinCountsReport {
  readonly processed: number;
  readonly failed: number;
  readonly dropped: number;
}

/** Sums over the workers serving now (counters since each worker started; gauges now). */
export interface TotalsReport {
  /** Connections the workers received since they started. */
  readonly connections: number;
  /** Channels (link connections) open now. */
  readonly channels: number;
  /** Circuits open now. */
  readonly circuits: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** Circuit extension handshakes by type (C tor's labels). */
  readonly onionskins: Readonly<Record<OnionskinType, OnionskinCountsReport>>;
}

/** The directory cache and its fetcher (dir-cache's DirectoryFetcherStatus). */
export interface DirectoryReport {
  /** Whether the fetcher is running. */
  readonly fetching: boolean;
  /**
   * none: no consensus; fresh: before its fresh-until; stale: past fresh-until
   * but still valid (clients accept it); expired: past valid-until.
   */
  readonly freshness: 'none' | 'fresh' | 'stale' | 'expired';
  readonly consensus: {
    readonly validAfter: string;
    readonly freshUntil: string;
    readonly validUntil: string;
    readonly obtainedAt: string;
    readonly routers: number;
    readonly goodSignatures: number;
  } | null;
  readonly nextFetchAt: string | null;
  readonly lastSuccessAt: string | null;
  /** Consensus fetch failures since the last success. */
  readonly consensusFailures: number;
  readonly certificates: number;
  readonly microdescriptors: { readonly held: number; readonly listed: number; readonly missing: number };
  /** The last fetch problem, as "kind from authority: message". */
  readonly lastError: string | null;
}

/** One server pluggable transport (transports' ServerTransportState). */
export interface TransportReport {
  readonly name: string;
  readonly state: 'starting' | 'running' | 'failed' | 'stopped';
  readonly pid: number | null;
  /** "address:port" it listens on, when running. */
  readonly listening: string | null;
  readonly restarts: number;
  readonly error: string | null;
  /** When a failed transport is retried; null when it is not. */
  readonly retryAt: string | null;
}

export interface StatusReport {
  /** relayd's version. */
  readonly version: string;
  /** The supervisor's process ID. */
  readonly pid: number;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly nickname: string;
  /** RSA identity fingerprint, 40 uppercase hex digits. */
  readonly fingerprint: string;
  /** Ed25519 master identity, base64 without padding. */
  readonly ed25519Identity: string;
  /** The published "address:port" of the ORPort. */
  readonly address: string;
  readonly bridgeLines: readonly string[];
  readonly onionKeyRotation: 'coordinated' | 'frozen';
  readonly workers: {
    /** `forked` (worker processes) or `in-process`. */
    readonly mode: 'forked' | 'in-process';
    readonly configured: number;
    /** Worker processes alive (any state but exited), replacements and draining ones included. */
    readonly running: number;
    /** Ready and heard from recently: eligible for new connections. */
    readonly healthy: number;
  };
  readonly directory: DirectoryReport;
  readonly transports: readonly TransportReport[];
  readonly totals: TotalsReport;
}

export interface WorkerReport {
  readonly workerId: number;
  /** serving: the slot's process; replacement: starting to take over; draining: finishing its clients. */
  readonly role: 'serving' | 'replacement' | 'draining';
  readonly pid: number | null;
  readonly state: WorkerState;
  readonly healthy: boolean;
  /** Processes this slot has had, this one included. */
  readonly generation: number;
  /** Processes of this slot started after the first (generation - 1). */
  readonly restarts: number;
  /** Processes of this slot that died unasked. */
  readonly deaths: number;
  readonly startedAt: string | null;
  readonly uptimeSeconds: number | null;
  /** Seconds since its last heartbeat; null before the first. */
  readonly lastHeartbeatAgeSeconds: number | null;
  /** Connections handed to it and not reported closed. */
  readonly connections: number;
  /** Connections it received since it started. */
  readonly connectionsTotal: number;
  readonly channels: number;
  readonly circuits: number;
  /** User + system CPU time of the process; null when unknown. */
  readonly cpuSeconds: number | null;
  /** Resident memory of the process; null when unknown. */
  readonly rssBytes: number | null;
}

export interface WorkersReport {
  readonly mode: 'forked' | 'in-process';
  readonly workers: readonly WorkerReport[];
  /** Connections handed to workers since start. */
  readonly handedOff: number;
  /** Connections closed because no worker was healthy. */
  readonly refused: number;
}

/** What `workers.restart` / `workers.drain` did. */
export interface WorkerActionReport {
  readonly workerId: number;
  readonly action: 'restart' | 'drain';
  /** The process serving the slot now (restart), or the one draining (drain). */
  readonly pid: number | null;
  /** The process that was replaced (restart); null otherwise. */
  readonly previousPid: number | null;
  /** One sentence for the operator. */
  readonly message: string;
}

export interface ReloadReport {
  /** False when the configuration file has errors: the running configuration stays. */
  readonly accepted: boolean;
  /** The file's errors, "FILE:LINE: message". */
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  /** Settings applied (RelaydConfig field names). */
  readonly applied: readonly string[];
  /** The worker processes were restarted one by one to apply worker settings. */
  readonly restartedWorkers: boolean;
  /** Settings that changed but keep their old value until relayd restarts. */
  readonly needsRestart: readonly string[];
}

export interface OnionKeysReport {
  readonly rotatedAt: string;
  /** The new ntor onion public key, base64 without padding. */
  readonly ntorOnionKey: string;
  /** The key it replaced, still accepted for the grace period. */
  readonly previousNtorOnionKey: string | null;
  /** Worker processes sent the new keys. */
  readonly workersUpdated: number;
  /** The `published` time of the new descriptor. */
  readonly descriptorPublished: string;
}

export interface BridgeLinesReport {
  /** The lines of bridge-lines.txt: vanilla first, then one per running transport. */
  readonly lines: readonly string[];
  /** Running transports without a line, and why. */
  readonly skipped: readonly { readonly transport: string; readonly reason: string }[];
}

/** Circuits by state: awaiting their CREATE handshake (queued), or open. */
export interface CircuitCounts {
  readonly total: number;
  readonly awaitingHandshake: number;
  readonly open: number;
}

export interface CircuitsReport {
  readonly total: CircuitCounts;
  readonly byWorker: readonly (CircuitCounts & { readonly workerId: number; readonly pid: number | null })[];
}

/** Connections of one transport (`vanilla` or a pluggable transport's name). */
export interface TransportConnections {
  readonly transport: string;
  /** Connections received since the workers started. */
  readonly connections: number;
  /** Of those, the ones whose link handshake completed. */
  readonly linksAccepted: number;
}

export interface ClientAddressCount {
  readonly address: string;
  readonly connections: number;
}

export interface ConnectionsReport {
  readonly byTransport: readonly TransportConnections[];
  readonly byWorker: readonly {
    readonly workerId: number;
    readonly pid: number | null;
    /** Connections handed to it and not reported closed. */
    readonly open: number;
    readonly channels: number;
    readonly byTransport: readonly TransportConnections[];
  }[];
  /**
   * Client addresses holding connections now, most connections first, at
   * most the limit asked for; null unless SafeLogging is 0 (or the daemon
   * does not track addresses).
   */
  readonly clientAddresses: readonly ClientAddressCount[] | null;
  /** Distinct client addresses holding connections now (a number, not the addresses: shown whatever SafeLogging says); null when not tracked. */
  readonly clientAddressCount: number | null;
}

/** What a connections request asks the target for. */
export interface ConnectionsQuery {
  /** False while SafeLogging is on: the target must not collect addresses at all. */
  readonly includeClientAddresses: boolean;
  /** At most this many addresses. */
  readonly limit: number;
}

/**
 * The daemon as the control socket sees it; the supervisor implements it.
 * Every method may be called at any time, concurrently with the others
 * (the dispatcher runs the four actions — restartWorker, drainWorker, reload,
 * rotateOnionKeys — one at a time).
 */
export interface ControlTarget {
  status(): Awaitable<StatusReport>;
  workers(): Awaitable<WorkersReport>;
  /**
   * Replaces worker `workerId`'s process: a new one starts and, once ready,
   * the old one drains. Resolves when the new one serves; throws
   * ControlError `no-such-worker`, `unavailable` (workers run in-process),
   * or `failed` (the replacement did not start; the old one keeps serving).
   */
  restartWorker(workerId: number): Promise<WorkerActionReport>;
  /**
   * Drains worker `workerId`'s process: it takes no new connections, exits
   * once its circuits are gone (or after the drain timeout), and the slot's
   * next process starts after it has exited. Resolves once the drain has
   * begun. Throws like restartWorker.
   */
  drainWorker(workerId: number): Promise<WorkerActionReport>;
  /** Reads the configuration file again and applies it, as SIGHUP does. */
  reload(): Promise<ReloadReport>;
  /**
   * Rotates the onion keys of every worker now (the previous ntor key stays
   * valid for the grace period) and publishes the new descriptor. With
   * OnionKeyRotation frozen, throws ControlError `refused` unless `force`.
   */
  rotateOnionKeys(request: { readonly force: boolean }): Promise<OnionKeysReport>;
  bridgeLines(): Awaitable<BridgeLinesReport>;
  circuits(): Awaitable<CircuitsReport>;
  connections(query: ConnectionsQuery): Awaitable<ConnectionsReport>;
  /** The SafeLogging in force: client addresses leave the daemon only when it is 'none'. */
  safeLogging(): SafeLoggingMode;
}
