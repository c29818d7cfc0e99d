import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AesCtrStream, MAX_KEYSTREAM_AHEAD } from '../src/index.js';

/** The whole keystream XOR in one OpenSSL call: what any sequence of calls must add up to. */
function reference(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = createCipheriv(key.length === 16 ? 'aes-128-ctr' : 'aes-256-ctr', key, iv);
  return new Uint8Array(cipher.update(data));
}

const ivArb = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.constant(new Uint8Array(16)),
  // Counters about to carry across bytes, and to wrap around 2^128.
  fc
    .integer({ min: 0, max: 255 })
    .map((low) => Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? low : 0xff))),
  fc
    .integer({ min: 1, max: 15 })
    .map((k) => Uint8Array.from({ length: 16 }, (_, i) => (i >= 16 - k ? 0xff : 0))),
);

type Step = { kind: 'apply'; length: number } | { kind: 'drop' };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.integer({ min: 0, max: 1100 }).map((length): Step => ({ kind: 'apply', length })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 2000, max: 5000 }).map((length): Step => ({ kind: 'apply', length })),
  },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'drop' }) },
);

describe('AES-CTR stream with keystream made ahead', () => {
  it('gives the keystream of one OpenSSL call for any split into calls, with idle drops in between', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        ivArb,
        fc.array(stepArb, { maxLength: 30 }),
        fc.integer({ min: 0, max: 255 }),
        (key, iv, steps, fill) => {
          const stream = new AesCtrStream(key, iv);
          const pieces: Uint8Array[] = [];
          for (const step of steps) {
            if (step.kind === 'drop') {
              stream.dropIdleKeystream();
              continue;
            }
            const piece = Uint8Array.from({ length: step.length }, (_, i) => (i * 7 + fill) & 0xff);
            const original = piece.slice();
            if (pieces.length % 2 === 0) stream.applyInPlace(piece);
            else piece.set(stream.apply(original));
            pieces.push(original, piece);
            assert.ok(stream.keystreamAhead <= MAX_KEYSTREAM_AHEAD);
          }
          const plain = pieces.filter((_, i) => i % 2 === 0);
          const cipher = pieces.filter((_, i) => i % 2 === 1);
          const total = plain.reduce((n, p) => n + p.length, 0);
          const all = new Uint8Array(total);
          let at = 0;
          for (const p of plain) {
            all.set(p, at);
            at += p.length;
          }
          const expected = reference(key, iv, all);
          at = 0;
          for (const c of cipher) {
            assert.deepEqual(c, expected.subarray(at, at + c.length));
            at += c.length;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('makes no keystream ahead for a single use, at most four cells ahead when busy, none once idle', () => {
    const stream = new AesCtrStream(new Uint8Array(16).fill(1));
    stream.applyInPlace(new Uint8Array(509));
    assert.equal(stream.keystreamAhead, 0);
    for (let i = 0; i < 20; i++) stream.applyInPlace(new Uint8Array(509));
    assert.ok(stream.keystreamAhead > 0 && stream.keystreamAhead <= MAX_KEYSTREAM_AHEAD);
    stream.dropIdleKeystream(); // used since the last check: kept
    assert.ok(stream.keystreamAhead > 0);
    stream.dropIdleKeystream(); // idle for a whole period: dropped
    assert.equal(stream.keystreamAhead, 0);
  });
});
