/**
 * The worker side of a worker process: everything between the IPC channel
 * and `startWorker`. The supervisor owns the listening sockets, the keys
 * and the directory fetch; this side
 *
 *   start       builds the logger from the config's Log lines, a directory
 *               store + BEGIN_DIR service from the snapshot, and the worker
 *               without listeners (in BalancerMode proxy: with its Extended
 *               ORPort backend, whose port goes with `ready`); then says
 *               `ready` and sends heartbeats;
 *   keys        installs the new snapshot (onion-key rotation, signing-key renewal);
 *   directory   imports the snapshot through the store's ordinary checks;
 *   handoff     serves the socket that came with it (TLS + link handshake);
 *               with a connection id, its end is reported in a `closed`
 *               message (gathered for CLOSED_REPORT_DELAY_MS);
 *   reconfigure reopens the logs when the Log lines or SafeLogging changed;
 *   metrics-request
 *               answers with the process's metrics registry as JSON (the
 *               engine's, directory service's and channels' metrics, the
 *               worker's statistics, and the process metrics); the
 *               supervisor aggregates every worker's for the MetricsPort;
 *   drain       takes nothing new (the backend stops listening), exits once
 *               idle or at the deadline;
 *   stop        closes everything and exits; so does a lost channel.
 *
 * Messages are validated (@relayd/ipc); a malformed one is logged and
 * dropped. Messages that arrive while the worker is starting wait for it.
 * The process-level pieces (the channel, exiting, the logger factory) come
 * in through `WorkerProcessDeps`, so this runs in a test process as well.
 */
import { type Clock, describeError, type Logger, RelayError, systemClock } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import { DirCacheService, DirectoryStore, v3AuthorityIdentities } from '@relayd/dir-cache';
import { type Scheduler, systemScheduler, type TimerHandle } from '@relayd/engine';
import {
  decodeToWorkerMessage,
  type FromWorkerMessage,
  type HandoffMeta,
  MAX_CLOSED_IDS_PER_MESSAGE,
  message,
  type StartMessage,
  type ToWorkerMessage,
} from '@relayd/ipc';
import type { TcpSocket } from '@relayd/net';
import {
  addProcessMetrics,
  createMetricsRegistry,
  createWorkerMetrics,
  type MetricsRegistry,
  readMetricsJson,
  type WorkerMetrics,
} from '@relayd/telemetry';
import { type ExtOrBackendListener, listenExtOrBackend } from './ext-or-backend.js';
import { RetargetableLogger } from './retargetable-logger.js';
import { startWorker, WORKER_START_DATA_VERSION, type WorkerHandle } from './worker.js';

/** The IPC channel to the supervisor. */
export interface ParentChannel {
  send(message: FromWorkerMessage): void;
  /** Every message received, with the handle (a socket) that came with it, if any. */
  onMessage(listener: (message: unknown, handle: unknown) => void): void;
  /** The supervisor went away. */
  onDisconnect(listener: () => void): void;
}

/** A logger this side can close when the Log lines change or the process exits. */
export interface ClosableLogger extends Logger {
  close(): void;
}

export interface WorkerProcessDeps {
  readonly channel: ParentChannel;
  /** Opens the destinations of the config's Log lines. */
  createLogger(config: RelaydConfig): ClosableLogger;
  /** Ends the process (after the logs are closed). */
  exit(code: number): void;
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  /** How long a stop may take before the process exits anyway. Default 10 s. */
  readonly stopTimeoutMs?: number;
  /**
   * Expose this process's own metrics (CPU, memory, event loop) beside the
   * worker's, when the configuration has a MetricsPort to read them: the
   * process entry asks for them; a worker inside another process does not.
   */
  readonly processMetrics?: boolean;
}

export const DEFAULT_WORKER_STOP_TIMEOUT_MS = 10_000;
/**
 * Ended connections are reported together, this long after the first: one
 * message for a burst of closings. The supervisor's per-address count is
 * that much behind, no more.
 */
export const CLOSED_REPORT_DELAY_MS = 100;

