/** Test helpers: fixture loading and a deterministic Random. */
import { readFileSync } from 'node:fs';
import { concatBytes, fromHex, type Random } from '@relayd/common';
import { sha256 } from '@relayd/crypto';

/** Reads test/fixtures/<name> (tests run from dist/test). */
export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** Hex that must parse (fixtures are trusted). */
export function h(text: string): Uint8Array {
  const out = fromHex(text);
  if (!out) throw new Error(`bad hex in fixture: ${text}`);
  return out;
}

/** A deterministic Random: SHA-256(seed | counter) blocks. */
export function seededRandom(seed: string): Random {
  let counter = 0;
  const seedBytes = new TextEncoder().encode(seed);
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let o = 0; o < n; o += 32) {
        const block = sha256(
          concatBytes(seedBytes, Uint8Array.of(counter >>> 24, counter >>> 16, counter >>> 8, counter)),
        );
        counter++;
        out.set(block.subarray(0, Math.min(32, n - o)), o);
      }
      return out;
    },
  };
}

/** A copy of `bytes` with bit `bit` flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >>> 3]! ^= 1 << (bit & 7);
  return out;
}
