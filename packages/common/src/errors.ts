/**
 * Error classification shared by every package.
 *
 * Every error relayd raises carries a `kind` saying what the caller should do
 * about it, so a connection handler can decide between "close this channel",
 * "refuse this config" and "log a bug" without knowing which package threw.
 */

/** What kind of failure an error is, from the point of view of whoever handles it. */
export type ErrorKind =
  /** A peer sent bytes that break the protocol. Close the circuit/channel; never crash. */
  | 'protocol-violation'
  /** Input data (a file, a document) is malformed or truncated. */
  | 'bad-input'
  /** The operator's configuration is invalid. */
  | 'bad-config'
  /** A limit was reached (queue full, memory, descriptors). */
  | 'resource-exhausted'
  /** A cryptographic check failed (bad signature, bad MAC, wrong key). */
  | 'crypto-failure'
  /** A file could not be read or written, or has the wrong permissions. */
  | 'io'
  /** A remote peer or service is unreachable or timed out. */
  | 'transient'
  /** A bug in relayd. Logged with "bug" in the message; closes the affected object only. */
  | 'internal';

/** Base class of every error relayd throws on purpose. */
export class RelayError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;

  constructor(kind: ErrorKind, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RelayError';
    this.kind = kind;
    this.code = code;
  }

  /** A plain object that survives structured cloning across the worker boundary. */
  toObject(): { kind: ErrorKind; code: string; message: string } {
    return { kind: this.kind, code: this.code, message: this.message };
  }
}

/** A programming error: a state that correct code never reaches. */
export class InternalError extends RelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', 'BUG', `bug: ${message}`, options);
    this.name = 'InternalError';
  }
}

/** Throws an InternalError unless `condition` holds. Never use for peer input. */
export function assertInvariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InternalError(message);
}

/** Renders any thrown value as a one-line message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