type Phase = 'waiting' | 'starting' | 'running' | 'stopping';

/** Something that behaves like a socket: what a handoff's handle must be. */
function isSocket(handle: unknown): handle is TcpSocket {
  const h = handle as Partial<TcpSocket> | null;
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof h.unshift === 'function' &&
    typeof h.destroy === 'function' &&
    typeof h.write === 'function'
  );
}

function sameLogSettings(a: RelaydConfig, b: RelaydConfig): boolean {
  return a.safeLogging === b.safeLogging && JSON.stringify(a.logs) === JSON.stringify(b.logs);
}

/** Runs the worker side of the channel until stop, drain or disconnect ends the process. */
export class WorkerProcess {
  private phase: Phase = 'waiting';
  private readonly queued: { message: ToWorkerMessage; handle: unknown }[] = [];
  private worker: WorkerHandle | undefined;
  private store: DirectoryStore | undefined;
  private service: DirCacheService | undefined;
  private logger: RetargetableLogger | undefined;
  /** The logger of this module's own lines (module "worker", the worker's number). */
  private log: Logger | undefined;
  private logs: ClosableLogger | undefined;
  private config: RelaydConfig | undefined;
  private workerId = 0;
  private heartbeatTimer: TimerHandle | undefined;
  private draining = false;
  /** The Extended ORPort backend (BalancerMode proxy). */
  private backend: ExtOrBackendListener | undefined;
  private closedIds: number[] = [];
  private closedTimer: TimerHandle | undefined;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly registry: MetricsRegistry;
  private readonly metrics: WorkerMetrics;

  constructor(private readonly deps: WorkerProcessDeps) {
    this.clock = deps.clock ?? systemClock;
    this.scheduler = deps.scheduler ?? systemScheduler;
    this.registry = createMetricsRegistry({ processMetrics: false });
    this.metrics = createWorkerMetrics(this.registry);
    deps.channel.onMessage((raw, handle) => this.receive(raw, handle));
    deps.channel.onDisconnect(() => {
      this.log?.notice({}, 'the supervisor went away: stopping');
      void this.shutdown(0);
    });
  }

  /** The running worker's handle (tests). */
  get handle(): WorkerHandle | undefined {
    return this.worker;
  }

  /** Stops the worker and exits the process with `code`. Idempotent. */
  shutdown(code: number): Promise<void> {
    if (this.phase === 'stopping') return Promise.resolve();
    this.phase = 'stopping';
    if (this.heartbeatTimer !== undefined) this.scheduler.clearTimeout(this.heartbeatTimer);
    if (this.closedTimer !== undefined) this.scheduler.clearTimeout(this.closedTimer);
    this.closedTimer = undefined;
    const timeoutMs = this.deps.stopTimeoutMs ?? DEFAULT_WORKER_STOP_TIMEOUT_MS;
    // No new connections from the balancer, then the worker (the supervisor counts whatever is left as closed when this process exits).
    const stopping = (async () => {
      await this.backend?.close();
      await this.worker?.stop();
    })();
    return this.bounded(stopping, timeoutMs).then((finished) => {
      if (!finished) this.log?.warn({ timeoutMs }, `stopping took more than ${timeoutMs} ms; exiting anyway`);
      this.service?.close();
      this.logs?.close();
      this.deps.exit(finished ? code : 1);
    });
  }

  /** Reports an error the process cannot recover from, then exits 1. */
  fail(error: unknown): void {
    const plain =
      error instanceof RelayError
        ? error.toObject()
        : { kind: 'internal' as const, code: 'BUG', message: `bug: ${describeError(error)}` };
    this.log?.error({ err: plain.message }, `worker failed: ${plain.message}`);
    this.send(message({ kind: 'error', workerId: Math.max(1, this.workerId), error: plain, fatal: true }));
    void this.shutdown(1);
  }

