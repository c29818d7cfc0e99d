/** Test helpers: fixture loading and deterministic bytes. */
import { readFileSync } from 'node:fs';
import { concatBytes } from '@relayd/common';
import { sha256 } from '@relayd/crypto';

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** `n` deterministic bytes derived from `label`. */
export function bytesFrom(label: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const seed = new TextEncoder().encode(label);
  for (let o = 0, i = 0; o < n; o += 32, i++) {
    out.set(sha256(concatBytes(seed, Uint8Array.of(i >>> 8, i & 255))).subarray(0, Math.min(32, n - o)), o);
  }
  return out;
}

/** A plaintext relay payload: command, stream id, length and data; 'recognized' and digest zero. */
export function relayPayload(command: number, streamId: number, data: Uint8Array): Uint8Array {
  const payload = new Uint8Array(509);
  payload[0] = command;
  payload[3] = streamId >>> 8;
  payload[4] = streamId & 255;
  payload[9] = data.length >>> 8;
  payload[10] = data.length & 255;
  payload.set(data, 11);
  return payload;
}
