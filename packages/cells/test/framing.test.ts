import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError, hex, toHex } from '@relayd/common';
import fc from 'fast-check';
import {
  CELL_BODY_LENGTH,
  type CellFraming,
  type ChannelCell,
  ChannelCommand,
  circIdLength,
  decodeChannelCell,
  decodeChannelCellMessage,
  encodeChannelCell,
  encodeChannelMessageCell,
  fixedCellLength,
  isCircuitCommand,
  isVariableLengthCommand,
} from '../src/index.js';
import { channelMessageArb, framingArb } from './arbitraries.js';

function padTo(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes);
  return out;
}

function takeCell(buffer: Uint8Array, framing: CellFraming): { cell: ChannelCell; bytesConsumed: number } {
  const frame = decodeChannelCell(buffer, framing);
  assert.equal(frame.kind, 'cell', JSON.stringify(frame));
  if (frame.kind !== 'cell') throw new Error('unreachable');
  return frame;
}

describe('circuit ID width and cell sizes (tor-spec 3)', () => {
  it('uses 2-byte circuit IDs before negotiation and for link 3, 4-byte from link 4', () => {
    assert.equal(circIdLength('negotiating'), 2);
    assert.equal(circIdLength(3), 2);
    assert.equal(circIdLength(4), 4);
    assert.equal(circIdLength(5), 4);
    assert.equal(fixedCellLength('negotiating'), 512);
    assert.equal(fixedCellLength(3), 512);
    assert.equal(fixedCellLength(5), 514);
  });

  it('refuses link versions it does not frame (a caller bug, not peer input)', () => {
    assert.throws(() => circIdLength(2), /unsupported link protocol/);
    assert.throws(() => circIdLength(3.5), /unsupported link protocol/);
  });

  it('classifies variable-length commands as VERSIONS or >= 128', () => {
    assert.equal(isVariableLengthCommand(7), true);
    assert.equal(isVariableLengthCommand(127), false);
    assert.equal(isVariableLengthCommand(128), true);
    assert.equal(isVariableLengthCommand(255), true);
    assert.equal(isVariableLengthCommand(ChannelCommand.NETINFO), false);
    assert.equal(isCircuitCommand(ChannelCommand.CREATE2), true);
    assert.equal(isCircuitCommand(ChannelCommand.NETINFO), false);
  });
});

