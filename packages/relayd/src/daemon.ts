/**
 * `relayd -f FILE`: runs the bridge in the foreground until SIGINT or
 * SIGTERM, then shuts down cleanly.
 *
 *   exit 0  stopped by a signal after a clean shutdown
 *   exit 1  the configuration or the keys are unusable, an ORPort cannot be
 *           opened, or the shutdown did not finish in time
 *
 * The bridge runs as this process (the supervisor, with the Extended
 * ORPort front and balancer), `Workers` forked worker processes
 * (ForkedWorkerLauncher), and the managed pluggable transports the
 * supervisor launches; a shutdown stops the transports first, then the
 * front, then the workers.
 *
 * Once the bridge runs, the control socket opens (ControlSocket, default
 * DataDirectory/control.sock; @relayd/control) for relayctl; it closes
 * first on shutdown. A socket that cannot be opened is logged and the
 * bridge serves on without it.
 *
 * Under systemd (NOTIFY_SOCKET set; relayd.service is Type=notify) relayd
 * reports READY=1 once the control socket is open, so that relayctl works
 * the moment the unit counts as started; RELOADING=1 and READY=1 around each
 * reload; STOPPING=1 when a stop signal arrives (service-notifier.ts). A
 * start that fails reports nothing: systemd sees the exit.
 *
 * SIGHUP, and `relayctl reload`, reload the configuration file, as tor
 * does; the two take turns, one reload at a time. A file with errors
 * is reported and the running configuration kept; otherwise new `Log`
 * lines and SafeLogging apply at once (here and in the workers), and the
 * supervisor applies the rest (Supervisor.reload: live settings, worker
 * settings by rolling restart, the others named as needing a restart).
 *
 * Before the logger exists (configuration errors) problems go to standard
 * error, one line each, `relayd: FILE:LINE: message`. After that they go to
 * the configured logs and, for a failed start, also as one line to standard
 * error, so an operator running it by hand sees why it stopped.
 */
import { describeError, RelayError } from '@relayd/common';
import { formatDiagnostic, loadConfigFile, type RelaydConfig } from '@relayd/config';
import {
  type ControlServer,
  controlServerOptions,
  controlTargetFromSupervisor,
  type ReloadReport,
  startControlServer,
} from '@relayd/control';
import { ForkedWorkerLauncher, RetargetableLogger, Supervisor } from '@relayd/supervisor';
import { createLogger, type RelaydLogger } from '@relayd/telemetry';
import type { CliIo } from './cli.js';
import {
  bridgeStatusText,
  createServiceNotifier,
  type ServiceNotifier,
  takeNotifyEnvironment,
} from './service-notifier.js';

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
  /** Where the workers run: worker processes (default) or one worker in this process. */
  readonly workers?: 'forked' | 'in-process';
  /** Receives the function that reloads the configuration (what SIGHUP calls), for tests. */
  readonly onReloadReady?: (reload: () => Promise<ReloadReport>) => void;
  /** Where readiness, reloads and stopping are reported. Default: systemd when NOTIFY_SOCKET is set. */
  readonly notifier?: ServiceNotifier;
}

function openLogger(config: RelaydConfig): RelaydLogger {
  return createLogger({
    logs: config.logs,
    safeLogging: config.safeLogging,
    bindings: { process: 'relayd' },
  });
}

