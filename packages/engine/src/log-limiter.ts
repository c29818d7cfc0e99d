/**
 * Rate limiting for log lines a peer can trigger, so a hostile client
 * cannot flood the operator's logs (C tor's ratelim_t / LOG_PROTOCOL_WARN).
 * Each message key may log once per interval; the next line that passes
 * says how many were suppressed in between.
 */
import type { Clock } from '@relayd/common';

export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 60_000,
  ) {}

  /**
   * Returns the number of lines suppressed since the last one (0 or more)
   * when a line with this key may be logged now, or undefined when it may not.
   */
  take(key: string): number | undefined {
    const now = this.clock.monotonicMs();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }
}
