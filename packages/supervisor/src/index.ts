/**
 * @relayd/supervisor: the process that owns a relayd bridge — keys and
 * their schedule, the worker(s), the directory cache and its fetcher, and
 * the bridge's own descriptor (built, served, written, published).
 */
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
export {
  DEFAULT_MAINTENANCE_INTERVAL_MS,
  DESCRIPTOR_REGENERATE_INTERVAL_MS,
  Supervisor,
  type SupervisorModules,
  type SupervisorOptions,
  type SupervisorStatus,
} from './supervisor.js';
export { inProcessWorkerLauncher, type WorkerLauncher } from './worker-launcher.js';
