import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { x25519 } from '@noble/curves/ed25519.js';
import { concatBytes, type Result, toHex } from '@relayd/common';
import type { X25519Keypair } from '@relayd/crypto';
import fc from 'fast-check';
import {
  decodeCongestionControlResponse,
  decodeNtorV3Extensions,
  type HandshakeError,
  NTOR_V3_MIN_ONIONSKIN_LENGTH,
  NTOR_V3_MIN_REPLY_LENGTH,
  NtorV3ExtensionType,
  type NtorV3ServerKeys,
  ntorV3ClientCreate,
  ntorV3ClientCreateWithEphemeral,
  ntorV3ClientFinish,
  ntorV3ServerReceive,
  ntorV3ServerReply,
  ntorV3ServerReplyWithEphemeral,
  x25519KeypairFromRandom,
} from '../src/index.js';
import { flipBit, h, loadFixture, seededRandom } from './helpers.js';

interface NtorV3Vector {
  source: string;
  b: string;
  B: string;
  id: string;
  x: string;
  X: string;
  y: string;
  Y: string;
  clientMessage: string;
  serverMessage: string;
  verification: string;
  clientHandshake: string;
  serverHandshake: string;
  keyStream: string;
}

const fixture = loadFixture<{ source: string; vectors: NtorV3Vector[] }>('ntor-v3-vectors.json');

function keypair(secret: string, pub: string): X25519Keypair {
  return { secretKey: h(secret), publicKey: h(pub) };
}

function failureOf<T>(result: Result<T, HandshakeError>): string {
  assert.equal(result.ok, false, 'expected the handshake to fail');
  return result.ok ? '' : result.error.failure;
}

function unwrapOk<T>(result: Result<T, HandshakeError>): T {
  if (!result.ok) assert.fail(result.error.message);
  return result.value;
}

describe('ntor v3 vectors', () => {
  assert.ok(fixture.vectors.length >= 2);
  for (const v of fixture.vectors) {
    it(`replays: ${v.source.slice(0, 80)}`, () => {
      assert.equal(toHex(x25519.getPublicKey(h(v.b))), v.B);
      assert.equal(toHex(x25519.getPublicKey(h(v.x))), v.X);
      assert.equal(toHex(x25519.getPublicKey(h(v.y))), v.Y);
      const verification = h(v.verification);

      const relay = { ed25519Identity: h(v.id), ntorOnionKey: h(v.B) };
      const start = unwrapOk(
        ntorV3ClientCreateWithEphemeral(relay, h(v.clientMessage), keypair(v.x, v.X), verification),
      );
      assert.equal(toHex(start.onionskin), v.clientHandshake);

      const serverKeys: NtorV3ServerKeys = {
        ed25519Identity: h(v.id),
        onionKeys: { current: keypair(v.b, v.B) },
      };
      const pending = unwrapOk(ntorV3ServerReceive(serverKeys, h(v.clientHandshake), verification));
      assert.equal(toHex(pending.clientMessage), v.clientMessage);
      assert.equal(pending.onionKey, 'current');

      const server = unwrapOk(ntorV3ServerReplyWithEphemeral(pending, h(v.serverMessage), keypair(v.y, v.Y)));
      assert.equal(toHex(server.reply), v.serverHandshake);
      assert.equal(toHex(server.keys.expand(256)), v.keyStream);
      assert.equal(toHex(server.keys.keyMaterial), v.keyStream.slice(0, 184));

      const client = unwrapOk(ntorV3ClientFinish(start.state, h(v.serverHandshake)));
      assert.equal(toHex(client.serverMessage), v.serverMessage);
      assert.equal(toHex(client.keys.expand(256)), v.keyStream);
      assert.equal(toHex(client.keys.keyMaterial), v.keyStream.slice(0, 184));
    });
  }

  it('the reference-generated vector carries real extension lists', () => {
    const v = fixture.vectors[1]!;
    const request = decodeNtorV3Extensions(h(v.clientMessage));
    assert.ok(request.ok);
    assert.deepEqual(request.value, [
      { type: NtorV3ExtensionType.CongestionControlRequest, body: new Uint8Array(0) },
    ]);
    const response = decodeNtorV3Extensions(h(v.serverMessage));
    assert.ok(response.ok);
    assert.equal(response.value[0]?.type, NtorV3ExtensionType.CongestionControlResponse);
    const cc = decodeCongestionControlResponse(response.value[0]!.body);
    assert.ok(cc.ok);
    assert.equal(cc.value.sendmeIncrement, 31);
  });
});

