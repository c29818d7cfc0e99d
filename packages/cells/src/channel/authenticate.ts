/**
 * AUTHENTICATE cell body (tor-spec 4.4): an authentication type and its
 * opaque authentication bytes. The AUTH0001/AUTH0003 structure inside is
 * built and checked by the link handshake.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';

export interface AuthenticateMessage {
  readonly type: 'authenticate';
  /** See AuthMethod. */
  readonly authType: number;
  /** The Authentication field exactly as sent (AuthLen bytes). */
  readonly authentication: Uint8Array;
}

export function readAuthenticate(r: ByteReader): AuthenticateMessage {
  const authType = r.u16('auth type');
  const length = r.u16('auth length');
  const authentication = r.take(length, 'authentication').slice();
  // "Responders MUST ignore extra bytes at the end of an AUTHENTICATE cell."
  return { type: 'authenticate', authType, authentication };
}

export function writeAuthenticate(w: ByteWriter, message: AuthenticateMessage): void {
  w.u16(message.authType).nested16((inner) => inner.bytes(message.authentication));
}
