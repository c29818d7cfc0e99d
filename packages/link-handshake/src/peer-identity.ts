/**
 * Whether the identities a link handshake proved are the ones we wanted:
 * an EXTEND2 names the next relay by its RSA identity and, usually, its
 * Ed25519 identity (tor-spec 5.1.2), and the channel we open must reach
 * exactly that relay (C tor connection_or.c `connection_or_client_learned_peer_id`).
 */
import { bytesEqual, err, ok, type Result, toHex } from '@relayd/common';
import { LinkHandshakeError } from './link-error.js';

export interface ExpectedPeerIdentity {
  /** 20 bytes: always checked. */
  readonly rsaIdentity: Uint8Array;
  /** 32 bytes: checked when given; the peer must then have proven an Ed25519 identity. */
  readonly ed25519Identity?: Uint8Array | undefined;
}

export interface ProvenPeerIdentity {
  readonly rsaIdentity: Uint8Array | undefined;
  readonly ed25519Identity: Uint8Array | undefined;
}

/** Ok when `proven` matches `expected`; otherwise IDENTITY_MISMATCH naming what differs. */
export function checkPeerIdentity(
  proven: ProvenPeerIdentity,
  expected: ExpectedPeerIdentity,
): Result<void, LinkHandshakeError> {
  if (!proven.rsaIdentity || !bytesEqual(proven.rsaIdentity, expected.rsaIdentity)) {
    return err(
      new LinkHandshakeError(
        'IDENTITY_MISMATCH',
        `peer proved RSA identity ${proven.rsaIdentity ? toHex(proven.rsaIdentity).toUpperCase() : '(none)'}, expected ${toHex(expected.rsaIdentity).toUpperCase()}`,
      ),
    );
  }
  const wantedEd = expected.ed25519Identity;
  if (wantedEd !== undefined && (!proven.ed25519Identity || !bytesEqual(proven.ed25519Identity, wantedEd))) {
    return err(
      new LinkHandshakeError(
        'IDENTITY_MISMATCH',
        proven.ed25519Identity
          ? 'peer proved another Ed25519 identity than expected'
          : 'peer proved no Ed25519 identity, but one was expected',
      ),
    );
  }
  return ok(undefined);
}