function relaySetup(seed: string) {
  const random = seededRandom(seed);
  const current = x25519KeypairFromRandom(random);
  const previous = x25519KeypairFromRandom(random);
  const id = random.bytes(32);
  const serverKeys: NtorV3ServerKeys = { ed25519Identity: id, onionKeys: { current, previous } };
  return {
    current,
    previous,
    id,
    serverKeys,
    relay: { ed25519Identity: id, ntorOnionKey: current.publicKey },
  };
}

describe('ntor v3 round trip', () => {
  it('carries arbitrary messages both ways and agrees on the keys', () => {
    const { serverKeys, relay } = relaySetup('rt');
    let run = 0;
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 40 }),
        (cm, sm, verification) => {
          run++;
          const start = unwrapOk(ntorV3ClientCreate(relay, cm, seededRandom(`c${run}`), verification));
          assert.equal(start.onionskin.length, NTOR_V3_MIN_ONIONSKIN_LENGTH + cm.length);
          const pending = unwrapOk(ntorV3ServerReceive(serverKeys, start.onionskin, verification));
          assert.deepEqual(pending.clientMessage, cm);
          const server = unwrapOk(ntorV3ServerReply(pending, sm, seededRandom(`s${run}`)));
          assert.equal(server.reply.length, NTOR_V3_MIN_REPLY_LENGTH + sm.length);
          const client = unwrapOk(ntorV3ClientFinish(start.state, server.reply));
          assert.deepEqual(client.serverMessage, sm);
          assert.deepEqual(client.keys.keyMaterial, server.keys.keyMaterial);
          assert.deepEqual(client.keys.expand(200), server.keys.expand(200));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('lets the relay choose its reply after reading the client message', () => {
    const { serverKeys, relay } = relaySetup('choose');
    const start = unwrapOk(ntorV3ClientCreate(relay, Uint8Array.of(1, 1, 0), seededRandom('c')));
    const pending = unwrapOk(ntorV3ServerReceive(serverKeys, start.onionskin));
    const list = decodeNtorV3Extensions(pending.clientMessage);
    assert.ok(list.ok);
    const reply = list.value.some((e) => e.type === NtorV3ExtensionType.CongestionControlRequest)
      ? Uint8Array.of(1, 2, 1, 31)
      : Uint8Array.of(0);
    const server = unwrapOk(ntorV3ServerReply(pending, reply, seededRandom('s')));
    assert.deepEqual(
      unwrapOk(ntorV3ClientFinish(start.state, server.reply)).serverMessage,
      Uint8Array.of(1, 2, 1, 31),
    );
  });

  it('accepts the previous onion key and says so; rejects keys it does not hold', () => {
    const { serverKeys, previous, id } = relaySetup('rotation');
    const viaPrevious = unwrapOk(
      ntorV3ClientCreate(
        { ed25519Identity: id, ntorOnionKey: previous.publicKey },
        new Uint8Array(0),
        seededRandom('c'),
      ),
    );
    const pending = unwrapOk(ntorV3ServerReceive(serverKeys, viaPrevious.onionskin));
    assert.equal(pending.onionKey, 'previous');
    const server = unwrapOk(ntorV3ServerReply(pending, new Uint8Array(0), seededRandom('s')));
    assert.ok(ntorV3ClientFinish(viaPrevious.state, server.reply).ok);

    const stranger = x25519KeypairFromRandom(seededRandom('stranger'));
    const viaStranger = unwrapOk(
      ntorV3ClientCreate(
        { ed25519Identity: id, ntorOnionKey: stranger.publicKey },
        new Uint8Array(0),
        seededRandom('c'),
      ),
    );
    assert.equal(failureOf(ntorV3ServerReceive(serverKeys, viaStranger.onionskin)), 'unknown-key');
  });

  it('rejects another identity', () => {
    const { serverKeys, current, id } = relaySetup('identity');
    const other = id.slice();
    other[31]! ^= 0x80;
    const start = unwrapOk(
      ntorV3ClientCreate(
        { ed25519Identity: other, ntorOnionKey: current.publicKey },
        new Uint8Array(3),
        seededRandom('c'),
      ),
    );
    assert.equal(failureOf(ntorV3ServerReceive(serverKeys, start.onionskin)), 'unknown-identity');
  });

  it('fails when the verification strings differ, on either side', () => {
    const { serverKeys, relay } = relaySetup('verification');
    const start = unwrapOk(ntorV3ClientCreate(relay, new Uint8Array(5), seededRandom('c'), Uint8Array.of(1)));
    assert.equal(failureOf(ntorV3ServerReceive(serverKeys, start.onionskin, Uint8Array.of(2))), 'bad-auth');
    // With the client's state tampered to another verification string, its AUTH check fails.
    const pending = unwrapOk(ntorV3ServerReceive(serverKeys, start.onionskin, Uint8Array.of(1)));
    const server = unwrapOk(ntorV3ServerReply(pending, new Uint8Array(0), seededRandom('s')));
    const wrongState = { ...start.state, verification: Uint8Array.of(3) };
    assert.equal(failureOf(ntorV3ClientFinish(wrongState, server.reply)), 'bad-auth');
  });
});

describe('ntor v3 failures', () => {
  const { serverKeys, relay, id, current } = relaySetup('failures');

  it('rejects short messages', () => {
    for (const n of [0, 32, 96, NTOR_V3_MIN_ONIONSKIN_LENGTH - 1]) {
      assert.equal(failureOf(ntorV3ServerReceive(serverKeys, new Uint8Array(n))), 'bad-length');
    }
    const start = unwrapOk(ntorV3ClientCreate(relay, new Uint8Array(0), seededRandom('c')));
    for (const n of [0, 32, NTOR_V3_MIN_REPLY_LENGTH - 1]) {
      assert.equal(failureOf(ntorV3ClientFinish(start.state, new Uint8Array(n))), 'bad-length');
    }
  });

  it('detects a flipped bit anywhere in X, the encrypted message or the MAC', () => {
    const start = unwrapOk(ntorV3ClientCreate(relay, Uint8Array.of(1, 1, 0), seededRandom('c')));
    const first = (64 + 0) * 8; // X starts at byte 64
    for (let bit = first; bit < start.onionskin.length * 8; bit += 3) {
      const failure = failureOf(ntorV3ServerReceive(serverKeys, flipBit(start.onionskin, bit)));
      assert.ok(failure === 'bad-auth' || failure === 'zero-dh', `bit ${bit}: ${failure}`);
    }
  });

  it('detects a flipped bit anywhere in the relay reply', () => {
    const start = unwrapOk(ntorV3ClientCreate(relay, new Uint8Array(0), seededRandom('c')));
    const pending = unwrapOk(ntorV3ServerReceive(serverKeys, start.onionskin));
    const server = unwrapOk(ntorV3ServerReply(pending, Uint8Array.of(1, 2, 1, 31), seededRandom('s')));
    for (let bit = 0; bit < server.reply.length * 8; bit++) {
      const failure = failureOf(ntorV3ClientFinish(start.state, flipBit(server.reply, bit)));
      assert.ok(failure === 'bad-auth' || failure === 'zero-dh', `bit ${bit}: ${failure}`);
    }
  });

  it('rejects small-order client and relay keys', () => {
    const zero = new Uint8Array(32);
    const onionskin = concatBytes(id, current.publicKey, zero, new Uint8Array(32));
    assert.equal(failureOf(ntorV3ServerReceive(serverKeys, onionskin)), 'zero-dh');
    const badRelay = { ed25519Identity: id, ntorOnionKey: zero };
    assert.equal(failureOf(ntorV3ClientCreate(badRelay, new Uint8Array(0), seededRandom('c'))), 'zero-dh');
    const start = unwrapOk(ntorV3ClientCreate(relay, new Uint8Array(0), seededRandom('c')));
    assert.equal(failureOf(ntorV3ClientFinish(start.state, new Uint8Array(64))), 'zero-dh');
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withPrefix) => {
        const input = withPrefix ? concatBytes(id, current.publicKey, bytes) : bytes;
        const result = ntorV3ServerReceive(serverKeys, input);
        assert.equal(result.ok, false);
      }),
      { numRuns: 200 },
    );
  });
});
