/**
 * Runtime validation of every message received over the channel, in both
 * directions. A decoder takes whatever arrived and returns the typed
 * message or an IpcMessageError naming the first field that is wrong; it
 * never throws, whatever it is given.
 *
 * How deep each part is checked: handoff metadata, key snapshots, directory
 * snapshots and statistics are checked field by field (types, lengths,
 * ranges). The configuration is the supervisor's own parse of the torrc,
 * so only the fields a worker reads are checked (a version skew between
 * supervisor and worker, not an attacker, is what this catches).
 */
import { err, ok, type Result } from '@relayd/common';
import { MAX_WORKERS } from '@relayd/config';
import { WORKER_KEY_SNAPSHOT_VERSION } from '@relayd/keys';
import { IpcErrorCode, IpcMessageError } from './ipc-error.js';
import {
  type FromWorkerMessage,
  IPC_PROTOCOL_VERSION,
  MAX_CLOSED_IDS_PER_MESSAGE,
  MAX_CONNECTION_ID,
  MAX_HANDOFF_LEFTOVER_BYTES,
  MAX_METRIC_FAMILIES_PER_MESSAGE,
  MAX_METRICS_REQUEST_ID,
  type ToWorkerMessage,
} from './messages.js';
import {
  anyRecord,
  arrayOf,
  boolean,
  bytes,
  type Check,
  count,
  integer,
  isRecord,
  literal,
  mapOf,
  matching,
  nullable,
  optional,
  own,
  record,
  string,
} from './shape.js';
import { MAX_TRACKED_TRANSPORTS, ONIONSKIN_TYPES } from './stats.js';

/** Largest directory document set a worker accepts in one message (tor's MAX_DIR_DL_SIZE is 16 MiB per document). */
const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;
const MAX_PUBLIC_ADDRESSES = 8;
/** A day: longer intervals or deadlines are a bug. */
const MAX_INTERVAL_MS = 24 * 60 * 60 * 1000;

const workerId = integer(1, MAX_WORKERS);

const ntorKey = record({ secretKey: bytes({ length: 32 }), publicKey: bytes({ length: 32 }) });

const keySnapshot: Check = record({
  version: literal(WORKER_KEY_SNAPSHOT_VERSION),
  nickname: string(19),
  rsaFingerprint: matching(/^[0-9A-F]{40}$/),
  rsaIdentityPrivateDer: bytes({ maxLength: 4096 }),
  ed25519Identity: bytes({ length: 32 }),
  ed25519SigningPublic: bytes({ length: 32 }),
  ed25519SigningSecretExpanded: bytes({ length: 64 }),
  ed25519SigningCert: bytes({ maxLength: 1024 }),
  signingCertExpiresMs: integer(0, Number.MAX_SAFE_INTEGER),
  ntorOnionKey: ntorKey,
  previousNtorOnionKey: nullable(ntorKey),
});

const documentBytes = bytes({ maxLength: MAX_DIRECTORY_BYTES });
const directorySnapshot: Check = record({
  consensus: optional(documentBytes),
  certificates: documentBytes,
  microdescriptors: documentBytes,
  serverDescriptor: optional(documentBytes),
  extraInfo: optional(documentBytes),
});

const logSetting = record({
  minSeverity: literal('debug', 'info', 'notice', 'warn', 'err'),
  maxSeverity: literal('debug', 'info', 'notice', 'warn', 'err'),
  destination: record({ kind: literal('stdout', 'stderr', 'syslog', 'file') }),
});

/** The configuration fields a worker process reads. */
const config: Check = record({
  dataDirectory: string(),
  nickname: string(19),
  orPorts: arrayOf(anyRecord, 64),
  dirAuthorities: arrayOf(anyRecord, 64),
  logs: arrayOf(logSetting, 64),
  safeLogging: literal('all', 'relay', 'none'),
  extendAllowPrivateAddresses: boolean,
  outboundBindAddresses: record({ ipv4: nullable(string(64)), ipv6: nullable(string(64)) }),
  workers: workerId,
  testingTorNetwork: boolean,
});

const addressPort = record({ address: string(64), port: integer(0, 65_535) });

/** A pluggable transport name: a C identifier of at most 128 characters (ext-orport's isValidTransportName). */
const TRANSPORT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

const handoffMeta: Check = record({
  clientAddress: optional(addressPort),
  transportName: optional(matching(TRANSPORT_NAME)),
  leftover: optional(bytes({ maxLength: MAX_HANDOFF_LEFTOVER_BYTES })),
});

const connectionId = integer(1, MAX_CONNECTION_ID);
const port = integer(1, 65_535);

