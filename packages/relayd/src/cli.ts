/**
 * The relayd command line. `getCli()` is shared by the executable and the
 * tests, so what the tests exercise is exactly what operators run.
 */
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

export function getCli(argv: string[], io: CliIo): Argv {
  return yargs(argv)
    .scriptName('relayd')
    .usage('relayd: a multi-process Tor bridge daemon\n\nUsage: $0 <command> [options]')
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
    .demandCommand(1, 'Give a command; see --help.')
    .strict()
    .version(RELAYD_VERSION)
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
