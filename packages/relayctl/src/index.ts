export { type CliIo, getCli, RELAYCTL_VERSION, UsageError } from './cli.js';
export { type KeysShowJson, keysShowJson } from './keys-command.js';
