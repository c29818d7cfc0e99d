/**
 * Errors of the socket layer: a link that could not be opened or did not
 * finish its handshake. Handshake violations by the peer arrive as the
 * link-handshake package's LinkHandshakeError, unchanged.
 */
import { type ErrorKind, RelayError } from '@relayd/common';

export type NetErrorCode =
  /** TCP connect or TLS failed at every address of the target. */
  | 'CONNECT_FAILED'
  /** TCP connect plus TLS did not finish in time. */
  | 'CONNECT_TIMEOUT'
  /** The link handshake did not finish before its deadline. */
  | 'HANDSHAKE_TIMEOUT'
  /** The peer closed (or the socket failed) before the handshake finished. */
  | 'CLOSED_DURING_HANDSHAKE'
  /** The TLS peer presented no certificate. */
  | 'NO_PEER_CERTIFICATE'
  /** The target has no usable address. */
  | 'NO_ADDRESS'
  /** The listener or provider was closed. */
  | 'SHUT_DOWN';

const KIND: Record<NetErrorCode, ErrorKind> = {
  CONNECT_FAILED: 'transient',
  CONNECT_TIMEOUT: 'transient',
  HANDSHAKE_TIMEOUT: 'transient',
  CLOSED_DURING_HANDSHAKE: 'transient',
  NO_PEER_CERTIFICATE: 'protocol-violation',
  NO_ADDRESS: 'bad-input',
  SHUT_DOWN: 'transient',
};

export class NetError extends RelayError {
  declare readonly code: NetErrorCode;

  constructor(code: NetErrorCode, message: string, options?: { cause?: unknown }) {
    super(KIND[code], code, message, options);
    this.name = 'NetError';
  }
}
