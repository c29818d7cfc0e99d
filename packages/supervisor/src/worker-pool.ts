/**
 * The supervisor's pool of worker processes: pre-forked at start, one per
 * slot (`Workers N`), each serving the connections handed to it.
 *
 * - Choosing: a connection goes to the least-loaded healthy worker. Load is
 *   what the worker reported in its last heartbeat (channels + handshakes in
 *   progress) plus the connections sent to it since that the heartbeat does
 *   not count yet; ties go round-robin. A worker that is starting, draining,
 *   dead or has missed its heartbeats gets nothing new.
 * - Health: a worker that sends no heartbeat for `unhealthyAfterMs` is
 *   unhealthy (no new connections, its own clients keep being served); after
 *   `killUnresponsiveAfterMs` it is killed. One that does not get ready
 *   within `startTimeoutMs` is killed too.
 * - Fail-over: a worker that dies is replaced in its slot, alone; the
 *   others and their clients are not touched. Replacements back off
 *   exponentially (`restartBackoff`: 1 s, 2 s, 4 s … capped at 60 s), and
 *   the backoff resets once a worker has stayed up for `stableAfterMs`.
 * - Rolling restart: `restartWorker(id)` starts the new process first and
 *   drains the old one only once the new one is ready; `rollingRestart()`
 *   does that slot by slot. `resize(n)` adds slots or drains the surplus.
 * - Connections: every handoff carries a connection id; the worker reports
 *   the ids of connections that ended (`closed`), and `handOff` returns a
 *   promise that settles then (or when the worker exits), so the balancer's
 *   per-address limit counts live connections.
 * - Extended ORPort backends (BalancerMode proxy): with `extOrBackends`,
 *   each new process is told a loopback address and a fresh 32-byte cookie,
 *   opens its Extended ORPort there and reports the port with `ready`;
 *   `extOrBackends()` lists those of the ready, healthy slot workers.
 * - Broadcast: key snapshots, directory snapshots and configuration reach
 *   every live worker, draining ones included (they still serve clients);
 *   a new worker starts from the latest of each (`startData`).
 *
 * No I/O here: processes come from an injected `spawn`, time from the
 * injected clock and scheduler (the unit tests run it on fake time).
 */
import { type Clock, describeError, type Logger, systemClock } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import type { DirectorySnapshot } from '@relayd/dir-cache';
import { type Scheduler, systemScheduler, type TimerHandle } from '@relayd/engine';
import {
  decodeFromWorkerMessage,
  type FromWorkerMessage,
  type HandoffMeta,
  message,
  type StartMessage,
  type ToWorkerMessage,
  type WorkerStatsReport,
} from '@relayd/ipc';
import type { WorkerKeySnapshot } from '@relayd/keys';
import type { TcpSocket } from '@relayd/net';
import type { WorkerMetricsReport } from '@relayd/telemetry';
import type { HandoffResult, HandoffTarget } from './handoff.js';
import { MetricsRequests } from './metrics-requests.js';
import {
  WorkerInstance,
  type WorkerProcessEvents,
  type WorkerProcessHandle,
  type WorkerProcessStatus,
  type WorkerState,
} from './worker-instance.js';

export type { WorkerProcessEvents, WorkerProcessHandle, WorkerProcessStatus, WorkerState };

/** Starts a worker process for slot `workerId`; may throw if the system cannot start one. */
export type SpawnWorker = (workerId: number, events: WorkerProcessEvents) => WorkerProcessHandle;

/** What a new worker starts from (the latest keys, config, addresses and directory). */
export type WorkerStartSource = () => Omit<
  StartMessage,
  'v' | 'kind' | 'workerId' | 'heartbeatIntervalMs' | 'extOrBackend'
>;

/** Where workers open their Extended ORPort backends (BalancerMode proxy). */
export interface ExtOrBackendPlan {
  /** The loopback address of slot `workerId`'s backend (the balancer's `workerBackendAddress`). */
  address(workerId: number): string;
  /** A fresh 32-byte cookie for each new worker process. */
  cookie(): Uint8Array;
}

