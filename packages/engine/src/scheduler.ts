/**
 * Deferred work and timers, injected so the engine never reads the real
 * event loop: the worker passes `systemScheduler`, tests pass a fake that
 * advances time by hand.
 *
 * Owns only the interface and the default implementation. Everything the
 * engine does later than "now" (the create queue's drain turns, channel
 * flushes, housekeeping) goes through one of these three calls.
 */

/** An opaque handle returned by `setTimeout`. */
export type TimerHandle = unknown;

export interface Scheduler {
  /** Runs `callback` once after `delayMs` milliseconds. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer from `setTimeout`; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
  /**
   * Runs `callback` soon, after the I/O callbacks already pending (Node's
   * setImmediate). The engine uses it to leave the read callback before doing
   * expensive work, so reading other channels interleaves with it.
   */
  defer(callback: () => void): void;
}

/** The real event loop: setTimeout/clearTimeout and setImmediate. */
export const systemScheduler: Scheduler = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  defer: (callback) => {
    setImmediate(callback);
  },
};
