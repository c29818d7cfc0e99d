/**
 * The relayd command line. `getCli()` is shared by the executable and the
 * tests, so what the tests exercise is exactly what operators run.
 */
import { ConfigInvalidError, formatDiagnostic, loadConfigFile } from '@relayd/config';
import yargs, { type Argv } from 'yargs';
import pkg from '../package.json' with { type: 'json' };
import { runDaemon } from './daemon.js';

export const RELAYD_VERSION: string = pkg.version;

/** Facts about this build, for bug reports (`relayd build-info`). */
export function buildInfo(): Record<string, string> {
  return {
    name: 'relayd',
    version: RELAYD_VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    openssl: process.versions.openssl ?? 'unknown',
  };
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** Where relayd looks for its configuration when `-f` is not given. */
export const DEFAULT_CONFIG_FILE = '/etc/relayd/torrc';

/**
 * Checks a configuration file as tor's `--verify-config` does: prints every
 * warning and error (`FILE:LINE: message`), then "Configuration was valid",
 * or throws ConfigInvalidError (exit status 1).
 */
export function verifyConfig(file: string, io: CliIo): void {
  const result = loadConfigFile(file);
  const { warnings } = result.ok ? result.value : result.error;
  for (const w of warnings) io.err(formatDiagnostic(w));
  if (!result.ok) {
    for (const e of result.error.errors) io.err(formatDiagnostic(e));
    throw new ConfigInvalidError(file, result.error.errors, result.error.warnings);
  }
  io.out('Configuration was valid');
}

/** What the commands do beyond printing; tests replace the daemon. */
export interface CliActions {
  /** Runs the bridge in the foreground until SIGINT/SIGTERM (see daemon.ts). */
  runDaemon(configFile: string): Promise<void>;
}

export function getCli(argv: string[], io: CliIo, actions?: CliActions): Argv {
  const run = actions ?? { runDaemon: (file: string) => runDaemon(file, RELAYD_VERSION, io) };
  return yargs(argv)
    .scriptName('relayd')
    .usage(
      'relayd: a multi-process Tor bridge daemon\n\n' +
        'Usage: $0 [-f FILE]\n' +
        '  Runs the bridge in the foreground until SIGINT or SIGTERM; logs go where the\n' +
        "  configuration's Log lines say (default: notice and above to standard output).\n" +
        'Usage: $0 --verify-config [-f FILE]\n' +
        'Usage: $0 <command> [options]',
    )
    .option('f', {
      alias: 'torrc-file',
      type: 'string',
      default: DEFAULT_CONFIG_FILE,
      describe: 'Configuration file (torrc syntax)',
      requiresArg: true,
    })
    .command(
      '$0',
      'Run the bridge in the foreground with the configuration file (-f)',
      (y) =>
        y.option('verify-config', {
          type: 'boolean',
          default: false,
          describe: 'Check the configuration file (-f) and exit, as tor --verify-config',
        }),
      async (args) => {
        if (args.verifyConfig) verifyConfig(args.f, io);
        else await run.runDaemon(args.f);
      },
    )
    .command(
      'verify-config',
      'Check the configuration file (-f) and exit',
      (y) => y,
      (args) => verifyConfig(args.f, io),
    )
    .command(
      'build-info',
      'Print version and build details',
      (y) => y.option('json', { type: 'boolean', default: false, describe: 'Print as JSON' }),
      (args) => {
        const info = buildInfo();
        if (args.json) io.out(JSON.stringify(info));
        else for (const [k, v] of Object.entries(info)) io.out(`${k}: ${v}`);
      },
    )
    .strict()
    .version(RELAYD_VERSION)
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

/** A mistake on the command line: reported as one line, exit status 2. */
export class UsageError extends Error {}
