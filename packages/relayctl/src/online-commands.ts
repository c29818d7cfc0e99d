/**
 * The commands that talk to a running relayd over its control socket:
 * status, workers (and workers restart|drain N), reload, bridge-line,
 * circuits, connections, and keys rotate-onion (in keys-command.ts). Each
 * sends one request and prints the answer as text, or with `--json` as the
 * report object itself.
 */
import { type ControlMethod, type ControlParams, type ControlResults, controlCall } from '@relayd/control';
import type { Argv } from 'yargs';
import type { CliIo } from './cli.js';
import { type ControlArgs, clientOptions, withControlOptions } from './control-options.js';
import { CommandFailed, UsageError } from './exit-codes.js';
import {
  renderBridgeLines,
  renderCircuits,
  renderConnections,
  renderOnionKeys,
  renderReload,
  renderStatus,
  renderWorkerAction,
  renderWorkers,
} from './render.js';

/** A restart waits for the replacement to be ready (up to 30 s in the pool), plus margin. */
const RESTART_TIMEOUT_MS = 120_000;
/** A reload may restart every worker one by one. */
const RELOAD_TIMEOUT_MS = 600_000;
const ROTATE_TIMEOUT_MS = 120_000;

/** Asks the daemon; prints the report as JSON or as `render` says. */
export async function ask<M extends ControlMethod>(
  io: CliIo,
  args: ControlArgs,
  method: M,
  params: Partial<ControlParams[M]>,
  render: (report: ControlResults[M]) => string[] | { out: string[]; err: string[] },
  timeoutMs?: number,
): Promise<ControlResults[M]> {
  const report = await controlCall(clientOptions(args, timeoutMs), method, params);
  if (args.json) {
    io.out(JSON.stringify(report));
    return report;
  }
  let rendered: string[] | { out: string[]; err: string[] };
  try {
    rendered = render(report);
  } catch (error) {
    throw new CommandFailed(
      `relayd's answer to ${method} is not what this relayctl expects (${(error as Error).message}); try --json`,
    );
  }
  const { out, err } = Array.isArray(rendered) ? { out: rendered, err: [] } : rendered;
  for (const line of err) io.err(`relayctl: ${line}`);
  for (const line of out) io.out(line);
  return report;
}

function workerNumber(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new UsageError(`the worker number must be a positive integer, not ${String(value)}`);
  }
  return value;
}

export function onlineCommands(y: Argv, io: CliIo): Argv {
  return y
    .command(
      'status',
      'Show the running bridge: identity, workers, directory, transports, totals',
      (yy) => withControlOptions(yy),
      async (args) => {
        await ask(io, args, 'status', {}, renderStatus);
      },
    )
    .command(
      'workers',
      'List the worker processes, or restart or drain one',
      (yy) =>
        withControlOptions(yy)
          .command(
            'restart <worker>',
            'Replace a worker process: a new one starts, then the old one drains',
            (yyy) =>
              withControlOptions(yyy).positional('worker', { type: 'number', describe: 'Worker number' }),
            async (args) => {
              await ask(
                io,
                args,
                'workers.restart',
                { worker: workerNumber(args.worker) },
                renderWorkerAction,
                RESTART_TIMEOUT_MS,
              );
            },
          )
          .command(
            'drain <worker>',
            'Drain a worker process: no new connections, it exits once idle, then its slot starts anew',
            (yyy) =>
              withControlOptions(yyy).positional('worker', { type: 'number', describe: 'Worker number' }),
            async (args) => {
              await ask(io, args, 'workers.drain', { worker: workerNumber(args.worker) }, renderWorkerAction);
            },
          ),
      async (args) => {
        await ask(io, args, 'workers', {}, renderWorkers);
      },
    )
    .command(
      'reload',
      'Make relayd read its configuration file again (as SIGHUP does) and say what it applied',
      (yy) => withControlOptions(yy),
      async (args) => {
        const report = await ask(io, args, 'reload', {}, renderReload, RELOAD_TIMEOUT_MS);
        if (!report.accepted) {
          throw new CommandFailed(
            `the configuration has ${report.errors.length} errors; nothing was applied`,
          );
        }
      },
    )
    .command(
      'bridge-line',
      'Print the bridge lines to hand out (vanilla, then one per running transport)',
      (yy) => withControlOptions(yy),
      async (args) => {
        await ask(io, args, 'bridge-lines', {}, renderBridgeLines);
      },
    )
    .command(
      'circuits',
      'Count the open circuits by state and worker',
      (yy) => withControlOptions(yy),
      async (args) => {
        await ask(io, args, 'circuits', {}, renderCircuits);
      },
    )
    .command(
      'connections',
      'Count the connections by transport and worker (client addresses only with SafeLogging 0)',
      (yy) =>
        withControlOptions(yy).option('limit', {
          type: 'number',
          default: 100,
          describe: 'At most this many client addresses',
          requiresArg: true,
        }),
      async (args) => {
        await ask(io, args, 'connections', { limit: args.limit }, renderConnections);
      },
    );
}

/** `keys rotate-onion`: rotate the onion keys of the running bridge now. */
export function rotateOnionCommand(y: Argv, io: CliIo): Argv {
  return y.command(
    'rotate-onion',
    'Rotate the onion keys of the running bridge now, for every worker at once',
    (yy) =>
      withControlOptions(yy).option('force', {
        type: 'boolean',
        default: false,
        describe: 'Rotate even when OnionKeyRotation is frozen',
      }),
    async (args) => {
      await ask(io, args, 'keys.rotate-onion', { force: args.force }, renderOnionKeys, ROTATE_TIMEOUT_MS);
    },
  );
}
