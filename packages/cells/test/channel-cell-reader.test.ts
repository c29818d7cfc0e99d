import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, DecodeError, hex } from '@relayd/common';
import fc from 'fast-check';
import {
  CELL_BODY_LENGTH,
  type CellBodyAllocator,
  CellBodySlab,
  type CellFraming,
  type ChannelCell,
  ChannelCellReader,
  circIdLength,
  DEFAULT_SLAB_BYTES,
  decodeChannelCell,
  encodeChannelCell,
  encodeChannelCellInto,
  isVariableLengthCommand,
} from '../src/index.js';
import { framingArb } from './arbitraries.js';

/** Cells of any command, with bodies as the framer returns them (fixed-length ones full size). */
function cellArb(framing: CellFraming, maxVariableLength = 1500): fc.Arbitrary<ChannelCell> {
  const maxId = circIdLength(framing) === 4 ? 0xffffffff : 0xffff;
  return fc
    .record({ command: fc.integer({ min: 0, max: 255 }), circId: fc.integer({ min: 0, max: maxId }) })
    .chain(({ command, circId }) =>
      fc
        .uint8Array(
          isVariableLengthCommand(command)
            ? { maxLength: maxVariableLength }
            : { minLength: CELL_BODY_LENGTH, maxLength: CELL_BODY_LENGTH },
        )
        .map((body) => ({ circId, command, body })),
    );
}

const streamArb = framingArb.chain((framing) =>
  fc.record({
    framing: fc.constant(framing),
    cells: fc.array(cellArb(framing), { maxLength: 12 }),
    /** Where the stream is cut into chunks (sorted, deduplicated below). */
    cuts: fc.array(fc.nat(), { maxLength: 20 }),
    /** A partial cell left at the end, as a prefix of one more cell. */
    tail: fc.tuple(cellArb(framing), fc.nat()),
  }),
);

/** Splits `bytes` at the given cut points (taken modulo the length). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) chunks.push(bytes.slice(from, p));
    from = Math.max(from, p);
  }
  return chunks;
}

function drain(reader: ChannelCellReader): ChannelCell[] {
  const out: ChannelCell[] = [];
  for (let cell = reader.next(); cell !== undefined; cell = reader.next()) out.push(cell);
  return out;
}

/** What decodeChannelCell makes of the whole stream at once. */
function decodeAll(stream: Uint8Array, framing: CellFraming): ChannelCell[] {
  const out: ChannelCell[] = [];
  for (let at = 0; ; ) {
    const frame = decodeChannelCell(stream.subarray(at), framing);
    if (frame.kind !== 'cell') return out;
    out.push(frame.cell);
    at += frame.bytesConsumed;
  }
}

