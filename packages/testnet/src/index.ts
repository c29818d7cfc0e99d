export {
  type ConsensusRouter,
  type ConsensusSummary,
  type PolicySummary,
  parseConsensusSummary,
  policySummaryAllows,
} from './consensus-summary.js';
export { TESTNET_ERROR, TestnetError, type TestnetErrorCode } from './errors.js';
export { type HttpResponse, parseHttpResponse } from './http-response.js';
export { describeLogs, LogFollower, sleep, type WaitForLogOptions, waitForLogLine } from './log-watch.js';
export { canBind, LoopbackAllocator, PORT_RANGE, randomLoopbackBlock } from './loopback.js';
export {
  type NetworkTimings,
  type StartBridgeOptions,
  type StartClientOptions,
  type StartNetworkOptions,
  startNetwork,
  TestNetwork,
} from './network.js';
export { PAYLOAD_PATH, PayloadServer, type PayloadServerOptions } from './payload-server.js';
export {
  DEFAULT_STOP_GRACE_MS,
  describeExit,
  type ExitStatus,
  isPidAlive,
  ManagedProcess,
  ProcessRegistry,
  readTail,
  type SpawnOptions,
  withTimeout,
} from './process-registry.js';
export {
  RELAYD_BIN,
  RELAYD_READY,
  RelaydBridgeNode,
  type RelaydTorrcSpec,
  type RelaydTransportListen,
  type RelaydTransportSpec,
  relaydTorrc,
  type StartRelaydBridgeOptions,
  startRelaydBridge,
} from './relayd-bridge.js';
export { AuthorityNode, BridgeNode, ClientNode, RelayNode } from './roles.js';
export {
  type Decoded,
  decodeSocks5ConnectReply,
  decodeSocks5MethodSelection,
  describeSocks5Reply,
  encodeSocks5Connect,
  encodeSocks5Greeting,
  SOCKS_VERSION,
  SOCKS5_ADDRESS_TYPE,
  SOCKS5_COMMAND,
  SOCKS5_METHOD,
  SOCKS5_REPLY,
  type Socks5ConnectReply,
  type Socks5Target,
} from './socks5.js';
export {
  type DownloadResult,
  downloadViaSocks5,
  type OpenStreamOptions,
  openSocks5Stream,
  type Socks5Proxy,
} from './socks5-client.js';
export {
  StandaloneTor,
  type StandaloneTorOptions,
  startStandaloneTor,
  UNREACHABLE_DIR_AUTHORITY,
} from './standalone-tor.js';
export {
  BOOTSTRAPPED_100,
  createNodeLayout,
  launchTor,
  type NodeLayout,
  TorNode,
  type TorRole,
} from './tor-node.js';
export {
  checkBinaries,
  createEmptyFile,
  createRelayIdentity,
  DEBIAN_TOR_BINARIES,
  generateAuthorityKeys,
  parseListFingerprintOutput,
  type TorBinaries,
} from './tor-tools.js';
export {
  type AuthorityIdentity,
  type AuthoritySpec,
  authorityTorrc,
  type BridgeSpec,
  baseEntries,
  bridgeLine,
  bridgeTorrc,
  type ClientSpec,
  clientTorrc,
  dirAuthorityLine,
  exitPolicyEntries,
  FAST_VOTING,
  type NodeSpec,
  type RelaySpec,
  relayTorrc,
  renderTorrc,
  resolvConf,
  type ServerSpec,
  serverEntries,
  type TorLogLevel,
  type TorrcEntry,
  torrcLineToEntry,
  type VotingSchedule,
} from './torrc.js';
