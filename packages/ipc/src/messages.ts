/**
 * The messages between the supervisor and its worker processes, version
 * IPC_PROTOCOL_VERSION. They travel over the `child_process` channel with
 * `serialization: 'advanced'` (structured clone), so byte arrays arrive as
 * Uint8Array and nothing is a class instance on arrival.
 *
 *   supervisor → worker                     worker → supervisor
 *   start      once, first                  ready      once, after start (with the port of
 *                                                      its Extended ORPort backend, if asked)
 *   keys       after every key change       heartbeat  every heartbeatIntervalMs
 *   directory  after the documents change   error      something went wrong
 *   handoff    + the socket handle          closed     handed-over connections that ended
 *   reconfigure after a reload (SIGHUP)
 *   drain      take nothing new; exit once idle (or at the deadline)
 *   stop       close everything and exit
 *
 * Every message carries `v` (the protocol version) and `kind`. The start
 * data holds the worker's key snapshot (never the master identity secret:
 * see @relayd/keys WorkerKeySnapshot), the parsed configuration and the
 * public addresses; a directory message holds the supervisor's directory
 * store snapshot (@relayd/dir-cache DirectorySnapshot) including the
 * bridge's own descriptor and extra-info.
 *
 * A handoff may carry a `connectionId`; the worker then reports, in
 * `closed` messages, when that connection has ended, so the supervisor
 * can count live connections per client address (the balancer's limit).
 * In BalancerMode proxy the start data asks the worker to open an Extended
 * ORPort backend (`extOrBackend`: a loopback address and the cookie the
 * supervisor made for it); `ready` says on which port it listens.
 */
import type { ErrorKind } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import type { DirectorySnapshot } from '@relayd/dir-cache';
import type { WorkerKeySnapshot } from '@relayd/keys';
import type { WorkerStatsReport } from './stats.js';

/** Bumped when any message changes incompatibly. A worker runs from the same build as its supervisor. */
export const IPC_PROTOCOL_VERSION = 2;

/**
 * What comes with a handed-over connection besides its socket: what the
 * acceptor learned before handing it over. For a vanilla ORPort connection
 * it is empty; for one accepted on the Extended ORPort it carries USERADDR,
 * TRANSPORT and the bytes read past the Extended ORPort handshake.
 */
export interface HandoffMeta {
  /** The client's real address (Extended ORPort USERADDR), when the socket's peer is a transport proxy. */
  readonly clientAddress?: { readonly address: string; readonly port: number };
  /** The pluggable transport the client came through (Extended ORPort TRANSPORT). */
  readonly transportName?: string;
  /** Bytes already read from the socket that belong to the link (the start of the TLS ClientHello). */
  readonly leftover?: Uint8Array;
}

/** At most this many leftover bytes: more than any Extended ORPort reader should hold past DONE/OKAY. */
export const MAX_HANDOFF_LEFTOVER_BYTES = 64 * 1024;
/** At most this many connection ids in one `closed` message; a worker sends more in several. */
export const MAX_CLOSED_IDS_PER_MESSAGE = 4096;
/** Connection ids are positive safe integers, counted up by the supervisor. */
export const MAX_CONNECTION_ID = Number.MAX_SAFE_INTEGER;

/**
 * The Extended ORPort a worker opens for the balancer's proxy mode: where
 * (a loopback address of its own) and the 32-byte cookie the supervisor
 * made for it. The cookie never touches a file: the supervisor keeps it for
 * the balancer's connections and health checks.
 */
export interface ExtOrBackendSpec {
  readonly host: string;
  readonly cookie: Uint8Array;
}

export interface StartMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'start';
  /** 1-based slot number; names the worker in logs and stats. */
  readonly workerId: number;
  readonly keys: WorkerKeySnapshot;
  readonly config: RelaydConfig;
  /** The bridge's public addresses, told to peers in NETINFO and used by the directory service. */
  readonly publicAddresses: readonly string[];
  /** The directory documents to serve from the start. */
  readonly directory: DirectorySnapshot;
  /** How often to send a heartbeat. */
  readonly heartbeatIntervalMs: number;
  /** BalancerMode proxy: open this Extended ORPort backend before saying `ready`. */
  readonly extOrBackend?: ExtOrBackendSpec;
}

export interface KeysMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'keys';
  readonly keys: WorkerKeySnapshot;
}

export interface DirectoryMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'directory';
  readonly snapshot: DirectorySnapshot;
}

/** Sent with the connection's socket as the handle. */
export interface HandoffMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'handoff';
  readonly meta: HandoffMeta;
  /** When set, the worker reports the connection's end in a `closed` message with this id. */
  readonly connectionId?: number;
}

export interface ReconfigureMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'reconfigure';
  readonly config: RelaydConfig;
}

export interface DrainMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'drain';
  /** Stop anyway (closing what is left) this long after the message. */
  readonly timeoutMs: number;
}

export interface StopMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'stop';
}

/** Asks for the worker's metrics registry (a scrape of the MetricsPort); answered by a `metrics` message. */
export interface MetricsRequestMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'metrics-request';
  /** Echoed in the answer, so a late answer is not taken for the next scrape's. */
  readonly requestId: number;
}

export type ToWorkerMessage =
  | StartMessage
  | MetricsRequestMessage
  | KeysMessage
  | DirectoryMessage
  | HandoffMessage
  | ReconfigureMessage
  | DrainMessage
  | StopMessage;

export interface ReadyMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'ready';
  readonly workerId: number;
  readonly pid: number;
  /** The port of the Extended ORPort backend the start data asked for. */
  readonly extOrBackendPort?: number;
}

/** Handed-over connections (by their handoff `connectionId`) that have ended since the last report. */
export interface ClosedMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'closed';
  readonly connectionIds: readonly number[];
}

export interface HeartbeatMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'heartbeat';
  readonly stats: WorkerStatsReport;
}

/**
 * The answer to a `metrics-request`: the worker's registry as prom-client's
 * JSON (one object per metric family). Checked here only as a bounded list
 * of objects; the supervisor's metrics code validates each family
 * (@relayd/telemetry parseMetricsJson) before aggregating it.
 */
export interface MetricsMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'metrics';
  readonly requestId: number;
  readonly metrics: readonly object[];
}

/** An error as it crosses the process boundary (RelayError.toObject()). */
export interface PlainError {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly message: string;
}

export interface WorkerErrorMessage {
  readonly v: typeof IPC_PROTOCOL_VERSION;
  readonly kind: 'error';
  readonly workerId: number;
  readonly error: PlainError;
  /** The worker is exiting because of it. */
  readonly fatal: boolean;
}

export type FromWorkerMessage =
  | ReadyMessage
  | HeartbeatMessage
  | ClosedMessage
  | MetricsMessage
  | WorkerErrorMessage;

/** Largest request id; the supervisor counts them up from 1. */
export const MAX_METRICS_REQUEST_ID = Number.MAX_SAFE_INTEGER;
/** Most metric families one `metrics` message may carry (a worker has about a hundred). */
export const MAX_METRIC_FAMILIES_PER_MESSAGE = 2_000;

// ---------------------------------------------------------------- constructors

/** A message without its version field, for any message kind. */
export type MessageBody =
  | (ToWorkerMessage extends infer M ? (M extends unknown ? Omit<M, 'v'> : never) : never)
  | (FromWorkerMessage extends infer M ? (M extends unknown ? Omit<M, 'v'> : never) : never);

/** Adds the protocol version to a message body. */
export function message<B extends MessageBody>(body: B): B & { readonly v: typeof IPC_PROTOCOL_VERSION } {
  return { v: IPC_PROTOCOL_VERSION, ...body };
}
