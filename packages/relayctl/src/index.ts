export { type CliIo, getCli, RELAYCTL_VERSION, UsageError } from './cli.js';
