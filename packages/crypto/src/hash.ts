/**
 * Hashes and MACs used by the Tor protocols, all on OpenSSL via node:crypto.
 */
import { createHash, createHmac, type Hash } from 'node:crypto';

export function sha1(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function sha3_256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha3-256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** SHAKE-256 with `outputLength` bytes of output (ntor v3's KDF). */
export function shake256(outputLength: number, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash('shake256', { outputLength });
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export type RunningDigestAlgorithm = 'sha1' | 'sha3-256';

/**
 * A hash that is fed incrementally and can be read without ending it, as
 * relay cell digests need: `peek()` returns the digest so far, `clone()`
 * forks the state so a failed `recognized` check can be rolled back.
 */
export class RunningDigest {
  private hash: Hash;
  readonly algorithm: RunningDigestAlgorithm;

  constructor(algorithm: RunningDigestAlgorithm, seed?: Uint8Array, hash?: Hash) {
    this.algorithm = algorithm;
    this.hash = hash ?? createHash(algorithm);
    if (seed) this.hash.update(seed);
  }

  update(...parts: Uint8Array[]): this {
    for (const p of parts) this.hash.update(p);
    return this;
  }

  /** The digest of everything fed so far; the state continues. */
  peek(): Uint8Array {
    return new Uint8Array(this.hash.copy().digest());
  }

  clone(): RunningDigest {
    return new RunningDigest(this.algorithm, undefined, this.hash.copy());
  }
}
