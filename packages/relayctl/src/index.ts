export { type CliIo, getCli, RELAYCTL_VERSION } from './cli.js';
export { type ControlArgs, controlSocketPath, DEFAULT_CONFIG_FILE } from './control-options.js';
export { CommandFailed, describeFailure, ExitCode, exitCodeFor, UsageError } from './exit-codes.js';
export { formatBytes, formatDuration, formatMemory, table } from './format.js';
export { type KeysShowJson, keysShowJson } from './keys-command.js';
export {
  renderBridgeLines,
  renderCircuits,
  renderConnections,
  renderOnionKeys,
  renderReload,
  renderStatus,
  renderWorkerAction,
  renderWorkers,
} from './render.js';
