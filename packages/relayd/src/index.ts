export {
  buildInfo,
  type CliActions,
  type CliIo,
  DEFAULT_CONFIG_FILE,
  getCli,
  RELAYD_VERSION,
  UsageError,
  verifyConfig,
} from './cli.js';
export { DaemonExit, type DaemonHooks, runDaemon, SHUTDOWN_TIMEOUT_MS } from './daemon.js';
