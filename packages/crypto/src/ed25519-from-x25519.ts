/**
 * Ed25519 keys derived from Curve25519 keys.
 *
 * A relay proves that it holds its ntor onion key by signing its Ed25519
 * identity with an Ed25519 key derived from that Curve25519 key (the
 * descriptor's `ntor-onion-key-crosscert`, dir-spec; proposal 228). This
 * module owns both halves of the conversion, exactly as C tor does it
 * (crypto_ed25519.c `ed25519_keypair_from_curve25519_keypair`,
 * ed25519_tor.c `ed25519_donna_pubkey_from_curve25519_pubkey`):
 *
 * - secret side: the expanded Ed25519 secret is the (clamped) Curve25519
 *   secret as the scalar, followed by the first 32 bytes of
 *   SHA-512(secret || "Derive high part of ed25519 key from curve25519 key\0")
 *   as the nonce prefix; the sign bit is the top bit of the resulting public key;
 * - public side: the Montgomery u-coordinate maps to the Edwards
 *   y = (u - 1) / (u + 1), and the sign bit supplies the x sign.
 *
 * The derived key is for cross-certification only; never sign peer-chosen data with it.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { Ed25519SigningKey } from './ed25519.js';
import { sha512 } from './hash.js';

/** The personalisation string C tor hashes, including its terminating NUL (`sizeof(string)`). */
const NONCE_PREFIX_STRING = new TextEncoder().encode('Derive high part of ed25519 key from curve25519 key\0');

const Fp = ed25519.Point.Fp;

/**
 * Returns a copy of a Curve25519 secret with the RFC 7748 clamping applied,
 * the form in which tor stores its onion keys (`curve25519_secret_key_generate`).
 * OpenSSL clamps only at use, so keys it generates may be unclamped; store
 * them clamped so that C tor, which uses the stored bytes as an Ed25519
 * scalar, derives the same cross-certification key.
 */
export function clampX25519Secret(secret: Uint8Array): Uint8Array {
  if (secret.length !== 32) throw new RangeError(`x25519 secret key must be 32 bytes, got ${secret.length}`);
  const out = Uint8Array.from(secret);
  out[0]! &= 248;
  out[31]! &= 127;
  out[31]! |= 64;
  return out;
}

/**
 * Derives the Ed25519 signing key that corresponds to a Curve25519 secret,
 * and the sign bit a verifier needs to rebuild its public key from the
 * Curve25519 public key alone.
 */
export function ed25519FromX25519(secret: Uint8Array): { signingKey: Ed25519SigningKey; signBit: 0 | 1 } {
  const scalar = clampX25519Secret(secret);
  // C tor hashes the stored secret (already clamped when tor made it); hashing
  // the bytes as given keeps that behaviour, and the nonce prefix never
  // affects validity, only which of the valid signatures is produced.
  const prefix = sha512(secret, NONCE_PREFIX_STRING).subarray(0, 32);
  const expanded = new Uint8Array(64);
  expanded.set(scalar, 0);
  expanded.set(prefix, 32);
  const signingKey = Ed25519SigningKey.fromExpanded(expanded);
  const signBit = (signingKey.publicKey[31]! >> 7) as 0 | 1;
  return { signingKey, signBit };
}

/**
 * Converts a Curve25519 public key to the Ed25519 public key with the given
 * sign bit (proposal 228: y = (u - 1) / (u + 1)). Like C tor, the top bit of
 * `u` is ignored and u = -1 (no inverse) yields y = 0.
 */
export function ed25519PublicFromX25519Public(publicKey: Uint8Array, signBit: 0 | 1): Uint8Array {
  if (publicKey.length !== 32)
    throw new RangeError(`x25519 public key must be 32 bytes, got ${publicKey.length}`);
  const u = Fp.create(bytesToNumberLE(publicKey) & ((1n << 255n) - 1n));
  const uPlusOne = Fp.add(u, Fp.ONE);
  const y = Fp.is0(uPlusOne) ? Fp.ZERO : Fp.mul(Fp.sub(u, Fp.ONE), Fp.inv(uPlusOne));
  const out = numberToBytesLE(y, 32);
  out[31]! |= signBit << 7;
  return out;
}
