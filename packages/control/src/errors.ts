/**
 * The errors of the control surface, in three families:
 *
 *   ControlError        what a control request ended in (sent to relayctl
 *                       as `{ code, message }`); a ControlTarget throws it to
 *                       refuse a request with a precise code;
 *   ControlSocketError  the daemon could not open its control socket;
 *   ControlClientError  relayctl could not get an answer (daemon not running,
 *                       permission denied, timeout, a garbled answer) or got
 *                       an error answer;
 *   KeyBundleError      an offline key import, backup or restore was refused.
 */
import { type ErrorKind, RelayError } from '@relayd/common';

/** Error codes of control responses (the `error.code` field on the wire; docs/relayctl.md). */
export const ControlErrorCode = {
  /** The line is not a JSON object with `v`, `id` and `method` of the right types. */
  MALFORMED: 'malformed',
  /** The line is longer than the server accepts; the connection is closed after this answer. */
  TOO_LARGE: 'too-large',
  /** `v` is not a protocol version this daemon speaks. */
  UNSUPPORTED_VERSION: 'unsupported-version',
  /** `method` is not one the daemon knows. */
  UNKNOWN_METHOD: 'unknown-method',
  /** `params` is missing a field, has an unknown one, or a value of the wrong type or range. */
  BAD_PARAMS: 'bad-params',
  /** No worker has the number given. */
  NO_SUCH_WORKER: 'no-such-worker',
  /** The daemon cannot do this in its configuration (for example: workers run in-process). */
  UNAVAILABLE: 'unavailable',
  /** The daemon declined (for example: onion keys are frozen, or it is shutting down). */
  REFUSED: 'refused',
  /** The operation was attempted and failed; the message says why. */
  FAILED: 'failed',
  /** Too many control connections are open; try again. */
  BUSY: 'busy',
  /** A bug in relayd (logged by the daemon with "bug" in the message). */
  INTERNAL: 'internal',
} as const;
export type ControlErrorCode = (typeof ControlErrorCode)[keyof typeof ControlErrorCode];

export const CONTROL_ERROR_CODES: readonly ControlErrorCode[] = Object.values(ControlErrorCode);

const KIND_OF_CONTROL: Record<ControlErrorCode, ErrorKind> = {
  malformed: 'bad-input',
  'too-large': 'resource-exhausted',
  'unsupported-version': 'bad-input',
  'unknown-method': 'bad-input',
  'bad-params': 'bad-input',
  'no-such-worker': 'bad-input',
  unavailable: 'bad-config',
  refused: 'bad-input',
  failed: 'transient',
  busy: 'resource-exhausted',
  internal: 'internal',
};

/** A control request's failure, as it travels to relayctl. Targets throw it to answer with a code. */
export class ControlError extends RelayError {
  declare readonly code: ControlErrorCode;

  constructor(code: ControlErrorCode, message: string, options?: { cause?: unknown }) {
    super(KIND_OF_CONTROL[code], code, message, options);
    this.name = 'ControlError';
  }
}

/** Why the daemon could not open its control socket. */
export const ControlSocketErrorCode = {
  /** Another process answers on the path (a second relayd on the same DataDirectory?). */
  IN_USE: 'CONTROL_SOCKET_IN_USE',
  /** Something that is not a socket is at the path; relayd does not delete it. */
  NOT_A_SOCKET: 'CONTROL_SOCKET_NOT_A_SOCKET',
  /** ControlSocketGroup names a group that is not in /etc/group. */
  NO_SUCH_GROUP: 'CONTROL_SOCKET_NO_SUCH_GROUP',
  /** The path does not fit in a unix socket address, or is not absolute. */
  BAD_PATH: 'CONTROL_SOCKET_BAD_PATH',
  /** bind, listen, chmod, chown or rename failed (the message has the system error). */
  FAILED: 'CONTROL_SOCKET_FAILED',
} as const;
export type ControlSocketErrorCode = (typeof ControlSocketErrorCode)[keyof typeof ControlSocketErrorCode];

export class ControlSocketError extends RelayError {
  declare readonly code: ControlSocketErrorCode;

  constructor(code: ControlSocketErrorCode, message: string, options?: { cause?: unknown }) {
    super(
      code === ControlSocketErrorCode.NO_SUCH_GROUP || code === ControlSocketErrorCode.BAD_PATH
        ? 'bad-config'
        : 'io',
      code,
      message,
      options,
    );
    this.name = 'ControlSocketError';
  }
}

/**
 * Why relayctl got no result:
 *   not-running        nothing listens on the socket (ENOENT, ECONNREFUSED, ENOTSOCK)
 *   permission-denied  the socket or a directory above it is closed to this user (EACCES, EPERM)
 *   timeout            connected, but no answer in time
 *   connection         the connection failed otherwise (the message has the system error)
 *   protocol           the answer is not a control response of this protocol version
 *   remote             the daemon answered with an error (`remoteCode` is its code)
 */
export type ControlClientFailure =
  | 'not-running'
  | 'permission-denied'
  | 'timeout'
  | 'connection'
  | 'protocol'
  | 'remote';

const KIND_OF_CLIENT: Record<ControlClientFailure, ErrorKind> = {
  'not-running': 'transient',
  'permission-denied': 'io',
  timeout: 'transient',
  connection: 'transient',
  protocol: 'bad-input',
  remote: 'bad-input',
};

export class ControlClientError extends RelayError {
  readonly failure: ControlClientFailure;
  /** The daemon's error code (a ControlErrorCode, or a newer daemon's own), for `remote` failures. */
  readonly remoteCode: string | undefined;

  constructor(
    failure: ControlClientFailure,
    message: string,
    options?: { cause?: unknown; remoteCode?: string },
  ) {
    super(KIND_OF_CLIENT[failure], options?.remoteCode ?? failure, message, options);
    this.name = 'ControlClientError';
    this.failure = failure;
    this.remoteCode = options?.remoteCode;
  }
}

/** Why an offline key import, backup or restore was refused. */
export const KeyBundleErrorCode = {
  /** The destination already holds an identity (or a file the bundle would replace). */
  WOULD_OVERWRITE: 'KEY_BUNDLE_WOULD_OVERWRITE',
  /** The source has no usable keys (missing, damaged, or open to others); the message names the file. */
  BAD_SOURCE: 'KEY_BUNDLE_BAD_SOURCE',
  /** The backup is not a relayd key backup, or it is damaged (checksums, sizes, paths). */
  BAD_BACKUP: 'KEY_BUNDLE_BAD_BACKUP',
  /** The keys do not give the fingerprint they should (tor's fingerprint file, the backup's manifest). */
  FINGERPRINT_MISMATCH: 'KEY_BUNDLE_FINGERPRINT_MISMATCH',
  /** Reading or writing a file failed (the message has the system error). */
  IO: 'KEY_BUNDLE_IO',
} as const;
export type KeyBundleErrorCode = (typeof KeyBundleErrorCode)[keyof typeof KeyBundleErrorCode];

export class KeyBundleError extends RelayError {
  declare readonly code: KeyBundleErrorCode;

  constructor(code: KeyBundleErrorCode, message: string, options?: { cause?: unknown }) {
    super(code === KeyBundleErrorCode.IO ? 'io' : 'bad-input', code, message, options);
    this.name = 'KeyBundleError';
  }
}
