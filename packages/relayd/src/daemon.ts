/**
 * `relayd -f FILE`: runs the bridge in the foreground until SIGINT or
 * SIGTERM, then shuts down cleanly.
 *
 *   exit 0  stopped by a signal after a clean shutdown
 *   exit 1  the configuration or the keys are unusable, an ORPort cannot be
 *           opened, or the shutdown did not finish in time
 *
 * SIGHUP is logged and ignored (tor would reload its configuration; relayd
 * does not reload yet).
 *
 * Before the logger exists (configuration errors) problems go to standard
 * error, one line each, `relayd: FILE:LINE: message`. After that they go to
 * the configured logs and, for a failed start, also as one line to standard
 * error, so an operator running it by hand sees why it stopped.
 */
import { describeError, RelayError } from '@relayd/common';
import { formatDiagnostic, loadConfigFile } from '@relayd/config';
import { Supervisor } from '@relayd/supervisor';
import { createLogger, type RelaydLogger } from '@relayd/telemetry';
import type { CliIo } from './cli.js';

/** How long a shutdown may take before relayd gives up waiting and exits 1. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

/** A failure that has already been reported; the exit status to use. */
export class DaemonExit extends Error {
  constructor(readonly exitCode: number) {
    super(`relayd exits with status ${exitCode}`);
    this.name = 'DaemonExit';
  }
}

export interface DaemonHooks {
  /** Resolves with the signal name when relayd is asked to stop. Default: SIGINT or SIGTERM. */
  readonly stopSignal?: () => Promise<string>;
}

function waitForStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs the bridge configured in `file` until a stop signal. Throws DaemonExit on failure (already reported). */
export async function runDaemon(
  file: string,
  version: string,
  io: CliIo,
  hooks: DaemonHooks = {},
): Promise<void> {
  const loaded = loadConfigFile(file);
  if (!loaded.ok) {
    for (const e of loaded.error.errors) io.err(`relayd: ${formatDiagnostic(e)}`);
    throw new DaemonExit(1);
  }
  const { config, warnings } = loaded.value;
  let logger: RelaydLogger;
  try {
    logger = createLogger({
      logs: config.logs,
      safeLogging: config.safeLogging,
      bindings: { process: 'relayd' },
    });
  } catch (error) {
    io.err(`relayd: cannot open a log destination: ${describeError(error)}`);
    throw new DaemonExit(1);
  }
  // Registered before anything can fail, so a signal during start-up is not lost.
  const stopSignal = (hooks.stopSignal ?? waitForStopSignal)();
  try {
    for (const w of warnings) logger.warn({ file: w.file, line: w.line }, formatDiagnostic(w));
    logger.notice({ version, config: file }, `relayd ${version} starting with configuration ${file}`);
    let supervisor: Supervisor;
    try {
      supervisor = await Supervisor.start({ config, version }, { logger });
    } catch (error) {
      const message = describeError(error);
      const what = error instanceof RelayError && error.kind !== 'internal' ? message : `bug: ${message}`;
      logger.error({ err: error }, `relayd could not start: ${what}`);
      io.err(`relayd: ${what}`);
      throw new DaemonExit(1);
    }
    // tor reloads its configuration on SIGHUP; relayd cannot yet, and must not die of it (Node's default).
    const onHangup = () =>
      logger.notice({}, 'received SIGHUP: configuration reload is not implemented; ignored');
    process.on('SIGHUP', onHangup);
    const signal = await stopSignal.finally(() => process.off('SIGHUP', onHangup));
    logger.notice({ signal }, `received ${signal}: shutting down`);
    const stopped = await withTimeout(supervisor.stop(), SHUTDOWN_TIMEOUT_MS);
    if (stopped === 'timeout') {
      logger.error({}, `shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS} ms`);
      throw new DaemonExit(1);
    }
  } finally {
    logger.close();
  }
}
