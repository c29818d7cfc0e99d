import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  congestionControlRequest,
  congestionControlResponse,
  decodeCongestionControlResponse,
  decodeNtorV3Extensions,
  decodeSubprotocolRequest,
  encodeNtorV3Extensions,
  findNtorV3Extension,
  NtorV3ExtensionType,
  subprotocolRequest,
} from '../src/index.js';

describe('ntor v3 extension list', () => {
  it('encodes the messages C tor sends', () => {
    // C tor client with congestion control: one CC_FIELD_REQUEST, empty.
    assert.deepEqual(encodeNtorV3Extensions([congestionControlRequest()]), Uint8Array.of(1, 1, 0));
    // C tor exit answering it: CC_FIELD_RESPONSE with sendme_inc.
    assert.deepEqual(encodeNtorV3Extensions([congestionControlResponse(31)]), Uint8Array.of(1, 2, 1, 31));
    assert.deepEqual(encodeNtorV3Extensions([]), Uint8Array.of(0));
  });

  it('decodes known, unknown and repeated types in order', () => {
    const bytes = Uint8Array.of(4, 0x03, 2, 2, 4, 0x7f, 3, 9, 8, 7, 0x01, 0, 0x03, 0);
    const list = decodeNtorV3Extensions(bytes);
    assert.ok(list.ok);
    assert.deepEqual(list.value, [
      { type: NtorV3ExtensionType.SubprotocolRequest, body: Uint8Array.of(2, 4) },
      { type: 0x7f, body: Uint8Array.of(9, 8, 7) },
      { type: NtorV3ExtensionType.CongestionControlRequest, body: new Uint8Array(0) },
      { type: NtorV3ExtensionType.SubprotocolRequest, body: new Uint8Array(0) },
    ]);
    assert.deepEqual(encodeNtorV3Extensions(list.value), bytes);
    // Repeats after the first are ignored.
    assert.deepEqual(
      findNtorV3Extension(list.value, NtorV3ExtensionType.SubprotocolRequest)?.body,
      Uint8Array.of(2, 4),
    );
    assert.equal(findNtorV3Extension(list.value, NtorV3ExtensionType.CongestionControlResponse), undefined);
  });

  it('rejects malformed lists', () => {
    const cases: Array<[number[], 'incomplete' | 'malformed']> = [
      [[], 'incomplete'],
      [[1], 'incomplete'],
      [[1, 1], 'incomplete'],
      [[1, 1, 2, 0], 'incomplete'],
      [[2, 1, 0], 'incomplete'],
      [[0, 0], 'malformed'],
      [[1, 1, 0, 9], 'malformed'],
    ];
    for (const [bytes, failure] of cases) {
      const result = decodeNtorV3Extensions(Uint8Array.from(bytes));
      assert.ok(!result.ok, `${bytes} should not decode`);
      assert.equal(result.error.failure, failure, `${bytes}`);
    }
  });

  it('decode(encode(list)) = list, and random bytes never throw', () => {
    const extension = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 255 }))
      .map(([type, body]) => ({ type, body }));
    fc.assert(
      fc.property(fc.array(extension, { maxLength: 20 }), (list) => {
        const decoded = decodeNtorV3Extensions(encodeNtorV3Extensions(list));
        assert.ok(decoded.ok);
        assert.deepEqual(decoded.value, list);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        decodeNtorV3Extensions(bytes);
      }),
    );
  });
});

describe('extension bodies', () => {
  it('congestion control response carries one byte', () => {
    assert.deepEqual(decodeCongestionControlResponse(Uint8Array.of(31)), {
      ok: true,
      value: { sendmeIncrement: 31 },
    });
    assert.equal(decodeCongestionControlResponse(new Uint8Array(0)).ok, false);
    assert.equal(decodeCongestionControlResponse(Uint8Array.of(1, 2)).ok, false);
  });

  it('subprotocol request is sorted and deduplicated (as Arti encodes Relay=4 and Link=4)', () => {
    const ext = subprotocolRequest([
      { protocol: 2, version: 4 },
      { protocol: 2, version: 4 },
      { protocol: 0, version: 4 },
    ]);
    assert.equal(ext.type, NtorV3ExtensionType.SubprotocolRequest);
    assert.deepEqual(ext.body, Uint8Array.of(0, 4, 2, 4));
    assert.deepEqual(decodeSubprotocolRequest(ext.body), {
      ok: true,
      value: [
        { protocol: 0, version: 4 },
        { protocol: 2, version: 4 },
      ],
    });
    for (const bad of [
      [0, 4, 2],
      [0, 4, 0, 4],
      [2, 4, 0, 4],
    ]) {
      assert.equal(decodeSubprotocolRequest(Uint8Array.from(bad)).ok, false, `${bad}`);
    }
  });
});
