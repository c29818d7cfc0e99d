import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelCommand, DestroyReason } from '@relayd/cells';
import { bytesEqual } from '@relayd/common';
import { FakeDirectory, httpGet, testNetwork } from './support/harness.js';
import { type MemoryTransport, transportPair } from './support/memory-transport.js';
import { TestClient } from './support/test-client.js';

describe('backpressure', () => {
  it('stops originating DATA while the client transport is above its high-water mark, and resumes on drain', async () => {
    const net = testNetwork(81);
    const relay = net.relay();
    const body = 400 * 1024;
    relay.directory.bodyLength = body;
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    const engineSide = client.transport.peer;
    engineSide.highWaterMark = 16 * 1024;
    engineSide.paused = true;
    const before = engineSide.written;
    circuit.send(0, 1, { type: 'begin-dir' });
    circuit.send(0, 1, { type: 'data', data: httpGet('/tor/status-vote/current/consensus') });
    await net.time.settle();
    const writtenWhileBlocked = engineSide.written - before;
    // One write batch past the high-water mark, then nothing until the transport drains.
    assert.ok(writtenWhileBlocked > 16 * 1024, `wrote ${writtenWhileBlocked}`);
    assert.ok(writtenWhileBlocked <= 16 * 1024 + 64 * 1024, `wrote ${writtenWhileBlocked}`);
    assert.equal(circuit.messages('data').length, 0, 'nothing delivered yet');
    await net.time.settle();
    assert.equal(engineSide.written - before, writtenWhileBlocked, 'still waiting');

    engineSide.highWaterMark = Number.POSITIVE_INFINITY;
    engineSide.resume();
    await net.time.settle();
    assert.ok(bytesEqual(circuit.dataOn(1), FakeDirectory.response(body)));
    assert.equal(circuit.messages('end').length, 1);
  });

  it('closes a circuit with RESOURCELIMIT when its queue towards a stalled next hop passes the limit', async () => {
    const net = testNetwork(82);
    const bridge = net.relay({ maxCircuitQueueCells: 500 });
    const middle = net.relay();
    let towardsMiddle: MemoryTransport | undefined;
    let nextHop: TestClient | undefined;
    net.provider.scripted = (target) => {
      const [near, far] = transportPair(net.time);
      towardsMiddle = near;
      nextHop = new TestClient(far, net.random);
      return {
        transport: near,
        peer: {
          linkVersion: 5,
          initiatedLocally: true,
          rsaIdentity: target.rsaIdentity,
          ed25519Identity: target.ed25519Identity,
          remoteAddress: middle.address,
          remotePort: middle.port,
        },
        leftover: new Uint8Array(0),
      };
    };
    const client = net.client(bridge);
    const circuit = await client.createFast(net.time);
    await circuit.extend(net.time, middle.description, middle.specifiers());
    const create = nextHop!.otherCells.find((c) => c.command === ChannelCommand.CREATE2)!;
    const far = nextHop!.track(create.circId);
    nextHop!.sendCell(create.circId, { type: 'created2', handshakeData: net.random.bytes(64) });
    await net.time.settle();

    // The next hop stops reading; the client floods cells the bridge must pass on.
    towardsMiddle!.paused = true;
    towardsMiddle!.highWaterMark = 8 * 1024;
    for (let i = 0; i < 700; i++) circuit.sendRawPayload(net.random.bytes(509));
    await net.time.settle();
    assert.equal(circuit.destroyReason, DestroyReason.RESOURCELIMIT);
    assert.equal(bridge.metrics.count('violation:circuit-queue-full'), 1);
    assert.equal(bridge.engine.stats.circuits, 0);
    towardsMiddle!.resume();
    await net.time.settle();
    assert.equal(far.destroyReason, DestroyReason.RESOURCELIMIT);
    // Only what fit before the limit went through; the rest was discarded.
    const forwarded = far.cells.length + far.unrecognized;
    assert.ok(forwarded < 700, `forwarded ${forwarded}`);
  });
});
