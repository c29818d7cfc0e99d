import { RelayError } from './errors.js';

/**
 * Why a byte string did not decode.
 * - `incomplete`: the input ends early; with a stream, more bytes may complete it.
 * - `malformed`: the bytes can never be valid (bad length, bad value, trailing garbage).
 */
export type DecodeFailure = 'incomplete' | 'malformed';

/** A failure to decode bytes, naming what was being decoded. */
export class DecodeError extends RelayError {
  readonly failure: DecodeFailure;
  /** What was being decoded, e.g. "CERTS cell". */
  readonly object: string;

  constructor(failure: DecodeFailure, object: string, detail: string) {
    super(
      'protocol-violation',
      failure === 'incomplete' ? 'DECODE_INCOMPLETE' : 'DECODE_MALFORMED',
      `${object}: ${detail}`,
    );
    this.name = 'DecodeError';
    this.failure = failure;
    this.object = object;
  }
}
