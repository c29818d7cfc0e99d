/**
 * @relayd/worker: one worker of the bridge — the relay engine and the link
 * handshakes of its connections (its own ORPort listeners in-process, or
 * connections handed over by the supervisor in a worker process), started
 * from plain data (key snapshot, config) and controlled through a
 * `WorkerHandle`; and the worker process itself (`WORKER_ENTRY`).
 */
export {
  acceptHandedOffLink,
  DEFAULT_MAX_PENDING_BACKEND_HANDSHAKES,
  type ExtOrBackendListener,
  type ExtOrBackendOptions,
  type HandedOffConnection,
  listenExtOrBackend,
} from './ext-or-backend.js';
export { ALL_INTERFACES, ALL_IPV4, type ListenTarget, planListeners } from './listen-plan.js';
export { RetargetableLogger } from './retargetable-logger.js';
export { TransportConnectionCounts } from './transport-counts.js';
export {
  type BoundListener,
  type ChannelTracker,
  startWorker,
  WORKER_START_DATA_VERSION,
  type WorkerHandle,
  type WorkerModules,
  type WorkerStartData,
  WorkerStartError,
  type WorkerStats,
} from './worker.js';
export { WorkerCounters } from './worker-counters.js';
export { WORKER_ENTRY } from './worker-entry.js';
export {
  compareKeyMaterial,
  type KeyChanges,
  keyMaterialFromSnapshot,
  type WorkerKeyMaterial,
} from './worker-keys.js';
export {
  CLOSED_REPORT_DELAY_MS,
  type ClosableLogger,
  DEFAULT_WORKER_STOP_TIMEOUT_MS,
  type ParentChannel,
  WorkerProcess,
  type WorkerProcessDeps,
} from './worker-process.js';