/** A worker's Extended ORPort backend, listening. */
export interface WorkerExtOrBackend {
  readonly workerId: number;
  readonly pid: number | undefined;
  readonly generation: number;
  readonly host: string;
  readonly port: number;
  readonly cookie: Uint8Array;
}

export interface WorkerPoolOptions {
  readonly workers: number;
  /** How often workers send their statistics. */
  readonly heartbeatIntervalMs: number;
  /** No heartbeat for this long: no new connections. */
  readonly unhealthyAfterMs: number;
  /** No heartbeat for this long: killed (and replaced). */
  readonly killUnresponsiveAfterMs: number;
  /** From fork to `ready`. */
  readonly startTimeoutMs: number;
  readonly restartBackoff: { readonly initialMs: number; readonly maxMs: number };
  /** Up this long: the next death starts the backoff from the beginning again. */
  readonly stableAfterMs: number;
  /** How long a draining worker may keep its clients. */
  readonly drainTimeoutMs: number;
  /** How long `stop()` waits for workers to exit before killing them. */
  readonly stopTimeoutMs: number;
}

export const defaultWorkerPoolOptions: Omit<WorkerPoolOptions, 'workers'> = {
  heartbeatIntervalMs: 5_000,
  // Three missed heartbeats: one late timer on a busy worker is not a failure.
  unhealthyAfterMs: 15_000,
  killUnresponsiveAfterMs: 30_000,
  startTimeoutMs: 30_000,
  restartBackoff: { initialMs: 1_000, maxMs: 60_000 },
  stableAfterMs: 60_000,
  // tor clients keep circuits up to 10 minutes (MaxCircuitDirtiness); most are gone after 5.
  drainTimeoutMs: 5 * 60_000,
  stopTimeoutMs: 10_000,
};

export interface WorkerSlotStatus {
  readonly workerId: number;
  /** The process serving this slot (or the last one, while a replacement waits). */
  readonly current: WorkerProcessStatus | undefined;
  /** A replacement being started (rolling restart). */
  readonly replacement: WorkerProcessStatus | undefined;
  /** Processes of this slot that died unasked. */
  readonly deaths: number;
  /** When a dead worker's replacement is due (monotonic ms). */
  readonly restartDueMs: number | undefined;
}

export interface WorkerPoolStatus {
  readonly slots: readonly WorkerSlotStatus[];
  /** Workers draining after a restart or a shrink. */
  readonly draining: readonly WorkerProcessStatus[];
  readonly handedOff: number;
  /** Connections closed because no worker was healthy. */
  readonly refused: number;
}

interface Slot {
  readonly workerId: number;
  current: WorkerInstance | undefined;
  replacement: WorkerInstance | undefined;
  generations: number;
  deaths: number;
  /** Deaths since the last worker of this slot stayed up `stableAfterMs`. */
  consecutiveFailures: number;
  restartTimer: TimerHandle | undefined;
  restartDueMs: number | undefined;
}

export interface WorkerPoolModules {
  readonly spawn: SpawnWorker;
  readonly startData: WorkerStartSource;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  /** Called after anything `status()` shows changed (a state, a heartbeat, a handoff). */
  readonly onChange?: () => void;
  /** Give every worker an Extended ORPort backend (BalancerMode proxy). */
  readonly extOrBackends?: ExtOrBackendPlan;
}

/** The delay before the `failures`-th consecutive replacement (1-based). */
export function restartDelayMs(failures: number, backoff: WorkerPoolOptions['restartBackoff']): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
}

const REFUSAL_WARNING_INTERVAL_MS = 60_000;

export class WorkerPool implements HandoffTarget {
  private readonly options: WorkerPoolOptions;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private slots: Slot[] = [];
  /** Every process not yet exited, in any slot or retired. */
  private readonly live = new Set<WorkerInstance>();
  private cursor = 0;
  private healthTimer: TimerHandle | undefined;
  private stopping: Promise<void> | undefined;
  private handedOffTotal = 0;
  private nextConnectionId = 1;
  private refused = 0;
  private refusedSinceWarning = 0;
  private lastRefusalWarningMs = Number.NEGATIVE_INFINITY;
  private readonly metricsRequests: MetricsRequests;

