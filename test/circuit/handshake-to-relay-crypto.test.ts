/**
 * The contract between @relayd/handshakes and @relayd/relay-crypto: the
 * 92-byte key material each handshake produces drives tor1 relay crypto on
 * both ends of a circuit, hop by hop, as a client builds
 * CREATE_FAST → ntor → ntor v3.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Random, utf8 } from '@relayd/common';
import { generateX25519, secureRandom } from '@relayd/crypto';
import {
  type CircuitKeys,
  createFastClientCreate,
  createFastClientFinish,
  createFastServerHandshake,
  ntorClientCreate,
  ntorClientFinish,
  ntorServerHandshake,
  ntorV3ClientCreate,
  ntorV3ClientFinish,
  ntorV3ServerReceive,
  ntorV3ServerReply,
  TOR1_KEY_MATERIAL_LENGTH,
} from '@relayd/handshakes';
import {
  TOR1_KEY_MATERIAL_LENGTH as RELAY_CRYPTO_KEY_LENGTH,
  RELAY_PAYLOAD_LENGTH,
  Tor1ClientCrypto,
  Tor1RelayCrypto,
} from '@relayd/relay-crypto';

const random: Random = secureRandom;

function expectOk<T, E extends Error>(result: { ok: true; value: T } | { ok: false; error: E }): T {
  if (!result.ok) assert.fail(result.error.message);
  return result.value;
}

function dataCell(text: string): Uint8Array {
  const payload = new Uint8Array(RELAY_PAYLOAD_LENGTH);
  const data = utf8(text);
  payload[0] = 2;
  payload[4] = 1;
  payload[10] = data.length;
  payload.set(data, 11);
  return payload;
}

describe('handshake key material drives tor1 relay crypto', () => {
  it('both packages agree on the 92-byte layout', () => {
    assert.equal(TOR1_KEY_MATERIAL_LENGTH, RELAY_CRYPTO_KEY_LENGTH);
  });

  it('a three-hop circuit built with CREATE_FAST, ntor and ntor v3 carries cells both ways', () => {
    const keyPairs: Array<{ client: CircuitKeys; relay: CircuitKeys }> = [];

    const fast = createFastClientCreate(random);
    const fastServer = expectOk(createFastServerHandshake(fast.onionskin, random));
    keyPairs.push({
      client: expectOk(createFastClientFinish(fast.state, fastServer.reply)),
      relay: fastServer.keys,
    });

    const rsaIdentityDigest = random.bytes(20);
    const ntorOnion = generateX25519();
    const ntor = ntorClientCreate({ rsaIdentityDigest, ntorOnionKey: ntorOnion.publicKey }, random);
    const ntorServer = expectOk(
      ntorServerHandshake({ rsaIdentityDigest, onionKeys: { current: ntorOnion } }, ntor.onionskin, random),
    );
    keyPairs.push({
      client: expectOk(ntorClientFinish(ntor.state, ntorServer.reply)),
      relay: ntorServer.keys,
    });

    const ed25519Identity = random.bytes(32);
    const v3Onion = generateX25519();
    const v3 = expectOk(
      ntorV3ClientCreate({ ed25519Identity, ntorOnionKey: v3Onion.publicKey }, Uint8Array.of(0), random),
    );
    const pending = expectOk(
      ntorV3ServerReceive({ ed25519Identity, onionKeys: { current: v3Onion } }, v3.onionskin),
    );
    const v3Server = expectOk(ntorV3ServerReply(pending, Uint8Array.of(0), random));
    keyPairs.push({
      client: expectOk(ntorV3ClientFinish(v3.state, v3Server.reply)).keys,
      relay: v3Server.keys,
    });

    const client = new Tor1ClientCrypto();
    const relays: Tor1RelayCrypto[] = [];
    for (const { client: c, relay: r } of keyPairs) {
      assert.equal(c.keyMaterial.length, TOR1_KEY_MATERIAL_LENGTH);
      client.addHop(c.keyMaterial);
      relays.push(Tor1RelayCrypto.fromKeyMaterial(r.keyMaterial));
    }

    for (let round = 0; round < 30; round++) {
      for (let hop = 0; hop < relays.length; hop++) {
        // Forward: each relay before `hop` peels its layer and passes the cell on.
        const plain = dataCell(`to hop ${hop}, round ${round}`);
        const cell = plain.slice();
        const clientTag = client.originateForward(cell, hop);
        for (let i = 0; i < hop; i++) assert.equal(relays[i]!.decryptForward(cell), undefined);
        assert.deepEqual(relays[hop]!.decryptForward(cell), clientTag);
        assert.deepEqual(cell.subarray(11), plain.subarray(11));

        // Backward: the hop originates, the relays nearer the client add their layers.
        const reply = dataCell(`from hop ${hop}, round ${round}`);
        const back = reply.slice();
        const relayTag = relays[hop]!.originateBackward(back);
        for (let i = hop - 1; i >= 0; i--) relays[i]!.encryptBackward(back);
        const seen = client.decryptBackward(back);
        assert.ok(seen);
        assert.equal(seen.hop, hop);
        assert.deepEqual(seen.sendmeTag, relayTag);
        assert.deepEqual(back.subarray(11), reply.subarray(11));
      }
    }
  });
});
