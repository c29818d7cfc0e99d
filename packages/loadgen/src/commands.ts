/**
 * The load generator's command line. `getCli()` is shared by the
 * executable (cli.ts) and the tests.
 *
 *   run (default)  load a bridge: --target HOST:PORT --fingerprint FP [...]; extends to a sink
 *                  started in this process unless --sink-info names one running elsewhere
 *   sink           run a sink relay alone, print how to reach it (JSON), serve until SIGINT/SIGTERM
 *
 * Times on the command line are in seconds; the library takes milliseconds.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import pkg from '../package.json' with { type: 'json' };
import { CREATE_HANDSHAKES, EXTEND_HANDSHAKES } from './client/hop-handshake.js';
import { LoadGenerator, type LoadProgress } from './load-generator.js';
import type { LoadOptionsInput } from './options.js';
import { formatReport } from './report.js';
import { SinkRelay } from './sink/sink-relay.js';
import {
  type NextHop,
  nextHopFromJson,
  nextHopToJson,
  parseCurve25519Key,
  parseEd25519Identity,
  parseFingerprint,
  parseHostPort,
} from './target.js';

export const LOADGEN_VERSION: string = pkg.version;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Resolves when the user asks the process to stop (SIGINT/SIGTERM); tests pass their own. */
  interrupted?(): Promise<void>;
}

/** A mistake on the command line: reported as one line, exit status 2. */
export class UsageError extends Error {}

/** The run finished but not every byte was accounted for, with --check: exit status 3. */
export class IncompleteRunError extends Error {}

function seconds(value: number): number {
  return Math.round(value * 1000);
}

