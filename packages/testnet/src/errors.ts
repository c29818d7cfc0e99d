/**
 * The one error type the test network raises. Every failure names what was
 * being waited for or started, and carries the tail of the relevant tor log in
 * its message, so a failing test explains itself without a rerun.
 */
import { type ErrorKind, RelayError } from '@relayd/common';

/** What went wrong, by code. */
export const TESTNET_ERROR = {
  /** A bounded wait (log line, consensus, bootstrap, download) ran out of time. */
  timeout: 'TESTNET_TIMEOUT',
  /** A process exited while something was still waiting on it. */
  processExited: 'TESTNET_PROCESS_EXITED',
  /** A process could not be started (binary missing, bad arguments). */
  spawnFailed: 'TESTNET_SPAWN_FAILED',
  /** No free loopback address or port could be found. */
  noFreePort: 'TESTNET_NO_FREE_PORT',
  /** An option or torrc value was invalid. */
  badOption: 'TESTNET_BAD_OPTION',
  /** The SOCKS5 proxy refused or broke the request. */
  socksFailed: 'TESTNET_SOCKS_FAILED',
  /** The HTTP exchange through the network failed or was malformed. */
  httpFailed: 'TESTNET_HTTP_FAILED',
  /** A tool's output (tor --list-fingerprint, tor-gencert) was not understood. */
  badToolOutput: 'TESTNET_BAD_TOOL_OUTPUT',
} as const;

export type TestnetErrorCode = (typeof TESTNET_ERROR)[keyof typeof TESTNET_ERROR];

const KIND_OF: Record<TestnetErrorCode, ErrorKind> = {
  TESTNET_TIMEOUT: 'transient',
  TESTNET_PROCESS_EXITED: 'transient',
  TESTNET_SPAWN_FAILED: 'io',
  TESTNET_NO_FREE_PORT: 'resource-exhausted',
  TESTNET_BAD_OPTION: 'bad-config',
  TESTNET_SOCKS_FAILED: 'transient',
  TESTNET_HTTP_FAILED: 'transient',
  TESTNET_BAD_TOOL_OUTPUT: 'bad-input',
};

export class TestnetError extends RelayError {
  override readonly code: TestnetErrorCode;

  constructor(code: TestnetErrorCode, message: string, options?: { cause?: unknown }) {
    super(KIND_OF[code], code, message, options);
    this.name = 'TestnetError';
    this.code = code;
  }
}
