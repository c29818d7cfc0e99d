/**
 * The relayd command line. `getCli()` is shared by the executable and the
 * tests, so what the tests exercise is exactly what operators run.
 */
import { ConfigInvalidError, formatDiagnostic, loadConfigFile } from '@relayd/config';
import yargs, { type Argv } from 'yargs';
import pkg from '../package.json' with { type: 'json' };

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

export function getCli(argv: string[], io: CliIo): Argv {
  return yargs(argv)
    .scriptName('relayd')
    .usage(
      'relayd: a multi-process Tor bridge daemon\n\nUsage: $0 <command> [options]\n       $0 --verify-config [-f FILE]',
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
      false,
      (y) =>
        y.option('verify-config', {
          type: 'boolean',
          default: false,
          describe: 'Check the configuration file (-f) and exit, as tor --verify-config',
        }),
      (args) => {
        if (!args.verifyConfig) throw new UsageError('Give a command or --verify-config; see --help.');
        verifyConfig(args.f, io);
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
