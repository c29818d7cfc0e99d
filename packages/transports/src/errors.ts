/**
 * The errors this package raises on purpose. Each code says what went
 * wrong; `kind` (common's ErrorKind) says what the caller should do.
 */
import { type ErrorKind, RelayError } from '@relayd/common';

/** Every code, with the kind it always has. */
export const TRANSPORT_ERROR_KINDS = {
  /** An address the caller or the configuration gave is not an IP literal with a port. */
  BAD_ADDRESS: 'bad-config',
  /** A value cannot be written into an environment file (a newline, `$`, a quote…). */
  BAD_ENVIRONMENT_VALUE: 'bad-config',
  /** A `ServerTransportPlugin … proxy` line names more than one transport (C tor refuses that too). */
  EXTERNAL_TRANSPORT_COUNT: 'bad-config',
} as const satisfies Record<string, ErrorKind>;

export type TransportErrorCode = keyof typeof TRANSPORT_ERROR_KINDS;

export class TransportError extends RelayError {
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(TRANSPORT_ERROR_KINDS[code], code, message, options);
    this.name = 'TransportError';
  }
}
