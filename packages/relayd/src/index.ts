export {
  buildInfo,
  type CliIo,
  DEFAULT_CONFIG_FILE,
  getCli,
  RELAYD_VERSION,
  UsageError,
  verifyConfig,
} from './cli.js';
