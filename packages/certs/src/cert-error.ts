/**
 * The one error type of certificate checks. Parsing failures of the bytes
 * themselves are DecodeErrors (from @relayd/common); a CertError says a
 * well-formed certificate, chain or authenticator is not acceptable.
 */
import { type ErrorKind, RelayError } from '@relayd/common';

/** Why a certificate, a CERTS chain or an AUTHENTICATE cell was refused. */
export type CertErrorCode =
  /** A certificate's expiration (or an X.509 notAfter, with tor's slop) is in the past. */
  | 'EXPIRED'
  /** An X.509 certificate's notBefore is further in the future than tor's slop allows. */
  | 'NOT_YET_VALID'
  /** A signature does not verify under the key that must have made it. */
  | 'BAD_SIGNATURE'
  /** The certificate's own type field is not the one its position requires. */
  | 'WRONG_TYPE'
  /** The certificate has an extension flagged AFFECTS_VALIDATION that relayd does not know. */
  | 'UNKNOWN_CRITICAL_EXTENSION'
  /** A certified or included key is not the key the chain requires. */
  | 'KEY_MISMATCH'
  /** No key to check the signature with: none given and no signed-with-ed25519-key extension. */
  | 'MISSING_SIGNING_KEY'
  /** A CERTS cell lacks a certificate the chain needs. */
  | 'MISSING_CERT'
  /** A CERTS cell carries two certificates of one type (tor-spec 4.2 allows one). */
  | 'DUPLICATE_CERT'
  /** A certificate in a CERTS cell does not parse. */
  | 'UNDECODABLE_CERT'
  /** The RSA identity key is not a 1024-bit RSA key, or another key is too short. */
  | 'BAD_KEY_SIZE'
  /** A fixed field of an AUTHENTICATE authenticator differs from what this side computed. */
  | 'AUTHENTICATE_MISMATCH'
  /** The AUTHENTICATE method is not one relayd can check. */
  | 'UNSUPPORTED_AUTH_METHOD';

const CRYPTO_CODES: ReadonlySet<CertErrorCode> = new Set([
  'BAD_SIGNATURE',
  'KEY_MISMATCH',
  'AUTHENTICATE_MISMATCH',
]);

export class CertError extends RelayError {
  declare readonly code: CertErrorCode;
  /** The CERTS cell CertType the error is about, when it is about one. */
  readonly certType: number | undefined;

  constructor(code: CertErrorCode, message: string, options?: { cause?: unknown; certType?: number }) {
    const kind: ErrorKind = CRYPTO_CODES.has(code) ? 'crypto-failure' : 'protocol-violation';
    super(kind, code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CertError';
    this.certType = options?.certType;
  }
}