function sameLogSettings(a: RelaydConfig, b: RelaydConfig): boolean {
  return a.safeLogging === b.safeLogging && JSON.stringify(a.logs) === JSON.stringify(b.logs);
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
  // Read and removed before anything can start a process that would inherit them.
  const notifyTarget = takeNotifyEnvironment(process.env, process.pid);
  const loaded = loadConfigFile(file);
  if (!loaded.ok) {
    for (const e of loaded.error.errors) io.err(`relayd: ${formatDiagnostic(e)}`);
    throw new DaemonExit(1);
  }
  const { config, warnings } = loaded.value;
  let logs: RelaydLogger;
  try {
    logs = openLogger(config);
  } catch (error) {
    io.err(`relayd: cannot open a log destination: ${describeError(error)}`);
    throw new DaemonExit(1);
  }
  // Everything keeps this logger; a reload with new Log lines points it at new destinations.
  const logger = RetargetableLogger.create(logs);
  const notifier = hooks.notifier ?? createServiceNotifier(notifyTarget, { logger });
  // Registered before anything can fail, so a signal during start-up is not lost.
  const stopSignal = (hooks.stopSignal ?? waitForStopSignal)();
  try {
    for (const w of warnings) logger.warn({ file: w.file, line: w.line }, formatDiagnostic(w));
    logger.notice({ version, config: file }, `relayd ${version} starting with configuration ${file}`);
    let supervisor: Supervisor;
    try {
      supervisor = await Supervisor.start(
        { config, version },
        {
          logger,
          ...(hooks.workers === 'in-process' ? {} : { launcher: () => new ForkedWorkerLauncher({ logger }) }),
        },
      );
    } catch (error) {
      const message = describeError(error);
      const what = error instanceof RelayError && error.kind !== 'internal' ? message : `bug: ${message}`;
      logger.error({ err: error }, `relayd could not start: ${what}`);
      io.err(`relayd: ${what}`);
      throw new DaemonExit(1);
    }
    const running = supervisor;
    const bridgeStatus = () =>
      bridgeStatusText({
        nickname: running.status().nickname,
        workers: running.currentConfig.workers,
        bridgeLines: running.bridgeLines.length,
      });
    // Reloads are reported only between READY=1 and STOPPING=1: one during start-up
    // must not say READY=1 before the control socket is open.
    let announced = false;
    let logConfig = config;
    const reloadNow = async (): Promise<ReloadReport> => {
      const next = loadConfigFile(file);
      if (!next.ok) {
        for (const e of next.error.errors) logger.warn({ file: e.file, line: e.line }, formatDiagnostic(e));
        logger.warn({}, `${file} has errors; keeping the running configuration`);
        return {
          accepted: false,
          errors: next.error.errors.map(formatDiagnostic),
          warnings: [],
          applied: [],
          restartedWorkers: false,
          needsRestart: [],
        };
      }
      const warned = next.value.warnings.map(formatDiagnostic);
      for (const w of next.value.warnings) logger.warn({ file: w.file, line: w.line }, formatDiagnostic(w));
      const nextConfig = next.value.config;
      if (!sameLogSettings(logConfig, nextConfig)) {
        try {
          const opened = openLogger(nextConfig);
          const old = logs;
          logger.retarget(opened);
          logs = opened;
          logConfig = nextConfig;
          old.close();
          logger.notice({}, 'opened the new log destinations');
        } catch (error) {
          logger.warn(
            { err: describeError(error) },
            `cannot open a new log destination; keeping the old ones: ${describeError(error)}`,
          );
        }
      }
      const outcome = await running.reload(nextConfig);
      return { accepted: true, errors: [], warnings: warned, ...outcome };
    };
    const reloadAndNotify = async (): Promise<ReloadReport> => {
      const notify = announced;
      if (notify) notifier.reloading();
      try {
        return await reloadNow();
      } finally {
        if (notify && announced) notifier.ready(bridgeStatus());
      }
    };
    // SIGHUP and `relayctl reload` take turns: one reload at a time, in the order asked.
    let reloading: Promise<unknown> = Promise.resolve();
    const reload = (): Promise<ReloadReport> => {
      const run = reloading.then(reloadAndNotify);
      reloading = run.catch((error: unknown) => {
        logger.error({ err: describeError(error) }, `bug: reload failed: ${describeError(error)}`);
      });
      return run;
    };
    hooks.onReloadReady?.(reload);
    // tor reloads its configuration on SIGHUP; Node's default would end the process.
    const onHangup = () => {
      logger.notice({}, `received SIGHUP: reloading ${file}`);
      void reload().catch(() => {});
    };
    process.on('SIGHUP', onHangup);
    let control: ControlServer | undefined;
    const controlOptions = controlServerOptions(config);
    if (controlOptions) {
      try {
        const target = controlTargetFromSupervisor(supervisor, { reload });
        control = await startControlServer(controlOptions, target, { logger });
      } catch (error) {
        // The bridge serves on without it; relayctl says the daemon cannot be reached.
        logger.error(
          { err: describeError(error) },
          `cannot open the control socket ${controlOptions.path}: ${describeError(error)}; relayctl cannot reach this relayd`,
        );
      }
    }
    notifier.ready(bridgeStatus());
    announced = true;
    const signal = await stopSignal.finally(() => process.off('SIGHUP', onHangup));
    announced = false;
    notifier.stopping();
    logger.notice({ signal }, `received ${signal}: shutting down`);
    await control?.close();
    const stopped = await withTimeout(supervisor.stop(), SHUTDOWN_TIMEOUT_MS);
    if (stopped === 'timeout') {
      logger.error({}, `shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS} ms`);
      throw new DaemonExit(1);
    }
  } finally {
    await notifier.close();
    logs.close();
  }
}
