/**
 * Key derivation functions of tor-spec section 5.2.
 */
import { hkdfSync } from 'node:crypto';
import { sha1 } from './hash.js';

/**
 * KDF-TOR (tor-spec 5.2.1): K = H(K0 | [00]) | H(K0 | [01]) | ..., truncated to `length`.
 * Used by CREATE_FAST.
 */
export function kdfTor(k0: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const block = new Uint8Array(k0.length + 1);
  block.set(k0);
  for (let i = 0, o = 0; o < length; i++) {
    block[k0.length] = i;
    const h = sha1(block);
    out.set(h.subarray(0, Math.min(h.length, length - o)), o);
    o += h.length;
  }
  return out;
}

/**
 * HKDF-SHA256 per RFC 5869 (tor-spec 5.2.2, KDF-RFC5869), used by ntor.
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}
