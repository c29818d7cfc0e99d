/**
 * Deterministic time for the load generator: one Clock and Scheduler whose
 * clock moves only when a test advances it and whose deferred tasks run
 * only when the test lets them. The engines on the other end of a memory
 * network keep the real event loop; a test waits for them with `until`,
 * running this side's deferred work as it polls (`runDeferred`).
 */
import type { Clock } from '@relayd/common';
import type { Scheduler, TimerHandle } from '@relayd/engine';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

export class FakeTime implements Clock, Scheduler {
  private now = 1_000_000;
  private readonly wallOffsetMs = 1_700_000_000_000;
  private timers: Timer[] = [];
  private deferred: Array<() => void> = [];
  private nextTimerId = 1;

  nowMs(): number {
    return this.wallOffsetMs + this.now;
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

  /** Runs deferred tasks, including ones they add, until none are left. */
  runDeferred(): void {
    for (let ran = 0; this.deferred.length > 0; ran++) {
      if (ran > 5_000_000) throw new Error('deferred tasks do not settle');
      this.deferred.shift()!();
    }
  }

  /** Moves time forward by `ms`, firing due timers in order (ties: first set, first fired), deferred work after each. */
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
}
