import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelCommand, DestroyReason } from '@relayd/cells';
import { testNetwork } from './support/harness.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

describe('timeouts (fake clock)', () => {
  it('closes a client channel without circuits after 3 to 4.5 minutes', async () => {
    const net = testNetwork(71);
    const relay = net.relay();
    const client = net.client(relay);
    await net.time.settle();
    await net.time.advanceAndSettle(3 * MINUTE - SECOND);
    assert.equal(client.closed, false);
    assert.equal(relay.engine.stats.channels, 1);
    await net.time.advanceAndSettle(1.5 * MINUTE + 2 * SECOND);
    assert.equal(client.closed, true);
    assert.equal(relay.metrics.count('channelClosed:idle'), 1);
  });

  it('closes an idle circuit after 60 s with FINISHED, then the channel after its idle timeout', async () => {
    const net = testNetwork(72);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    await net.time.advanceAndSettle(59 * SECOND);
    assert.equal(circuit.destroyReason, undefined);
    await net.time.advanceAndSettle(2 * SECOND);
    assert.equal(circuit.destroyReason, DestroyReason.FINISHED);
    assert.equal(relay.engine.stats.circuits, 0);
    assert.equal(client.closed, false, 'the channel outlives its circuits for a while');
    await net.time.advanceAndSettle(4.5 * MINUTE + SECOND);
    assert.equal(client.closed, true);
  });

  it('keeps circuits with a stream, and sends a keepalive PADDING after 5 minutes of silence', async () => {
    const net = testNetwork(73);
    const relay = net.relay();
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.send(0, 3, { type: 'begin-dir' });
    await net.time.settle();
    await net.time.advanceAndSettle(5 * MINUTE - 2 * SECOND);
    assert.equal(client.otherCells.length, 0);
    await net.time.advanceAndSettle(3 * SECOND);
    const padding = client.otherCells.filter((c) => c.command === ChannelCommand.PADDING && c.circId === 0);
    assert.equal(padding.length, 1);
    assert.equal(circuit.destroyReason, undefined);
    assert.equal(relay.engine.stats.circuits, 1);
  });

  it('closes a relay channel without circuits after 45 to 75 minutes', async () => {
    const net = testNetwork(74);
    const bridge = net.relay();
    // The middle sees the bridge as a client (bridges do not authenticate outwards) and
    // would close the channel from its side after a few minutes; keep it from doing so.
    const middle = net.relay({ clientChannelIdleMs: 24 * 60 * MINUTE });
    const client = net.client(bridge);
    const circuit = await client.createFast(net.time);
    assert.equal(await circuit.extend(net.time, middle.description, middle.specifiers()), 'extended');
    circuit.send(0, 0, { type: 'truncate' });
    circuit.send(0, 5, { type: 'begin-dir' });
    await net.time.settle();
    assert.equal(bridge.engine.stats.channels, 2);
    await net.time.advanceAndSettle(44 * MINUTE);
    assert.equal(bridge.engine.stats.channels, 2, 'the channel to the middle is kept for reuse');
    await net.time.advanceAndSettle(32 * MINUTE);
    assert.equal(bridge.engine.stats.channels, 1);
    assert.equal(bridge.metrics.count('channelClosed:idle'), 1);
    assert.equal(client.closed, false);
  });

  it('closes a channel whose transport has been stuck for ten keepalive periods', async () => {
    const net = testNetwork(75);
    const relay = net.relay({ keepaliveMs: 10 * SECOND });
    const client = net.client(relay);
    const circuit = await client.createFast(net.time);
    circuit.send(0, 3, { type: 'begin-dir' });
    await net.time.settle();
    // The peer stops reading: what the engine writes stays buffered.
    client.transport.peer.paused = true;
    circuit.send(0, 3, { type: 'data', data: new Uint8Array(0) });
    await net.time.advanceAndSettle(11 * SECOND);
    await net.time.advanceAndSettle(95 * SECOND);
    assert.equal(relay.engine.stats.channels, 1);
    await net.time.advanceAndSettle(10 * SECOND);
    assert.equal(relay.engine.stats.channels, 0);
    assert.equal(relay.metrics.count('channelClosed:stuck'), 1);
  });
});