  private receive(raw: unknown, handle: unknown): void {
    const decoded = decodeToWorkerMessage(raw);
    if (!decoded.ok) {
      if (isSocket(handle)) handle.destroy();
      if (this.log)
        this.log.warn({ err: decoded.error.message }, 'ignored a malformed message from the supervisor');
      else process.stderr.write(`relayd worker: ignored a malformed message: ${decoded.error.message}\n`);
      return;
    }
    const msg = decoded.value;
    if (this.phase === 'waiting') {
      if (msg.kind !== 'start') {
        if (isSocket(handle)) handle.destroy();
        process.stderr.write(`relayd worker: ignored a ${msg.kind} message before start\n`);
        return;
      }
      this.phase = 'starting';
      this.start(msg).catch((error: unknown) => this.fail(error));
      return;
    }
    if (this.phase === 'starting') {
      this.queued.push({ message: msg, handle });
      return;
    }
    this.apply(msg, handle);
  }

  private apply(msg: ToWorkerMessage, handle: unknown): void {
    const logger = this.log!;
    if (this.phase === 'stopping') {
      if (isSocket(handle)) handle.destroy();
      return;
    }
    switch (msg.kind) {
      case 'start':
        logger.warn({}, 'ignored a second start message');
        return;
      case 'keys':
        this.worker!.updateKeys(msg.keys);
        return;
      case 'directory':
        this.importDirectory(msg.snapshot);
        return;
      case 'handoff':
        this.handOff(handle, msg.meta, msg.connectionId);
        return;
      case 'reconfigure':
        this.reconfigure(msg.config);
        return;
      case 'drain':
        this.drain(msg.timeoutMs);
        return;
      case 'stop':
        logger.info({}, "stopping on the supervisor's request");
        void this.shutdown(0);
        return;
      case 'metrics-request':
        this.answerMetrics(msg.requestId);
        return;
    }
  }

  private answerMetrics(requestId: number): void {
    readMetricsJson(this.registry).then(
      (metrics) => this.send(message({ kind: 'metrics', requestId, metrics })),
      (error: unknown) => {
        // Unanswered, the supervisor shows this worker's previous answer and counts a timeout.
        this.log?.warn({ err: describeError(error) }, `could not read the metrics: ${describeError(error)}`);
      },
    );
  }

  private async start(msg: StartMessage): Promise<void> {
    this.workerId = msg.workerId;
    this.config = msg.config;
    this.logs = this.deps.createLogger(msg.config);
    if (this.deps.processMetrics && msg.config.metricsPort !== null) addProcessMetrics(this.registry);
    this.logger = RetargetableLogger.create(this.logs);
    this.log = this.logger.child({ module: 'worker', worker: msg.workerId });
    const processLogger = this.log;
    const authorities = v3AuthorityIdentities(msg.config.dirAuthorities);
    this.store = new DirectoryStore({ authorities });
    this.service = new DirCacheService(
      { ownAddresses: msg.publicAddresses },
      { store: this.store, clock: this.clock, metrics: this.metrics.directoryService },
    );
    this.importDirectory(msg.directory);
    this.worker = await startWorker(
      {
        version: WORKER_START_DATA_VERSION,
        workerId: msg.workerId,
        keys: msg.keys,
        config: msg.config,
        publicAddresses: msg.publicAddresses,
      },
      {
        directoryService: this.service,
        logger: this.logger,
        clock: this.clock,
        scheduler: this.scheduler,
        openListeners: false,
        engineMetrics: this.metrics.engine,
        channelMetrics: this.metrics.channels,
      },
    );
    const worker = this.worker;
    this.metrics.setStatsSource(() => worker.stats());
    if ((this.phase as Phase) === 'stopping') {
      await this.worker.stop();
      return;
    }
    if (msg.extOrBackend) {
      this.backend = await listenExtOrBackend({
        host: msg.extOrBackend.host,
        port: 0,
        cookie: msg.extOrBackend.cookie,
        logger: this.logger.child({ module: 'worker', worker: msg.workerId }),
        accept: (socket, meta) => worker.acceptConnection(socket, meta),
      });
      if ((this.phase as Phase) === 'stopping') {
        await this.backend.close();
        return;
      }
      processLogger.info(
        { address: `${this.backend.host}:${this.backend.port}` },
        `Extended ORPort backend listening on ${this.backend.host}:${this.backend.port}`,
      );
    }
    this.phase = 'running';
    this.send(
      message({
        kind: 'ready',
        workerId: msg.workerId,
        pid: process.pid,
        ...(this.backend ? { extOrBackendPort: this.backend.port } : {}),
      }),
    );
    processLogger.info({}, `worker ${msg.workerId} ready (pid ${process.pid})`);
    this.heartbeat(msg.heartbeatIntervalMs);
    for (const { message: queued, handle } of this.queued.splice(0)) this.apply(queued, handle);
  }

