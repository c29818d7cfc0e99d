/**
 * The benchmark's own error: a bad flag, a bridge that would not start or
 * became unusable, a machine limit that makes a scenario impossible, a
 * results file that cannot be read. A scenario that cannot run because
 * relayd lacks a feature is not an error: it is reported as pending.
 */
import { type ErrorKind, RelayError } from '@relayd/common';

/**
 * - `BAD_OPTION`: a flag is malformed, out of range or inconsistent.
 * - `BRIDGE_START`: relayd or C tor did not start, or did not become ready in time.
 * - `LIMIT`: the machine cannot run the scenario as asked (open-file limit, loopback addresses).
 * - `LOAD`: a load run could not start (no connection, the load thread failed).
 * - `RESULTS`: a results file is missing or not a results file of this version.
 */
export type BenchErrorCode = 'BAD_OPTION' | 'BRIDGE_START' | 'LIMIT' | 'LOAD' | 'RESULTS';

const KINDS: Record<BenchErrorCode, ErrorKind> = {
  BAD_OPTION: 'bad-config',
  BRIDGE_START: 'io',
  LIMIT: 'resource-exhausted',
  LOAD: 'transient',
  RESULTS: 'bad-input',
};

export class BenchError extends RelayError {
  declare readonly code: BenchErrorCode;

  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown }) {
    super(KINDS[code], code, message, options);
    this.name = 'BenchError';
  }
}
