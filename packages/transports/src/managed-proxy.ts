/**
 * One managed server transport process (one `ServerTransportPlugin … exec`
 * line): launched with its TOR_PT_* environment, configured through its
 * stdout (ServerProxyConfiguration), supervised, and stopped.
 *
 * - Launch: `spawn(path, args)` with stdin a pipe that stays open
 *   (TOR_PT_EXIT_ON_STDIN_CLOSE=1: if relayd dies, the transport's stdin
 *   closes and it exits by itself), stdout parsed line by line, stderr
 *   logged at info as C tor does. The environment is PATH, the caller's
 *   extra variables and the TOR_PT_* set, nothing else.
 * - Launch timeout: a transport that has not said SMETHODS DONE within
 *   `launchTimeoutMs` is stopped and relaunched with backoff (C tor waits
 *   forever).
 * - Exit: relaunched after the backoff delay (restart-backoff.ts), asking
 *   for the same ports. A transport that failed the protocol (ENV-ERROR,
 *   VERSION-ERROR, nonsense) or cannot be executed is not relaunched: the
 *   same launch would fail the same way.
 * - A remembered port that is taken now (SMETHOD-ERROR on it): forgotten,
 *   and the transport relaunched to pick a new one.
 * - Stop (pt-spec 3.4): close stdin, wait `stopGraceMs`, SIGTERM, wait,
 *   SIGKILL — each signal sent to the PID, and only while the exit has not
 *   been seen (a reaped PID may belong to someone else).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { type Clock, describeError, type Logger } from '@relayd/common';
import { formatAddressPort, PtLineSplitter, type PtLogSeverity } from '@relayd/ext-orport';
import type { TransportAddressMemory } from './address-memory.js';
import {
  type BindChoice,
  chooseBindAddress,
  type ManagedProxyPlan,
  managedProxyEnvironment,
} from './launch-plan.js';
import { type ProxyLineOutcome, ServerProxyConfiguration } from './proxy-configuration.js';
import { RestartBackoff, type RestartBackoffPolicy } from './restart-backoff.js';
import type { TransportTimerHandle, TransportTimers } from './timers.js';
import type { ServerTransportState } from './transport-state.js';

export interface ManagedProxyOptions {
  readonly plan: ManagedProxyPlan;
  /** PATH for the transport. */
  readonly path: string;
  /** Variables besides PATH and TOR_PT_* (TOR_PT_* ones are overridden). */
  readonly extraEnvironment: Readonly<Record<string, string>>;
  readonly launchTimeoutMs: number;
  readonly stopGraceMs: number;
  readonly backoff: RestartBackoffPolicy;
  readonly addressMemory: TransportAddressMemory;
}

export interface ManagedProxyModules {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly timers: TransportTimers;
  /** Called after every change of `states()`. */
  readonly onChange: () => void;
}

/** Longest stdout or stderr line kept; a longer one is dropped (and counted by the splitter). */
const MAX_LINE_LENGTH = 16 * 1024;
/**
 * After the exit, how long to wait for the rest of stdout: a transport that
 * prints ENV-ERROR and exits must be judged on that line, which may arrive
 * after the exit event. Bounded, because a grandchild holding the pipe
 * open would delay the end of the stream forever.
 */
const EXIT_DRAIN_MS = 2_000;

/** How the process of one launch is doing. */
interface Run {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly configuration: ServerProxyConfiguration;
  readonly bind: ReadonlyMap<string, BindChoice>;
  configuredAtMs: number | undefined;
  /** The process is gone (its PID must not be signalled any more). */
  exited: boolean;
  /** How it ended, once known. */
  exitDescription: string | undefined;
  /** The end of the run was handled (after its last stdout line, or the drain bound). */
  finished: boolean;
  readonly exitedPromise: Promise<void>;
  /** Why relayd is ending this run itself (timeout, broken, relaunch); undefined while it may run. */
  endReason: { readonly reason: string; readonly retry: boolean } | undefined;
  launchTimer: TransportTimerHandle | undefined;
  readonly killTimers: Set<TransportTimerHandle>;
}

type Lifecycle = 'idle' | 'running' | 'waiting' | 'given-up' | 'stopped';

export class ManagedProxy {
  private readonly logger: Logger;
  private readonly backoff: RestartBackoff;
  private lifecycle: Lifecycle = 'idle';
  private run: Run | undefined;
  private restartTimer: TransportTimerHandle | undefined;
  private restartCount = 0;
  private implementation: { name: string; version: string } | undefined;
  private transportStates: ServerTransportState[];

  constructor(
    private readonly options: ManagedProxyOptions,
    private readonly modules: ManagedProxyModules,
  ) {
    this.logger = modules.logger.child({ transport: options.plan.id });
    this.backoff = new RestartBackoff(options.backoff);
    this.transportStates = options.plan.transports.map((name) => ({
      ...this.base(name),
      status: 'starting',
      pid: undefined,
    }));
  }