  constructor(
    options: Partial<WorkerPoolOptions> & { readonly workers: number },
    private readonly modules: WorkerPoolModules,
  ) {
    this.options = { ...defaultWorkerPoolOptions, ...options };
    this.logger = modules.logger;
    this.clock = modules.clock ?? systemClock;
    this.scheduler = modules.scheduler ?? systemScheduler;
    this.metricsRequests = new MetricsRequests(this.scheduler, this.logger);
  }

  /** How many slots the pool keeps filled. */
  get size(): number {
    return this.slots.length;
  }

  /**
   * Forks every worker and resolves once all are ready. Rejects if one
   * exits or times out first; then nothing is left running.
   */
  async start(): Promise<void> {
    this.slots = Array.from({ length: this.options.workers }, (_, i) => this.newSlot(i + 1));
    this.armHealthCheck();
    const instances = this.slots.map((slot) => this.spawnInto(slot, 'current'));
    const ready = await Promise.all(instances.map((i) => i.whenReady()));
    const failed = instances.filter((_, i) => !ready[i]);
    if (failed.length > 0) {
      const first = failed[0]!;
      await this.stop();
      throw new Error(
        `worker ${first.workerId} did not start (${describeExit(first.exit) ?? 'no ready message in time'})`,
      );
    }
  }

  /** The worker the next connection would go to, if any is eligible. */
  pick(): WorkerProcessStatus | undefined {
    return this.pickInstance()?.status();
  }

  handOff(socket: TcpSocket, meta: HandoffMeta = {}): HandoffResult {
    if (this.stopping) {
      socket.destroy();
      return { ok: false, reason: 'stopping' };
    }
    const instance = this.pickInstance();
    if (!instance) {
      socket.destroy();
      this.noteRefusal();
      return { ok: false, reason: 'no-healthy-worker' };
    }
    instance.handedOff++;
    this.handedOffTotal++;
    const connectionId = this.nextConnectionId++;
    const closed = new Promise<void>((resolve) => instance.openConnections.set(connectionId, resolve));
    const onSent = (error: Error | null) => {
      if (!error) return;
      socket.destroy();
      instance.connectionsClosed([connectionId]);
      this.logger.info(
        { worker: instance.workerId, err: error.message },
        `could not hand a connection to worker ${instance.workerId}: ${error.message}`,
      );
    };
    try {
      instance.process.send(message({ kind: 'handoff', meta, connectionId }), socket, onSent);
    } catch (error) {
      onSent(error instanceof Error ? error : new Error(describeError(error)));
    }
    this.changed();
    return { ok: true, workerId: instance.workerId, pid: instance.pid ?? 0, closed };
  }

  /**
   * The Extended ORPort backends of the workers that take new connections
   * (ready and healthy, in their slot): what the balancer's proxy mode
   * should be choosing from now. Empty without `extOrBackends`.
   */
  extOrBackends(): WorkerExtOrBackend[] {
    const out: WorkerExtOrBackend[] = [];
    for (const slot of this.slots) {
      const instance = slot.current;
      if (instance?.state !== 'ready' || !instance.healthy) continue;
      if (!instance.extOrBackend || instance.extOrBackendPort === undefined) continue;
      out.push({
        workerId: instance.workerId,
        pid: instance.pid,
        generation: instance.generation,
        host: instance.extOrBackend.host,
        port: instance.extOrBackendPort,
        cookie: instance.extOrBackend.cookie,
      });
    }
    return out;
  }

  /** The latest statistics of every serving worker (ready, or draining its clients). */
  stats(): WorkerStatsReport[] {
    return [...this.live].flatMap((i) => (i.stats && i.state !== 'starting' ? [i.stats] : []));
  }

