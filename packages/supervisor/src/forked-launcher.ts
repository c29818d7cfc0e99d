/**
 * Worker processes: the supervisor holds the ORPort listening sockets
 * (accepted connections are paused, never read here) and hands every
 * connection with its socket to the least-loaded healthy worker of a
 * WorkerPool of `Workers` forked processes. TLS and the link handshake
 * happen in the worker.
 *
 * Each worker is `node <WORKER_ENTRY>` forked with advanced (structured
 * clone) serialization, an explicit `execArgv` (DEFAULT_WORKER_EXEC_ARGV:
 * the supervisor's own flags, an inspector port for instance, are not
 * inherited) and an explicit environment (PATH, TZ, LANG, LC_ALL and
 * TMPDIR from the supervisor's, nothing else). Its standard output and
 * error are the supervisor's; it writes its own log lines to the
 * destinations of the `Log` lines.
 *
 * In BalancerMode proxy the balancer listens on the ORPorts instead
 * (`listenOrPorts: false`), and each worker opens an Extended ORPort
 * backend with the address and cookie the pool gives it (`extOrBackends`).
 *
 * The pool's state is written to `DataDirectory/workers.json` (see
 * worker-state-file.ts) whenever it changes, at most once a second.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { type Clock, describeError, type Logger, systemClock } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import type { DirectorySnapshot } from '@relayd/dir-cache';
import { type Scheduler, systemScheduler, type TimerHandle } from '@relayd/engine';
import type { WorkerKeySnapshot } from '@relayd/keys';
import { listenTcp, systemErrorCode, type TcpListener, type TcpSocket } from '@relayd/net';
import {
  type BoundListener,
  type ListenTarget,
  planListeners,
  WORKER_ENTRY,
  WorkerStartError,
  type WorkerStats,
} from '@relayd/worker';
import type { WorkerLauncher, WorkerSet, WorkerSetInit } from './worker-launcher.js';
import {
  type SpawnWorker,
  type WorkerExtOrBackend,
  WorkerPool,
  type WorkerPoolOptions,
  type WorkerPoolStatus,
  type WorkerProcessHandle,
} from './worker-pool.js';
import { WORKER_STATE_FILE, WorkerStateFile } from './worker-state-file.js';

/** The environment variables a worker inherits; everything else is left out. */
export const WORKER_ENV_VARIABLES = ['PATH', 'TZ', 'LANG', 'LC_ALL', 'TMPDIR'] as const;

/**
 * Node flags for workers. A relay worker allocates a short-lived buffer or
 * two per cell; with V8's default young generation (which starts small and
 * resizes) that promotes enough garbage to trigger a full GC every few
 * hundred milliseconds under load. A fixed 16 MiB semi-space keeps those
 * buffers in the scavenger: measured on the relay-path and worker benches
 * (test/perf/worker-relay.bench.ts), full GCs per 8 s run fell from 14-31 to
 * 1-5 and worker CPU per relayed MB by about 40%. Watch process RSS
 * (process_resident_memory_bytes) if this is raised.
 */
export const DEFAULT_WORKER_EXEC_ARGV: readonly string[] = ['--min-semi-space-size=16'];

export interface ForkedWorkerLauncherOptions {
  readonly logger: Logger;
  /** The worker process entry; default @relayd/worker's WORKER_ENTRY. */
  readonly entry?: string;
  /** Node flags for the workers; default DEFAULT_WORKER_EXEC_ARGV. */
  readonly execArgv?: readonly string[];
  /** The workers' environment; default WORKER_ENV_VARIABLES taken from this process. */
  readonly env?: Readonly<Record<string, string>>;
  /** Pool tunables (heartbeats, timeouts, backoff); `workers` comes from the config. */
  readonly pool?: Partial<Omit<WorkerPoolOptions, 'workers'>>;
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  /** Write DataDirectory/workers.json (default true). */
  readonly writeStateFile?: boolean;
}

const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

