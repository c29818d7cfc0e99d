/**
 * The supervisor's side of a metrics scrape over IPC: each worker process
 * is sent a `metrics-request` with a fresh id and answers with its
 * registry as JSON (`metrics`). An answer is matched to its request by id
 * and by the process it came from, so a late answer (after the scrape gave
 * up on it) or one from another process is dropped; a malformed one is
 * logged and counts as no answer. The scrape never waits longer than its
 * timeout, and a process that exits is not waited for at all.
 */
import type { Logger } from '@relayd/common';
import type { Scheduler, TimerHandle } from '@relayd/engine';
import { type MetricsJson, parseMetricsJson } from '@relayd/telemetry';

interface Pending {
  readonly owner: object;
  readonly timer: TimerHandle;
  settle(metrics: MetricsJson | undefined): void;
}

export class MetricsRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly logger: Logger,
  ) {}

  /**
   * Sends a request with `send(requestId)` on behalf of `owner` (one worker
   * process). Resolves with the answer, or undefined after `timeoutMs`, on
   * a malformed answer, or once `forget(owner)` is called.
   */
  ask(owner: object, send: (requestId: number) => void, timeoutMs: number): Promise<MetricsJson | undefined> {
    const requestId = this.nextId++;
    return new Promise((resolve) => {
      const timer = this.scheduler.setTimeout(() => this.settle(requestId, undefined), timeoutMs);
      this.pending.set(requestId, { owner, timer, settle: resolve });
      send(requestId);
    });
  }

  /** An answer from `owner`. Describes the problem (for the log) when it is dropped. */
  answer(owner: object, requestId: number, metrics: readonly object[], who: string): void {
    const pending = this.pending.get(requestId);
    if (!pending || pending.owner !== owner) return; // late (the scrape gave up) or not this process's
    const parsed = parseMetricsJson(metrics);
    if (!parsed.ok) {
      this.logger.warn(
        { err: parsed.error },
        `${who} sent malformed metrics; leaving them out: ${parsed.error}`,
      );
      this.settle(requestId, undefined);
      return;
    }
    this.settle(requestId, parsed.value);
  }

  /** `owner` went away: its requests end now, unanswered. */
  forget(owner: object): void {
    for (const [requestId, pending] of [...this.pending]) {
      if (pending.owner === owner) this.settle(requestId, undefined);
    }
  }

  private settle(requestId: number, metrics: MetricsJson | undefined): void {
    const pending = this.pending.get(requestId);
    if (!pending) return;
    this.pending.delete(requestId);
    this.scheduler.clearTimeout(pending.timer);
    pending.settle(metrics);
  }
}
