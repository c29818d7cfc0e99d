export {
  type AddressPolicyRule,
  type ParsedPolicyLine,
  type PolicyTarget,
  parsePolicyLine,
} from './address-policy.js';
export {
  formatHostPort,
  type HostPort,
  type IpAddress,
  type IpFamily,
  isHostname,
  isInternalAddress,
  parseHostPort,
  parseIpAddress,
} from './addresses.js';
export {
  type BalancerBackendSetting,
  MAX_SOURCE_ADDRESSES_PER_LINE,
  parseBalancerBackendLine,
  parseSourceAddressesLine,
  type SourceAddressRange,
  sourceRangeSize,
} from './balancer-options.js';
export {
  type ConfigDiagnostic,
  ConfigInvalidError,
  DiagnosticCode,
  formatDiagnostic,
} from './diagnostics.js';
export {
  type AuthorityDirPortUsage,
  DEFAULT_DIR_AUTHORITY_LINES,
  type DirAuthority,
  defaultDirAuthorities,
  type ParsedDirAuthority,
  parseDirAuthorityLine,
} from './dir-authority.js';
export { fileIncludeReader, loadConfigFile } from './load.js';
export {
  LOG_SEVERITIES,
  type LogDestination,
  type LogSetting,
  type LogSeverity,
  parseLogLine,
} from './log-option.js';
export { isLegalNickname, MAX_NICKNAME_LENGTH, UNNAMED_NICKNAME } from './nickname.js';
export { type ResolvedOption, resolveOptionName, suggestOptionName } from './option-names.js';
export {
  type ConfigFailure,
  type ParseConfigOptions,
  type ParsedConfig,
  parseConfig,
} from './parse-config.js';
export {
  type ListenSpec,
  type MetricsPortSetting,
  parseListenSpec,
  parseMetricsPortLine,
  parseServerPortLine,
  type ServerPortSetting,
} from './ports.js';
export { renderOptionReference, replaceOptionReference } from './reference-doc.js';
export {
  type BandwidthConfig,
  type ConfiguredAddress,
  type ControlSocketSetting,
  DEFAULT_TRANSPORT_EXT_OR_PORT,
  type RelaydConfig,
  type TestingNetworkDefaults,
} from './relayd-config.js';
export {
  MAX_WORKERS,
  OPTION_NAMES,
  OPTION_SPECS,
  type OptionName,
  type OptionSpec,
  type OptionValue,
  type PublishToken,
  THROTTLE_ALGORITHMS,
  type ThrottleAlgorithm,
} from './schema.js';
export {
  TOR_OBSOLETE_OPTION_NAMES,
  TOR_OPTION_ALIASES,
  TOR_OPTION_LIST_VERSION,
  TOR_OPTION_NAMES,
  type TorOptionAlias,
} from './tor-options.js';
export {
  type IncludedFile,
  type IncludeReader,
  MAX_INCLUDE_DEPTH,
  readTorrcEntries,
  type TorrcEntries,
} from './torrc-include.js';
export { type EntryPrefix, lexTorrc, type TorrcEntry } from './torrc-syntax.js';
export {
  isTransportName,
  parseTransportListenAddrLine,
  parseTransportOptionsLine,
  parseTransportPluginLine,
  type TransportListenAddr,
  type TransportOptions,
  type TransportPlugin,
} from './transports.js';
export { MEMORY_UNITS, parseInterval, parseMemUnit, parseMsecInterval, TIME_UNITS } from './units.js';
export {
  absolutePathType,
  booleanType,
  csvType,
  enumType,
  integerType,
  intervalType,
  memunitType,
  type Parsed,
  stringType,
  type ValueType,
} from './value-types.js';
