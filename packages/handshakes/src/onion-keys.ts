/**
 * The relay's ntor onion keys as the handshakes see them, and the lookup of
 * the key a client named.
 *
 * tor-spec 1.1: "old ntor keys MUST be accepted for at least one week after
 * they are no longer advertised", so a relay holds the current key and the
 * one it replaced. Both ntor and ntor v3 use the same curve25519 onion key.
 */
import { constantTimeEqual, type Random } from '@relayd/common';
import { type X25519Keypair, x25519PublicFromSecret } from '@relayd/crypto';

/** The relay's ntor onion keypairs: the advertised one and, during the grace period, its predecessor. */
export interface ServerOnionKeys {
  readonly current: X25519Keypair;
  readonly previous?: X25519Keypair | undefined;
}

/** Which of the relay's onion keys a client used. */
export type OnionKeyRole = 'current' | 'previous';

export interface SelectedOnionKey {
  readonly keypair: X25519Keypair;
  readonly role: OnionKeyRole;
}

/**
 * Finds the keypair whose public key equals `keyId`. Every candidate is
 * compared in full, so the time taken does not say which key matched.
 */
export function selectOnionKey(keys: ServerOnionKeys, keyId: Uint8Array): SelectedOnionKey | undefined {
  const matchesCurrent = constantTimeEqual(keys.current.publicKey, keyId);
  const matchesPrevious = keys.previous !== undefined && constantTimeEqual(keys.previous.publicKey, keyId);
  if (matchesCurrent) return { keypair: keys.current, role: 'current' };
  if (matchesPrevious && keys.previous) return { keypair: keys.previous, role: 'previous' };
  return undefined;
}

/** Draws a fresh curve25519 keypair from `random` (32 bytes; the scalar is clamped inside the DH). */
export function x25519KeypairFromRandom(random: Random): X25519Keypair {
  const secretKey = random.bytes(32);
  return { secretKey, publicKey: x25519PublicFromSecret(secretKey) };
}
