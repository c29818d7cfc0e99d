import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelCommand, DestroyReason } from '@relayd/cells';
import { testNetwork } from './support/harness.js';
import { transportPair } from './support/memory-transport.js';
import { TestClient } from './support/test-client.js';

async function twoHops(seed: number) {
  const net = testNetwork(seed);
  const bridge = net.relay();
  const middle = net.relay();
  const client = net.client(bridge);
  const circuit = await client.create2(net.time, bridge.description);
  assert.equal(await circuit.extend(net.time, middle.description, middle.specifiers()), 'extended');
  return { net, bridge, middle, client, circuit };
}

describe('DESTROY, TRUNCATE and RELAY_EARLY', () => {
  it('a DESTROY from the client tears the circuit down and goes on to the next hop as DESTROYED', async () => {
    const { net, bridge, middle, client, circuit } = await twoHops(41);
    assert.equal(middle.engine.stats.circuits, 1);
    client.sendCell(circuit.circId, { type: 'destroy', reason: DestroyReason.FINISHED });
    await net.time.settle();
    assert.equal(bridge.engine.stats.circuits, 0);
    assert.equal(middle.engine.stats.circuits, 0);
    // The middle saw DESTROYED, not the client's reason (no side channel).
    assert.equal(middle.metrics.count(`circuitClosed:${DestroyReason.DESTROYED}`), 1);
    assert.equal(bridge.metrics.count(`circuitClosed:${DestroyReason.DESTROYED}`), 1);
    assert.equal(circuit.destroyReason, undefined, 'nothing is sent back to whoever sent the DESTROY');
    // Later cells on the dead circuit ID are dropped.
    circuit.send(0, 1, { type: 'begin-dir' });
    await net.time.settle();
    assert.equal(circuit.relay.length, 1, 'only the EXTENDED2 from before');
  });

  it('a DESTROY from the next hop closes the circuit and sends DESTROY(DESTROYED) to the client', async () => {
    const { net, bridge, middle, circuit } = await twoHops(42);
    // Make the middle close its circuit: a circuit-level SENDME it never asked for.
    circuit.send(1, 0, { type: 'sendme', kind: 'v1', digest: new Uint8Array(20) });
    await net.time.settle();
    assert.equal(middle.metrics.count(`circuitClosed:${DestroyReason.PROTOCOL}`), 1);
    assert.equal(circuit.destroyReason, DestroyReason.DESTROYED);
    assert.equal(bridge.engine.stats.circuits, 0);
  });

  it('TRUNCATE drops the next hop, answers TRUNCATED(REQUESTED), and leaves the circuit usable', async () => {
    const { net, bridge, middle, circuit } = await twoHops(43);
    circuit.send(0, 0, { type: 'truncate' });
    await net.time.settle();
    const truncated = circuit.messages('truncated');
    assert.equal(truncated.length, 1);
    assert.equal(truncated[0]!.hop, 0);
    assert.equal(truncated[0]!.message.reason, DestroyReason.REQUESTED);
    assert.equal(middle.engine.stats.circuits, 0);
    assert.equal(middle.metrics.count(`circuitClosed:${DestroyReason.DESTROYED}`), 1);
    assert.equal(bridge.engine.stats.circuits, 1);
    assert.equal(circuit.destroyReason, undefined);
    // The first hop still answers, and the circuit may be extended again.
    circuit.send(0, 2, { type: 'begin-dir' });
    await net.time.settle();
    assert.equal(circuit.messages('connected').length, 1);
  });

  it('closing the client channel destroys its circuits and sends DESTROY(CHANNEL_CLOSED) onwards', async () => {
    const { net, bridge, middle, client } = await twoHops(44);
    client.transport.close();
    await net.time.settle();
    assert.equal(bridge.engine.stats.channels, 1, 'only the channel to the middle is left');
    assert.equal(bridge.engine.stats.circuits, 0);
    assert.equal(middle.engine.stats.circuits, 0);
    assert.equal(middle.metrics.count(`circuitClosed:${DestroyReason.DESTROYED}`), 1);
    assert.equal(bridge.metrics.count(`circuitClosed:${DestroyReason.CHANNEL_CLOSED}`), 1);
    assert.equal(bridge.metrics.count('channelClosed:remote'), 1);
  });

  it('closing the channel to the next hop sends DESTROY(CHANNEL_CLOSED) to the client', async () => {
    const { net, middle, circuit } = await twoHops(45);
    middle.engine.close();
    await net.time.settle();
    assert.equal(circuit.destroyReason, DestroyReason.CHANNEL_CLOSED);
  });

  it('forwards RELAY_EARLY as RELAY_EARLY and closes a circuit on the ninth', async () => {
    const { net, bridge, middle, circuit } = await twoHops(46);
    // The EXTEND2 used one RELAY_EARLY at the bridge; seven more pass to the middle.
    for (let i = 0; i < 7; i++) circuit.send(1, 0, { type: 'drop' }, true);
    await net.time.settle();
    assert.equal(circuit.destroyReason, undefined);
    assert.equal(middle.metrics.count(`cellReceived:${ChannelCommand.RELAY_EARLY}`), 7);
    circuit.send(1, 0, { type: 'drop' }, true);
    await net.time.settle();
    assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
    assert.equal(bridge.metrics.count('violation:relay-early-limit'), 1);
    // The middle got DESTROY(PROTOCOL) and closed its part as DESTROYED.
    assert.equal(middle.metrics.count(`circuitClosed:${DestroyReason.DESTROYED}`), 1);
    assert.equal(middle.engine.stats.circuits, 0);
  });

  it('closes a circuit on an inbound RELAY_EARLY from the next hop, with our circuit IDs carrying the high bit', async () => {
    const net = testNetwork(47);
    const bridge = net.relay();
    const middle = net.relay();
    // The next hop is scripted: a test client on the far side of the channel.
    let nextHop: TestClient | undefined;
    net.provider.scripted = (target) => {
      const [near, far] = transportPair(net.time);
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
    assert.equal(await circuit.extend(net.time, middle.description, middle.specifiers()), 'no-answer');
    const create = nextHop!.otherCells.find((c) => c.command === ChannelCommand.CREATE2);
    assert.ok(create, 'the next hop got CREATE2');
    assert.ok(create.circId >= 0x80000000, 'the initiator sets the high bit (tor-spec 5.1.1)');
    const reply = nextHop!.track(create.circId);
    nextHop!.sendCell(create.circId, { type: 'created2', handshakeData: net.random.bytes(64) });
    await net.time.settle();
    assert.equal(circuit.messages('extended2').length, 1, 'CREATED2 became EXTENDED2');
    nextHop!.sendCell(create.circId, { type: 'relay-early', payload: net.random.bytes(509) });
    await net.time.settle();
    assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
    assert.equal(reply.destroyReason, DestroyReason.PROTOCOL);
    assert.equal(bridge.engine.stats.circuits, 0);
  });

  it('closes the circuit when an unrecognized cell reaches its end', async () => {
    const net = testNetwork(48);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.sendRawPayload(net.random.bytes(509));
    await net.time.settle();
    assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
    assert.equal(relay.metrics.count('violation:unrecognized-at-end'), 1);
  });

  it('closes a circuit that sends a relay cell before it was answered', async () => {
    const net = testNetwork(49);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = client.track(client.freshCircId());
    client.sendCell(circuit.circId, { type: 'create-fast', keyMaterial: net.random.bytes(20) });
    client.sendCell(circuit.circId, { type: 'relay', payload: net.random.bytes(509) });
    await net.time.settle();
    assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
    assert.equal(circuit.cells.length, 1, 'DESTROY only; the queued handshake was skipped');
  });
});
