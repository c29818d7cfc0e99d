/**
 * @relayd/ipc: the supervisor ↔ worker protocol — versioned message types
 * (start data, key and directory updates, connection handoff, drain, stop;
 * ready, heartbeat statistics, closed connections, errors), their constructor, and total
 * runtime validation of everything received. No I/O: the processes send
 * these over Node's child_process channel with advanced serialization.
 */
export { decodeFromWorkerMessage, decodeToWorkerMessage } from './decode.js';
export { IpcErrorCode, IpcMessageError } from './ipc-error.js';
export {
  type ClosedMessage,
  type DirectoryMessage,
  type DrainMessage,
  type ExtOrBackendSpec,
  type FromWorkerMessage,
  type HandoffMessage,
  type HandoffMeta,
  type HeartbeatMessage,
  IPC_PROTOCOL_VERSION,
  type KeysMessage,
  MAX_CLOSED_IDS_PER_MESSAGE,
  MAX_CONNECTION_ID,
  MAX_HANDOFF_LEFTOVER_BYTES,
  MAX_METRIC_FAMILIES_PER_MESSAGE,
  MAX_METRICS_REQUEST_ID,
  type MessageBody,
  type MetricsMessage,
  type MetricsRequestMessage,
  message,
  type PlainError,
  type ReadyMessage,
  type ReconfigureMessage,
  type StartMessage,
  type StopMessage,
  type ToWorkerMessage,
  type WorkerErrorMessage,
} from './messages.js';
export {
  type ConnectionsByTransport,
  emptyConnectionsByTransport,
  emptyOnionskinStats,
  MAX_TRACKED_TRANSPORTS,
  ONIONSKIN_TYPES,
  type OnionskinCounts,
  type OnionskinStats,
  type OnionskinType,
  OTHER_TRANSPORTS,
  type StatsTotals,
  SUMMED_STATS,
  sumConnectionsByTransport,
  sumOnionskins,
  type TransportCounts,
  totalStats,
  type WorkerStatsReport,
} from './stats.js';
