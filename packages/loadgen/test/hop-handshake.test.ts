/**
 * The client side of each circuit handshake against @relayd/handshakes'
 * relay side: both ends derive the same tor1 key material, ntor v3 uses
 * the "circuit extend" verification string C tor and Arti use, a wrong
 * reply is refused, and missing keys are reported instead of thrown.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandshakeType } from '@relayd/cells';
import { utf8 } from '@relayd/common';
import { generateX25519, secureRandom } from '@relayd/crypto';
import {
  createFastServerHandshake,
  decodeNtorV3Extensions,
  encodeNtorV3Extensions,
  ntorServerHandshake,
  ntorV3ServerReceive,
  ntorV3ServerReply,
} from '@relayd/handshakes';
import { NTOR_V3_CIRCUIT_VERIFICATION, startHandshake } from '../src/client/hop-handshake.js';

const onion = generateX25519();
const relay = {
  rsaIdentity: secureRandom.bytes(20),
  ed25519Identity: secureRandom.bytes(32),
  ntorOnionKey: onion.publicKey,
};
const onionKeys = { current: onion };

function unwrapOk<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) assert.fail(`expected ok, got ${String(result.error)}`);
  return result.value;
}

describe('client circuit handshakes', () => {
  it('CREATE_FAST: both sides derive the same key material', () => {
    const pending = unwrapOk(startHandshake('fast', relay, secureRandom));
    assert.equal(pending.handshakeType, 'fast');
    const server = unwrapOk(createFastServerHandshake(pending.onionskin, secureRandom));
    assert.deepEqual(unwrapOk(pending.finish(server.reply)), server.keys.keyMaterial);
    const tampered = server.reply.slice();
    tampered[30]! ^= 1;
    const refused = pending.finish(tampered);
    assert.equal(refused.ok, false);
  });

  it('ntor: both sides derive the same key material; a reply for another key is refused', () => {
    const pending = unwrapOk(startHandshake('ntor', relay, secureRandom));
    assert.equal(pending.handshakeType, HandshakeType.NTOR);
    const server = unwrapOk(
      ntorServerHandshake(
        { rsaIdentityDigest: relay.rsaIdentity, onionKeys },
        pending.onionskin,
        secureRandom,
      ),
    );
    assert.deepEqual(unwrapOk(pending.finish(server.reply)), server.keys.keyMaterial);
    const other = unwrapOk(startHandshake('ntor', relay, secureRandom));
    const refused = other.finish(server.reply);
    assert.ok(!refused.ok && refused.error.failure === 'bad-auth');
  });

  it('ntor v3: "circuit extend" verification, an empty extension list, same key material', () => {
    assert.deepEqual(NTOR_V3_CIRCUIT_VERIFICATION, utf8('circuit extend'));
    const pending = unwrapOk(startHandshake('ntor-v3', relay, secureRandom));
    assert.equal(pending.handshakeType, HandshakeType.NTOR_V3);
    const keys = { ed25519Identity: relay.ed25519Identity, onionKeys };
    // A relay verifying with any other string refuses the handshake, as C tor would.
    assert.equal(ntorV3ServerReceive(keys, pending.onionskin).ok, false);
    const received = unwrapOk(ntorV3ServerReceive(keys, pending.onionskin, NTOR_V3_CIRCUIT_VERIFICATION));
    assert.deepEqual(unwrapOk(decodeNtorV3Extensions(received.clientMessage)), []);
    const reply = unwrapOk(ntorV3ServerReply(received, encodeNtorV3Extensions([]), secureRandom));
    assert.deepEqual(unwrapOk(pending.finish(reply.reply)), reply.keys.keyMaterial);
  });

  it('reports missing keys instead of throwing', () => {
    assert.deepEqual(startHandshake('ntor', { rsaIdentity: relay.rsaIdentity }, secureRandom), {
      ok: false,
      error: 'missing-ntor-key',
    });
    assert.deepEqual(
      startHandshake(
        'ntor-v3',
        { rsaIdentity: relay.rsaIdentity, ntorOnionKey: onion.publicKey },
        secureRandom,
      ),
      { ok: false, error: 'missing-ed25519-identity' },
    );
    // CREATE_FAST needs nothing but the identity the link already proved.
    assert.equal(startHandshake('fast', { rsaIdentity: relay.rsaIdentity }, secureRandom).ok, true);
  });
});
