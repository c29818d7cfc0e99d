/**
 * The one error type of the Extended ORPort: every way the other side can
 * break the SAFE_COOKIE handshake or the metadata exchange, and every way a
 * cookie file can be unusable. The caller's answer to a protocol error is
 * always the same (write the step's output, then close that connection and
 * only that one); the code says what to count and log.
 */
import { type ErrorKind, RelayError } from '@relayd/common';

export type ExtOrErrorCode =
  /** The transport chose AuthType 0 or one we did not offer ("the server MUST close the connection", ext-orport-spec 2). */
  | 'NO_COMMON_AUTH_TYPE'
  /** The server's AuthTypes list has no EndAuthTypes (0) within 256 bytes. */
  | 'MALFORMED_AUTH_TYPES'
  /** The transport's ClientHash is wrong: it does not hold the cookie (ext-orport-spec 2.1.3). */
  | 'CLIENT_HASH_MISMATCH'
  /** The server's ServerHash is wrong: it does not hold the cookie ("the client MUST terminate the connection"). */
  | 'SERVER_HASH_MISMATCH'
  /** The server answered our ClientHash with a Status other than 1. */
  | 'AUTH_REJECTED'
  /** A USERADDR body that is not `a.b.c.d:port` or `[ipv6]:port` (ext-orport-spec 3.2.1). */
  | 'BAD_USERADDR'
  /** A TRANSPORT body that is not a C identifier (ext-orport-spec 3.2.2, pt-spec 3.1). */
  | 'BAD_TRANSPORT'
  /** A frame announced a body longer than this connection accepts. */
  | 'FRAME_TOO_LONG'
  /** The other side sent more commands before DONE (or before OKAY/DENY) than any real exchange needs. */
  | 'TOO_MANY_COMMANDS'
  /** A cookie file that is not exactly 64 bytes long (ext-orport-spec 2.1.2). */
  | 'COOKIE_FILE_BAD_LENGTH'
  /** A cookie file that does not start with "! Extended ORPort Auth Cookie !\n". */
  | 'COOKIE_FILE_BAD_HEADER';

const KIND: Record<ExtOrErrorCode, ErrorKind> = {
  NO_COMMON_AUTH_TYPE: 'protocol-violation',
  MALFORMED_AUTH_TYPES: 'protocol-violation',
  CLIENT_HASH_MISMATCH: 'crypto-failure',
  SERVER_HASH_MISMATCH: 'crypto-failure',
  AUTH_REJECTED: 'crypto-failure',
  BAD_USERADDR: 'protocol-violation',
  BAD_TRANSPORT: 'protocol-violation',
  FRAME_TOO_LONG: 'resource-exhausted',
  TOO_MANY_COMMANDS: 'resource-exhausted',
  COOKIE_FILE_BAD_LENGTH: 'bad-input',
  COOKIE_FILE_BAD_HEADER: 'bad-input',
};

export class ExtOrError extends RelayError {
  declare readonly code: ExtOrErrorCode;

  constructor(code: ExtOrErrorCode, message: string, options?: { cause?: unknown }) {
    super(KIND[code], code, message, options);
    this.name = 'ExtOrError';
  }
}
