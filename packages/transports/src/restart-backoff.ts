/**
 * When to relaunch a pluggable transport that exited: exponential backoff,
 * capped, and forgiven once the transport has stayed up for a while.
 *
 * C tor relaunches a dead managed proxy at once and forever
 * (transports.c `managed_proxy_exit_callback` → `proxy_prepare_for_restart`),
 * so a transport that crashes at start spins. relayd waits `initialMs`,
 * then twice as long after each failure, never more than `maxMs`; a
 * transport that ran `stableAfterMs` before it died starts over at
 * `initialMs`, so one crash a day costs one short gap, not a long one.
 */
import { InternalError } from '@relayd/common';

export interface RestartBackoffPolicy {
  /**
   * Delay before the first relaunch. Default 1 s: long enough that a
   * transport failing at once does not burn a core, short enough that
   * clients of a crashed obfs4proxy barely notice. Minimum 10 ms.
   */
  readonly initialMs: number;
  /** Factor applied after each consecutive failure. Default 2; at least 1. */
  readonly multiplier: number;
  /**
   * Longest delay. Default 60 s: a transport that keeps failing (a port
   * taken, a missing library) is retried once a minute, which the warn log
   * line per attempt makes visible without flooding it. At least `initialMs`.
   */
  readonly maxMs: number;
  /**
   * A run at least this long (from the launch that configured, to the exit)
   * resets the delay to `initialMs`. Default 60 s.
   */
  readonly stableAfterMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoffPolicy = {
  initialMs: 1_000,
  multiplier: 2,
  maxMs: 60_000,
  stableAfterMs: 60_000,
};

/** Checks a policy (with defaults filled in); throws InternalError for one that makes no sense. */
export function restartBackoffPolicy(partial: Partial<RestartBackoffPolicy> = {}): RestartBackoffPolicy {
  const policy = { ...DEFAULT_RESTART_BACKOFF, ...partial };
  if (!(policy.initialMs >= 10))
    throw new InternalError(`restart backoff initialMs ${policy.initialMs} < 10`);
  if (!(policy.multiplier >= 1))
    throw new InternalError(`restart backoff multiplier ${policy.multiplier} < 1`);
  if (!(policy.maxMs >= policy.initialMs))
    throw new InternalError(`restart backoff maxMs ${policy.maxMs} < initialMs ${policy.initialMs}`);
  if (!(policy.stableAfterMs >= 0))
    throw new InternalError(`restart backoff stableAfterMs ${policy.stableAfterMs} < 0`);
  return policy;
}

/** The backoff state of one transport process. */
export class RestartBackoff {
  private failures = 0;

  constructor(readonly policy: RestartBackoffPolicy = DEFAULT_RESTART_BACKOFF) {}

  /** Consecutive failures so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /**
   * Records a failure (an exit, a launch timeout) after a run of `ranMs`
   * and returns how long to wait before the next launch.
   */
  nextDelay(ranMs: number): number {
    if (ranMs >= this.policy.stableAfterMs) this.failures = 0;
    const delay = Math.min(
      this.policy.maxMs,
      this.policy.initialMs * this.policy.multiplier ** this.failures,
    );
    this.failures++;
    return Math.round(delay);
  }

  /** Forgets past failures. */
  reset(): void {
    this.failures = 0;
  }
}
