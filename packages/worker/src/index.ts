/**
 * @relayd/worker: one worker of the bridge — the ORPort listeners and the
 * relay engine, started from plain data (key snapshot, config) plus the
 * in-process services, and controlled through a `WorkerHandle`.
 */
export { ALL_INTERFACES, ALL_IPV4, type ListenTarget, planListeners } from './listen-plan.js';
export {
  type BoundListener,
  startWorker,
  WORKER_START_DATA_VERSION,
  type WorkerHandle,
  type WorkerModules,
  type WorkerStartData,
  WorkerStartError,
  type WorkerStats,
} from './worker.js';
export {
  compareKeyMaterial,
  type KeyChanges,
  keyMaterialFromSnapshot,
  type WorkerKeyMaterial,
} from './worker-keys.js';
