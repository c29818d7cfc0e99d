/**
 * One worker process as the pool tracks it: its state (starting, ready,
 * draining, stopping, exited), health, heartbeat statistics, the
 * connections handed to it and not yet reported closed, and the promises
 * that settle when it is ready or has exited. The pool decides; this only
 * holds the facts about one process.
 */
import type { ExtOrBackendSpec, ToWorkerMessage, WorkerStatsReport } from '@relayd/ipc';
import type { TcpSocket } from '@relayd/net';

/** A worker process as the pool drives it. */
export interface WorkerProcessHandle {
  readonly pid: number | undefined;
  /** Sends a message, with a socket as its handle for a handoff. `callback` gets the send's error, if any. */
  send(message: ToWorkerMessage, socket?: TcpSocket, callback?: (error: Error | null) => void): void;
  kill(signal: 'SIGKILL' | 'SIGTERM'): void;
}

/** What the pool hears from a worker process. */
export interface WorkerProcessEvents {
  message(raw: unknown): void;
  exit(code: number | null, signal: string | null): void;
}

export type WorkerState = 'starting' | 'ready' | 'draining' | 'stopping' | 'exited';

/** One worker process as `status()` reports it. */
export interface WorkerProcessStatus {
  readonly workerId: number;
  /** Counts the processes this slot has had (1 for the first). */
  readonly generation: number;
  readonly pid: number | undefined;
  readonly state: WorkerState;
  /** Ready and heard from within `unhealthyAfterMs`: eligible for new connections. */
  readonly healthy: boolean;
  readonly startedAtMs: number;
  readonly readyAtMs: number | undefined;
  readonly lastHeartbeatMs: number | undefined;
  /** Connections handed to this process. */
  readonly handedOff: number;
  /** Of those, the ones it has not reported as ended yet. */
  readonly openConnections: number;
  /** Its Extended ORPort backend's port, once listening (BalancerMode proxy). */
  readonly extOrBackendPort: number | undefined;
  readonly exit: { readonly code: number | null; readonly signal: string | null } | undefined;
  /** The last heartbeat's statistics. */
  readonly stats: WorkerStatsReport | undefined;
}

export class WorkerInstance {
  state: WorkerState = 'starting';
  healthy = false;
  readyAtMs: number | undefined;
  lastHeartbeatMs: number | undefined;
  handedOff = 0;
  stats: WorkerStatsReport | undefined;
  exit: { code: number | null; signal: string | null } | undefined;
  /** Monotonic deadline of a drain or stop, after which it is killed. */
  deadlineMs: number | undefined;
  process!: WorkerProcessHandle;
  /** Handed-off connections not reported closed yet: id → settles the handoff's `closed`. */
  readonly openConnections = new Map<number, () => void>();
  /** What it was asked to open (BalancerMode proxy), and the port it reported. */
  extOrBackend: ExtOrBackendSpec | undefined;
  extOrBackendPort: number | undefined;
  private readonly readyWaiters: ((ready: boolean) => void)[] = [];
  private readonly exitWaiters: (() => void)[] = [];

  constructor(
    readonly workerId: number,
    readonly generation: number,
    readonly startedAtMs: number,
  ) {}

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get live(): boolean {
    return this.state !== 'exited';
  }

  /** Resolves true once ready, false if it exits first. */
  whenReady(): Promise<boolean> {
    if (this.state === 'ready') return Promise.resolve(true);
    if (this.state === 'exited') return Promise.resolve(false);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  whenExited(): Promise<void> {
    if (this.state === 'exited') return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  settleReady(ready: boolean): void {
    for (const waiter of this.readyWaiters.splice(0)) waiter(ready);
  }

  settleExit(): void {
    this.settleReady(false);
    for (const waiter of this.exitWaiters.splice(0)) waiter();
    // Whatever it still held is gone with it.
    for (const settle of this.openConnections.values()) settle();
    this.openConnections.clear();
  }

  /** Settles the `closed` promise of each of these connections. */
  connectionsClosed(ids: readonly number[]): void {
    for (const id of ids) {
      const settle = this.openConnections.get(id);
      if (!settle) continue;
      this.openConnections.delete(id);
      settle();
    }
  }

  /** Load as the pool judges it: the last report plus what it was sent since. */
  load(): number {
    const reported = this.stats ? this.stats.channels + this.stats.pendingHandshakes : 0;
    const inFlight = Math.max(0, this.handedOff - (this.stats?.connectionsReceived ?? 0));
    return reported + inFlight;
  }

  status(): WorkerProcessStatus {
    return {
      workerId: this.workerId,
      generation: this.generation,
      pid: this.pid,
      state: this.state,
      healthy: this.state === 'ready' && this.healthy,
      startedAtMs: this.startedAtMs,
      readyAtMs: this.readyAtMs,
      lastHeartbeatMs: this.lastHeartbeatMs,
      handedOff: this.handedOff,
      openConnections: this.openConnections.size,
      extOrBackendPort: this.extOrBackendPort,
      exit: this.exit,
      stats: this.stats,
    };
  }
}
