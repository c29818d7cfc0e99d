import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CELL_BODY_LENGTH,
  CellBodySlab,
  type ChannelCell,
  ChannelCommand,
  encodeChannelCell,
  isVariableLengthCommand,
} from '@relayd/cells';
import { type ByteTransport, concatBytes, type TransportHandlers } from '@relayd/common';
import fc from 'fast-check';
import { Channel, type ChannelHost } from '../src/channel.js';
import { noopEngineMetrics } from '../src/metrics.js';
import { FakeTime } from './support/fake-time.js';

/** Records every write; pushes back when told to. */
class RecordingTransport implements ByteTransport {
  readonly writes: Uint8Array[] = [];
  refuse = false;
  get bufferedBytes(): number {
    return 0;
  }
  write(bytes: Uint8Array): boolean {
    this.writes.push(bytes);
    return !this.refuse;
  }
  close(): void {}
  attach(_handlers: TransportHandlers): void {}
}

function channelFor(linkVersion: number, transport = new RecordingTransport()) {
  const time = new FakeTime();
  const received: ChannelCell[] = [];
  const malformed: string[] = [];
  const host: ChannelHost = {
    onCell: (_channel, cell) => received.push(cell),
    onMalformed: (_channel, error) => malformed.push(error.message),
    onWritable: () => {},
    requestFlush: () => {},
  };
  const channel = new Channel(
    1,
    {
      linkVersion,
      initiatedLocally: false,
      rsaIdentity: undefined,
      ed25519Identity: undefined,
      remoteAddress: '192.0.2.1',
      remotePort: 1,
    },
    transport,
    host,
    time,
    noopEngineMetrics,
    0xffff,
    60_000,
    new CellBodySlab(),
  );
  return { channel, transport, received, malformed };
}

const cellArb = (linkVersion: number): fc.Arbitrary<ChannelCell> =>
  fc
    .record({
      // Open-channel traffic: mostly RELAY, some other fixed-length and variable-length commands.
      command: fc.oneof(
        { weight: 4, arbitrary: fc.constant<number>(ChannelCommand.RELAY) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
      ),
      circId: fc.integer({ min: 0, max: linkVersion >= 4 ? 0xffffffff : 0xffff }),
    })
    .chain(({ command, circId }) =>
      fc
        .uint8Array(
          isVariableLengthCommand(command)
            ? { maxLength: 900 }
            : { minLength: CELL_BODY_LENGTH, maxLength: CELL_BODY_LENGTH },
        )
        .map((body) => ({ circId, command, body })),
    );

const linkVersionArb = fc.constantFrom(3, 4, 5);

describe('channel reading and writing', () => {
  it('hands the host the same cells whatever the chunk boundaries of the transport', () => {
    fc.assert(
      fc.property(
        linkVersionArb.chain((v) => fc.tuple(fc.constant(v), fc.array(cellArb(v), { maxLength: 10 }))),
        fc.array(fc.nat(), { maxLength: 16 }),
        ([linkVersion, cells], cuts) => {
          const { channel, received, malformed } = channelFor(linkVersion);
          const stream = concatBytes(...cells.map((c) => encodeChannelCell(c, linkVersion)));
          const points = [...new Set(cuts.map((c) => (stream.length ? c % stream.length : 0)))].sort(
            (a, b) => a - b,
          );
          let from = 0;
          for (const p of [...points, stream.length]) {
            channel.receive(stream.slice(from, p));
            from = p;
          }
          assert.deepEqual(received, cells);
          assert.deepEqual(malformed, []);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes queued cells exactly as encodeChannelCell encodes them: control cells first, each circuit in order', () => {
    fc.assert(
      fc.property(
        linkVersionArb,
        fc.array(
          fc.record({
            control: fc.boolean(),
            circuit: fc.integer({ min: 1, max: 3 }),
            body: fc.uint8Array({ maxLength: CELL_BODY_LENGTH }),
          }),
          { maxLength: 120 },
        ),
        (linkVersion, queued) => {
          const { channel, transport } = channelFor(linkVersion);
          const expectedControl: Uint8Array[] = [];
          const expectedByCircuit = new Map<number, Uint8Array[]>();
          for (const q of queued) {
            const cell = { circId: q.circuit, command: ChannelCommand.RELAY, body: q.body };
            if (q.control) {
              channel.queueControlCell(q.circuit, ChannelCommand.DESTROY, q.body);
              expectedControl.push(
                encodeChannelCell({ ...cell, command: ChannelCommand.DESTROY }, linkVersion),
              );
            } else {
              assert.ok(channel.queueCircuitCell(q.circuit, ChannelCommand.RELAY, q.body, 1000));
              const list = expectedByCircuit.get(q.circuit) ?? [];
              list.push(encodeChannelCell(cell, linkVersion));
              expectedByCircuit.set(q.circuit, list);
            }
          }
          channel.flush();
          const written = concatBytes(...transport.writes);
          for (const w of transport.writes) assert.ok(w.length <= 32 * 1024 + 514);
          const cellLength = linkVersion >= 4 ? 514 : 512;
          const cells: Uint8Array[] = [];
          for (let at = 0; at < written.length; at += cellLength)
            cells.push(written.subarray(at, at + cellLength));
          assert.deepEqual(cells.slice(0, expectedControl.length), expectedControl);
          const circuitCells = cells.slice(expectedControl.length);
          for (const [circId, expected] of expectedByCircuit) {
            const idAt = linkVersion >= 4 ? 3 : 1;
            assert.deepEqual(
              circuitCells.filter((c) => c[idAt] === circId),
              expected,
            );
          }
          assert.equal(channel.queuedCells, 0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stops writing when the transport pushes back and gives every write its own buffer', () => {
    const { channel, transport } = channelFor(5);
    for (let i = 0; i < 200; i++) {
      channel.queueCircuitCell(7, ChannelCommand.RELAY, new Uint8Array(CELL_BODY_LENGTH).fill(i), 1000);
    }
    transport.refuse = true;
    channel.flush();
    assert.equal(transport.writes.length, 1);
    assert.ok(channel.isBlocked);
    const first = transport.writes[0]!.slice();
    transport.refuse = false;
    channel.drained();
    channel.flush();
    assert.equal(channel.queuedCells, 0);
    assert.deepEqual(transport.writes[0], first, 'an earlier write is never reused');
    assert.equal(new Set(transport.writes.map((w) => w.buffer)).size, transport.writes.length);
  });
});
