import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelCommand, DestroyReason, encodeChannelCell } from '@relayd/cells';
import { type TestNetwork, type TestRelay, testNetwork } from './support/harness.js';
import type { TestClient } from './support/test-client.js';

/** Asserts that a fresh client can still build a circuit and open a directory stream. */
async function stillServes(net: TestNetwork, relay: TestRelay, client?: TestClient): Promise<void> {
  const c = client ?? net.client(relay);
  const circuit = await c.createFast(net.time);
  assert.equal(circuit.crypto.hopCount, 1, 'the engine still answers CREATE_FAST');
  circuit.send(0, 1, { type: 'begin-dir' });
  await net.time.settle();
  assert.equal(circuit.messages('connected').length, 1, 'and relay cells');
}

describe('hostile and broken input', () => {
  it('survives random bytes on one channel while another client keeps working', async () => {
    for (const seed of [51, 52, 53, 54]) {
      const net = testNetwork(seed);
      const relay = net.relay();
      const good = net.client(relay);
      const goodCircuit = await good.createFast(net.time);
      const bad = net.client(relay);
      await bad.createFast(net.time);
      for (let i = 0; i < 8; i++) bad.sendBytes(net.random.bytes(2048));
      await net.time.settle();
      assert.equal(relay.metrics.count('channelClosed:internal'), 0, 'no engine bug');
      goodCircuit.send(0, 9, { type: 'begin-dir' });
      await net.time.settle();
      assert.equal(goodCircuit.messages('connected').length, 1);
      await stillServes(net, relay);
    }
  });

  it('closes a channel that ends in the middle of a cell, cleanly', async () => {
    const net = testNetwork(55);
    const relay = net.relay();
    const client = net.client(relay);
    await client.createFast(net.time);
    const cell = encodeChannelCell(
      { circId: 0x80000001, command: ChannelCommand.CREATE_FAST, body: new Uint8Array(20) },
      5,
    );
    client.sendBytes(cell.subarray(0, 100));
    await net.time.settle();
    assert.equal(relay.engine.stats.channels, 1, 'waits for the rest');
    client.transport.close();
    await net.time.settle();
    assert.equal(relay.engine.stats.channels, 0);
    assert.equal(relay.engine.stats.circuits, 0);
    assert.equal(relay.metrics.count('channelClosed:remote'), 1);
    await stillServes(net, relay);
  });

  it('ignores unknown commands, padding, VERSIONS and NETINFO, and counts PADDING_NEGOTIATE', async () => {
    const net = testNetwork(56);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    client.sendRawCell(0, 42, new Uint8Array(509));
    client.sendRawCell(0, 200, new Uint8Array(33));
    client.sendCell(0, { type: 'padding' });
    client.sendCell(0, { type: 'vpadding', length: 1000 });
    client.sendCell(0, { type: 'versions', versions: [3, 4, 5] });
    client.sendRawCell(0, ChannelCommand.NETINFO, new Uint8Array(509));
    client.sendCell(0, { type: 'padding-negotiate', command: 2, itoLowMs: 0, itoHighMs: 0 });
    client.sendRawCell(circuit.circId, 42, new Uint8Array(509));
    await net.time.settle();
    assert.equal(relay.metrics.count('paddingNegotiate'), 1);
    assert.equal(relay.engine.stats.channels, 1);
    assert.equal(client.otherCells.length, 0, 'nothing answers them');
    await stillServes(net, relay, client);
  });

  it('closes a channel that sends CERTS, AUTH_CHALLENGE or AUTHENTICATE once open, destroying its circuits', async () => {
    for (const command of [
      ChannelCommand.CERTS,
      ChannelCommand.AUTH_CHALLENGE,
      ChannelCommand.AUTHENTICATE,
    ]) {
      const net = testNetwork(57);
      const relay = net.relay();
      const middle = net.relay();
      const client = net.client(relay);
      const circuit = await client.createFast(net.time);
      assert.equal(await circuit.extend(net.time, middle.description, middle.specifiers()), 'extended');
      client.sendRawCell(0, command, new Uint8Array(40));
      await net.time.settle();
      assert.equal(client.closed, true);
      assert.equal(relay.metrics.count('channelClosed:protocol'), 1);
      assert.equal(middle.engine.stats.circuits, 0, 'DESTROY went on to the next hop');
      await stillServes(net, relay);
    }
  });

  it('closes a channel whose framing can never be valid', async () => {
    const net = testNetwork(58);
    const relay = net.relay({ maxVariableCellBodyLength: 100 });
    const client = net.client(relay);
    client.sendCell(0, { type: 'vpadding', length: 1000 });
    await net.time.settle();
    assert.equal(client.closed, true);
    assert.equal(relay.metrics.count('violation:malformed-framing'), 1);
    await stillServes(net, relay);
  });

  it('turns an exception on one channel into closing that channel only', async () => {
    const net = testNetwork(59);
    const relay = net.relay();
    const good = net.client(relay);
    const goodCircuit = await good.createFast(net.time);
    const bad = net.client(relay);
    await bad.createFast(net.time);
    relay.metrics.throwOnCellReceived = ChannelCommand.VPADDING;
    bad.sendCell(0, { type: 'vpadding', length: 3 });
    await net.time.settle();
    assert.equal(bad.closed, true);
    assert.equal(relay.metrics.count('channelClosed:internal'), 1);
    assert.equal(relay.engine.stats.channels, 1);
    relay.metrics.throwOnCellReceived = undefined;
    goodCircuit.send(0, 2, { type: 'begin-dir' });
    await net.time.settle();
    assert.equal(goodCircuit.messages('connected').length, 1);
  });

  it('drops relay cells for unknown circuits and circuit cells with ID 0', async () => {
    const net = testNetwork(60);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    client.sendCell(0x80001234, { type: 'relay', payload: net.random.bytes(509) });
    client.sendCell(0, { type: 'relay', payload: net.random.bytes(509) });
    client.sendCell(0, { type: 'destroy', reason: 1 });
    client.sendCell(0x80004321, { type: 'destroy', reason: 1 });
    client.sendCell(circuit.circId, { type: 'created2', handshakeData: new Uint8Array(64) });
    await net.time.settle();
    assert.equal(relay.metrics.count('violation:zero-circ-id'), 2);
    assert.equal(relay.metrics.count('violation:unknown-circuit'), 2);
    // CREATED2 from the client side of a circuit closes it (command.c: "got created cell from Tor client?").
    assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
    await stillServes(net, relay, client);
  });

  it('refuses new channels once closed', async () => {
    const net = testNetwork(61);
    const relay = net.relay();
    const client = net.client(relay);
    await client.createFast(net.time);
    relay.engine.close();
    await net.time.settle();
    assert.equal(client.closed, true);
    const late = net.client(relay);
    await net.time.settle();
    assert.equal(late.closed, true);
    assert.equal(relay.engine.stats.channels, 0);
  });
});
