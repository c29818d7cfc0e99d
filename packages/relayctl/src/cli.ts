/**
 * The relayctl command line. `getCli()` is shared by the executable and the
 * tests. Offline commands work on a DataDirectory (keys generate, show,
 * import, export, restore); online ones talk to a running relayd over its
 * control socket (status, workers, reload, bridge-line, circuits,
 * connections, keys rotate-onion). Exit statuses: exit-codes.ts.
 */
import yargs, { type Argv } from 'yargs';
import pkg from '../package.json' with { type: 'json' };
import { DEFAULT_CONFIG_FILE } from './control-options.js';
import { UsageError } from './exit-codes.js';
import { keysCommand } from './keys-command.js';
import { onlineCommands } from './online-commands.js';

export const RELAYCTL_VERSION: string = pkg.version;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** The current time in ms since the epoch; defaults to the system clock (tests inject one). */
  nowMs?(): number;
}

export function getCli(argv: string[], io: CliIo): Argv {
  const cli = yargs(argv)
    .scriptName('relayctl')
    .usage(
      'relayctl: manage a relayd bridge\n\n' +
        'Usage: $0 <command> [options]\n\n' +
        'Commands that talk to the running relayd find its control socket in its configuration\n' +
        `(-f, default ${DEFAULT_CONFIG_FILE}: ControlSocket, or DataDirectory/control.sock) or take --socket.\n` +
        'Exit status: 0 ok, 1 error, 2 usage, 3 relayd not running or not answering, 4 permission denied.',
    )
    .env('RELAYCTL')
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
    .command('keys', 'Create, inspect, import, back up, restore or rotate the keys', (y) =>
      keysCommand(y, io, () => io.nowMs?.() ?? Date.now()),
    );
  return onlineCommands(cli, io)
    .demandCommand(1, 'Give a command; see --help.')
    .strict()
    .version(RELAYCTL_VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((message, error) => {
      // yargs reports some argument mistakes (a missing option value) as a YError: still a usage error.
      if (!error || error.name === 'YError') throw new UsageError(message ?? error?.message ?? 'usage error');
      throw error;
    });
}

export { UsageError };