describe('channel cell framing vectors', () => {
  it('frames the VERSIONS cell 0000 07 0006 0003 0004 0005 (hand-computed from tor-spec 3 and 4.1)', () => {
    const wire = hex('0000 07 0006 0003 0004 0005');
    const encoded = encodeChannelMessageCell(0, { type: 'versions', versions: [3, 4, 5] }, 'negotiating');
    assert.equal(toHex(encoded), toHex(wire));
    const { cell, bytesConsumed } = takeCell(wire, 'negotiating');
    assert.equal(bytesConsumed, 11);
    assert.deepEqual(cell, { circId: 0, command: 7, body: hex('000300040005') });
    assert.deepEqual(decodeChannelCellMessage(cell), {
      ok: true,
      value: { type: 'versions', versions: [3, 4, 5] },
    });
  });

  it('frames a later VERSIONS cell with the negotiated circuit-ID width (tor-spec 4.1)', () => {
    const encoded = encodeChannelMessageCell(0, { type: 'versions', versions: [4, 5, 6] }, 5);
    assert.equal(toHex(encoded), '0000000007000600040005' + '0006');
  });

  it('frames a CREATE2 cell with a 4-byte circuit ID (hand-computed; ntor onion skin from Arti testvec_chanmsg.rs)', () => {
    const hdata = hex(
      '09164430E84D3BC56EC7E1D22734742345E2DECE0DE535B66B8E8A0EBBDAE3263C53E02EC2215685CD3A977DC7946FF47F84CD7025F75D252D1B35DEA28F32FA912513889A207E5049992DBC9BC541194C13624A',
    );
    const encoded = encodeChannelMessageCell(
      0x80000001,
      { type: 'create2', handshakeType: 2, handshakeData: hdata },
      4,
    );
    assert.equal(encoded.length, 514);
    // CircID 80000001 | CREATE2 (0a) | HTYPE 0002 (ntor) | HLEN 0054 (84) | HDATA | zero padding.
    const expected = padTo(hex(`80000001 0a 0002 0054 ${toHex(hdata)}`), 514);
    assert.equal(toHex(encoded), toHex(expected));
    const { cell, bytesConsumed } = takeCell(expected, 4);
    assert.equal(bytesConsumed, 514);
    assert.equal(cell.circId, 0x80000001);
    assert.equal(cell.body.length, CELL_BODY_LENGTH);
    assert.deepEqual(decodeChannelCellMessage(cell), {
      ok: true,
      value: { type: 'create2', handshakeType: 2, handshakeData: hdata },
    });
  });

  it('frames a NETINFO cell on link 3 (body from Arti testvec_chanmsg.rs, captured from tor 0.4.5)', () => {
    const wire = padTo(hex('0000 08 5F6F80E1 04 04 7F000001 01 04 04 7F000001'), 512);
    const { cell } = takeCell(wire, 3);
    const localhost = { family: 'ipv4' as const, bytes: hex('7f000001') };
    const message = {
      type: 'netinfo' as const,
      timestamp: 0x5f6f80e1,
      otherAddress: localhost,
      myAddresses: [localhost],
    };
    assert.deepEqual(decodeChannelCellMessage(cell), { ok: true, value: message });
    assert.equal(toHex(encodeChannelMessageCell(0, message, 3)), toHex(wire));
  });

  it("decodes Arti's test_chancell.rs link-4 cells and leaves the following bytes alone", () => {
    const trailer = new TextEncoder().encode('next thing');
    const varWire = hex('12345678 ff 0019 7765206c697374656e20726f756e642074686520636c6f636b');
    const frame = decodeChannelCell(new Uint8Array([...varWire, ...trailer]), 4);
    assert.equal(frame.kind, 'cell');
    if (frame.kind === 'cell') {
      assert.equal(frame.bytesConsumed, varWire.length);
      assert.deepEqual(frame.cell, {
        circId: 0x12345678,
        command: 0xff,
        body: new TextEncoder().encode('we listen round the clock'),
      });
      assert.equal(toHex(encodeChannelCell(frame.cell, 4)), toHex(varWire));
    }
    const fixedWire = padTo(hex('20201122 03 666f72206120636f64652063616c6c656420706561636574696d65'), 514);
    const fixed = takeCell(new Uint8Array([...fixedWire, ...trailer]), 4);
    assert.equal(fixed.bytesConsumed, 514);
    assert.equal(fixed.cell.circId, 0x20201122);
    assert.equal(fixed.cell.command, ChannelCommand.RELAY);
    assert.equal(toHex(encodeChannelCell(fixed.cell, 4)), toHex(fixedWire));
  });

  it("reports Arti's truncated cells as incomplete with the size needed", () => {
    const cases: Array<[string, number]> = [
      ['00000001 03 1234', 514],
      ['00000001 03 12', 514],
      ['00000001 03', 514],
      ['00000001', 5],
      ['000000', 5],
      ['', 5],
      ['00000000 81 0003 1234', 10],
      ['00000000 81 0003 12', 10],
      ['00000000 81 0003', 10],
      ['00000000 81 00', 7],
      ['00000000 81', 7],
    ];
    for (const [text, needed] of cases) {
      assert.deepEqual(decodeChannelCell(hex(text), 4), { kind: 'incomplete', bytesNeeded: needed }, text);
    }
  });

  it('copies the body, so the caller may reuse its buffer', () => {
    const wire = hex('0000 80 0002 abcd');
    const { cell } = takeCell(wire, 3);
    wire.fill(0);
    assert.equal(toHex(cell.body), 'abcd');
  });

  it('rejects variable-length cells above the configured limit as malformed', () => {
    const wire = hex('0000 81 1000');
    const frame = decodeChannelCell(wire, 3, { maxVariableBodyLength: 0x0fff });
    assert.equal(frame.kind, 'malformed');
    if (frame.kind === 'malformed') {
      assert.ok(frame.error instanceof DecodeError);
      assert.equal(frame.error.failure, 'malformed');
    }
    // The default limit is the u16 ceiling, so the same header just needs its body.
    assert.deepEqual(decodeChannelCell(wire, 3), { kind: 'incomplete', bytesNeeded: 5 + 0x1000 });
    const max = decodeChannelCell(new Uint8Array(5 + 0xffff).fill(0x81, 2, 3).fill(0xff, 3, 5), 3);
    assert.equal(max.kind, 'cell');
  });

  it('pads short fixed-length bodies with zeros and refuses oversize ones', () => {
    const encoded = encodeChannelCell({ circId: 9, command: ChannelCommand.DESTROY, body: hex('08') }, 3);
    assert.equal(toHex(encoded), toHex(padTo(hex('0009 04 08'), 512)));
    assert.throws(
      () => encodeChannelCell({ circId: 1, command: 3, body: new Uint8Array(510) }, 4),
      /too long/,
    );
    assert.throws(
      () => encodeChannelCell({ circId: 0x10000, command: 3, body: new Uint8Array(0) }, 3),
      /does not fit/,
    );
  });
});