function waitForSignal(io: CliIo): Promise<void> {
  if (io.interrupted) return io.interrupted();
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

function progressLine(p: LoadProgress): string {
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  return (
    `[${(p.elapsedMs / 1000).toFixed(1)} s] ${p.phase}: ${p.connectionsOpen} conn, ${p.circuitsActive} active, ` +
    `${p.launched} launched, ${p.built} built, ${p.finished} finished, ${p.failed} failed, ` +
    `${mb(p.forwardPayloadBytes)} MB fwd, ${mb(p.backwardPayloadBytes)} MB back`
  );
}

export function getCli(argv: string[], io: CliIo): Argv {
  return yargs(argv)
    .scriptName('loadgen')
    .usage(
      'relayd load generator: many Tor clients at once against one bridge\n\n' +
        'Usage: $0 --target HOST:PORT --fingerprint FP [options]\n       $0 sink [options]',
    )
    .command(
      ['run', '$0'],
      'Load a bridge and report',
      (y) =>
        y
          .option('target', {
            type: 'string',
            demandOption: true,
            describe: "The bridge's ORPort, HOST:PORT",
          })
          .option('fingerprint', {
            type: 'string',
            demandOption: true,
            describe: "The bridge's RSA fingerprint (40 hex)",
          })
          .option('ed25519', {
            type: 'string',
            describe:
              "The bridge's Ed25519 identity (base64, as in fingerprint-ed25519); default: learned from the link",
          })
          .option('ntor-onion-key', {
            type: 'string',
            describe: "The bridge's ntor onion key (base64); default: read from its descriptor",
          })
          .option('connections', { type: 'number', default: 1, describe: 'Link connections to the bridge' })
          .option('circuits-per-connection', {
            type: 'number',
            default: 1,
            describe: 'Circuits in flight per connection',
          })
          .option('rate', {
            type: 'number',
            default: 0,
            describe: 'New circuits per second, all connections (0: no limit)',
          })
          .option('handshake', {
            choices: CREATE_HANDSHAKES,
            default: 'ntor' as const,
            describe: 'First hop: CREATE2 ntor, CREATE2 ntor v3, or CREATE_FAST',
          })
          .option('extend-handshake', {
            choices: EXTEND_HANDSHAKES,
            default: 'ntor' as const,
            describe: 'Handshake inside EXTEND2 to the sink',
          })
          .option('hops', {
            type: 'number',
            choices: [1, 2],
            default: 2,
            describe: '2: extend every circuit to the sink; 1: circuits stop at the bridge (creation only)',
          })
          .option('download-bytes', {
            type: 'number',
            default: 0,
            describe: 'Bytes each circuit downloads from the sink',
          })
          .option('upload-bytes', {
            type: 'number',
            default: 0,
            describe: 'Bytes each circuit sends to the sink',
          })
          .option('upload-cells', {
            choices: ['data', 'drop'] as const,
            default: 'data' as const,
            describe: 'Forward bytes in DATA cells (flow-controlled) or DROP cells',
          })
          .option('duration', { type: 'number', default: 10, describe: 'Seconds to launch circuits for' })
          .option('warmup', {
            type: 'number',
            default: 0,
            describe: 'Seconds at the start that are not measured',
          })
          .option('max-circuits', {
            type: 'number',
            default: 0,
            describe: 'Stop after this many circuits (0: no limit)',
          })
          .option('drain-timeout', {
            type: 'number',
            default: 10,
            describe: 'Seconds running circuits get to finish at the end',
          })
          .option('build-timeout', {
            type: 'number',
            default: 30,
            describe: 'Seconds a circuit may take to build',
          })
          .option('stall-timeout', {
            type: 'number',
            default: 30,
            describe: 'Seconds an open circuit may go without progress',
          })
          .option('connect-timeout', {
            type: 'number',
            default: 10,
            describe: 'Seconds for TCP + TLS per connection',
          })
          .option('sink-info', {
            type: 'string',
            describe:
              'JSON file from "loadgen sink --info-file": extend to that sink instead of starting one here',
          })
          .option('sink-host', {
            type: 'string',
            default: '127.0.0.1',
            describe: 'Address of the sink started here',
          })
          .option('sink-port', {
            type: 'number',
            default: 0,
            describe: 'Port of the sink started here (0: any)',
          })
          .option('bridge-pid', { type: 'number', describe: "Sample this process's CPU and RSS from /proc" })
          .option('sample-interval', {
            type: 'number',
            default: 1,
            describe: 'Seconds between /proc samples',
          })
          .option('source-address', {
            type: 'string',
            array: true,
            default: [] as string[],
            describe: 'Local addresses to connect from, round robin (repeatable)',
          })
          .option('json', {
            type: 'string',
            // One argument, whatever it looks like: "-" would otherwise be read as a positional.
            nargs: 1,
            describe: 'Write the report as JSON to this file ("-": stdout)',
          })
          .option('quiet', { type: 'boolean', default: false, describe: 'No progress lines on stderr' })
          .option('check', {
            type: 'boolean',
            default: false,
            describe: 'Exit with status 3 unless every circuit finished and every byte was accounted for',
          }),
      async (args) => {
        const target = parseHostPort(args.target, '--target');
        const fingerprint = parseFingerprint(args.fingerprint, '--fingerprint');
        let sink: SinkRelay | undefined;
        let nextHop: NextHop | undefined;
        if (args.hops === 2) {
          if (args['sink-info']) {
            nextHop = nextHopFromJson(JSON.parse(readFileSync(args['sink-info'], 'utf8')));
          } else {
            sink = await SinkRelay.start({ host: args['sink-host'], port: args['sink-port'] });
            nextHop = sink.nextHop;
          }
        }
        const options: LoadOptionsInput = {
          target: {
            ...target,
            rsaIdentity: fingerprint,
            ed25519Identity: args.ed25519 ? parseEd25519Identity(args.ed25519, '--ed25519') : undefined,
            ntorOnionKey: args['ntor-onion-key']
              ? parseCurve25519Key(args['ntor-onion-key'], '--ntor-onion-key')
              : undefined,
          },
          nextHop,
          connections: args.connections,
          circuitsPerConnection: args['circuits-per-connection'],
          circuitRate: args.rate,
          handshake: args.handshake,
          extendHandshake: args['extend-handshake'],
          downloadBytes: args['download-bytes'],
          uploadBytes: args['upload-bytes'],
          uploadCells: args['upload-cells'],
          durationMs: seconds(args.duration),
          warmupMs: seconds(args.warmup),
          maxCircuits: args['max-circuits'],
          drainTimeoutMs: seconds(args['drain-timeout']),
          buildTimeoutMs: seconds(args['build-timeout']),
          stallTimeoutMs: seconds(args['stall-timeout']),
          connectTimeoutMs: seconds(args['connect-timeout']),
          bridgePid: args['bridge-pid'],
          sampleIntervalMs: seconds(args['sample-interval']),
          sourceAddresses: args['source-address'],
        };
        try {
          const generator = new LoadGenerator(options, {
            ...(args.quiet ? {} : { onProgress: (p: LoadProgress) => io.err(progressLine(p)) }),
          });
          const interrupted = waitForSignal(io);
          void interrupted.then(() => generator.stop());
          const report = await generator.run();
          const output = { ...report, sink: sink ? sink.stats : null };
          if (args.json === '-') io.out(JSON.stringify(output, null, 2));
          else {
            if (args.json) writeFileSync(args.json, `${JSON.stringify(output, null, 2)}\n`);
            io.out(formatReport(report));
          }
          if (args.check && !report.accounting.complete) {
            throw new IncompleteRunError('not every circuit finished with all its bytes accounted for');
          }
        } finally {
          await sink?.close();
        }
      },
    )
    .command(
      'sink',
      'Run a sink relay alone (the next hop for runs started elsewhere)',
      (y) =>
        y
          .option('host', {
            type: 'string',
            default: '127.0.0.1',
            describe: 'Address to listen on (the bridge dials it)',
          })
          .option('port', { type: 'number', default: 0, describe: 'Port to listen on (0: any)' })
          .option('data-dir', {
            type: 'string',
            describe: 'Keep the sink keys here; default a temporary directory',
          })
          .option('info-file', {
            type: 'string',
            describe: 'Also write the sink description (JSON) to this file',
          })
          .option('default-response-bytes', {
            type: 'number',
            default: 0,
            describe: 'Body size for GETs of paths other than /loadgen/...',
          }),
      async (args) => {
        const sink = await SinkRelay.start({
          host: args.host,
          port: args.port,
          defaultResponseBytes: args['default-response-bytes'],
          ...(args['data-dir'] ? { dataDir: args['data-dir'] } : {}),
        });
        try {
          const info = JSON.stringify(nextHopToJson(sink.nextHop));
          if (args['info-file']) writeFileSync(args['info-file'], `${info}\n`);
          io.out(info);
          await waitForSignal(io);
          io.out(JSON.stringify(sink.stats));
        } finally {
          await sink.close();
        }
      },
    )
    .command(
      'build-info',
      'Print version and build details',
      (y) => y,
      () => io.out(JSON.stringify({ name: 'loadgen', version: LOADGEN_VERSION, node: process.version })),
    )
    .strict()
    .version(LOADGEN_VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((message, error) => {
      if (!error || error.name === 'YError') throw new UsageError(message ?? error?.message ?? 'usage error');
      throw error;
    });
}
