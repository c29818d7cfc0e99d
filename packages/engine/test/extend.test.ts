import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DestroyReason, HandshakeType, parseIpAddress } from '@relayd/cells';
import { bytesEqual } from '@relayd/common';
import { FakeDirectory, httpGet, type TestRelay, testNetwork } from './support/harness.js';

function ipv4(text: string) {
  const address = parseIpAddress(text);
  if (address?.family !== 'ipv4') throw new Error(text);
  return address;
}

describe('EXTEND2', () => {
  for (const ntorV3 of [false, true]) {
    it(`extends to a second engine with ${ntorV3 ? 'ntor v3' : 'ntor'} and carries relay cells end to end`, async () => {
      const net = testNetwork(31);
      const bridge = net.relay();
      const middle = net.relay();
      middle.directory.bodyLength = 200_000;
      const client = net.client(bridge);
      const circuit = await client.create2(net.time, bridge.description);
      assert.equal(
        await circuit.extend(net.time, middle.description, middle.specifiers(), { ntorV3 }),
        'extended',
      );
      assert.equal(circuit.crypto.hopCount, 2);
      assert.equal(net.provider.requests.length, 1);
      const target = net.provider.requests[0]!;
      assert.ok(bytesEqual(target.rsaIdentity, middle.description.rsaIdentityDigest));
      assert.ok(
        target.ed25519Identity && bytesEqual(target.ed25519Identity, middle.description.ed25519Identity),
      );
      assert.deepEqual(target.addresses, [{ address: middle.address, port: middle.port }]);
      assert.equal(middle.metrics.count(`onionskin:${ntorV3 ? 'ntor_v3' : 'ntor'}:processed`), 1);
      assert.equal(bridge.metrics.count('extend:new-channel'), 1);

      // A directory fetch from the second hop crosses the bridge both ways, with SENDMEs.
      circuit.send(1, 4, { type: 'begin-dir' });
      circuit.send(1, 4, { type: 'data', data: httpGet('/tor/server/authority') });
      await net.time.settle();
      assert.ok(bytesEqual(circuit.dataOn(4), FakeDirectory.response(200_000)));
      assert.ok(circuit.relay.every((r) => r.hop === 1 || r.message.type === 'extended2'));
      assert.equal(middle.directory.requests.length, 1);
      assert.equal(bridge.directory.requests.length, 0);
      assert.equal(middle.directory.requests[0]!.context.createdFast, false);
      assert.equal(circuit.unrecognized, 0);
      assert.equal(circuit.destroyReason, undefined);
    });
  }

  it('reuses an open channel to the same identity and shares one launch between concurrent requests', async () => {
    const net = testNetwork(32);
    const bridge = net.relay();
    const middle = net.relay();
    const client = net.client(bridge);
    const first = await client.createFast(net.time);
    const second = await client.createFast(net.time);
    // Both ask before the provider has answered.
    const a = first.extend(net.time, middle.description, middle.specifiers());
    const b = second.extend(net.time, middle.description, middle.specifiers());
    assert.deepEqual(await Promise.all([a, b]), ['extended', 'extended']);
    const third = await client.createFast(net.time);
    assert.equal(await third.extend(net.time, middle.description, middle.specifiers()), 'extended');
    assert.equal(net.provider.requests.length, 1);
    assert.equal(bridge.metrics.count('extend:new-channel'), 2);
    assert.equal(bridge.metrics.count('extend:reused-channel'), 1);
    assert.equal(middle.engine.stats.channels, 1);
    assert.equal(middle.engine.stats.circuits, 3);
  });

  it('refuses private addresses unless extendAllowPrivateAddresses is set', async () => {
    for (const allow of [false, true]) {
      const net = testNetwork(33);
      const bridge = net.relay({ extendAllowPrivateAddresses: allow });
      const middle = net.relay({}, '10.1.2.3');
      const client = net.client(bridge);
      const circuit = await client.createFast(net.time);
      const outcome = await circuit.extend(net.time, middle.description, middle.specifiers());
      if (allow) {
        assert.equal(outcome, 'extended');
      } else {
        assert.equal(outcome, 'destroyed');
        assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
        assert.equal(net.provider.requests.length, 0);
      }
    }
  });

  it('refuses loopback and zero addresses, but uses the other address when one is usable', async () => {
    const net = testNetwork(34);
    const bridge = net.relay();
    const middle = net.relay();
    const client = net.client(bridge);
    const loopback = await client.createFast(net.time);
    const onlyLoopback = [
      { kind: 'ipv4' as const, address: ipv4('127.0.0.1'), port: 9001 },
      { kind: 'legacy-id' as const, rsaIdentity: middle.description.rsaIdentityDigest },
    ];
    assert.equal(await loopback.extend(net.time, middle.description, onlyLoopback), 'destroyed');
    assert.equal(loopback.destroyReason, DestroyReason.PROTOCOL);

    const mixed = await client.createFast(net.time);
    const specifiers = [
      {
        kind: 'ipv6' as const,
        address: { family: 'ipv6' as const, bytes: Uint8Array.of(0xfe, 0x80, ...new Uint8Array(13), 1) },
        port: 9001,
      },
      ...middle.specifiers(),
    ];
    assert.equal(await mixed.extend(net.time, middle.description, specifiers), 'extended');
    assert.deepEqual(net.provider.requests[0]!.addresses, [{ address: middle.address, port: middle.port }]);
  });

  it('refuses to extend to ourselves with CONNECTFAILED, and back to the previous hop with PROTOCOL', async () => {
    const net = testNetwork(35);
    const bridge = net.relay();
    const other = net.relay();
    const client = net.client(bridge);
    const self = await client.createFast(net.time);
    assert.equal(await self.extend(net.time, bridge.description, bridge.specifiers()), 'destroyed');
    assert.equal(self.destroyReason, DestroyReason.CONNECTFAILED);

    // A relay that authenticated to us asks to extend back to itself.
    const relayPeer = net.client(bridge, other.address, {
      rsaIdentity: other.description.rsaIdentityDigest,
      ed25519Identity: other.description.ed25519Identity,
    });
    const back = await relayPeer.createFast(net.time);
    assert.equal(await back.extend(net.time, other.description, other.specifiers()), 'destroyed');
    assert.equal(back.destroyReason, DestroyReason.PROTOCOL);
    assert.equal(net.provider.requests.length, 0);
  });

  it('closes with CHANNEL_CLOSED when the provider cannot open the channel', async () => {
    const net = testNetwork(36);
    const bridge = net.relay();
    const middle = net.relay();
    net.provider.failing = true;
    const client = net.client(bridge);
    const circuit = await client.createFast(net.time);
    assert.equal(await circuit.extend(net.time, middle.description, middle.specifiers()), 'destroyed');
    assert.equal(circuit.destroyReason, DestroyReason.CHANNEL_CLOSED);
    assert.equal(bridge.metrics.count('extend:failed'), 1);
    assert.equal(bridge.engine.stats.pendingChannelOpens, 0);
  });

  it('refuses link specifier lists without a legacy identity, with two of them, or without an address', async () => {
    const net = testNetwork(37);
    const bridge = net.relay();
    const middle = net.relay();
    const client = net.client(bridge);
    const [ipv4Spec, legacy, ed] = middle.specifiers();
    const lists = [
      [ipv4Spec!, ed!],
      [ipv4Spec!, legacy!, legacy!],
      [legacy!, ed!],
      [ipv4Spec!, ed!, ed!, legacy!],
    ];
    for (const list of lists) {
      const circuit = await client.createFast(net.time);
      assert.equal(await circuit.extend(net.time, middle.description, list), 'destroyed');
      assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
    }
    assert.equal(net.provider.requests.length, 0);
  });

  it('drops EXTEND2 that is not in RELAY_EARLY, and refuses a second EXTEND2', async () => {
    const net = testNetwork(38);
    const bridge = net.relay();
    const middle = net.relay();
    const third = net.relay();
    const client = net.client(bridge);
    const circuit = await client.createFast(net.time);
    assert.equal(
      await circuit.extend(net.time, middle.description, middle.specifiers(), { early: false }),
      'no-answer',
    );
    assert.equal(bridge.metrics.count('violation:extend-not-early'), 1);
    assert.equal(await circuit.extend(net.time, middle.description, middle.specifiers()), 'extended');
    // A second EXTEND2 addressed to the bridge (hop 0) while it already has a next hop.
    const { create } = client.startHandshake(third.description, false);
    circuit.send(
      0,
      0,
      {
        type: 'extend2',
        linkSpecifiers: third.specifiers(),
        handshakeType: create.handshakeType,
        handshakeData: create.handshakeData,
      },
      true,
    );
    await net.time.settle();
    assert.equal(circuit.destroyReason, DestroyReason.PROTOCOL);
    // The bridge also tore down the middle's part of the circuit.
    assert.equal(middle.engine.stats.circuits, 0);
  });

  it('passes a refused handshake from the next hop back as the next hop decides (DESTROY → DESTROYED)', async () => {
    const net = testNetwork(39);
    const bridge = net.relay();
    const middle: TestRelay = net.relay();
    const client = net.client(bridge);
    const circuit = await client.createFast(net.time);
    // A CREATE2 the middle refuses: ntor to a key it does not hold.
    const wrongKey = { ...middle.description, ntorOnionKey: bridge.description.ntorOnionKey };
    const { create } = client.startHandshake(wrongKey, false);
    circuit.send(
      0,
      0,
      {
        type: 'extend2',
        linkSpecifiers: middle.specifiers(),
        handshakeType: HandshakeType.NTOR,
        handshakeData: create.handshakeData,
      },
      true,
    );
    await net.time.settle();
    assert.equal(middle.metrics.count('onionskin:ntor:failed'), 1);
    assert.equal(circuit.destroyReason, DestroyReason.DESTROYED);
  });
});
