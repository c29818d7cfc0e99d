/**
 * The one error type of the link handshake. Every way a peer can break the
 * handshake maps to a code; the caller's answer to all of them is the same
 * (close the connection, as C tor's `connection_or_close_for_error`), but the
 * code says what to count and log.
 */

import type { CertError } from '@relayd/certs';
import { type ErrorKind, RelayError } from '@relayd/common';

export type LinkHandshakeErrorCode =
  /** The byte stream does not frame as cells, or a cell body does not decode. */
  | 'MALFORMED_CELL'
  /** A cell that is not allowed at this point of the handshake (tor-spec 4; C tor channeltls.c). */
  | 'UNEXPECTED_CELL'
  /** CERTS or AUTH_CHALLENGE with a nonzero circuit ID (C tor refuses both). */
  | 'NONZERO_CIRCUIT_ID'
  /** A VERSIONS cell whose payload has an odd length (tor-spec 4.1). */
  | 'BAD_VERSIONS'
  /** The peer's VERSIONS cell lists no link protocol we speak. */
  | 'NO_COMMON_VERSION'
  /** The peer's CERTS chain was refused; `certError` says why. */
  | 'BAD_CERTS'
  /** The AUTHENTICATE cell was refused; `certError` says why when a check failed. */
  | 'BAD_AUTHENTICATE'
  /** A NETINFO cell whose OTHERADDR is not an IPv4 or IPv6 address (C tor closes on it). */
  | 'BAD_NETINFO'
  /** The peer proved identities other than the ones we expected (EXTEND2 target). */
  | 'IDENTITY_MISMATCH'
  /** The peer sent more handshake bytes than any legitimate handshake needs. */
  | 'HANDSHAKE_TOO_LARGE'
  /** The TLS layer could not give what the handshake needs (exporter, certificate). */
  | 'TLS_UNAVAILABLE';

const KIND: Record<LinkHandshakeErrorCode, ErrorKind> = {
  MALFORMED_CELL: 'protocol-violation',
  UNEXPECTED_CELL: 'protocol-violation',
  NONZERO_CIRCUIT_ID: 'protocol-violation',
  BAD_VERSIONS: 'protocol-violation',
  NO_COMMON_VERSION: 'protocol-violation',
  BAD_CERTS: 'crypto-failure',
  BAD_AUTHENTICATE: 'crypto-failure',
  BAD_NETINFO: 'protocol-violation',
  IDENTITY_MISMATCH: 'crypto-failure',
  HANDSHAKE_TOO_LARGE: 'resource-exhausted',
  TLS_UNAVAILABLE: 'transient',
};

export class LinkHandshakeError extends RelayError {
  declare readonly code: LinkHandshakeErrorCode;
  /** The certificate check that failed, for BAD_CERTS and BAD_AUTHENTICATE. */
  readonly certError: CertError | undefined;

  constructor(
    code: LinkHandshakeErrorCode,
    message: string,
    options?: { cause?: unknown; certError?: CertError },
  ) {
    const cause = options?.cause ?? options?.certError;
    super(KIND[code], code, message, cause === undefined ? undefined : { cause });
    this.name = 'LinkHandshakeError';
    this.certError = options?.certError;
  }
}
