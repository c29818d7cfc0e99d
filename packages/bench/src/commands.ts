/**
 * The bench's command line (`pnpm bench`, i.e. `node
 * packages/bench/dist/src/cli.js`). `getBenchCli()` is shared by the
 * executable and the tests.
 *
 *   (default)            run the selected scenarios against relayd and C tor,
 *                        print the table, write <out-dir>/<timestamp>.json
 *   --compare A B        print the differences between two results files
 *   --show FILE          print a results file's table again (--markdown: as Markdown)
 *
 * Times are in seconds on the command line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import pkg from '../package.json' with { type: 'json' };
import { parseBenchResults } from './results.js';
import { REPO_ROOT, runBench, writeResults } from './runner.js';
import { type BenchSettingsInput, resolveBenchSettings, SCENARIOS, type ScenarioName } from './settings.js';
import { formatComparison, formatResults, formatResultsMarkdown } from './table.js';

export const BENCH_VERSION: string = pkg.version;

export interface BenchCliIo {
  out(text: string): void;
  err(text: string): void;
}

/** A mistake on the command line: one line, exit status 2. */
export class BenchUsageError extends Error {}

/** "50x1" → 50 connections × 1 circuit. */
export function parseShape(
  text: string,
  flag: string,
): { connections: number; circuitsPerConnection: number } {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!m)
    throw new BenchUsageError(
      `${flag} must be CONNECTIONSxCIRCUITS (e.g. 50x1), not ${JSON.stringify(text)}`,
    );
  return { connections: Number(m[1]), circuitsPerConnection: Number(m[2]) };
}

/** Scenario names from repeated and comma-separated values. */
export function parseScenarios(values: readonly string[]): ScenarioName[] {
  const names = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new BenchUsageError(
        `unknown scenario ${JSON.stringify(name)}: choose from ${SCENARIOS.join(', ')}`,
      );
    }
  }
  return [...new Set(names)] as ScenarioName[];
}