  get plan(): ManagedProxyPlan {
    return this.options.plan;
  }

  /** The PID of the transport process now running, if any. */
  get pid(): number | undefined {
    return this.run && !this.run.exited ? this.run.pid : undefined;
  }

  /** Relaunches so far. */
  get restarts(): number {
    return this.restartCount;
  }

  /** One state per transport of this proxy, in configuration order. */
  states(): readonly ServerTransportState[] {
    return this.transportStates;
  }

  /** Launches the transport (once; later calls do nothing). */
  start(): void {
    if (this.lifecycle !== 'idle') return;
    this.launch();
  }

  /**
   * Stops the transport for good: cancels any relaunch, then closes stdin,
   * SIGTERM, SIGKILL (each after `stopGraceMs`). Resolves once it exited
   * (or, should even SIGKILL not be reaped, one more grace period later).
   */
  async stop(): Promise<void> {
    if (this.lifecycle === 'stopped') return;
    this.lifecycle = 'stopped';
    if (this.restartTimer !== undefined) this.modules.timers.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const run = this.run;
    if (run && !run.exited) {
      run.endReason = { reason: 'relayd is shutting down', retry: false };
      await this.terminate(run);
    }
    this.setAll((name) => ({ ...this.base(name), status: 'stopped' }));
  }

  private base(name: string) {
    return { name, proxy: this.options.plan.id, path: this.options.plan.path, restarts: this.restartCount };
  }

  private setAll(state: (name: string) => ServerTransportState): void {
    this.transportStates = this.options.plan.transports.map(state);
    this.modules.onChange();
  }

