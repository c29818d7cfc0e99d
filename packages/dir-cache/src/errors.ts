/**
 * Why the directory cache refused a document or a fetch failed. Every code
 * says what happened; `kind` says what the caller should do about it (a
 * refused document is `bad-input` or `crypto-failure`: keep the copy we
 * have; a failed fetch is `transient`: try again later, elsewhere).
 */
import { type ErrorKind, RelayError } from '@relayd/common';

export type DirCacheErrorCode =
  /** The bytes are not a document of the expected type (netdoc parse error). */
  | 'MALFORMED'
  /** A consensus of another flavour than "microdesc". */
  | 'WRONG_FLAVOR'
  /** A consensus whose valid-after is not later than the one held. */
  | 'NOT_NEWER'
  /** A consensus more than a day before valid-after or after valid-until (dir-spec 5.1 "reasonably live"). */
  | 'NOT_LIVE'
  /** A consensus that could verify once certificates we lack are fetched. */
  | 'MISSING_CERTIFICATES'
  /** A consensus without enough good signatures from the configured authorities. */
  | 'INSUFFICIENT_SIGNATURES'
  /** An authority certificate whose signatures or validity window failed. */
  | 'BAD_CERTIFICATE'
  /** A descriptor handed to the store that does not parse or is not for this bridge. */
  | 'BAD_DESCRIPTOR'
  /** A directory request failed at the HTTP level (status other than 200, timeout, connection). */
  | 'FETCH_FAILED'
  /** An authority answered 304: it has nothing newer than what we hold. */
  | 'NOT_MODIFIED'
  /** No directory authority is configured to fetch from. */
  | 'NO_AUTHORITIES'
  /** The last good copy of a document could not be read or written. */
  | 'STORAGE_FAILED';

const KIND: Record<DirCacheErrorCode, ErrorKind> = {
  MALFORMED: 'bad-input',
  WRONG_FLAVOR: 'bad-input',
  NOT_NEWER: 'bad-input',
  NOT_LIVE: 'bad-input',
  MISSING_CERTIFICATES: 'transient',
  INSUFFICIENT_SIGNATURES: 'crypto-failure',
  BAD_CERTIFICATE: 'crypto-failure',
  BAD_DESCRIPTOR: 'bad-input',
  FETCH_FAILED: 'transient',
  NOT_MODIFIED: 'transient',
  NO_AUTHORITIES: 'bad-config',
  STORAGE_FAILED: 'io',
};

export class DirCacheError extends RelayError {
  declare readonly code: DirCacheErrorCode;

  constructor(code: DirCacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(KIND[code], code, message, options);
    this.name = 'DirCacheError';
  }
}

/**
 * A consensus that needs authority certificates we do not hold: the
 * (identity, signing key digest) pairs to fetch from `/tor/keys/fp-sk/`.
 */
export class MissingCertificatesError extends DirCacheError {
  constructor(
    readonly missing: readonly { readonly identity: Uint8Array; readonly signingKeyDigest: Uint8Array }[],
    message: string,
  ) {
    super('MISSING_CERTIFICATES', message);
    this.name = 'MissingCertificatesError';
  }
}