  private heartbeat(intervalMs: number): void {
    if (this.phase !== 'running' || !this.worker) return;
    this.send(message({ kind: 'heartbeat', stats: this.worker.stats() }));
    this.heartbeatTimer = this.scheduler.setTimeout(() => this.heartbeat(intervalMs), intervalMs);
  }

  private importDirectory(snapshot: StartMessage['directory']): void {
    const problems = this.store!.importSnapshot(snapshot, this.clock.nowMs());
    for (const problem of problems) {
      this.log!.warn(
        { err: problem.message },
        `a directory document from the supervisor was refused: ${problem.message}`,
      );
    }
  }

  private handOff(handle: unknown, meta: HandoffMeta, connectionId: number | undefined): void {
    if (!isSocket(handle)) {
      this.log!.warn({}, 'a handoff message came without a socket; ignored');
      // Nothing will close: say so at once, or the supervisor counts it until this process exits.
      if (connectionId !== undefined) this.noteClosed(connectionId);
      return;
    }
    // 'close' comes once the socket is gone, however it ended (a refusal destroys it at once).
    if (connectionId !== undefined) handle.once('close', () => this.noteClosed(connectionId));
    this.worker!.acceptConnection(handle, meta);
  }

  private noteClosed(connectionId: number): void {
    if (this.phase === 'stopping') return;
    this.closedIds.push(connectionId);
    if (this.closedTimer !== undefined) return;
    this.closedTimer = this.scheduler.setTimeout(() => {
      this.closedTimer = undefined;
      this.reportClosed();
    }, CLOSED_REPORT_DELAY_MS);
  }

  private reportClosed(): void {
    const ids = this.closedIds;
    this.closedIds = [];
    for (let i = 0; i < ids.length; i += MAX_CLOSED_IDS_PER_MESSAGE) {
      this.send(message({ kind: 'closed', connectionIds: ids.slice(i, i + MAX_CLOSED_IDS_PER_MESSAGE) }));
    }
  }

  private reconfigure(config: RelaydConfig): void {
    const previous = this.config!;
    this.config = config;
    if (sameLogSettings(previous, config)) return;
    const old = this.logs!;
    try {
      this.logs = this.deps.createLogger(config);
    } catch (error) {
      this.log!.warn(
        { err: describeError(error) },
        `could not open the new log destinations; keeping the old ones: ${describeError(error)}`,
      );
      return;
    }
    this.logger!.retarget(this.logs);
    old.close();
    this.log!.info({}, 'reopened the logs with the new Log lines');
  }

  private drain(timeoutMs: number): void {
    if (this.draining) return;
    this.draining = true;
    void this.backend?.close();
    void this.worker!.drain(timeoutMs).then(() => {
      this.log!.info({}, 'drained');
      void this.shutdown(0);
    });
  }

  private send(msg: FromWorkerMessage): void {
    try {
      this.deps.channel.send(msg);
    } catch {
      // The channel is gone; onDisconnect stops the process.
    }
  }

  private bounded(promise: Promise<void>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = this.scheduler.setTimeout(() => resolve(false), ms);
      promise.then(
        () => {
          this.scheduler.clearTimeout(timer);
          resolve(true);
        },
        () => {
          this.scheduler.clearTimeout(timer);
          resolve(true);
        },
      );
    });
  }
}