export function getBenchCli(argv: string[], io: BenchCliIo): Argv {
  return yargs(argv)
    .scriptName('bench')
    .usage(
      'relayd against C tor, side by side on this machine\n\n' +
        'Usage: pnpm bench [--scenarios creation,throughput,scale,workers,balancer] [options]\n' +
        '       pnpm bench --compare A.json B.json\n' +
        '       pnpm bench --show FILE.json [--markdown]',
    )
    .option('scenarios', {
      type: 'string',
      array: true,
      default: [...SCENARIOS],
      describe: `Scenarios to run (${SCENARIOS.join(', ')}), repeatable or comma-separated`,
    })
    .option('quick', {
      type: 'boolean',
      default: false,
      describe: 'Tiny sizes: a smoke run of every code path',
    })
    .option('duration', { type: 'number', describe: 'Measured seconds per run (default 10)' })
    .option('warmup', { type: 'number', describe: 'Unmeasured seconds at the start of each run (default 2)' })
    .option('load-threads', { type: 'number', describe: 'Threads the load generator runs on (default 1)' })
    .option('source-addresses', { type: 'number', describe: 'Connect from 127.0.4.1..N (default 8)' })
    .option('creation-connections', {
      type: 'number',
      describe: 'Connections carrying the creation ramp (8)',
    })
    .option('creation-circuits', {
      type: 'number',
      describe: 'Circuits in flight per connection at most (64)',
    })
    .option('creation-start-rate', {
      type: 'number',
      describe: 'First offered CREATE2 rate per second (250)',
    })
    .option('creation-rate-factor', { type: 'number', describe: 'Rate multiplier per ramp step (1.4)' })
    .option('creation-steps', { type: 'number', describe: 'Most ramp steps (10)' })
    .option('creation-step-seconds', { type: 'number', describe: 'Seconds per ramp step (5)' })
    .option('creation-p99-limit', {
      type: 'number',
      describe: 'A step holds while p99 CREATE→CREATED ms stays under this (500)',
    })
    .option('creation-handshake', {
      choices: ['ntor', 'ntor-v3'] as const,
      describe: 'CREATE2 handshake (ntor)',
    })
    .option('throughput-bytes', { type: 'number', describe: 'Bytes per circuit each way (2000000)' })
    .option('many-circuits', { type: 'string', describe: 'Shape CONNxCIRC of the many-circuits load (2x25)' })
    .option('many-connections', {
      type: 'string',
      describe: 'Shape CONNxCIRC of the many-connections load (50x1)',
    })
    .option('scale-connections', {
      type: 'number',
      describe: 'Idle connections held in the scale scenario (10000)',
    })
    .option('scale-circuits', { type: 'number', describe: 'Circuits held per connection afterwards (1)' })
    .option('scale-concurrency', {
      type: 'number',
      describe: 'Link handshakes in flight while connecting (128)',
    })
    .option('scale-project-to', {
      type: 'number',
      describe: 'Project per-connection figures to this count when fewer were held (10000)',
    })
    .option('workers', { type: 'number', describe: 'relayd workers compared with Workers 1 (2)' })
    .option('balancer-workers', { type: 'number', describe: "relayd's Workers in the balancer scenario (2)" })
    .option('profile', {
      type: 'boolean',
      default: false,
      describe: 'Afterwards, profile relayd (node --cpu-prof) on its busiest workload',
    })
    .option('profile-scenario', {
      choices: ['creation', 'throughput'] as const,
      describe: 'Profile the busiest run of this scenario (default: the busiest of both)',
    })
    .option('out-dir', {
      type: 'string',
      describe: 'Where <timestamp>.json goes (default <repo>/bench-results)',
    })
    .option('json', { type: 'string', describe: 'Write the results to this file instead' })
    .option('markdown', { type: 'boolean', default: false, describe: 'Also print the table as Markdown' })
    .option('keep', {
      type: 'boolean',
      default: false,
      describe: "Keep the bridges' directories (logs, torrcs)",
    })
    .option('tor-binary', { type: 'string', describe: 'C tor (default /usr/bin/tor)' })
    .option('relayd-bin', {
      type: 'string',
      describe: "relayd's launcher (default this checkout's bin/relayd)",
    })
    .option('compare', {
      type: 'string',
      array: true,
      describe: 'Compare two results files: --compare A.json B.json',
    })
    .option('show', { type: 'string', describe: 'Print the table of a results file' })
    .strict()
    .version(BENCH_VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(120, process.stdout.columns || 120))
    .exitProcess(false)
    .fail((message, error) => {
      if (!error || error.name === 'YError')
        throw new BenchUsageError(message ?? error?.message ?? 'usage error');
      throw error;
    })
    .command(
      '$0',
      'Run the benchmark',
      (y) => y,
      async (args) => {
        if (args.compare) {
          if (args.compare.length !== 2) throw new BenchUsageError('--compare takes exactly two files');
          const [a, b] = args.compare as [string, string];
          io.out(formatComparison(readResults(a), readResults(b), a, b));
          return;
        }
        if (args.show) {
          const results = readResults(args.show);
          io.out(args.markdown ? formatResultsMarkdown(results) : formatResults(results));
          return;
        }
        const outDir = args['out-dir'] ?? join(REPO_ROOT, 'bench-results');
        const input: BenchSettingsInput = {
          outDir,
          quick: args.quick,
          scenarios: parseScenarios(args.scenarios),
          durationSeconds: args.duration,
          warmupSeconds: args.warmup,
          loadThreads: args['load-threads'],
          sourceAddresses: args['source-addresses'],
          profile: args.profile,
          profileScenario: args['profile-scenario'],
          torBinary: args['tor-binary'],
          relaydBin: args['relayd-bin'],
          workers: args.workers,
          balancerWorkers: args['balancer-workers'],
          creation: {
            connections: args['creation-connections'],
            circuitsPerConnection: args['creation-circuits'],
            startRate: args['creation-start-rate'],
            rateFactor: args['creation-rate-factor'],
            maxSteps: args['creation-steps'],
            stepSeconds: args['creation-step-seconds'],
            p99LimitMs: args['creation-p99-limit'],
            handshake: args['creation-handshake'],
          },
          throughput: {
            bytesPerCircuit: args['throughput-bytes'],
            manyCircuits: args['many-circuits']
              ? parseShape(args['many-circuits'], '--many-circuits')
              : undefined,
            manyConnections: args['many-connections']
              ? parseShape(args['many-connections'], '--many-connections')
              : undefined,
          },
          scale: {
            connections: args['scale-connections'],
            circuitsPerConnection: args['scale-circuits'],
            connectConcurrency: args['scale-concurrency'],
            projectTo: args['scale-project-to'],
          },
        };
        const settings = resolveBenchSettings(input);
        const results = await runBench(settings, { log: (line) => io.err(line), keepDir: args.keep });
        const file = writeResults(results, outDir, args.json);
        io.out(formatResults(results));
        if (args.markdown) io.out(formatResultsMarkdown(results));
        io.err(`results written to ${file}`);
      },
    );
}

function readResults(path: string) {
  return parseBenchResults(readFileSync(path, 'utf8'), path);
}
