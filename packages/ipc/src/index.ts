/**
 * @relayd/ipc: the supervisor ↔ worker protocol — versioned message types
 * (start data, key and directory updates, connection handoff, drain, stop;
 * ready, heartbeat statistics, errors), their constructor, and total
 * runtime validation of everything received. No I/O: the processes send
 * these over Node's child_process channel with advanced serialization.
 */
export { decodeFromWorkerMessage, decodeToWorkerMessage } from './decode.js';
export { IpcErrorCode, IpcMessageError } from './ipc-error.js';
export {
  type DirectoryMessage,
  type DrainMessage,
  type FromWorkerMessage,
  type HandoffMessage,
  type HandoffMeta,
  type HeartbeatMessage,
  IPC_PROTOCOL_VERSION,
  type KeysMessage,
  MAX_HANDOFF_LEFTOVER_BYTES,
  type MessageBody,
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
  emptyOnionskinStats,
  ONIONSKIN_TYPES,
  type OnionskinCounts,
  type OnionskinStats,
  type OnionskinType,
  type StatsTotals,
  SUMMED_STATS,
  sumOnionskins,
  totalStats,
  type WorkerStatsReport,
} from './stats.js';