function describeListener(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of WORKER_ENV_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Forks a worker process and adapts it to what the pool drives. */
export function forkWorkerProcess(opts: {
  readonly entry: string;
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly logger: Logger;
}): SpawnWorker {
  return (workerId, events) => {
    const child: ChildProcess = fork(opts.entry, [], {
      serialization: 'advanced',
      execArgv: [...opts.execArgv],
      env: { ...opts.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let exited = false;
    const onExit = (code: number | null, signal: string | null) => {
      if (exited) return;
      exited = true;
      events.exit(code, signal);
    };
    child.on('message', (raw) => events.message(raw));
    child.once('exit', onExit);
    child.on('error', (error) => {
      // A process that could not be spawned has no pid and may never emit 'exit'.
      if (child.pid === undefined) onExit(null, null);
      opts.logger.info({ worker: workerId, err: error.message }, `worker ${workerId}: ${error.message}`);
    });
    const handle: WorkerProcessHandle = {
      get pid() {
        return child.pid;
      },
      send(msg, socket, callback) {
        if (!child.connected) {
          callback?.(new Error('the worker channel is closed'));
          return;
        }
        child.send(msg, socket, {}, (error) => callback?.(error ?? null));
      },
      kill(signal) {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
    return handle;
  };
}

/** Starts `Workers` worker processes behind the supervisor's ORPort listeners. */
export class ForkedWorkerLauncher implements WorkerLauncher {
  readonly kind = 'forked';

  constructor(private readonly options: ForkedWorkerLauncherOptions) {}

  async start(init: WorkerSetInit): Promise<ForkedWorkers> {
    const { logger } = this.options;
    const clock = this.options.clock ?? systemClock;
    const scheduler = this.options.scheduler ?? systemScheduler;
    const set = new ForkedWorkers(init, {
      logger: logger.child({ module: 'supervisor' }),
      clock,
      scheduler,
      spawn: forkWorkerProcess({
        entry: this.options.entry ?? WORKER_ENTRY,
        execArgv: this.options.execArgv ?? DEFAULT_WORKER_EXEC_ARGV,
        env: this.options.env ?? inheritedEnv(),
        logger,
      }),
      pool: this.options.pool ?? {},
      writeStateFile: this.options.writeStateFile ?? true,
    });
    await set.start();
    return set;
  }
}

/** The WorkerSet of a ForkedWorkerLauncher. */
export class ForkedWorkers implements WorkerSet {
  readonly kind = 'forked';
  readonly pool: WorkerPool;
  private config: RelaydConfig;
  private keys: WorkerKeySnapshot;
  private readonly tcpListeners: TcpListener[] = [];
  private readonly bound: BoundListener[] = [];
  private readonly stateFile: WorkerStateFile | undefined;
  private stopping: Promise<void> | undefined;
  private stateTimer: TimerHandle | undefined;
  private readonly changeListeners = new Set<() => void>();

  constructor(
    private readonly init: WorkerSetInit,
    private readonly modules: {
      readonly logger: Logger;
      readonly clock: Clock;
      readonly scheduler: Scheduler;
      readonly spawn: SpawnWorker;
      readonly pool: Partial<Omit<WorkerPoolOptions, 'workers'>>;
      readonly writeStateFile: boolean;
    },
  ) {
    this.config = init.config;
    this.keys = init.keys;
    this.stateFile = modules.writeStateFile
      ? new WorkerStateFile(init.config.dataDirectory, modules.clock)
      : undefined;
    this.pool = new WorkerPool(
      { ...modules.pool, workers: init.config.workers },
      {
        spawn: modules.spawn,
        startData: () => ({
          keys: this.keys,
          config: this.config,
          publicAddresses: this.init.publicAddresses,
          directory: this.init.directorySnapshot(),
        }),
        logger: modules.logger,
        clock: modules.clock,
        scheduler: modules.scheduler,
        onChange: () => this.poolChanged(),
        ...(init.extOrBackends ? { extOrBackends: init.extOrBackends } : {}),
      },
    );
  }

  get listeners(): readonly BoundListener[] {
    return this.bound;
  }

  get handoff(): WorkerPool {
    return this.pool;
  }

  /** Starts the workers, then opens the ORPorts (so the first client finds a worker ready). */
  async start(): Promise<void> {
    const { logger } = this.modules;
    try {
      await this.pool.start();
    } catch (error) {
      this.writeState();
      throw new WorkerStartError(`the workers could not start: ${describeError(error)}`, { cause: error });
    }
    const targets = this.init.listenOrPorts === false ? [] : planListeners(this.config.orPorts);
    try {
      for (const target of targets) {
        const listener = await this.listen(target);
        this.tcpListeners.push(listener);
        this.bound.push({ host: listener.host, port: listener.port, orPortIndex: target.orPortIndex });
        const where = describeListener(listener.host, listener.port);
        logger.notice(
          { address: where, workers: this.pool.size },
          `ORPort listening on ${where}, served by ${this.pool.size} worker process${this.pool.size === 1 ? '' : 'es'}`,
        );
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.writeState();
  }

  updateKeys(snapshot: WorkerKeySnapshot): number {
    this.keys = snapshot;
    return this.pool.updateKeys(snapshot);
  }

  directoryChanged(snapshot: () => DirectorySnapshot): void {
    if (this.stopping) return;
    this.pool.updateDirectory(snapshot());
  }

  async reconfigure(config: RelaydConfig, restartWorkers: boolean): Promise<boolean> {
    this.config = config;
    this.pool.reconfigure(config);
    this.pool.resize(config.workers);
    if (restartWorkers) await this.pool.rollingRestart();
    return true;
  }

  stats(): readonly WorkerStats[] {
    return this.pool.stats();
  }

  poolStatus(): WorkerPoolStatus {
    return this.pool.status();
  }

  extOrBackends(): readonly WorkerExtOrBackend[] {
    return this.pool.extOrBackends();
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // No new connections; a listener's close settles once the workers closed what they were given.
      const closing = Promise.all(this.tcpListeners.map((l) => l.close()));
      await this.pool.stop();
      await new Promise<void>((resolve) => {
        const timer = this.modules.scheduler.setTimeout(resolve, 2_000);
        void closing.then(() => {
          this.modules.scheduler.clearTimeout(timer);
          resolve();
        });
      });
      if (this.stateTimer !== undefined) this.modules.scheduler.clearTimeout(this.stateTimer);
      this.stateTimer = undefined;
      this.writeState();
    })();
    return this.stopping;
  }

  private async listen(target: ListenTarget): Promise<TcpListener> {
    const open = (host: string) =>
      listenTcp({
        host,
        port: target.port,
        pauseOnConnect: true,
        onConnection: (socket: TcpSocket) => {
          this.pool.handOff(socket);
        },
        logger: this.modules.logger,
      });
    try {
      try {
        return await open(target.host);
      } catch (error) {
        const code = systemErrorCode(error) ?? '';
        if (target.ipv4Fallback && NO_IPV6.has(code)) return await open(target.ipv4Fallback);
        throw error;
      }
    } catch (error) {
      throw new WorkerStartError(
        `could not open the ORPort on ${describeListener(target.host, target.port)}: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  private poolChanged(): void {
    this.stateChanged();
    for (const listener of this.changeListeners) {
      try {
        listener();
      } catch (error) {
        this.modules.logger.error({ err: describeError(error) }, `bug: a worker change listener threw`);
      }
    }
  }

  /** Writes the state file now, or within a second when it was written less than a second ago. */
  private stateChanged(): void {
    if (!this.stateFile || this.stateTimer !== undefined) return;
    const waitMs = this.stateFile.msUntilNextWrite();
    if (waitMs <= 0) {
      this.writeState();
      return;
    }
    this.stateTimer = this.modules.scheduler.setTimeout(() => {
      this.stateTimer = undefined;
      this.writeState();
    }, waitMs);
  }

  private writeState(): void {
    if (!this.stateFile) return;
    try {
      this.stateFile.write(this.pool.status());
    } catch (error) {
      this.modules.logger.warn(
        { err: describeError(error) },
        `could not write ${WORKER_STATE_FILE}: ${describeError(error)}`,
      );
    }
  }
}