/** A worker's backend address: an IPv4 loopback literal (the supervisor picks it; nothing else is listened on). */
const extOrBackend: Check = record({
  host: matching(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/),
  cookie: bytes({ length: 32 }),
});

const interval = integer(1, MAX_INTERVAL_MS);

const onionskinCounts = record({ processed: count, failed: count, dropped: count });
const onionskins: Check = record(Object.fromEntries(ONIONSKIN_TYPES.map((t) => [t, onionskinCounts])));

const transportCounts = record({ connections: count, linksAccepted: count });
const connectionsByTransport: Check = record({
  vanilla: transportCounts,
  // One more than a worker tracks: the OTHER_TRANSPORTS entry.
  pluggable: mapOf(TRANSPORT_NAME, transportCounts, MAX_TRACKED_TRANSPORTS + 1),
});

const stats: Check = record({
  workerId,
  pid: integer(1, 2 ** 31),
  uptimeMs: count,
  channels: count,
  circuits: count,
  createQueueLength: count,
  directoryStreams: count,
  pendingChannelOpens: count,
  pendingHandshakes: count,
  linksAccepted: count,
  linkHandshakesFailed: count,
  connectionsReceived: count,
  connectionsByTransport,
  onionskins,
  cellsReceived: count,
  cellsSent: count,
  bytesReceived: count,
  bytesSent: count,
});

const plainError = record({ kind: string(64), code: string(64), message: string(4096) });

const TO_WORKER: Record<ToWorkerMessage['kind'], Check> = {
  start: record({
    workerId,
    keys: keySnapshot,
    config,
    publicAddresses: arrayOf(string(64), MAX_PUBLIC_ADDRESSES),
    directory: directorySnapshot,
    heartbeatIntervalMs: interval,
    extOrBackend: optional(extOrBackend),
  }),
  keys: record({ keys: keySnapshot }),
  directory: record({ snapshot: directorySnapshot }),
  handoff: record({ meta: handoffMeta, connectionId: optional(connectionId) }),
  reconfigure: record({ config }),
  drain: record({ timeoutMs: interval }),
  stop: record({}),
  'metrics-request': record({ requestId: integer(1, MAX_METRICS_REQUEST_ID) }),
};

const FROM_WORKER: Record<FromWorkerMessage['kind'], Check> = {
  ready: record({ workerId, pid: integer(1, 2 ** 31), extOrBackendPort: optional(port) }),
  heartbeat: record({ stats }),
  closed: record({ connectionIds: arrayOf(connectionId, MAX_CLOSED_IDS_PER_MESSAGE) }),
  metrics: record({
    requestId: integer(1, MAX_METRICS_REQUEST_ID),
    metrics: arrayOf(anyRecord, MAX_METRIC_FAMILIES_PER_MESSAGE),
  }),
  error: record({ workerId, error: plainError, fatal: boolean }),
};

function decode<M>(value: unknown, checks: Record<string, Check>, side: string): Result<M, IpcMessageError> {
  try {
    if (!isRecord(value)) {
      return err(new IpcMessageError(IpcErrorCode.NOT_A_MESSAGE, `${side} message is not an object`));
    }
    const version = own(value, 'v');
    if (version !== IPC_PROTOCOL_VERSION) {
      return err(
        new IpcMessageError(
          IpcErrorCode.UNSUPPORTED_VERSION,
          `${side} message has protocol version ${describe(version)}, not ${IPC_PROTOCOL_VERSION}`,
        ),
      );
    }
    const kind = own(value, 'kind');
    const check = typeof kind === 'string' && Object.hasOwn(checks, kind) ? checks[kind] : undefined;
    if (!check) {
      return err(
        new IpcMessageError(IpcErrorCode.UNKNOWN_KIND, `${side} message of unknown kind ${describe(kind)}`),
      );
    }
    const problem = check(value, kind as string);
    if (problem !== undefined) {
      return err(new IpcMessageError(IpcErrorCode.BAD_FIELD, `${side} message: ${problem}`));
    }
    return ok(value as M);
  } catch {
    // Structured clone yields plain data; only an exotic object (a Proxy) could get here.
    return err(new IpcMessageError(IpcErrorCode.NOT_A_MESSAGE, `${side} message could not be inspected`));
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 32));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return typeof value;
}

/** Validates a message a worker received from its supervisor. */
export function decodeToWorkerMessage(value: unknown): Result<ToWorkerMessage, IpcMessageError> {
  return decode<ToWorkerMessage>(value, TO_WORKER, 'supervisor');
}

/** Validates a message the supervisor received from a worker. */
export function decodeFromWorkerMessage(value: unknown): Result<FromWorkerMessage, IpcMessageError> {
  return decode<FromWorkerMessage>(value, FROM_WORKER, 'worker');
}
