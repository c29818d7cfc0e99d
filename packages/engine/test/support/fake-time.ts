/**
 * Deterministic time for engine tests: a Clock and a Scheduler whose clock
 * moves only when a test advances it, and whose deferred tasks run only when
 * a test lets them (`runDeferred`, `settle`).
 */
import type { Clock } from '@relayd/common';
import type { Scheduler, TimerHandle } from '../../src/index.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

export class FakeTime implements Clock, Scheduler {
  private now = 1_000_000;
  private readonly wallOffset = 1_700_000_000_000;
  private timers: Timer[] = [];
  private deferred: Array<() => void> = [];
  private nextTimerId = 1;

  nowMs(): number {
    return this.wallOffset + this.now;
  }

  monotonicMs(): number {
    return this.now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.nextTimerId++, at: this.now + Math.max(0, delayMs), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  defer(callback: () => void): void {
    this.deferred.push(callback);
  }

  get pendingDeferred(): number {
    return this.deferred.length;
  }

  /** Runs only the oldest deferred task. Returns false if there was none. */
  runOneDeferred(): boolean {
    const task = this.deferred.shift();
    if (!task) return false;
    task();
    return true;
  }

  /** Moves the clock without running timers or deferred tasks (time spent inside a callback). */
  jump(ms: number): void {
    this.now += ms;
  }

  /** Runs deferred tasks, including ones they add, until none are left. */
  runDeferred(): number {
    let ran = 0;
    while (this.deferred.length > 0) {
      const task = this.deferred.shift()!;
      task();
      if (++ran > 5_000_000) throw new Error('deferred tasks do not settle');
    }
    return ran;
  }

  /**
   * Runs deferred tasks and lets promise callbacks run (a real macrotask
   * between rounds) until two rounds in a row find nothing to do.
   */
  async settle(): Promise<void> {
    let quietRounds = 0;
    while (quietRounds < 2) {
      const ran = this.runDeferred();
      await new Promise<void>((resolve) => setImmediate(resolve));
      quietRounds = ran === 0 && this.deferred.length === 0 ? quietRounds + 1 : 0;
    }
  }

  /** Moves time forward by `ms`, firing due timers in order and running deferred work after each. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      this.runDeferred();
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = Math.max(this.now, due.at);
      due.callback();
    }
    this.now = until;
    this.runDeferred();
  }

  /** `advance`, then `settle`. */
  async advanceAndSettle(ms: number): Promise<void> {
    this.advance(ms);
    await this.settle();
  }
}