  status(): WorkerPoolStatus {
    const inSlots = new Set<WorkerInstance>();
    for (const slot of this.slots) {
      if (slot.current) inSlots.add(slot.current);
      if (slot.replacement) inSlots.add(slot.replacement);
    }
    return {
      slots: this.slots.map((slot) => ({
        workerId: slot.workerId,
        current: slot.current?.status(),
        replacement: slot.replacement?.status(),
        deaths: slot.deaths,
        restartDueMs: slot.restartDueMs,
      })),
      draining: [...this.live].filter((i) => !inSlots.has(i)).map((i) => i.status()),
      handedOff: this.handedOffTotal,
      refused: this.refused,
    };
  }

  /** Sends a new key snapshot to every live worker. Returns how many processes it was sent to. */
  updateKeys(keys: WorkerKeySnapshot): number {
    return this.broadcast(message({ kind: 'keys', keys }));
  }

  /** Sends the directory documents to every live worker. */
  updateDirectory(snapshot: DirectorySnapshot): void {
    this.broadcast(message({ kind: 'directory', snapshot }));
  }

  /** Sends the configuration to every live worker (what they apply live: the logs). */
  reconfigure(config: RelaydConfig): void {
    this.broadcast(message({ kind: 'reconfigure', config }));
  }

  /**
   * Replaces slot `workerId`'s process: starts a new one, and once it is
   * ready drains the old one. Resolves true when the new one serves, false
   * if it failed to start (the old one keeps serving).
   */
  async restartWorker(workerId: number): Promise<boolean> {
    const slot = this.slots.find((s) => s.workerId === workerId);
    if (!slot || this.stopping) return false;
    if (slot.replacement) return slot.replacement.whenReady();
    if (!slot.current?.live) {
      // Dead and waiting for its backoff: start it now.
      this.cancelRestart(slot);
      return this.spawnInto(slot, 'current').whenReady();
    }
    const next = this.spawnInto(slot, 'replacement');
    const ready = await next.whenReady();
    // spawnInto set it; something else (a shrink, a stop) may have taken it away since.
    if ((slot.replacement as WorkerInstance | undefined) !== next) return ready;
    slot.replacement = undefined;
    if (!ready) {
      this.logger.warn(
        { worker: workerId },
        `worker ${workerId}: the replacement did not start; the old process keeps serving`,
      );
      this.changed();
      return false;
    }
    const old = slot.current;
    slot.current = next;
    if (old?.live) this.drainInstance(old);
    this.logger.notice(
      { worker: workerId, workerPid: next.pid, oldWorkerPid: old?.pid },
      `worker ${workerId} restarted: pid ${next.pid} serves, pid ${old?.pid} drains`,
    );
    this.changed();
    return true;
  }

  /**
   * Drains slot `workerId`'s process (no new connections; it exits once idle
   * or after the drain timeout) and starts the slot's next process once it
   * has exited — an operator's drain, not a death: no backoff, not counted.
   * Resolves with the draining process's PID (undefined when the slot had no
   * live process) as soon as the drain began.
   */
  async drainWorker(workerId: number): Promise<{ readonly pid: number | undefined }> {
    const slot = this.slots.find((s) => s.workerId === workerId);
    const instance = slot?.current;
    if (!slot || !instance?.live || this.stopping) return { pid: undefined };
    this.drainInstance(instance);
    this.logger.notice(
      { worker: workerId, workerPid: instance.pid },
      `worker ${workerId} (pid ${instance.pid}) is draining; its slot starts anew once it has exited`,
    );
    void instance.whenExited().then(() => {
      if (this.stopping || !this.slots.includes(slot) || slot.current !== instance) return;
      this.cancelRestart(slot);
      this.spawnInto(slot, 'current');
    });
    return { pid: instance.pid };
  }