describe('ChannelCellReader', () => {
  it('delivers the same cells whatever the chunk boundaries, draining after every chunk', () => {
    fc.assert(
      fc.property(streamArb, ({ framing, cells, cuts, tail }) => {
        const whole = concatBytes(...cells.map((c) => encodeChannelCell(c, framing)));
        const tailWire = encodeChannelCell(tail[0], framing);
        const partial = tailWire.subarray(0, tail[1] % tailWire.length);
        const stream = concatBytes(whole, partial);
        const reader = new ChannelCellReader(framing);
        const got: ChannelCell[] = [];
        for (const chunk of split(stream, cuts)) {
          reader.push(chunk);
          got.push(...drain(reader));
        }
        assert.deepEqual(got, cells);
        assert.deepEqual(got, decodeAll(stream, framing));
        assert.equal(reader.bufferedBytes, partial.length);
        assert.equal(reader.error, undefined);
        // The rest of the tail completes the last cell.
        reader.push(tailWire.slice(partial.length));
        assert.deepEqual(drain(reader), [tail[0]]);
        assert.equal(reader.bufferedBytes, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('delivers the same cells when chunks are pushed before earlier ones are read out', () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.boolean(), { maxLength: 20 }), ({ framing, cells, cuts }, reads) => {
        const stream = concatBytes(...cells.map((c) => encodeChannelCell(c, framing)));
        const reader = new ChannelCellReader(framing);
        const got: ChannelCell[] = [];
        split(stream, cuts).forEach((chunk, i) => {
          reader.push(chunk);
          // Sometimes read one cell, sometimes none, before the next chunk.
          if (reads[i]) {
            const cell = reader.next();
            if (cell) got.push(cell);
          }
        });
        got.push(...drain(reader));
        assert.deepEqual(got, cells);
        assert.equal(reader.bufferedBytes, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('never writes to the chunks it is given, and gives bodies that are its own', () => {
    fc.assert(
      fc.property(streamArb, ({ framing, cells, cuts }) => {
        const stream = concatBytes(...cells.map((c) => encodeChannelCell(c, framing)));
        const chunks = split(stream, cuts);
        const copies = chunks.map((c) => c.slice());
        const reader = new ChannelCellReader(framing, { bodies: new CellBodySlab() });
        const got: ChannelCell[] = [];
        for (const chunk of chunks) {
          reader.push(chunk);
          got.push(...drain(reader));
        }
        assert.deepEqual(chunks, copies);
        // Scribbling over every body changes neither the chunks nor any other body.
        const expected = got.map((c) => c.body.slice());
        got.forEach((cell, i) => {
          cell.body.fill(0xee);
          for (let j = i + 1; j < got.length; j++) assert.deepEqual(got[j]!.body, expected[j]);
        });
        assert.deepEqual(chunks, copies);
      }),
      { numRuns: 200 },
    );
  });

  it('frames the cells before a variable-length cell over the limit, then stops with the error decodeChannelCell gives', () => {
    fc.assert(
      fc.property(
        framingArb,
        fc.integer({ min: 0, max: 600 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (framing, limit, cuts) => {
          const good = encodeChannelCell(
            { circId: 1, command: 3, body: new Uint8Array(509).fill(1) },
            framing,
          );
          const oversized = encodeChannelCell(
            { circId: 2, command: 128, body: new Uint8Array(limit + 1) },
            framing,
          );
          const after = encodeChannelCell({ circId: 3, command: 3, body: new Uint8Array(509) }, framing);
          const stream = concatBytes(good, oversized, after);
          const reader = new ChannelCellReader(framing, { maxVariableBodyLength: limit });
          const got: ChannelCell[] = [];
          for (const chunk of split(stream, cuts)) {
            reader.push(chunk);
            got.push(...drain(reader));
          }
          assert.deepEqual(
            got.map((c) => c.circId),
            [1],
          );
          assert.ok(reader.error instanceof DecodeError);
          const direct = decodeChannelCell(oversized, framing, { maxVariableBodyLength: limit });
          assert.equal(direct.kind, 'malformed');
          if (direct.kind === 'malformed') assert.equal(reader.error.message, direct.error.message);
          reader.push(after);
          assert.equal(reader.next(), undefined);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reads a large variable-length cell split over many chunks and keeps working afterwards', () => {
    const big = { circId: 7, command: 128, body: Uint8Array.from({ length: 60_000 }, (_, i) => i & 0xff) };
    const small = { circId: 8, command: 3, body: new Uint8Array(509).fill(9) };
    const stream = concatBytes(encodeChannelCell(big, 4), encodeChannelCell(small, 4));
    const reader = new ChannelCellReader(4);
    const got: ChannelCell[] = [];
    for (let at = 0; at < stream.length; at += 1000) {
      reader.push(stream.slice(at, at + 1000));
      got.push(...drain(reader));
    }
    assert.deepEqual(got, [big, small]);
  });

  it('refuses an allocator that returns the wrong size (a caller bug)', () => {
    const broken: CellBodyAllocator = { take: () => new Uint8Array(3) };
    const reader = new ChannelCellReader(5, { bodies: broken });
    reader.push(encodeChannelCell({ circId: 1, command: 3, body: new Uint8Array(509) }, 5));
    assert.throws(() => reader.next(), /allocator returned 3 bytes/);
  });
});

describe('CellBodySlab', () => {
  it('hands out disjoint, 8-byte aligned bodies from shared slabs, and large ones on their own', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 60 }), (lengths) => {
        const slab = new CellBodySlab();
        const bodies = lengths.map((n) => slab.take(n));
        bodies.forEach((body, i) => {
          assert.equal(body.length, lengths[i]);
          if (lengths[i]! > 512) {
            assert.equal(body.byteOffset, 0);
            assert.equal(body.buffer.byteLength, lengths[i]);
          } else {
            assert.equal(body.buffer.byteLength, DEFAULT_SLAB_BYTES);
            assert.equal(body.byteOffset % 8, 0);
          }
        });
        // Filling each body with its own index leaves every other body intact.
        for (const [i, body] of bodies.entries()) body.fill(i & 0xff);
        for (const [i, body] of bodies.entries()) assert.ok(body.every((b) => b === (i & 0xff)));
      }),
    );
  });

  it('fits eight cell bodies in a slab', () => {
    const slab = new CellBodySlab();
    const bodies = Array.from({ length: 9 }, () => slab.take(CELL_BODY_LENGTH));
    assert.equal(new Set(bodies.slice(0, 8).map((b) => b.buffer)).size, 1);
    assert.notEqual(bodies[8]!.buffer, bodies[0]!.buffer);
  });
});

describe('encodeChannelCellInto', () => {
  it('writes exactly what encodeChannelCell returns, over any previous contents', () => {
    fc.assert(
      fc.property(
        framingArb.chain((framing) => fc.tuple(fc.constant(framing), cellArb(framing, 600))),
        fc.nat({ max: 40 }),
        ([framing, cell], at) => {
          const expected = encodeChannelCell(cell, framing);
          const out = new Uint8Array(at + expected.length + 3).fill(0xa5);
          const written = encodeChannelCellInto(out, at, cell.circId, cell.command, cell.body, framing);
          assert.equal(written, expected.length);
          assert.deepEqual(out.subarray(at, at + written), expected);
          assert.ok(out.subarray(0, at).every((b) => b === 0xa5));
          assert.ok(out.subarray(at + written).every((b) => b === 0xa5));
        },
      ),
    );
  });

  it('pads a short fixed-length body with zeros even over old bytes, and refuses a cell that does not fit', () => {
    const out = new Uint8Array(514).fill(0xff);
    encodeChannelCellInto(out, 0, 5, 4, hex('08'), 5);
    assert.deepEqual(out, encodeChannelCell({ circId: 5, command: 4, body: hex('08') }, 5));
    assert.throws(() => encodeChannelCellInto(new Uint8Array(513), 0, 5, 4, hex('08'), 5), /does not fit/);
    assert.throws(() => encodeChannelCellInto(out, 1, 5, 4, hex('08'), 5), /does not fit/);
  });
});
