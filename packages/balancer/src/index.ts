/**
 * @relayd/balancer: the supervisor's connection front. The Extended ORPort
 * pluggable transports connect to (cookie file, SAFE_COOKIE,
 * USERADDR/TRANSPORT, the OKAY/DENY policy), optional vanilla ORPort
 * fronts, and the balancer behind them: handoff mode gives each socket to a
 * worker through a `HandoffTarget`; proxy mode carries it over TCP, from
 * spread 127.x source addresses, to health-checked Extended ORPort backends
 * (relayd workers or C tor instances). Sockets are opened through
 * @relayd/net; this package only touches the file system for cookie files.
 */
export { type AddressLease, ConnectionsPerAddress } from './address-limit.js';
export {
  Backend,
  BackendPool,
  type BackendSpec,
  type BackendStats,
  type CookieSource,
  DEFAULT_HEALTH_POLICY,
  type HealthListener,
  type HealthPolicy,
} from './backend-pool.js';
export {
  type Balancer,
  type BalancerMode,
  type BalancerServices,
  type BalancerSettings,
  type BalancerStats,
  balancerSettingsFromConfig,
  type ListenAddress,
  startBalancer,
  workerBackendAddress,
} from './balancer.js';
export { BalancerError, type BalancerErrorCode } from './balancer-error.js';
export { readExtOrCookieFile, writeExtOrCookieFile } from './cookie-files.js';
export {
  type ConnectionMeta,
  type Dispatcher,
  HandoffDispatcher,
  type HandoffMeta,
  type HandoffOutcome,
  type HandoffStats,
  type HandoffTarget,
} from './dispatch.js';
export {
  DEFAULT_MAX_PENDING_EXT_OR_HANDSHAKES,
  type ExtOrFrontOptions,
  type Front,
  type FrontStats,
  startExtOrFront,
  startVanillaFront,
  type VanillaFrontOptions,
} from './fronts.js';
export { HealthChecker, type HealthCheckerOptions } from './health-checker.js';
export {
  DEFAULT_BACKEND_DIAL_DEADLINE_MS,
  DEFAULT_PROXY_ATTEMPTS,
  DEFAULT_SOURCE_ATTEMPTS,
  ProxyDispatcher,
  type ProxyDispatcherOptions,
  type ProxyStats,
} from './proxy.js';
export { isLoopbackIpv4, SourceAddressPool } from './source-addresses.js';