  /**
   * Asks every worker process that serves (ready, or draining its clients)
   * for its metrics, for one MetricsPort scrape. Resolves within
   * `timeoutMs` with one report per process asked; `metrics` is undefined
   * for a process that did not answer in time (or sent garbage).
   */
  metricsReports(timeoutMs: number): Promise<WorkerMetricsReport[]> {
    const asked = [...this.live].filter(
      (i) => i.pid !== undefined && (i.state === 'ready' || i.state === 'draining'),
    );
    return Promise.all(
      asked.map(async (instance) => ({
        workerId: instance.workerId,
        pid: instance.pid!,
        current: this.slots.some((s) => s.current === instance),
        metrics: await this.metricsRequests.ask(
          instance,
          (requestId) => this.send(instance, message({ kind: 'metrics-request', requestId })),
          timeoutMs,
        ),
      })),
    );
  }

  /** Restarts every worker, one slot at a time. Resolves with how many were replaced. */
  async rollingRestart(): Promise<{ readonly restarted: number; readonly failed: number }> {
    let restarted = 0;
    let failed = 0;
    for (const slot of [...this.slots]) {
      if (this.stopping) break;
      if (await this.restartWorker(slot.workerId)) restarted++;
      else failed++;
    }
    return { restarted, failed };
  }

  /** Grows to `workers` slots (new workers start) or shrinks (the surplus drain). */
  resize(workers: number): void {
    if (this.stopping || workers === this.slots.length || workers < 1) return;
    if (workers > this.slots.length) {
      for (let id = this.slots.length + 1; id <= workers; id++) {
        const slot = this.newSlot(id);
        this.slots.push(slot);
        this.spawnInto(slot, 'current');
      }
    } else {
      for (const slot of this.slots.splice(workers)) {
        this.cancelRestart(slot);
        for (const instance of [slot.current, slot.replacement]) {
          if (instance?.live) this.drainInstance(instance);
        }
      }
    }
    this.logger.notice({ workers }, `now running ${workers} worker${workers === 1 ? '' : 's'}`);
    this.changed();
  }

