/**
 * @relayd/supervisor: the process that owns a relayd bridge — keys and
 * their schedule, the workers (in-process, or a pool of forked worker
 * processes behind the supervisor's ORPort listeners, with connection
 * handoff, health checks, fail-over and rolling restarts), the Extended
 * ORPort front and balancer (@relayd/balancer) and the managed pluggable
 * transports (@relayd/transports), the directory cache and its fetcher
 * (snapshots pushed to the workers), the bridge's own descriptor (built,
 * served, written, published), reloads and heartbeats.
 */

// The logger a reload can point at new destinations (relayd's daemon uses it; defined with the workers).
export { RetargetableLogger } from '@relayd/worker';
export { advertisedBandwidth, type BridgeDocuments, buildOwnDocuments } from './bridge-documents.js';
export {
  BRIDGE_LINES_FILE,
  bridgeLinesText,
  EXTRA_INFO_FILE,
  SERVER_DESCRIPTOR_FILE,
  writeDataFile,
} from './data-files.js';
export {
  bridgeAuthorityTargets,
  type DescriptorPost,
  type DescriptorPostRequest,
  DescriptorPublisher,
  type PublishStatus,
  type PublishTarget,
  uploadBody,
} from './descriptor-publisher.js';
export { FileDirectoryStorage } from './directory-storage.js';
export {
  DEFAULT_WORKER_EXEC_ARGV,
  ForkedWorkerLauncher,
  type ForkedWorkerLauncherOptions,
  ForkedWorkers,
  forkWorkerProcess,
  WORKER_ENV_VARIABLES,
} from './forked-launcher.js';
export type { HandoffChoice, HandoffResult, HandoffTarget } from './handoff.js';
export {
  formatBytes,
  formatUptime,
  HEARTBEAT_LOG_INTERVAL_MS,
  type HeartbeatLine,
  heartbeatLines,
  TESTING_HEARTBEAT_LOG_INTERVAL_MS,
  transportText,
} from './heartbeat-log.js';
export {
  DEFAULT_ONION_KEY_GRACE_MS,
  DEFAULT_ONION_KEY_ROTATION_MS,
  defaultOnionKeyPolicy,
  type OnionKeyActions,
  type OnionKeyPolicy,
  type OnionKeyState,
  onionKeyActions,
} from './key-schedule.js';
export { RELAYD_PROTOCOL_LINE, RELAYD_PROTOCOLS } from './protocols.js';
export {
  type AddressEnvironment,
  type BoundOrPort,
  type InterfaceAddress,
  type PublicAddresses,
  type PublicEndpoint,
  publishedEndpoint,
  resolvePublicAddresses,
  systemAddressEnvironment,
  vanillaBridgeLine,
} from './public-address.js';
export { planReload, type ReloadDisposition, type ReloadPlan, reloadDisposition } from './reload-plan.js';
export {
  DEFAULT_MAINTENANCE_INTERVAL_MS,
  DESCRIPTOR_REGENERATE_INTERVAL_MS,
  DIRECTORY_PUSH_DELAY_MS,
  type ReloadOutcome,
  Supervisor,
  type SupervisorModules,
  type SupervisorOptions,
  type SupervisorStatus,
} from './supervisor.js';
export {
  type InProcessServices,
  inProcessWorkerLauncher,
  type WorkerLauncher,
  type WorkerSet,
  type WorkerSetInit,
} from './worker-launcher.js';
export {
  defaultWorkerPoolOptions,
  describeExit,
  type ExtOrBackendPlan,
  restartDelayMs,
  type SpawnWorker,
  type WorkerExtOrBackend,
  WorkerPool,
  type WorkerPoolModules,
  type WorkerPoolOptions,
  type WorkerPoolStatus,
  type WorkerProcessEvents,
  type WorkerProcessHandle,
  type WorkerProcessStatus,
  type WorkerSlotStatus,
  type WorkerStartSource,
  type WorkerState,
} from './worker-pool.js';
export {
  WORKER_STATE_FILE,
  WORKER_STATE_FILE_VERSION,
  type WorkerProcessRecord,
  type WorkerSlotRecord,
  type WorkerStateDocument,
  WorkerStateFile,
  workerStateDocument,
} from './worker-state-file.js';
