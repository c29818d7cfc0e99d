/**
 * The balancer's own failures: cookie files it cannot write or read, and
 * backends it cannot use. Peer misbehaviour on the Extended ORPort arrives
 * as ext-orport's ExtOrError and socket trouble as net's NetError,
 * unchanged; this type covers what only the balancer knows about.
 */
import { type ErrorKind, RelayError } from '@relayd/common';

export type BalancerErrorCode =
  /** The front's cookie file could not be written (directory, permissions, disk). */
  | 'COOKIE_FILE_WRITE'
  /** A backend's cookie file could not be read. */
  | 'COOKIE_FILE_READ'
  /** A backend's cookie file is not an Extended ORPort cookie file (length, header). */
  | 'COOKIE_FILE_INVALID'
  /** A listener (ExtORPort, ORPort) could not be opened. */
  | 'LISTEN_FAILED'
  /** No source address had a free ephemeral port for a connection to a backend. */
  | 'SOURCE_PORTS_EXHAUSTED'
  /** The backend answered our Extended ORPort metadata with DENY. */
  | 'BACKEND_DENIED'
  /** Every backend tried for one connection failed. */
  | 'NO_BACKEND_REACHABLE'
  /** The handoff target returned no usable result or was misused. */
  | 'HANDOFF_FAILED';

const KIND: Record<BalancerErrorCode, ErrorKind> = {
  COOKIE_FILE_WRITE: 'io',
  COOKIE_FILE_READ: 'io',
  COOKIE_FILE_INVALID: 'bad-input',
  LISTEN_FAILED: 'io',
  SOURCE_PORTS_EXHAUSTED: 'resource-exhausted',
  BACKEND_DENIED: 'transient',
  NO_BACKEND_REACHABLE: 'transient',
  HANDOFF_FAILED: 'transient',
};

export class BalancerError extends RelayError {
  declare readonly code: BalancerErrorCode;

  constructor(code: BalancerErrorCode, message: string, options?: { cause?: unknown }) {
    super(KIND[code], code, message, options);
    this.name = 'BalancerError';
  }
}
