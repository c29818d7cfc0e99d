import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CellBodySlab,
  decodeRelayCell,
  encodeRelayMessage,
  encodeRelayMessageCell,
  RELAY_DATA_MAX_LENGTH,
  RELAY_PAYLOAD_LENGTH,
  viewRelayCell,
} from '../src/index.js';
import { countingRandom, relayMessageArb } from './arbitraries.js';

describe('relay payloads in caller-provided memory', () => {
  it('encodes any message into used memory exactly as into a fresh array', () => {
    fc.assert(
      fc.property(
        relayMessageArb,
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 255 }),
        (message, streamId, junk) => {
          const fresh = encodeRelayMessageCell(streamId, message, countingRandom());
          const used = new Uint8Array(RELAY_PAYLOAD_LENGTH).fill(junk);
          const written = encodeRelayMessageCell(streamId, message, countingRandom(), used);
          assert.equal(written, used);
          assert.deepEqual(used, fresh);
        },
      ),
    );
  });

  it('encodes DATA like the general path: the message data as the relay data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: RELAY_DATA_MAX_LENGTH }), (data) => {
        const payload = encodeRelayMessageCell(3, { type: 'data', data }, countingRandom());
        const decoded = decodeRelayCell(payload);
        assert.ok(decoded.ok);
        assert.deepEqual(decoded.value.data, encodeRelayMessage({ type: 'data', data }).data);
        assert.equal(decoded.value.command, 2);
      }),
    );
    assert.throws(
      () => encodeRelayMessageCell(1, { type: 'data', data: new Uint8Array(499) }, countingRandom()),
      /too long/,
    );
    assert.throws(
      () => encodeRelayMessageCell(1, { type: 'drop' }, countingRandom(), new Uint8Array(508)),
      /509 bytes/,
    );
  });

  it('encodes into slab memory without touching the neighbouring bodies', () => {
    const slab = new CellBodySlab();
    const first = encodeRelayMessageCell(1, { type: 'begin-dir' }, countingRandom(), slab.take(509));
    const snapshot = first.slice();
    encodeRelayMessageCell(
      2,
      { type: 'data', data: new Uint8Array(498).fill(7) },
      countingRandom(),
      slab.take(509),
    );
    assert.deepEqual(first, snapshot);
  });
});

/** Mostly well-formed payloads (Length within bounds), some of the wrong size or with a Length too large. */
const payloadArb = fc.oneof(
  fc
    .tuple(fc.uint8Array({ minLength: 509, maxLength: 509 }), fc.integer({ min: 0, max: 520 }))
    .map(([payload, length]) => {
      payload[9] = length >> 8;
      payload[10] = length & 0xff;
      return payload;
    }),
  fc.uint8Array({ maxLength: 520 }),
);

describe('viewRelayCell', () => {
  it('decodes what decodeRelayCell decodes, with views into the payload instead of copies', () => {
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const view = viewRelayCell(payload);
        const copy = decodeRelayCell(payload);
        assert.deepEqual(view, copy);
        if (!view.ok || !copy.ok) return;
        assert.equal(view.value.data.buffer, payload.buffer);
        assert.equal(view.value.digest.buffer, payload.buffer);
        assert.notEqual(copy.value.data.buffer, payload.buffer);
        assert.notEqual(copy.value.digest.buffer, payload.buffer);
      }),
      { numRuns: 300 },
    );
  });
});
