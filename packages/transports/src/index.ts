/**
 * @relayd/transports: the bridge's server pluggable transports. Launches
 * and supervises each `ServerTransportPlugin … exec` line as a managed
 * proxy (pt-spec: TOR_PT_* environment, stdout configuration protocol,
 * restarts with backoff, stdin-close/SIGTERM/SIGKILL stop), pointed at the
 * supervisor's Extended ORPort; renders what the bridge publishes about
 * them (extra-info `transport` lines, bridge-lines.txt) and the
 * environment file of an external transport started beside relayd.
 */
export {
  FileTransportAddressMemory,
  formatTransportAddresses,
  inMemoryTransportAddresses,
  parseTransportAddresses,
  TRANSPORT_ADDRESSES_FILE,
  type TransportAddressMemory,
} from './address-memory.js';
export { TRANSPORT_ERROR_KINDS, TransportError, type TransportErrorCode } from './errors.js';
export {
  type ExternalTransportEnvironmentFile,
  type ExternalTransportEnvironmentOptions,
  externalTransportEnvironment,
  externalTransportEnvironmentFile,
  externalTransportEnvironmentFiles,
  renderEnvironmentFile,
} from './external-environment.js';
export {
  type BindChoice,
  type BoundListenerPort,
  chooseBindAddress,
  DEFAULT_TRANSPORT_BIND_HOST,
  endpointAddress,
  formatEndpoint,
  type ListenEndpoint,
  type ManagedProxyPlan,
  managedProxyEnvironment,
  managedProxyPlans,
  ptOrPortTarget,
  ptStateLocation,
  type ServerTransportEndpoints,
  type TransportConfig,
} from './launch-plan.js';
export { ManagedProxy, type ManagedProxyModules, type ManagedProxyOptions } from './managed-proxy.js';
export {
  type ProxyLineOutcome,
  type ProxyPhase,
  type ServerMethod,
  ServerProxyConfiguration,
} from './proxy-configuration.js';
export {
  type BridgeLinesInput,
  bridgeLines,
  extraInfoTransportInfo,
  extraInfoTransportLines,
  extraInfoTransports,
  type PublishedAddresses,
  publicTransportEndpoint,
  type TransportBridgeLine,
  type TransportEndpoint,
  transportBridgeLine,
  vanillaBridgeLine,
} from './published-transports.js';
export {
  DEFAULT_RESTART_BACKOFF,
  RestartBackoff,
  type RestartBackoffPolicy,
  restartBackoffPolicy,
} from './restart-backoff.js';
export { systemTransportTimers, type TransportTimerHandle, type TransportTimers } from './timers.js';
export {
  DEFAULT_LAUNCH_TIMEOUT_MS,
  DEFAULT_STOP_GRACE_MS,
  DEFAULT_TRANSPORT_PATH,
  ServerTransportManager,
  type ServerTransportManagerModules,
  type ServerTransportManagerOptions,
  type TransportStatesListener,
} from './transport-manager.js';
export {
  type FailedTransport,
  type RunningTransport,
  runningTransports,
  type ServerTransportState,
  type StartingTransport,
  type StoppedTransport,
} from './transport-state.js';