  /**
   * Drains every worker: no new connections, each exits once idle or after
   * `timeoutMs`. Resolves once all have exited. Nothing is replaced afterwards.
   */
  async drain(timeoutMs = this.options.drainTimeoutMs): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      for (const slot of this.slots) this.cancelRestart(slot);
      for (const instance of this.live) this.drainInstance(instance, timeoutMs);
      await Promise.all([...this.live].map((i) => i.whenExited()));
      this.disarmHealthCheck();
    })();
    return this.stopping;
  }

  /**
   * Stops every worker (they close their channels and exit); kills those
   * still running after `stopTimeoutMs`. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const slot of this.slots) this.cancelRestart(slot);
      const exits = [...this.live].map((instance) => {
        instance.state = instance.state === 'exited' ? 'exited' : 'stopping';
        instance.deadlineMs = this.clock.monotonicMs() + this.options.stopTimeoutMs;
        this.send(instance, message({ kind: 'stop' }));
        return instance.whenExited();
      });
      this.changed();
      const all = Promise.all(exits).then(() => true);
      if (!(await this.within(all, this.options.stopTimeoutMs))) {
        for (const instance of this.live) {
          this.logger.warn(
            { worker: instance.workerId, workerPid: instance.pid },
            `worker ${instance.workerId} (pid ${instance.pid}) did not stop in time; killing it`,
          );
          instance.process.kill('SIGKILL');
        }
        await this.within(all, this.options.stopTimeoutMs);
      }
      this.disarmHealthCheck();
    })();
    return this.stopping;
  }

  // ---------------------------------------------------------------- internals

  private newSlot(workerId: number): Slot {
    return {
      workerId,
      current: undefined,
      replacement: undefined,
      generations: 0,
      deaths: 0,
      consecutiveFailures: 0,
      restartTimer: undefined,
      restartDueMs: undefined,
    };
  }

  private pickInstance(): WorkerInstance | undefined {
    const n = this.slots.length;
    let best: WorkerInstance | undefined;
    let bestIndex = -1;
    for (let k = 0; k < n; k++) {
      const index = (this.cursor + k) % n;
      const instance = this.slots[index]!.current;
      if (instance?.state !== 'ready' || !instance.healthy) continue;
      if (!best || instance.load() < best.load()) {
        best = instance;
        bestIndex = index;
      }
    }
    if (best) this.cursor = (bestIndex + 1) % n;
    return best;
  }

  private spawnInto(slot: Slot, role: 'current' | 'replacement'): WorkerInstance {
    slot.generations++;
    const instance = new WorkerInstance(slot.workerId, slot.generations, this.clock.monotonicMs());
    if (role === 'current') slot.current = instance;
    else slot.replacement = instance;
    this.live.add(instance);
    const events: WorkerProcessEvents = {
      message: (raw) => this.onMessage(instance, raw),
      exit: (code, signal) => this.onExit(slot, instance, code, signal),
    };
    try {
      instance.process = this.modules.spawn(slot.workerId, events);
    } catch (error) {
      this.logger.error(
        { worker: slot.workerId, err: describeError(error) },
        `could not start worker ${slot.workerId}: ${describeError(error)}`,
      );
      instance.process = { pid: undefined, send: () => {}, kill: () => {} };
      // As if it died at once: the slot's usual replacement path takes over.
      this.scheduler.setTimeout(() => this.onExit(slot, instance, null, null), 0);
      return instance;
    }
    const data = this.modules.startData();
    const backends = this.modules.extOrBackends;
    if (backends) {
      instance.extOrBackend = { host: backends.address(slot.workerId), cookie: backends.cookie() };
    }
    this.send(
      instance,
      message({
        kind: 'start',
        workerId: slot.workerId,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        ...data,
        ...(instance.extOrBackend ? { extOrBackend: instance.extOrBackend } : {}),
      }),
    );
    this.logger.info(
      { worker: slot.workerId, workerPid: instance.pid },
      `started worker ${slot.workerId} (pid ${instance.pid})`,
    );
    this.changed();
    return instance;
  }

  private onMessage(instance: WorkerInstance, raw: unknown): void {
    const decoded = decodeFromWorkerMessage(raw);
    if (!decoded.ok) {
      this.logger.warn(
        { worker: instance.workerId, err: decoded.error.message },
        `ignored a malformed message from worker ${instance.workerId}: ${decoded.error.message}`,
      );
      return;
    }
    this.apply(instance, decoded.value);
  }

  private apply(instance: WorkerInstance, msg: FromWorkerMessage): void {
    const now = this.clock.monotonicMs();
    switch (msg.kind) {
      case 'ready': {
        if (instance.state !== 'starting') return;
        instance.state = 'ready';
        instance.healthy = true;
        instance.readyAtMs = now;
        instance.lastHeartbeatMs = now;
        if (instance.extOrBackend) {
          instance.extOrBackendPort = msg.extOrBackendPort;
          if (msg.extOrBackendPort === undefined) {
            this.logger.warn(
              { worker: instance.workerId, workerPid: instance.pid },
              `bug: worker ${instance.workerId} is ready without its Extended ORPort backend; the balancer cannot use it`,
            );
          }
        }
        this.logger.notice(
          { worker: instance.workerId, workerPid: instance.pid, generation: instance.generation },
          `worker ${instance.workerId} ready (pid ${instance.pid})`,
        );
        instance.settleReady(true);
        break;
      }
      case 'heartbeat': {
        instance.lastHeartbeatMs = now;
        instance.stats = msg.stats;
        if (instance.state === 'ready' && !instance.healthy) {
          instance.healthy = true;
          this.logger.notice(
            { worker: instance.workerId, workerPid: instance.pid },
            `worker ${instance.workerId} (pid ${instance.pid}) answers again; it gets new connections`,
          );
        }
        const slot = this.slots.find((s) => s.current === instance);
        if (
          slot &&
          instance.readyAtMs !== undefined &&
          now - instance.readyAtMs >= this.options.stableAfterMs
        ) {
          slot.consecutiveFailures = 0;
        }
        break;
      }
      case 'closed':
        instance.connectionsClosed(msg.connectionIds);
        break;
      case 'metrics':
        this.metricsRequests.answer(
          instance,
          msg.requestId,
          msg.metrics,
          `worker ${instance.workerId} (pid ${instance.pid})`,
        );
        // Nothing status() shows changed.
        return;
      case 'error': {
        const log = msg.fatal ? this.logger.error : this.logger.warn;
        log.call(
          this.logger,
          {
            worker: instance.workerId,
            workerPid: instance.pid,
            code: msg.error.code,
            err: msg.error.message,
          },
          `worker ${instance.workerId} (pid ${instance.pid}) reports: ${msg.error.message}`,
        );
        break;
      }
    }
    this.changed();
  }

  private onExit(slot: Slot, instance: WorkerInstance, code: number | null, signal: string | null): void {
    if (instance.state === 'exited') return;
    const wasState = instance.state;
    instance.state = 'exited';
    instance.healthy = false;
    instance.exit = { code, signal };
    this.live.delete(instance);
    instance.settleExit();
    this.metricsRequests.forget(instance);
    const how = describeExit(instance.exit);
    const expected = wasState === 'draining' || wasState === 'stopping';
    if (expected) {
      this.logger.info(
        { worker: instance.workerId, workerPid: instance.pid, code, signal },
        `worker ${instance.workerId} (pid ${instance.pid}) exited (${how})`,
      );
    }
    if (slot.replacement === instance) {
      // A rolling restart's new process died before it took over; restartWorker reports it.
      if (!expected)
        this.logger.warn(
          { worker: slot.workerId, workerPid: instance.pid },
          `worker ${slot.workerId}'s replacement (pid ${instance.pid}) died: ${how}`,
        );
      this.changed();
      return;
    }
    const inPool = this.slots.includes(slot) && slot.current === instance;
    if (!inPool || this.stopping || expected) {
      this.changed();
      return;
    }
    slot.deaths++;
    slot.consecutiveFailures++;
    if (slot.replacement) {
      // The rolling restart's new process takes over once it is ready.
      this.logger.warn(
        { worker: slot.workerId, workerPid: instance.pid, code, signal },
        `worker ${slot.workerId} (pid ${instance.pid}) died (${how}); its replacement is starting`,
      );
      this.changed();
      return;
    }
    const delay = restartDelayMs(slot.consecutiveFailures, this.options.restartBackoff);
    this.logger.warn(
      {
        worker: slot.workerId,
        workerPid: instance.pid,
        code,
        signal,
        restartInMs: delay,
        failures: slot.consecutiveFailures,
      },
      `worker ${slot.workerId} (pid ${instance.pid}) died (${how}); replacing it in ${delay} ms`,
    );
    slot.restartDueMs = this.clock.monotonicMs() + delay;
    slot.restartTimer = this.scheduler.setTimeout(() => {
      slot.restartTimer = undefined;
      slot.restartDueMs = undefined;
      if (this.stopping || !this.slots.includes(slot)) return;
      this.spawnInto(slot, 'current');
    }, delay);
    this.changed();
  }

  private cancelRestart(slot: Slot): void {
    if (slot.restartTimer !== undefined) this.scheduler.clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    slot.restartDueMs = undefined;
  }

  private drainInstance(instance: WorkerInstance, timeoutMs = this.options.drainTimeoutMs): void {
    if (instance.state === 'draining' || instance.state === 'stopping' || instance.state === 'exited') return;
    if (instance.state === 'starting') {
      // Nothing to drain yet.
      instance.state = 'stopping';
      instance.deadlineMs = this.clock.monotonicMs() + this.options.stopTimeoutMs;
      this.send(instance, message({ kind: 'stop' }));
      return;
    }
    instance.state = 'draining';
    // Grace for the worker's own stop after its drain deadline.
    instance.deadlineMs = this.clock.monotonicMs() + timeoutMs + this.options.stopTimeoutMs;
    this.send(instance, message({ kind: 'drain', timeoutMs }));
    this.changed();
  }

  /** Sends `msg` to every live worker that is not stopping; returns how many. */
  private broadcast(msg: ToWorkerMessage): number {
    let sent = 0;
    for (const instance of this.live) {
      if (instance.state === 'stopping') continue;
      this.send(instance, msg);
      sent++;
    }
    return sent;
  }

  private send(instance: WorkerInstance, msg: ToWorkerMessage): void {
    try {
      instance.process.send(msg, undefined, (error) => {
        if (error) {
          this.logger.debug(
            { worker: instance.workerId, err: error.message },
            `could not send ${msg.kind} to worker ${instance.workerId}`,
          );
        }
      });
    } catch (error) {
      // The channel is closed: the exit event follows.
      this.logger.debug(
        { worker: instance.workerId, err: describeError(error) },
        `could not send ${msg.kind}`,
      );
    }
  }

  private armHealthCheck(): void {
    this.healthTimer = this.scheduler.setTimeout(() => {
      this.healthTimer = undefined;
      this.checkHealth();
      if (!this.stopping) this.armHealthCheck();
    }, this.options.heartbeatIntervalMs);
  }

  private disarmHealthCheck(): void {
    if (this.healthTimer !== undefined) this.scheduler.clearTimeout(this.healthTimer);
    this.healthTimer = undefined;
  }

  private checkHealth(): void {
    const now = this.clock.monotonicMs();
    for (const instance of this.live) {
      const where = `worker ${instance.workerId} (pid ${instance.pid})`;
      const fields = { worker: instance.workerId, workerPid: instance.pid };
      if (instance.state === 'starting' && now - instance.startedAtMs > this.options.startTimeoutMs) {
        this.logger.warn(
          fields,
          `${where} did not get ready within ${this.options.startTimeoutMs} ms; killing it`,
        );
        instance.process.kill('SIGKILL');
      } else if (instance.state === 'ready') {
        const silentMs = now - (instance.lastHeartbeatMs ?? instance.startedAtMs);
        if (silentMs > this.options.killUnresponsiveAfterMs) {
          this.logger.warn(
            { ...fields, silentMs },
            `${where} has not answered for ${silentMs} ms; killing it`,
          );
          instance.process.kill('SIGKILL');
        } else if (silentMs > this.options.unhealthyAfterMs && instance.healthy) {
          instance.healthy = false;
          this.logger.warn(
            { ...fields, silentMs },
            `${where} missed its heartbeats for ${silentMs} ms; it gets no new connections`,
          );
          this.changed();
        }
      } else if (instance.deadlineMs !== undefined && now > instance.deadlineMs) {
        this.logger.warn(fields, `${where} did not exit after its ${instance.state}; killing it`);
        instance.process.kill('SIGKILL');
        instance.deadlineMs = undefined;
      }
    }
  }

  private noteRefusal(): void {
    this.refused++;
    this.refusedSinceWarning++;
    const now = this.clock.monotonicMs();
    if (now - this.lastRefusalWarningMs < REFUSAL_WARNING_INTERVAL_MS) return;
    this.lastRefusalWarningMs = now;
    this.logger.warn(
      { refused: this.refusedSinceWarning, workers: this.slots.length },
      'no healthy worker to take a connection; closing it',
    );
    this.refusedSinceWarning = 0;
  }

  private within(promise: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = this.scheduler.setTimeout(() => resolve(false), ms);
      void promise.then((value) => {
        this.scheduler.clearTimeout(timer);
        resolve(value);
      });
    });
  }

  private changed(): void {
    this.modules.onChange?.();
  }
}

/** "exit status 1", "signal SIGKILL", or undefined when it has not exited. */
export function describeExit(
  exit: { code: number | null; signal: string | null } | undefined,
): string | undefined {
  if (!exit) return undefined;
  if (exit.signal) return `signal ${exit.signal}`;
  return `exit status ${exit.code}`;
}
