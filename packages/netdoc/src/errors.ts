/**
 * The two ways a directory document can be refused.
 *
 * - `NetDocError`: the bytes do not form the document (bad syntax, a missing
 *   or repeated item, a value out of range). It is a DecodeError, so callers
 *   that already handle malformed cells handle documents the same way, and it
 *   names the line where the problem is.
 * - `NetDocVerifyError`: the document is well formed but a check that needs
 *   keys or time failed (a signature, an expiry, the consensus threshold).
 */
import { DecodeError, RelayError } from '@relayd/common';

/** A malformed directory document; `line` is 1-based when the problem has a place. */
export class NetDocError extends DecodeError {
  readonly line: number | undefined;
  /** The problem without the object name or line prefix. */
  readonly detail: string;

  constructor(object: string, detail: string, line?: number) {
    super('malformed', object, line === undefined ? detail : `line ${line}: ${detail}`);
    this.name = 'NetDocError';
    this.line = line;
    this.detail = detail;
  }
}

/**
 * Why a well-formed document was not accepted.
 * - `bad-signature`: a signature does not verify under the key it names.
 * - `key-mismatch`: a key, digest or fingerprint does not match the one it must equal.
 * - `expired` / `not-yet-valid`: the document or certificate is outside its validity window.
 * - `insufficient-signatures`: a consensus lacks enough good authority signatures.
 */
export type NetDocVerifyFailure =
  | 'bad-signature'
  | 'key-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'insufficient-signatures';

/** A directory document that parsed but failed verification. */
export class NetDocVerifyError extends RelayError {
  readonly failure: NetDocVerifyFailure;
  /** What was being verified, e.g. "authority certificate". */
  readonly object: string;

  constructor(failure: NetDocVerifyFailure, object: string, detail: string) {
    super('crypto-failure', `NETDOC_${failure.toUpperCase().replace(/-/g, '_')}`, `${object}: ${detail}`);
    this.name = 'NetDocVerifyError';
    this.failure = failure;
    this.object = object;
  }
}
