/**
 * Curve25519 Diffie-Hellman on OpenSSL (~29x faster than pure JS on this
 * class of machine). Keys are raw 32-byte strings as tor stores and sends them.
 *
 * Importing a raw key into OpenSSL is the expensive part: the PKCS#8 decoder
 * runs at ~1,500/s, JWK import at ~35,000/s. JWK needs the public half as
 * well, so secret keys are turned into key objects once and cached per
 * Uint8Array instance (onion keys live for weeks, ephemeral keys are created
 * here with their key object already attached).
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { bytesEqual } from '@relayd/common';
import { clampX25519Secret } from './ed25519-from-x25519.js';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface X25519Keypair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Key objects per secret array, with the bytes they were made from: a mutated array misses. */
const privateKeyCache = new WeakMap<Uint8Array, { bytes: Uint8Array; key: KeyObject }>();

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function privateKeyObject(secret: Uint8Array): KeyObject {
  const cached = privateKeyCache.get(secret);
  if (cached && bytesEqual(cached.bytes, secret)) return cached.key;
  if (secret.length !== 32) throw new RangeError(`x25519 secret key must be 32 bytes, got ${secret.length}`);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  privateKeyCache.set(secret, { bytes: Uint8Array.from(secret), key });
  return key;
}

function publicKeyObject(pub: Uint8Array): KeyObject {
  if (pub.length !== 32) throw new RangeError(`x25519 public key must be 32 bytes, got ${pub.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: base64url(pub) }, format: 'jwk' });
}

/** A fresh keypair with a clamped secret, ready for fast use in x25519SharedSecret. */
export function generateX25519(): X25519Keypair {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const secretKey = clampX25519Secret(Buffer.from(jwk.d!, 'base64url'));
  privateKeyCache.set(secretKey, { bytes: Uint8Array.from(secretKey), key: privateKey });
  return { secretKey, publicKey: new Uint8Array(Buffer.from(jwk.x!, 'base64url')) };
}

export function x25519PublicFromSecret(secret: Uint8Array): Uint8Array {
  const jwk = createPublicKey(privateKeyObject(secret)).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
}

/**
 * The shared secret EXP(pub, secret), or undefined when the peer's point
 * yields the all-zero output (a small-order point), which every Tor
 * handshake must reject.
 */
export function x25519SharedSecret(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array | undefined {
  try {
    const out = new Uint8Array(
      diffieHellman({ privateKey: privateKeyObject(secret), publicKey: publicKeyObject(peerPublic) }),
    );
    return out.some((b) => b !== 0) ? out : undefined;
  } catch {
    // OpenSSL refuses an all-zero result outright.
    return undefined;
  }
}