describe('channel cell framing properties', () => {
  it('decode(encode(cell)) == cell for every framing', () => {
    const cellArb = fc
      .record({ command: fc.integer({ min: 0, max: 255 }), circId: fc.nat() })
      .chain(({ command, circId }) =>
        fc
          .uint8Array(
            isVariableLengthCommand(command)
              ? { maxLength: 700 }
              : { minLength: CELL_BODY_LENGTH, maxLength: CELL_BODY_LENGTH },
          )
          .map((body) => ({ command, circId, body })),
      );
    fc.assert(
      fc.property(cellArb, framingArb, (raw, framing) => {
        const circId = raw.circId % (circIdLength(framing) === 4 ? 0x100000000 : 0x10000);
        const cell = { circId, command: raw.command, body: raw.body };
        const wire = encodeChannelCell(cell, framing);
        const frame = decodeChannelCell(wire, framing);
        assert.deepEqual(frame, { kind: 'cell', cell, bytesConsumed: wire.length });
      }),
    );
  });

  it('every strict prefix of a cell is incomplete, never malformed or a cell', () => {
    fc.assert(
      fc.property(channelMessageArb, framingArb, fc.nat(), (message, framing, cut) => {
        const wire = encodeChannelMessageCell(1, message, framing);
        const prefix = wire.subarray(0, cut % wire.length);
        const frame = decodeChannelCell(prefix, framing);
        assert.equal(frame.kind, 'incomplete');
        if (frame.kind === 'incomplete') assert.ok(frame.bytesNeeded > prefix.length);
      }),
    );
  });

  it('random bytes only ever give a cell, incomplete or malformed, never an exception', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1200 }),
        framingArb,
        fc.integer({ min: 0, max: 0xffff }),
        (bytes, framing, limit) => {
          const frame = decodeChannelCell(bytes, framing, { maxVariableBodyLength: limit });
          if (frame.kind === 'cell') {
            assert.ok(frame.bytesConsumed <= bytes.length);
            const again = encodeChannelCell(frame.cell, framing);
            assert.deepEqual(again, bytes.subarray(0, frame.bytesConsumed));
          } else if (frame.kind === 'incomplete') {
            assert.ok(frame.bytesNeeded > bytes.length);
          } else {
            assert.ok(frame.error instanceof DecodeError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('frames a stream of concatenated cells one by one', () => {
    fc.assert(
      fc.property(
        fc.array(channelMessageArb, { minLength: 1, maxLength: 6 }),
        framingArb,
        (messages, framing) => {
          const parts = messages.map((m, i) => encodeChannelMessageCell(i, m, framing));
          let stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
          let at = 0;
          for (const p of parts) {
            stream.set(p, at);
            at += p.length;
          }
          for (let i = 0; i < messages.length; i++) {
            const frame = decodeChannelCell(stream, framing);
            assert.equal(frame.kind, 'cell');
            if (frame.kind !== 'cell') return;
            assert.equal(frame.cell.circId, i);
            assert.deepEqual(decodeChannelCellMessage(frame.cell), { ok: true, value: messages[i] });
            stream = stream.subarray(frame.bytesConsumed);
          }
          assert.equal(stream.length, 0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
