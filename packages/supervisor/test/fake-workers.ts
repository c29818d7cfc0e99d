/**
 * Fakes for the worker pool's tests: time that moves only when told
 * (clock + scheduler), worker processes that record what they were sent
 * and answer as the test says, and sockets that record being destroyed.
 */
import type { Clock, Logger } from '@relayd/common';
import type { Scheduler, TimerHandle } from '@relayd/engine';
import {
  emptyConnectionsByTransport,
  emptyOnionskinStats,
  type FromWorkerMessage,
  message,
  type ToWorkerMessage,
  type WorkerStatsReport,
} from '@relayd/ipc';
import type { TcpSocket } from '@relayd/net';
import type { SpawnWorker, WorkerProcessEvents, WorkerProcessHandle } from '../src/index.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

export class FakeTime implements Clock, Scheduler {
  now = 1_000_000;
  private seq = 0;
  private timers = new Map<number, Timer>();

  nowMs(): number {
    return this.now;
  }
  monotonicMs(): number {
    return this.now;
  }
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const seq = ++this.seq;
    this.timers.set(seq, { at: this.now + Math.max(0, delayMs), seq, callback });
    return seq;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }
  defer(callback: () => void): void {
    this.setTimeout(callback, 0);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const next = [...this.timers.values()]
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers.delete(next.seq);
      this.now = next.at;
      next.callback();
      await settle();
    }
    this.now = end;
    await settle();
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export interface SentMessage {
  readonly message: ToWorkerMessage;
  readonly socket: TcpSocket | undefined;
}

export class FakeWorkerProcess implements WorkerProcessHandle {
  readonly sent: SentMessage[] = [];
  readonly kills: string[] = [];
  exited = false;

  constructor(
    readonly workerId: number,
    readonly pid: number,
    private readonly events: WorkerProcessEvents,
    private readonly time: FakeTime,
  ) {}

  send(msg: ToWorkerMessage, socket?: TcpSocket, callback?: (error: Error | null) => void): void {
    if (this.exited) {
      callback?.(new Error('channel closed'));
      return;
    }
    this.sent.push({ message: msg, socket });
    callback?.(null);
  }

  kill(signal: 'SIGKILL' | 'SIGTERM'): void {
    this.kills.push(signal);
    this.time.setTimeout(() => this.die(null, signal), 0);
  }

  kinds(): string[] {
    return this.sent.map((s) => s.message.kind);
  }

  reply(msg: FromWorkerMessage | unknown): void {
    this.events.message(msg);
  }

  /** Answers `ready`; with the port of the Extended ORPort backend when the start data asked for one. */
  ready(): void {
    const start = this.sent.find((s) => s.message.kind === 'start')?.message;
    const backend = start?.kind === 'start' && start.extOrBackend !== undefined;
    this.reply(
      message({
        kind: 'ready',
        workerId: this.workerId,
        pid: this.pid,
        ...(backend ? { extOrBackendPort: 40_000 + this.pid } : {}),
      }),
    );
  }

  /** Reports handed-off connections as ended. */
  closed(connectionIds: readonly number[]): void {
    this.reply(message({ kind: 'closed', connectionIds }));
  }

  heartbeat(overrides: Partial<WorkerStatsReport> = {}): void {
    this.reply(message({ kind: 'heartbeat', stats: fakeStats(this.workerId, this.pid, overrides) }));
  }

  die(code: number | null, signal: string | null): void {
    if (this.exited) return;
    this.exited = true;
    this.events.exit(code, signal);
  }
}

export function fakeStats(
  workerId: number,
  pid: number,
  overrides: Partial<WorkerStatsReport> = {},
): WorkerStatsReport {
  return {
    workerId,
    pid,
    uptimeMs: 0,
    channels: 0,
    circuits: 0,
    createQueueLength: 0,
    directoryStreams: 0,
    pendingChannelOpens: 0,
    pendingHandshakes: 0,
    linksAccepted: 0,
    linkHandshakesFailed: 0,
    connectionsReceived: 0,
    connectionsByTransport: emptyConnectionsByTransport(),
    onionskins: emptyOnionskinStats(),
    cellsReceived: 0,
    cellsSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    ...overrides,
  };
}

/** Spawns FakeWorkerProcesses; `autoReady` makes each answer `ready` at once. */
export class FakeSpawner {
  readonly processes: FakeWorkerProcess[] = [];
  autoReady = true;
  failNextSpawn = false;
  private nextPid = 100;

  constructor(private readonly time: FakeTime) {}

  readonly spawn: SpawnWorker = (workerId, events) => {
    if (this.failNextSpawn) {
      this.failNextSpawn = false;
      throw new Error('EAGAIN');
    }
    const proc = new FakeWorkerProcess(workerId, this.nextPid++, events, this.time);
    this.processes.push(proc);
    if (this.autoReady) this.time.setTimeout(() => proc.ready(), 10);
    return proc;
  };

  /** The live processes of a slot, oldest first. */
  of(workerId: number): FakeWorkerProcess[] {
    return this.processes.filter((p) => p.workerId === workerId && !p.exited);
  }

  /** The newest process of a slot. */
  latest(workerId: number): FakeWorkerProcess {
    return this.processes.filter((p) => p.workerId === workerId).at(-1)!;
  }
}

export class FakeSocket {
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
  }
  asSocket(): TcpSocket {
    return this as unknown as TcpSocket;
  }
}

export interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export function recordingLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (fields: object, message: string) =>
    lines.push({ level, fields: { ...bindings, ...(fields as Record<string, unknown>) }, message });
  return {
    error: at('err'),
    warn: at('warn'),
    notice: at('notice'),
    info: at('info'),
    debug: at('debug'),
    child: (more) => recordingLogger(lines, { ...bindings, ...(more as Record<string, unknown>) }),
  };
}
