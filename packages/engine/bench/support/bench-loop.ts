/**
 * The benchmark's world: parties (a client and two engines), each with its
 * own task queue standing in for its share of the event loop, and
 * in-memory transports between them. Every deferred task and every byte
 * delivery runs as a task of the party that does the work, so the CPU time
 * (and, when sampling, the memory allocated) in each task is charged to
 * that party. Time stands still: timers are accepted and never fire, so
 * housekeeping never interferes with a run.
 */
import type { ByteTransport, Clock, TransportHandlers } from '@relayd/common';
import type { Scheduler, TimerHandle } from '../../src/index.js';

/** What the allocation pass reads before and after each task. */
function allocationSample(): { heap: number; external: number } {
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, external: usage.arrayBuffers };
}

export class Party implements Scheduler, Clock {
  /**
   * CPU time (user + system, from getrusage) spent in this party's tasks, in
   * ms. CPU time rather than wall time, so other processes on the machine
   * do not count; the kernel's accounting is coarse per task but even over
   * thousands of tasks.
   */
  cpuMs = 0;
  tasksRun = 0;
  /** Bytes allocated on the JS heap and in ArrayBuffers (allocation pass only; an estimate, see BenchLoop). */
  heapBytes = 0;
  externalBytes = 0;
  private tasks: Array<() => void> = [];
  private head = 0;
  private nextTimer = 1;

  constructor(readonly name: string) {}

  nowMs(): number {
    return 1_700_000_000_000;
  }

  monotonicMs(): number {
    return 1_000_000;
  }

  setTimeout(_callback: () => void, _delayMs: number): TimerHandle {
    return this.nextTimer++;
  }

  clearTimeout(_handle: TimerHandle): void {}

  defer(callback: () => void): void {
    this.tasks.push(callback);
  }

  get pending(): number {
    return this.tasks.length - this.head;
  }

  resetCounters(): void {
    this.cpuMs = 0;
    this.tasksRun = 0;
    this.heapBytes = 0;
    this.externalBytes = 0;
  }

  /** Runs the tasks queued now (not those they add). Returns how many ran. */
  runQueued(sampleAllocations: boolean): number {
    const end = this.tasks.length;
    let ran = 0;
    while (this.head < end) {
      const task = this.tasks[this.head]!;
      this.tasks[this.head++] = undefined as unknown as () => void;
      const before = sampleAllocations ? allocationSample() : undefined;
      const start = process.cpuUsage();
      task();
      const used = process.cpuUsage(start);
      this.cpuMs += (used.user + used.system) / 1000;
      if (before) {
        const after = allocationSample();
        // A GC inside the task frees more than the task allocated: count nothing rather than less than nothing.
        this.heapBytes += Math.max(0, after.heap - before.heap - SAMPLE_OVERHEAD.heap);
        this.externalBytes += Math.max(0, after.external - before.external);
      }
      ran++;
    }
    if (this.head === this.tasks.length) {
      this.tasks = [];
      this.head = 0;
    }
    this.tasksRun += ran;
    return ran;
  }
}

/** Heap bytes one pair of samples allocates by itself, measured at start-up. */
const SAMPLE_OVERHEAD = { heap: 0 };

export function calibrateAllocationSampling(): void {
  let total = 0;
  const rounds = 2_000;
  let counted = 0;
  for (let i = 0; i < rounds; i++) {
    const before = allocationSample();
    const after = allocationSample();
    const delta = after.heap - before.heap;
    if (delta >= 0) {
      total += delta;
      counted++;
    }
  }
  SAMPLE_OVERHEAD.heap = counted > 0 ? Math.round(total / counted) : 0;
}

export class BenchLoop {
  sampleAllocations = false;

  constructor(readonly parties: readonly Party[]) {}

  /** Runs every party's tasks, round robin, until none is left. */
  runUntilIdle(): number {
    let total = 0;
    for (;;) {
      let ran = 0;
      for (const party of this.parties) ran += party.runQueued(this.sampleAllocations);
      if (ran === 0) return total;
      total += ran;
    }
  }

  /**
   * Runs tasks and lets promise callbacks settle (a real macrotask between
   * rounds) until `done()` holds, or until nothing at all happens for two
   * rounds (then it throws: the run is stuck).
   */
  async runUntil(done: () => boolean, what: string): Promise<void> {
    let quiet = 0;
    while (!done()) {
      const ran = this.runUntilIdle();
      if (done()) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      quiet = ran === 0 ? quiet + 1 : 0;
      if (quiet > 3) throw new Error(`benchmark stuck waiting for ${what}`);
    }
  }
}

/** Largest chunk one read delivers: a TLS record's plaintext (node reads TLS in 16 KiB chunks). */
const READ_CHUNK_BYTES = 16 * 1024;
/** As SocketByteTransport's default. */
const WRITE_HIGH_WATER_MARK = 64 * 1024;

/**
 * One side of an in-memory connection owned by `owner`. Bytes written here
 * are delivered to the peer in a task of the peer's party, cut into fresh
 * chunks of at most 16 KiB (the copy a socket read makes); `write` pushes
 * back above 64 KiB and `drained` follows the delivery.
 */
export class BenchTransport implements ByteTransport {
  peer!: BenchTransport;
  private handlers: TransportHandlers | undefined;
  private held: Uint8Array[] = [];
  private outbox: Uint8Array[] = [];
  private queued = 0;
  private deliveryScheduled = false;
  private owesDrain = false;
  private closed = false;

  constructor(readonly owner: Party) {}

  get bufferedBytes(): number {
    return this.queued;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.outbox.push(bytes);
    this.queued += bytes.length;
    if (!this.deliveryScheduled) {
      this.deliveryScheduled = true;
      this.peer.owner.defer(() => this.deliver());
    }
    if (this.queued >= WRITE_HIGH_WATER_MARK) {
      this.owesDrain = true;
      return false;
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.peer.owner.defer(() => this.peer.handlers?.closed());
    this.owner.defer(() => this.handlers?.closed());
  }

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    const held = this.held;
    this.held = [];
    if (held.length === 0) return;
    this.owner.defer(() => {
      for (const chunk of held) handlers.data(chunk);
    });
  }

  /** Runs in the peer's party: the read side of the socket. */
  private deliver(): void {
    this.deliveryScheduled = false;
    const outbox = this.outbox;
    this.outbox = [];
    this.queued = 0;
    for (const bytes of outbox) {
      for (let at = 0; at < bytes.length; at += READ_CHUNK_BYTES) {
        this.peer.receive(bytes.slice(at, at + READ_CHUNK_BYTES));
      }
    }
    if (this.owesDrain) {
      this.owesDrain = false;
      this.owner.defer(() => this.handlers?.drained());
    }
  }

  private receive(chunk: Uint8Array): void {
    if (this.handlers) this.handlers.data(chunk);
    else this.held.push(chunk);
  }
}

export function benchTransportPair(a: Party, b: Party): [BenchTransport, BenchTransport] {
  const near = new BenchTransport(a);
  const far = new BenchTransport(b);
  near.peer = far;
  far.peer = near;
  return [near, far];
}
