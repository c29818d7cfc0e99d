import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError, hex, toHex } from '@relayd/common';
import fc from 'fast-check';
import {
  decodeRelayCell,
  decodeRelayCellMessage,
  encodeRelayCell,
  encodeRelayMessageCell,
  RELAY_DATA_MAX_LENGTH,
  RELAY_PAYLOAD_LENGTH,
  RelayCommand,
  readRecognized,
  readRelayCommand,
  readRelayDigest,
  writeRecognized,
  writeRelayDigest,
  zeroRelayDigest,
} from '../src/index.js';
import { countingRandom, relayMessageArb } from './arbitraries.js';

function payloadWith(prefix: Uint8Array): Uint8Array {
  const out = new Uint8Array(RELAY_PAYLOAD_LENGTH);
  out.set(prefix);
  return out;
}

describe('relay cell layout (tor-spec 6.1)', () => {
  it("reads C tor's relay header vector (test_cell_formats.c test_cfmt_relay_header)", () => {
    // "\x03" "\x00\x00" "\x21\x22" "ABCD" "\x01\x03": RELAY_END... command 3, recognized 0,
    // stream 0x2122, digest "ABCD", length 0x103.
    const header = hex('03 0000 2122 41424344 0103');
    const data = new Uint8Array(0x103).map((_, i) => i & 0xff);
    const payload = payloadWith(new Uint8Array([...header, ...data]));
    const res = decodeRelayCell(payload);
    assert.ok(res.ok);
    assert.deepEqual(res.value, {
      command: 3,
      recognized: 0,
      streamId: 0x2122,
      digest: new TextEncoder().encode('ABCD'),
      data,
    });
    assert.equal(readRelayCommand(payload), 3);
    assert.equal(readRecognized(payload), 0);
    assert.equal(toHex(readRelayDigest(payload)), '41424344');
  });

  it('encodes a BEGIN_DIR header exactly, with 4 zero bytes then random padding (hand-computed)', () => {
    const payload = encodeRelayMessageCell(0x0001, { type: 'begin-dir' }, countingRandom());
    assert.equal(payload.length, 509);
    // command 0d | recognized 0000 | stream 0001 | digest 00000000 | length 0000 | 00000000 | 01 02 03 ...
    assert.equal(toHex(payload.subarray(0, 18)), '0d00000001000000000000' + '00000000' + '010203');
    assert.equal(payload[508], (509 - 15) & 0xff);
  });

  it('writes no random bytes when fewer than four padding bytes remain', () => {
    const random = {
      bytes(): Uint8Array {
        throw new Error('random should not be used');
      },
    };
    for (const n of [RELAY_DATA_MAX_LENGTH, RELAY_DATA_MAX_LENGTH - 3, RELAY_DATA_MAX_LENGTH - 4]) {
      const data = new Uint8Array(n).fill(0xee);
      const payload = encodeRelayCell({ command: RelayCommand.DATA, streamId: 7, data }, random);
      assert.ok(payload.subarray(11 + n).every((b) => b === 0));
    }
    const five = encodeRelayCell(
      { command: RelayCommand.DATA, streamId: 7, data: new Uint8Array(RELAY_DATA_MAX_LENGTH - 5) },
      countingRandom(),
    );
    assert.equal(toHex(five.subarray(504)), '0000000001');
  });

  it('lets the relay crypto zero, read and patch the digest and recognized fields in place', () => {
    const payload = encodeRelayMessageCell(5, { type: 'data', data: hex('cafe') }, countingRandom());
    writeRelayDigest(payload, hex('0102030405060708090a0b0c0d0e0f1011121314'));
    assert.equal(toHex(payload.subarray(5, 9)), '01020304');
    assert.equal(toHex(readRelayDigest(payload)), '01020304');
    zeroRelayDigest(payload);
    assert.equal(toHex(payload.subarray(5, 9)), '00000000');
    writeRecognized(payload, 0xbeef);
    assert.equal(readRecognized(payload), 0xbeef);
    assert.equal(toHex(payload.subarray(1, 3)), 'beef');
    assert.throws(() => readRecognized(new Uint8Array(508)), /509 bytes/);
    assert.throws(() => writeRelayDigest(payload, hex('010203')), /too short/);
  });

  it('refuses a Length above 498, and payloads that are not 509 bytes', () => {
    const tooLong = payloadWith(hex('02 0000 0001 00000000 01f3'));
    const e = decodeRelayCell(tooLong);
    assert.ok(!e.ok && e.error.failure === 'malformed' && /length 499/.test(e.error.message));
    const ok = decodeRelayCell(payloadWith(hex('02 0000 0001 00000000 01f2')));
    assert.ok(ok.ok && ok.value.data.length === 498);
    const short = decodeRelayCell(new Uint8Array(508));
    assert.ok(!short.ok && short.error.failure === 'incomplete');
    const long = decodeRelayCell(new Uint8Array(510));
    assert.ok(!long.ok && long.error.failure === 'malformed');
    assert.throws(
      () => encodeRelayCell({ command: 2, streamId: 1, data: new Uint8Array(499) }, countingRandom()),
      /too long/,
    );
  });
});

describe('relay cell properties', () => {
  it('decode(encode(message)) == message through a whole relay payload', () => {
    fc.assert(
      fc.property(relayMessageArb, fc.integer({ min: 0, max: 0xffff }), (message, streamId) => {
        const payload = encodeRelayMessageCell(streamId, message, countingRandom());
        const cell = decodeRelayCell(payload);
        assert.ok(cell.ok);
        assert.equal(cell.value.streamId, streamId);
        assert.equal(cell.value.recognized, 0);
        assert.equal(toHex(cell.value.digest), '00000000');
        assert.deepEqual(decodeRelayCellMessage(cell.value), { ok: true, value: message });
      }),
      { numRuns: 1000 },
    );
  });

  it('random payloads only ever give ok or a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 500, maxLength: 520 }), (bytes) => {
        const res = decodeRelayCell(bytes);
        if (!res.ok) assert.ok(res.error instanceof DecodeError);
        else assert.ok(res.value.data.length <= RELAY_DATA_MAX_LENGTH);
      }),
      { numRuns: 1000 },
    );
  });
});
