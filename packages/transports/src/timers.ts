/**
 * Timers, injected so restarts, launch timeouts and stop grace periods can
 * run on a fake clock in tests. Structurally the same as engine's
 * `Scheduler` minus `defer`, so the supervisor can pass its own.
 */

/** An opaque handle returned by `setTimeout`. */
export type TransportTimerHandle = unknown;

export interface TransportTimers {
  /** Runs `callback` once after `delayMs` milliseconds. */
  setTimeout(callback: () => void, delayMs: number): TransportTimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TransportTimerHandle): void;
}

/** The real event loop. */
export const systemTransportTimers: TransportTimers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
