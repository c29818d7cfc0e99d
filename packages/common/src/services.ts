/**
 * Interfaces for the services that lower layers need but must not implement:
 * logging, time and randomness. The telemetry package provides pino- and
 * prom-client-backed implementations; tests pass fakes.
 */

/** Structured logger. Fields are data, never message text. Addresses go through `sensitive()`. */
export interface Logger {
  error(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  notice(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
  child(bindings: object): Logger;
}

/** A logger that discards everything; the default for library code in tests. */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  notice() {},
  info() {},
  debug() {},
  child() {
    return silentLogger;
  },
};

/** Time, injected so that schedules and timeouts are testable. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  /** A monotonic reading in milliseconds, for intervals. */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

/** Randomness, injected so that handshakes can be replayed against test vectors. */
export interface Random {
  bytes(n: number): Uint8Array;
}

/**
 * Marks a value (usually a client address) as identifying. Loggers print it
 * as "[scrubbed]" while SafeLogging is on.
 */
export class Sensitive<T> {
  constructor(readonly value: T) {}
  toString(): string {
    return '[scrubbed]';
  }
  toJSON(): string {
    return '[scrubbed]';
  }
}

export function sensitive<T>(value: T): Sensitive<T> {
  return new Sensitive(value);
}
