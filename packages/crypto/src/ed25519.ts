/**
 * Ed25519 as tor uses it.
 *
 * Tor stores secret keys *expanded* (64 bytes: the clamped scalar, then the
 * nonce prefix; tor's ed25519_master_id_secret_key layout), not as the
 * 32-byte RFC 8032 seed. OpenSSL can only sign from a seed, so signing with
 * an expanded key uses @noble/curves point arithmetic; keys that relayd
 * creates itself keep their seed and sign on OpenSSL. Verification, which is
 * the hot path (certificates on every link), is always OpenSSL.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from './hash.js';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ORDER = ed25519.Point.Fn.ORDER;

function publicKeyObject(pub: Uint8Array) {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

/** Returns true iff `signature` is a valid Ed25519 signature of `message` under `publicKey`. Never throws. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** Expands a 32-byte seed into tor's 64-byte secret key form (RFC 8032 5.1.5, clamped). */
export function expandEd25519Seed(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new RangeError(`ed25519 seed must be 32 bytes, got ${seed.length}`);
  const h = sha512(seed);
  h[0]! &= 248;
  h[31]! &= 127;
  h[31]! |= 64;
  return h;
}

function scalarOf(expanded: Uint8Array): bigint {
  return bytesToNumberLE(expanded.subarray(0, 32)) % ORDER;
}

/** The public key A = a·B of an expanded secret key. */
export function ed25519PublicFromExpanded(expanded: Uint8Array): Uint8Array {
  if (expanded.length !== 64)
    throw new RangeError(`expanded ed25519 key must be 64 bytes, got ${expanded.length}`);
  return ed25519.Point.BASE.multiply(scalarOf(expanded)).toBytes();
}

/** RFC 8032 signing with an expanded secret key (no seed needed). */
export function ed25519SignExpanded(
  expanded: Uint8Array,
  publicKey: Uint8Array,
  message: Uint8Array,
): Uint8Array {
  const a = scalarOf(expanded);
  const r = bytesToNumberLE(sha512(expanded.subarray(32, 64), message)) % ORDER;
  const R = ed25519.Point.BASE.multiply(r === 0n ? ORDER : r).toBytes();
  const k = bytesToNumberLE(sha512(R, publicKey, message)) % ORDER;
  const s = (r + k * a) % ORDER;
  const sig = new Uint8Array(64);
  sig.set(R, 0);
  sig.set(numberToBytesLE(s, 32), 32);
  return sig;
}

/**
 * An Ed25519 signing key. Holds the expanded secret (what tor stores) and,
 * when known, the seed so that signing can use OpenSSL.
 */
export class Ed25519SigningKey {
  readonly publicKey: Uint8Array;
  readonly expandedSecret: Uint8Array;
  private readonly seed: Uint8Array | undefined;

  private constructor(expandedSecret: Uint8Array, seed: Uint8Array | undefined) {
    this.expandedSecret = expandedSecret;
    this.seed = seed;
    this.publicKey = ed25519PublicFromExpanded(expandedSecret);
  }

  static generate(): Ed25519SigningKey {
    const der = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
    return Ed25519SigningKey.fromSeed(new Uint8Array(der.subarray(der.length - 32)));
  }

  static fromSeed(seed: Uint8Array): Ed25519SigningKey {
    return new Ed25519SigningKey(expandEd25519Seed(seed), Uint8Array.from(seed));
  }

  static fromExpanded(expanded: Uint8Array): Ed25519SigningKey {
    return new Ed25519SigningKey(Uint8Array.from(expanded), undefined);
  }

  sign(message: Uint8Array): Uint8Array {
    if (this.seed) {
      const key = createPrivateKey({
        key: Buffer.concat([PKCS8_PREFIX, this.seed]),
        format: 'der',
        type: 'pkcs8',
      });
      return new Uint8Array(sign(null, message, key));
    }
    return ed25519SignExpanded(this.expandedSecret, this.publicKey, message);
  }
}

/** True iff `bytes` decodes to a point on the curve (a usable public key). */
export function isValidEd25519Point(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  try {
    ed25519.Point.fromBytes(bytes);
    return true;
  } catch {
    return false;
  }
}
