/**
 * The relayctl command line. `getCli()` is shared by the executable and the
 * tests. Offline commands work on a DataDirectory; online ones talk to a
 * running relayd over its control socket.
 */
import yargs, { type Argv } from 'yargs';
import pkg from '../package.json' with { type: 'json' };
import { keysCommand } from './keys-command.js';

export const RELAYCTL_VERSION: string = pkg.version;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** The current time in ms since the epoch; defaults to the system clock (tests inject one). */
  nowMs?(): number;
}

export function getCli(argv: string[], io: CliIo): Argv {
  return yargs(argv)
    .scriptName('relayctl')
    .usage('relayctl: manage a relayd bridge\n\nUsage: $0 <command> [options]')
    .command(
      'build-info',
      'Print version and build details',
      (y) => y.option('json', { type: 'boolean', default: false, describe: 'Print as JSON' }),
      (args) => {
        const info = { name: 'relayctl', version: RELAYCTL_VERSION, node: process.version };
        if (args.json) io.out(JSON.stringify(info));
        else for (const [k, v] of Object.entries(info)) io.out(`${k}: ${v}`);
      },
    )
    .command('keys', 'Create or inspect the key store of a DataDirectory', (y) =>
      keysCommand(y, io, () => io.nowMs?.() ?? Date.now()),
    )
    .demandCommand(1, 'Give a command; see --help.')
    .strict()
    .version(RELAYCTL_VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    });
}

/** A mistake on the command line: reported as one line, exit status 2. */
export class UsageError extends Error {}
