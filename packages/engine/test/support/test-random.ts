/** A deterministic Random (xorshift128+) so engine tests replay identically. */
import type { Random } from '@relayd/common';

export class TestRandom implements Random {
  private s0: bigint;
  private s1: bigint;

  constructor(seed = 1) {
    this.s0 = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
    this.s1 = (BigInt(seed) ^ 0x5deece66dn) * 0xbf58476d1ce4e5b9n + 7n;
    for (let i = 0; i < 16; i++) this.next();
  }

  private next(): bigint {
    const mask = (1n << 64n) - 1n;
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= (x << 23n) & mask;
    this.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return (this.s1 + y) & mask;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 8) {
      let v = this.next();
      for (let j = 0; j < 8 && i + j < n; j++) {
        out[i + j] = Number(v & 0xffn);
        v >>= 8n;
      }
    }
    return out;
  }
}
