/**
 * The create queue: circuit extension handshakes wait here between the
 * read callback that received CREATE_FAST/CREATE2 and the deferred turn that
 * answers them, so handshake CPU never runs inside a channel's read path
 * (the role of C tor's onion_queue.c in front of its cpuworkers).
 *
 * A bounded FIFO. `enqueue` refuses when full (the caller answers DESTROY
 * RESOURCELIMIT and counts a drop). Each drain turn, scheduled with
 * `Scheduler.defer`, answers at most `maxHandshakesPerTurn` entries or runs
 * for at most `maxTurnMs`, then yields and schedules the next turn. Entries
 * whose circuit closed meanwhile are skipped; entries older than
 * `maxWaitMs` are expired (the client has likely given up).
 *
 * It knows nothing about circuits or handshakes: entries are opaque items
 * with a `cancelled` predicate, and the caller supplies what to do with each.
 */
import type { Clock } from '@relayd/common';
import type { CreateQueueOptions } from './options.js';
import type { Scheduler } from './scheduler.js';

/** What the queue needs to know about an item. */
export interface CreateQueueItem {
  /** True once the item's circuit has closed: it is skipped without processing. */
  readonly cancelled: boolean;
}

export interface CreateQueueHandlers<T> {
  /**
   * Answers one item that waited `waitedMs` in the queue. Exceptions are the
   * caller's to catch (the queue carries on either way).
   */
  process(item: T, waitedMs: number): void;
  /** Called instead of `process` for an item that waited longer than `maxWaitMs`. */
  expire(item: T): void;
}

interface Entry<T> {
  readonly item: T;
  readonly enqueuedAt: number;
}

export class CreateQueue<T extends CreateQueueItem> {
  private entries: Array<Entry<T> | undefined> = [];
  private head = 0;
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly options: CreateQueueOptions,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly handlers: CreateQueueHandlers<T>,
  ) {}

  /** Items waiting, including cancelled ones not yet skipped. */
  get length(): number {
    return this.entries.length - this.head;
  }

  /** Adds an item at the tail. Returns false, leaving the queue unchanged, when it is full. */
  enqueue(item: T): boolean {
    if (this.stopped || this.length >= this.options.maxLength) return false;
    this.entries.push({ item, enqueuedAt: this.clock.monotonicMs() });
    this.schedule();
    return true;
  }

  /** Drops every entry and runs nothing more. */
  stop(): void {
    this.stopped = true;
    this.entries = [];
    this.head = 0;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.scheduler.defer(() => {
      this.scheduled = false;
      this.drainTurn();
    });
  }

  private shift(): Entry<T> | undefined {
    if (this.head >= this.entries.length) return undefined;
    const entry = this.entries[this.head];
    this.entries[this.head] = undefined;
    this.head++;
    // Compact once the consumed prefix dominates, keeping shift O(1) amortised.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  private drainTurn(): void {
    if (this.stopped) return;
    const started = this.clock.monotonicMs();
    let answered = 0;
    try {
      while (answered < this.options.maxHandshakesPerTurn) {
        const entry = this.shift();
        if (!entry) break;
        if (entry.item.cancelled) continue;
        const now = this.clock.monotonicMs();
        if (now - entry.enqueuedAt > this.options.maxWaitMs) {
          this.handlers.expire(entry.item);
          continue;
        }
        answered++;
        this.handlers.process(entry.item, now - entry.enqueuedAt);
        if (this.clock.monotonicMs() - started >= this.options.maxTurnMs) break;
      }
    } finally {
      if (this.length > 0) this.schedule();
    }
  }
}
