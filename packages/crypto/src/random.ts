import { randomBytes } from 'node:crypto';
import type { Random } from '@relayd/common';

/** The operating system's CSPRNG. */
export const secureRandom: Random = {
  bytes: (n: number) => new Uint8Array(randomBytes(n)),
};

export function randomBytesOf(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n));
}
