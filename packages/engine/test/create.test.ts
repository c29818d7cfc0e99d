import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelCommand, DestroyReason, encodeChannelMessageCell, HandshakeType } from '@relayd/cells';
import { congestionControlRequest, ntorClientCreate, x25519KeypairFromRandom } from '@relayd/handshakes';
import { testNetwork } from './support/harness.js';
import { transportPair } from './support/memory-transport.js';
import { TestClient } from './support/test-client.js';

describe('circuit creation', () => {
  it('answers CREATE_FAST with CREATED_FAST whose KH verifies, and the circuit carries relay cells', async () => {
    const net = testNetwork();
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    assert.equal(circuit.crypto.hopCount, 1, 'CREATED_FAST verified');
    assert.equal(relay.metrics.count('onionskin:fast:processed'), 1);
    assert.equal(relay.engine.stats.circuits, 1);
    // A recognized cell round trip: BEGIN_DIR is answered with CONNECTED.
    circuit.send(0, 7, { type: 'begin-dir' });
    await net.time.settle();
    const connected = circuit.messages('connected');
    assert.equal(connected.length, 1);
    assert.equal(connected[0]!.cell.streamId, 7);
    assert.equal(connected[0]!.message.resolved, null);
  });

  it('answers CREATE2 ntor with CREATED2 whose AUTH verifies', async () => {
    const net = testNetwork(2);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.create2(net.time, relay.description);
    assert.equal(circuit.crypto.hopCount, 1);
    assert.equal(relay.metrics.count('onionskin:ntor:processed'), 1);
    circuit.send(0, 1, { type: 'begin-dir' });
    await net.time.settle();
    assert.equal(circuit.messages('connected').length, 1);
  });

  it('answers CREATE2 ntor v3 with an empty extension list even when congestion control is requested', async () => {
    const net = testNetwork(3);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.create2(net.time, relay.description, {
      ntorV3: true,
      extensions: [congestionControlRequest()],
    });
    assert.equal(circuit.crypto.hopCount, 1);
    // One byte, N_EXTENSIONS = 0: C tor clients refuse a zero-length server message.
    assert.deepEqual(circuit.serverExtensions, []);
    assert.equal(relay.metrics.count('onionskin:ntor_v3:processed'), 1);
    circuit.send(0, 1, { type: 'begin-dir' });
    await net.time.settle();
    assert.equal(circuit.messages('connected').length, 1);
  });

  it('accepts the previous onion key after rotation, for ntor and ntor v3, and refuses an unknown key', async () => {
    const net = testNetwork(4);
    const relay = net.relay();
    const oldDescription = relay.description;
    relay.engine.rotateOnionKey(x25519KeypairFromRandom(net.random));
    const client = net.client(relay);
    const ntor = await client.create2(net.time, oldDescription);
    assert.equal(ntor.crypto.hopCount, 1, 'ntor with the previous key');
    const ntorV3 = await client.create2(net.time, oldDescription, { ntorV3: true });
    assert.equal(ntorV3.crypto.hopCount, 1, 'ntor v3 with the previous key');

    // After a second rotation the original key is gone.
    relay.engine.rotateOnionKey(x25519KeypairFromRandom(net.random));
    const refused = await client.create2(net.time, oldDescription);
    assert.equal(refused.crypto.hopCount, 0);
    assert.equal(refused.destroyReason, DestroyReason.PROTOCOL);
    assert.equal(relay.metrics.count('onionskin:ntor:failed'), 1);

    // updateOnionKeys replaces both.
    const fresh = x25519KeypairFromRandom(net.random);
    relay.engine.updateOnionKeys({ current: fresh });
    const current = await client.create2(net.time, { ...oldDescription, ntorOnionKey: fresh.publicKey });
    assert.equal(current.crypto.hopCount, 1);
  });

  it('refuses TAP (CREATE, and CREATE2 type 0), CREATE_FAST type inside CREATE2 and a bad ntor length with DESTROY PROTOCOL', async () => {
    const net = testNetwork(5);
    const relay = net.relay();
    const client = net.client(relay);
    const tap = client.track(client.freshCircId());
    client.sendCell(tap.circId, { type: 'create', handshakeData: net.random.bytes(186) });
    const tap2 = client.track(client.freshCircId());
    client.sendCell(tap2.circId, {
      type: 'create2',
      handshakeType: HandshakeType.TAP,
      handshakeData: net.random.bytes(186),
    });
    const fastIn2 = client.track(client.freshCircId());
    client.sendCell(fastIn2.circId, {
      type: 'create2',
      handshakeType: 1,
      handshakeData: net.random.bytes(20),
    });
    const shortNtor = client.track(client.freshCircId());
    client.sendCell(shortNtor.circId, {
      type: 'create2',
      handshakeType: HandshakeType.NTOR,
      handshakeData: net.random.bytes(83),
    });
    const wrongNode = client.track(client.freshCircId());
    const start = ntorClientCreate(
      { rsaIdentityDigest: net.random.bytes(20), ntorOnionKey: relay.description.ntorOnionKey },
      net.random,
    );
    client.sendCell(wrongNode.circId, {
      type: 'create2',
      handshakeType: HandshakeType.NTOR,
      handshakeData: start.onionskin,
    });
    await net.time.settle();
    for (const circuit of [tap, tap2, fastIn2, shortNtor, wrongNode]) {
      assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
      assert.equal(circuit.cells.length, 1, 'only the DESTROY');
    }
    assert.equal(relay.metrics.count('onionskin:tap:failed'), 2);
    assert.equal(relay.metrics.count('onionskin:ntor:failed'), 2);
    assert.equal(relay.engine.stats.circuits, 0);
  });

  it('refuses a CREATE whose circuit ID lacks the initiator high bit, and drops one on an ID in use or ID 0', async () => {
    const net = testNetwork(6);
    const relay = net.relay();
    const client = net.client(relay);
    const low = client.track(0x1234);
    client.sendCell(low.circId, { type: 'create-fast', keyMaterial: net.random.bytes(20) });
    await net.time.settle();
    assert.equal(low.destroyReason, DestroyReason.PROTOCOL);

    const circuit = await client.createFast(net.time);
    assert.equal(circuit.crypto.hopCount, 1);
    client.sendCell(circuit.circId, { type: 'create-fast', keyMaterial: net.random.bytes(20) });
    client.sendCell(0, { type: 'create-fast', keyMaterial: net.random.bytes(20) });
    await net.time.settle();
    assert.equal(circuit.cells.length, 1, 'the second CREATE_FAST on a used ID got no answer');
    assert.equal(client.otherCells.length, 0, 'nothing for circuit ID 0');
    assert.equal(relay.metrics.count('violation:create-id-in-use'), 1);
    assert.equal(relay.metrics.count('violation:zero-circ-id'), 1);
    // The existing circuit still works.
    circuit.send(0, 3, { type: 'begin-dir' });
    await net.time.settle();
    assert.equal(circuit.messages('connected').length, 1);
  });

  it('drops creates beyond the queue bound with RESOURCELIMIT and counts them by type', async () => {
    const net = testNetwork(7);
    const relay = net.relay({ createQueue: { maxLength: 2, maxHandshakesPerTurn: 1 } });
    const client = net.client(relay);
    const circuits = [0, 1, 2, 3, 4].map(() => client.track(client.freshCircId()));
    // One write: all five arrive in one read, before any drain turn runs.
    const cells = circuits.map((c) => ({ circId: c.circId, keyMaterial: net.random.bytes(20) }));
    for (const c of cells) client.sendCell(c.circId, { type: 'create-fast', keyMaterial: c.keyMaterial });
    await net.time.settle();
    const answered = circuits.filter((c) => c.cells[0]?.command === ChannelCommand.CREATED_FAST);
    const dropped = circuits.filter((c) => c.destroyReason === DestroyReason.RESOURCELIMIT);
    assert.equal(answered.length, 2);
    assert.equal(dropped.length, 3);
    assert.deepEqual(answered, circuits.slice(0, 2), 'first in, first served');
    assert.equal(relay.metrics.count('onionskin:fast:dropped'), 3);
    assert.equal(relay.metrics.count('onionskin:fast:processed'), 2);
    assert.equal(relay.metrics.count(`circuitClosed:${DestroyReason.RESOURCELIMIT}`), 3);
    // Each answered create reports its wait once (no time passed on the fake clock); a refused one never waited.
    assert.deepEqual(relay.metrics.createQueueWaits, [0, 0]);
  });

  it('answers from deferred turns, never inside the read callback, and skips circuits destroyed while queued', async () => {
    const net = testNetwork(8);
    const relay = net.relay({ createQueue: { maxHandshakesPerTurn: 1 } });
    const client = net.client(relay);
    const first = client.track(client.freshCircId());
    const second = client.track(client.freshCircId());
    client.sendCell(first.circId, { type: 'create-fast', keyMaterial: net.random.bytes(20) });
    client.sendCell(second.circId, { type: 'create-fast', keyMaterial: net.random.bytes(20) });
    // The client destroys the second circuit before the engine gets to it.
    client.sendCell(second.circId, { type: 'destroy', reason: DestroyReason.NONE });
    // Deliver the bytes (one deferred task): the engine reads all three cells...
    assert.ok(net.time.runOneDeferred());
    assert.equal(relay.metrics.count(`cellReceived:${ChannelCommand.CREATE_FAST}`), 2);
    // ...but answers nothing inside that read callback.
    assert.equal(relay.metrics.count('onionskin:fast:processed'), 0);
    assert.equal(relay.engine.stats.createQueueLength, 2);
    await net.time.settle();
    assert.equal(first.cells[0]?.command, ChannelCommand.CREATED_FAST);
    assert.equal(second.cells.length, 0, 'no CREATED_FAST and no DESTROY for a circuit the client destroyed');
    assert.equal(relay.metrics.count('onionskin:fast:processed'), 1);
    assert.equal(relay.metrics.count('createQueueWait'), 1, 'a skipped circuit reports no wait');
  });

  it('frames link protocol 3 with 2-byte circuit IDs and accepts either high bit there', async () => {
    const net = testNetwork(10);
    const relay = net.relay();
    const client = net.client(relay, '192.0.2.200', { linkVersion: 3 });
    const low = await client.createFast(net.time, 0x0005);
    const high = await client.createFast(net.time, 0x8005);
    assert.equal(low.crypto.hopCount, 1);
    assert.equal(high.crypto.hopCount, 1);
    low.send(0, 1, { type: 'begin-dir' });
    await net.time.settle();
    assert.equal(low.messages('connected').length, 1);
  });

  it('takes bytes that arrived with the link handshake (leftover) before anything else', async () => {
    const net = testNetwork(23);
    const relay = net.relay();
    const [near, far] = transportPair(net.time);
    const client = new TestClient(near, net.random);
    const circuit = client.track(0x80000042);
    const leftover = encodeChannelMessageCell(
      0x80000042,
      { type: 'create-fast', keyMaterial: net.random.bytes(20) },
      5,
    );
    relay.engine.adoptChannel({
      transport: far,
      peer: {
        linkVersion: 5,
        initiatedLocally: false,
        rsaIdentity: undefined,
        ed25519Identity: undefined,
        remoteAddress: '192.0.2.9',
        remotePort: 1234,
      },
      leftover,
    });
    await net.time.settle();
    assert.equal(circuit.cells[0]?.command, ChannelCommand.CREATED_FAST);
  });
});
