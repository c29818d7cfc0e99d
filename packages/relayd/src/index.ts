export { buildInfo, type CliIo, getCli, RELAYD_VERSION, UsageError } from './cli.js';
