/**
 * The load generator's own error: a bad option, a bridge that cannot be
 * reached or does not prove the identity it was given, a descriptor that
 * does not match. Failures of single circuits are not errors: they are
 * counted by reason in the report.
 */
import { type ErrorKind, RelayError } from '@relayd/common';

/**
 * - `BAD_OPTION`: an option is missing, malformed or out of range.
 * - `NO_CONNECTION`: not one link connection to the bridge could be opened.
 * - `WRONG_IDENTITY`: a channel proved another identity than the one given.
 * - `DESCRIPTOR`: the bridge's descriptor could not be fetched, parsed or verified.
 * - `SINK`: the sink relay could not be started or described.
 * - `PROC`: a /proc file of the sampled process could not be read or parsed.
 */
export type LoadgenErrorCode =
  | 'BAD_OPTION'
  | 'NO_CONNECTION'
  | 'WRONG_IDENTITY'
  | 'DESCRIPTOR'
  | 'SINK'
  | 'PROC';

const KINDS: Record<LoadgenErrorCode, ErrorKind> = {
  BAD_OPTION: 'bad-config',
  NO_CONNECTION: 'transient',
  WRONG_IDENTITY: 'crypto-failure',
  DESCRIPTOR: 'bad-input',
  SINK: 'io',
  PROC: 'io',
};

export class LoadgenError extends RelayError {
  declare readonly code: LoadgenErrorCode;

  constructor(code: LoadgenErrorCode, message: string, options?: { cause?: unknown }) {
    super(KINDS[code], code, message, options);
    this.name = 'LoadgenError';
  }
}
