/**
 * @relayd/control: the operator surface of a running relayd and of its key
 * directory.
 *
 * Online: the control socket — a versioned newline-delimited JSON protocol
 * over a unix socket (protocol.ts), the server the supervisor runs
 * (server.ts: socket file mode and group, bounded requests, timeouts), the
 * dispatcher onto the `ControlTarget` (target.ts, dispatcher.ts), the
 * target built from a running supervisor (supervisor-target.ts) and the
 * report builders from its data (reports.ts, process-usage.ts), and
 * relayctl's client (client.ts).
 *
 * Offline: moving a bridge identity — import from a C tor DataDirectory,
 * backups as a ustar archive or a directory, restore (tor-import.ts,
 * key-backup.ts, key-bundle.ts, tar.ts).
 */
export {
  type ControlClientOptions,
  connectFailure,
  controlCall,
  DEFAULT_CONTROL_TIMEOUT_MS,
  DEFAULT_MAX_RESPONSE_BYTES,
} from './client.js';
export { ControlDispatcher, type ControlDispatcherModules } from './dispatcher.js';
export {
  CONTROL_ERROR_CODES,
  ControlClientError,
  type ControlClientFailure,
  ControlError,
  ControlErrorCode,
  ControlSocketError,
  ControlSocketErrorCode,
  KeyBundleError,
  KeyBundleErrorCode,
} from './errors.js';
export { GROUP_FILE, resolveGroupId } from './group.js';
export {
  BACKUP_FORMAT,
  BACKUP_MANIFEST,
  BACKUP_VERSION,
  type BackupManifest,
  type BackupManifestFile,
  backupManifest,
  checkManifest,
  type ExportReport,
  exportKeyBackup,
  type RestoreReport,
  readKeyBackup,
  restoreKeyBackup,
} from './key-backup.js';
export {
  type BundleFile,
  bundlePathProblem,
  collectBundleFiles,
  type InstallReport,
  installBundle,
  KEYS_AREA,
  PT_STATE_AREA,
} from './key-bundle.js';
export { LineReader, type LinesPushed } from './line-reader.js';
export {
  type ProcessUsage,
  parseProcStat,
  parseProcStatusRss,
  readProcessUsage,
  USER_HZ,
} from './process-usage.js';
export {
  CONTROL_METHODS,
  CONTROL_PROTOCOL_VERSION,
  type ControlErrorBody,
  ControlMethod,
  type ControlParams,
  type ControlRequest,
  type ControlResponse,
  type ControlResults,
  checkParams,
  DEFAULT_CLIENT_ADDRESS_LIMIT,
  DEFAULT_MAX_REQUEST_BYTES,
  decodeControlRequest,
  decodeControlResponse,
  encodeControlRequest,
  encodeControlResponse,
  errorResponse,
  isKnownErrorCode,
  MAX_CLIENT_ADDRESS_LIMIT,
  MAX_REQUEST_ID_LENGTH,
  type RequestId,
  type RequestProblem,
  successResponse,
} from './protocol.js';
export {
  type ClientAddressSource,
  circuitCounts,
  circuitsReport,
  connectionsReport,
  directoryReport,
  inProcessPoolView,
  type ReportClocks,
  totalsReport,
  transportConnections,
  transportReport,
  type UsageOf,
  type WorkerPoolView,
  type WorkerProcessView,
  type WorkerSlotView,
  workersReport,
} from './reports.js';
export {
  CONTROL_SOCKET_MODE_GROUP,
  CONTROL_SOCKET_MODE_PRIVATE,
  CONTROL_SOCKET_MODE_WORLD,
  type ControlServer,
  type ControlServerModules,
  type ControlServerOptions,
  controlServerOptions,
  DEFAULT_CONTROL_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONTROL_CONNECTIONS,
  MAX_UNIX_SOCKET_PATH_BYTES,
  socketFileMode,
  startControlServer,
} from './server.js';
export {
  controlTargetFromSupervisor,
  type OnionKeyRotationResult,
  type SupervisorControlHooks,
  type SupervisorControlSource,
  type SupervisorStatusView,
  type WorkerPoolControl,
} from './supervisor-target.js';
export { readTar, type TarEntry, type TarLimits, writeTar } from './tar.js';
export type {
  Awaitable,
  BridgeLinesReport,
  CircuitCounts,
  CircuitsReport,
  ClientAddressCount,
  ConnectionsQuery,
  ConnectionsReport,
  ControlTarget,
  DirectoryReport,
  OnionKeysReport,
  OnionskinCountsReport,
  ReloadReport,
  SafeLoggingMode,
  StatusReport,
  TotalsReport,
  TransportConnections,
  TransportReport,
  WorkerActionReport,
  WorkerReport,
  WorkerState,
  WorkersReport,
} from './target.js';
export { importTorKeys, type TorImportOptions, type TorImportReport } from './tor-import.js';