  private launch(): void {
    const { plan } = this.options;
    this.lifecycle = 'running';
    const bind = new Map<string, BindChoice>();
    for (const transport of plan.transports) {
      bind.set(transport, chooseBindAddress(plan, transport, this.options.addressMemory.recall(transport)));
    }
    const env = {
      ...this.options.extraEnvironment,
      PATH: this.options.path,
      ...managedProxyEnvironment(plan, new Map([...bind].map(([t, choice]) => [t, choice.address]))),
    };
    try {
      // pt-spec: the state directory "is not required to exist"; making it saves PTs that assume it does.
      mkdirSync(plan.stateLocation, { recursive: true, mode: 0o700 });
    } catch (error) {
      this.giveUp(`cannot create the state directory ${plan.stateLocation}: ${describeError(error)}`);
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(plan.path, [...plan.args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      this.giveUp(`cannot execute ${plan.path}: ${describeError(error)}`);
      return;
    }
    let markExited!: () => void;
    const run: Run = {
      child,
      pid: child.pid,
      configuration: new ServerProxyConfiguration(plan.transports),
      bind,
      configuredAtMs: undefined,
      exited: false,
      exitDescription: undefined,
      finished: false,
      exitedPromise: new Promise<void>((resolve) => {
        markExited = resolve;
      }),
      endReason: undefined,
      launchTimer: undefined,
      killTimers: new Set(),
    };
    this.run = run;

    const stdout = new PtLineSplitter(MAX_LINE_LENGTH);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      for (const line of stdout.push(chunk)) this.onLine(run, line);
    });
    const stderr = new PtLineSplitter(MAX_LINE_LENGTH);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of stderr.push(chunk)) {
        this.logger.info(
          { pid: run.pid },
          `managed proxy "${plan.path}" reported via standard error: ${line}`,
        );
      }
    });
    // Writing is never done; a closed pipe must not become an unhandled error.
    child.stdin?.on('error', () => {});
    child.on('error', (error) => {
      if (run.pid === undefined && !run.exited) {
        // spawn failed (ENOENT, EACCES): no process, no 'exit' or 'close' event.
        run.exited = true;
        run.finished = true;
        markExited();
        this.clearRunTimers(run);
        if (this.lifecycle === 'stopped') return;
        this.giveUp(`cannot execute ${plan.path}: ${describeError(error)}`);
      } else {
        this.logger.warn({ pid: run.pid }, `managed proxy "${plan.path}": ${describeError(error)}`);
      }
    });
    child.on('exit', (code, signal) => {
      run.exited = true;
      run.exitDescription = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      markExited();
      this.clearRunTimers(run);
      const drain = this.modules.timers.setTimeout(() => this.finishRun(run), EXIT_DRAIN_MS);
      child.once('close', () => {
        this.modules.timers.clearTimeout(drain);
        this.finishRun(run);
      });
    });

    if (run.pid !== undefined) {
      this.logger.info({ pid: run.pid }, `managed proxy "${plan.path}" has spawned with PID ${run.pid}`);
    }
    run.launchTimer = this.modules.timers.setTimeout(() => {
      run.launchTimer = undefined;
      if (run.exited || run.configuration.phase === 'configured' || run.endReason) return;
      this.endRun(
        run,
        `did not finish its configuration (SMETHODS DONE) within ${this.options.launchTimeoutMs} ms`,
        true,
      );
    }, this.options.launchTimeoutMs);
    this.setAll((name) => ({ ...this.base(name), status: 'starting', pid: run.pid }));
  }

  private onLine(run: Run, line: string): void {
    if (run !== this.run || run.finished) return;
    const outcome: ProxyLineOutcome = run.configuration.receive(line);
    const { path } = this.options.plan;
    switch (outcome.kind) {
      case 'progress':
        this.logger.debug({ pid: run.pid }, `managed proxy "${path}": ${line}`);
        return;
      case 'configured':
        this.onConfigured(run);
        return;
      case 'broken':
        if (!run.endReason) {
          this.logger.warn(
            { pid: run.pid },
            `managed proxy "${path}" failed the configuration protocol and will be stopped: ${outcome.reason}`,
          );
          this.endRun(run, `failed the configuration protocol: ${outcome.reason}`, false);
        }
        return;
      case 'log':
        logAtSeverity(
          this.logger,
          outcome.severity,
          { pid: run.pid },
          `managed proxy "${path}": ${outcome.message}`,
        );
        return;
      case 'status':
        this.logger.info(
          { pid: run.pid, status: Object.fromEntries(outcome.values.map((v) => [v.key, v.value])) },
          `managed proxy "${path}" status for ${outcome.transport}`,
        );
        return;
      case 'implementation':
        this.implementation = { name: outcome.implementation, version: outcome.version };
        this.logger.info(
          { pid: run.pid },
          `managed proxy "${path}" is ${outcome.implementation} ${outcome.version}`,
        );
        if (run.configuration.phase === 'configured') this.onConfigured(run);
        return;
      case 'ignored':
        if (outcome.severity === 'warn') {
          this.logger.warn({ pid: run.pid }, `managed proxy "${path}": ignored a line: ${outcome.reason}`);
        } else {
          this.logger.notice({ pid: run.pid }, `managed proxy "${path}": ignored a line: ${outcome.reason}`);
        }
        return;
    }
  }

  /** SMETHODS DONE (or a later version report): publish each transport's result. */
  private onConfigured(run: Run): void {
    const first = run.configuredAtMs === undefined;
    if (run.exited || run.endReason) {
      // It said DONE as it died, or while relayd was ending it: the end of the run decides.
      run.configuredAtMs ??= this.modules.clock.monotonicMs();
      return;
    }
    if (first) {
      run.configuredAtMs = this.modules.clock.monotonicMs();
      if (run.launchTimer !== undefined) this.modules.timers.clearTimeout(run.launchTimer);
      run.launchTimer = undefined;
    }
    const { plan } = this.options;
    const methods = run.configuration.methods;
    const errors = run.configuration.methodErrors;
    const lostPorts: string[] = [];
    const nowMs = this.modules.clock.nowMs();
    const previous = new Map(this.transportStates.map((s) => [s.name, s]));
    this.setAll((name): ServerTransportState => {
      const method = methods.get(name);
      if (method && run.pid !== undefined) {
        const before = previous.get(name);
        return {
          ...this.base(name),
          status: 'running',
          pid: run.pid,
          address: method.address.address,
          family: method.address.family,
          port: method.address.port,
          args: method.args,
          argsText: method.argsText,
          implementation: this.implementation,
          sinceMs: before?.status === 'running' && before.pid === run.pid ? before.sinceMs : nowMs,
        };
      }
      const error = errors.get(name);
      if (error !== undefined && run.bind.get(name)?.source === 'remembered') lostPorts.push(name);
      return {
        ...this.base(name),
        status: 'failed',
        error: error !== undefined ? `SMETHOD-ERROR: ${error}` : 'the transport did not report this method',
        retryAtMs: undefined,
      };
    });
    if (!first) return;
    for (const name of plan.transports) {
      const method = methods.get(name);
      if (method) {
        this.logger.notice(
          { pid: run.pid },
          `registered server transport '${name}' at '${formatAddressPort(method.address)}'`,
        );
        if (run.bind.get(name)?.source !== 'configured')
          this.options.addressMemory.remember(name, method.address);
      } else {
        this.logger.warn(
          { pid: run.pid },
          `server transport '${name}' did not start: ${errors.get(name) ?? 'not reported by the transport'}`,
        );
      }
    }
    if (methods.size === 0) {
      this.logger.warn(
        { pid: run.pid },
        `managed proxy "${plan.path}" was spawned successfully, but it didn't launch any pluggable transport listeners`,
      );
    }
    if (lostPorts.length > 0) {
      for (const name of lostPorts) this.options.addressMemory.forget(name);
      this.endRun(run, `could not listen again on the remembered port of ${lostPorts.join(', ')}`, true);
    }
  }

  /** Ends a run on relayd's own initiative; `retry`: relaunch with backoff after it exits. */
  private endRun(run: Run, reason: string, retry: boolean): void {
    if (run.endReason || run.finished) return;
    run.endReason = { reason, retry };
    if (retry && !run.exited) {
      this.logger.warn(
        { pid: run.pid },
        `managed proxy "${this.options.plan.path}" ${reason}; restarting it`,
      );
    }
    if (!run.exited) void this.terminate(run);
  }

  /** The process exited and its output was read: relaunch, give up, or (stopping) nothing. */
  private finishRun(run: Run): void {
    if (run.finished) return;
    run.finished = true;
    if (run !== this.run) return;
    const how = run.exitDescription ?? 'exited';
    const { path } = this.options.plan;
    if (this.lifecycle === 'stopped') {
      this.logger.info({ pid: run.pid }, `managed proxy "${path}" ${how}`);
      return;
    }
    const end = run.endReason;
    if (end && !end.retry) {
      this.giveUp(`${end.reason} (${how})`);
      return;
    }
    const reason = end
      ? end.reason
      : run.configuredAtMs === undefined
        ? `${how} before finishing its configuration`
        : how;
    const ranMs =
      run.configuredAtMs === undefined ? 0 : this.modules.clock.monotonicMs() - run.configuredAtMs;
    const delay = this.backoff.nextDelay(ranMs);
    if (!end)
      this.logger.warn({ pid: run.pid }, `managed proxy "${path}" ${reason}; restarting it in ${delay} ms`);
    this.lifecycle = 'waiting';
    const retryAtMs = this.modules.clock.nowMs() + delay;
    this.setAll((name) => ({ ...this.base(name), status: 'failed', error: reason, retryAtMs }));
    this.restartTimer = this.modules.timers.setTimeout(() => {
      this.restartTimer = undefined;
      if (this.lifecycle !== 'waiting') return;
      this.restartCount++;
      this.launch();
    }, delay);
  }

  /** No relaunch: the configuration or the executable needs the operator. */
  private giveUp(error: string): void {
    this.lifecycle = 'given-up';
    this.logger.warn({}, `managed proxy "${this.options.plan.path}" will not be restarted: ${error}`);
    this.setAll((name) => ({ ...this.base(name), status: 'failed', error, retryAtMs: undefined }));
  }

  /** pt-spec 3.4: close stdin; SIGTERM; SIGKILL — by PID, never after the exit was seen. */
  private terminate(run: Run): Promise<void> {
    if (run.exited) return Promise.resolve();
    const grace = this.options.stopGraceMs;
    const { timers } = this.modules;
    const signal = (sig: NodeJS.Signals) => {
      if (run.exited || run.pid === undefined) return;
      try {
        process.kill(run.pid, sig);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
          this.logger.warn({ pid: run.pid }, `could not send ${sig}: ${describeError(error)}`);
        }
      }
    };
    const after = (ms: number, action: () => void) => {
      const handle = timers.setTimeout(() => {
        run.killTimers.delete(handle);
        action();
      }, ms);
      run.killTimers.add(handle);
    };
    run.child.stdin?.end();
    let giveUpWaiting!: () => void;
    const bounded = new Promise<void>((resolve) => {
      giveUpWaiting = resolve;
    });
    after(grace, () => {
      signal('SIGTERM');
      after(grace, () => {
        signal('SIGKILL');
        after(grace, () => {
          if (!run.exited)
            this.logger.warn({ pid: run.pid }, 'the transport did not exit even after SIGKILL');
          giveUpWaiting();
        });
      });
    });
    return Promise.race([run.exitedPromise, bounded]);
  }

  private clearRunTimers(run: Run): void {
    if (run.launchTimer !== undefined) this.modules.timers.clearTimeout(run.launchTimer);
    run.launchTimer = undefined;
    for (const handle of run.killTimers) this.modules.timers.clearTimeout(handle);
    run.killTimers.clear();
  }
}

/** pt-spec 3.3.4 severities onto the logger, as C tor maps them (`managed_proxy_severity_parse`). */
function logAtSeverity(logger: Logger, severity: PtLogSeverity, fields: object, message: string): void {
  switch (severity) {
    case 'error':
      logger.error(fields, message);
      return;
    case 'warning':
      logger.warn(fields, message);
      return;
    case 'notice':
      logger.notice(fields, message);
      return;
    case 'info':
      logger.info(fields, message);
      return;
    case 'debug':
      logger.debug(fields, message);
      return;
  }
}
