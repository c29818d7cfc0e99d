import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { x25519 } from '@noble/curves/ed25519.js';
import { concatBytes, type Result, toHex, utf8 } from '@relayd/common';
import { hkdfSha256, hmacSha256, type X25519Keypair } from '@relayd/crypto';
import fc from 'fast-check';
import {
  type HandshakeError,
  NTOR_ONIONSKIN_LENGTH,
  NTOR_REPLY_LENGTH,
  type NtorServerKeys,
  ntorClientCreate,
  ntorClientCreateWithEphemeral,
  ntorClientFinish,
  ntorServerHandshake,
  ntorServerHandshakeWithEphemeral,
  TOR1_KEY_MATERIAL_LENGTH,
  x25519KeypairFromRandom,
} from '../src/index.js';
import { flipBit, h, loadFixture, seededRandom } from './helpers.js';

interface NtorVector {
  source: string;
  b: string;
  B: string;
  x: string;
  X: string;
  y: string;
  Y: string;
  id: string;
  clientHandshake: string;
  serverHandshake: string;
  keys: string;
}

const fixture = loadFixture<{ source: string; vectors: NtorVector[] }>('ntor-vectors.json');

function keypair(secret: string, pub: string): X25519Keypair {
  return { secretKey: h(secret), publicKey: h(pub) };
}

function failureOf<T>(result: Result<T, HandshakeError>): string {
  assert.equal(result.ok, false, 'expected the handshake to fail');
  return result.ok ? '' : result.error.failure;
}

/** Small-order curve25519 points: every DH with them is all-zero. */
const SMALL_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
];

describe('ntor vectors', () => {
  assert.ok(fixture.vectors.length >= 3);
  for (const v of fixture.vectors) {
    it(`replays: ${v.source}`, () => {
      // The public keys agree with an independent curve25519 implementation.
      assert.equal(toHex(x25519.getPublicKey(h(v.b))), v.B);
      assert.equal(toHex(x25519.getPublicKey(h(v.x))), v.X);
      assert.equal(toHex(x25519.getPublicKey(h(v.y))), v.Y);

      const relay = { rsaIdentityDigest: h(v.id), ntorOnionKey: h(v.B) };
      const start = ntorClientCreateWithEphemeral(relay, keypair(v.x, v.X));
      assert.equal(toHex(start.onionskin), v.clientHandshake);

      const serverKeys: NtorServerKeys = {
        rsaIdentityDigest: h(v.id),
        onionKeys: { current: keypair(v.b, v.B) },
      };
      const server = ntorServerHandshakeWithEphemeral(serverKeys, h(v.clientHandshake), keypair(v.y, v.Y));
      assert.ok(server.ok, server.ok ? '' : server.error.message);
      assert.equal(toHex(server.value.reply), v.serverHandshake);
      assert.equal(server.value.onionKey, 'current');
      const keyLength = v.keys.length / 2;
      assert.equal(toHex(server.value.keys.expand(keyLength)), v.keys);

      const client = ntorClientFinish(start.state, h(v.serverHandshake));
      assert.ok(client.ok, client.ok ? '' : client.error.message);
      assert.equal(toHex(client.value.expand(keyLength)), v.keys);
      if (keyLength >= TOR1_KEY_MATERIAL_LENGTH) {
        assert.equal(toHex(client.value.keyMaterial), v.keys.slice(0, 2 * TOR1_KEY_MATERIAL_LENGTH));
      }
      assert.equal(toHex(client.value.keyMaterial), toHex(server.value.keys.keyMaterial));
    });
  }
});

function relayKeys(seed: string) {
  const random = seededRandom(seed);
  const onion = x25519KeypairFromRandom(random);
  const previous = x25519KeypairFromRandom(random);
  const id = random.bytes(20);
  return { onion, previous, id };
}

describe('ntor round trip', () => {
  it('client and relay agree on 92 bytes of key material and beyond', () => {
    const { onion, id } = relayKeys('relay');
    const start = ntorClientCreate(
      { rsaIdentityDigest: id, ntorOnionKey: onion.publicKey },
      seededRandom('c'),
    );
    assert.equal(start.onionskin.length, NTOR_ONIONSKIN_LENGTH);
    const server = ntorServerHandshake(
      { rsaIdentityDigest: id, onionKeys: { current: onion } },
      start.onionskin,
      seededRandom('s'),
    );
    assert.ok(server.ok);
    assert.equal(server.value.reply.length, NTOR_REPLY_LENGTH);
    const client = ntorClientFinish(start.state, server.value.reply);
    assert.ok(client.ok);
    assert.equal(client.value.keyMaterial.length, 92);
    assert.deepEqual(client.value.keyMaterial, server.value.keys.keyMaterial);
    assert.deepEqual(client.value.expand(500), server.value.keys.expand(500));
    assert.deepEqual(client.value.expand(500).subarray(0, 92), client.value.keyMaterial);
  });

  it('derives the keys tor-spec 5.1.4 describes (DH by @noble/curves)', () => {
    const { onion, id } = relayKeys('relay-2');
    const x = x25519KeypairFromRandom(seededRandom('x'));
    const y = x25519KeypairFromRandom(seededRandom('y'));
    const start = ntorClientCreateWithEphemeral({ rsaIdentityDigest: id, ntorOnionKey: onion.publicKey }, x);
    const server = ntorServerHandshakeWithEphemeral(
      { rsaIdentityDigest: id, onionKeys: { current: onion } },
      start.onionskin,
      y,
    );
    assert.ok(server.ok);
    const protoid = utf8('ntor-curve25519-sha256-1');
    const secretInput = concatBytes(
      x25519.getSharedSecret(y.secretKey, x.publicKey),
      x25519.getSharedSecret(onion.secretKey, x.publicKey),
      id,
      onion.publicKey,
      x.publicKey,
      y.publicKey,
      protoid,
    );
    const verify = hmacSha256(utf8('ntor-curve25519-sha256-1:verify'), secretInput);
    const auth = hmacSha256(
      utf8('ntor-curve25519-sha256-1:mac'),
      concatBytes(verify, id, onion.publicKey, y.publicKey, x.publicKey, protoid, utf8('Server')),
    );
    assert.deepEqual(server.value.reply, concatBytes(y.publicKey, auth));
    const expected = hkdfSha256(
      secretInput,
      utf8('ntor-curve25519-sha256-1:key_extract'),
      utf8('ntor-curve25519-sha256-1:key_expand'),
      92,
    );
    assert.deepEqual(server.value.keys.keyMaterial, expected);
  });

  it('accepts the current and the previous onion key, and says which', () => {
    const { onion, previous, id } = relayKeys('rotation');
    const serverKeys = { rsaIdentityDigest: id, onionKeys: { current: onion, previous } };
    for (const [key, role] of [
      [onion, 'current'],
      [previous, 'previous'],
    ] as const) {
      const start = ntorClientCreate(
        { rsaIdentityDigest: id, ntorOnionKey: key.publicKey },
        seededRandom(role),
      );
      const server = ntorServerHandshake(serverKeys, start.onionskin, seededRandom(`s-${role}`));
      assert.ok(server.ok);
      assert.equal(server.value.onionKey, role);
      const client = ntorClientFinish(start.state, server.value.reply);
      assert.ok(client.ok);
      assert.deepEqual(client.value.keyMaterial, server.value.keys.keyMaterial);
    }
  });

  it('rejects an onion key the relay does not hold (also after rotation drops it)', () => {
    const { onion, previous, id } = relayKeys('unknown');
    const start = ntorClientCreate(
      { rsaIdentityDigest: id, ntorOnionKey: previous.publicKey },
      seededRandom('c'),
    );
    const onlyCurrent = { rsaIdentityDigest: id, onionKeys: { current: onion } };
    assert.equal(
      failureOf(ntorServerHandshake(onlyCurrent, start.onionskin, seededRandom('s'))),
      'unknown-key',
    );
  });

  it('rejects another relay identity', () => {
    const { onion, id } = relayKeys('identity');
    const other = id.slice();
    other[0]! ^= 1;
    const start = ntorClientCreate(
      { rsaIdentityDigest: other, ntorOnionKey: onion.publicKey },
      seededRandom('c'),
    );
    const result = ntorServerHandshake(
      { rsaIdentityDigest: id, onionKeys: { current: onion } },
      start.onionskin,
      seededRandom('s'),
    );
    assert.equal(failureOf(result), 'unknown-identity');
    assert.ok(!result.ok && result.error.kind === 'crypto-failure');
  });
});

describe('ntor failures', () => {
  const { onion, id } = relayKeys('failures');
  const serverKeys = { rsaIdentityDigest: id, onionKeys: { current: onion } };
  const relay = { rsaIdentityDigest: id, ntorOnionKey: onion.publicKey };

  it('rejects wrong lengths on both sides', () => {
    for (const n of [0, 20, 83, 85, 200]) {
      const result = ntorServerHandshake(serverKeys, new Uint8Array(n), seededRandom('s'));
      assert.equal(failureOf(result), 'bad-length');
      assert.ok(!result.ok && result.error.kind === 'protocol-violation');
    }
    const start = ntorClientCreate(relay, seededRandom('c'));
    for (const n of [0, 32, 63, 65])
      assert.equal(failureOf(ntorClientFinish(start.state, new Uint8Array(n))), 'bad-length');
  });

  it('detects every flipped bit of AUTH and of Y', () => {
    const start = ntorClientCreate(relay, seededRandom('c'));
    const server = ntorServerHandshake(serverKeys, start.onionskin, seededRandom('s'));
    assert.ok(server.ok);
    for (let bit = 0; bit < NTOR_REPLY_LENGTH * 8; bit++) {
      const failure = failureOf(ntorClientFinish(start.state, flipBit(server.value.reply, bit)));
      // Flipping Y's top bit leaves the same point (it is masked), but AUTH still covers Y's bytes.
      assert.ok(failure === 'bad-auth' || failure === 'zero-dh', `bit ${bit}: ${failure}`);
    }
    assert.ok(ntorClientFinish(start.state, server.value.reply).ok);
  });

  it('a flipped bit in the client X gives the two sides different keys', () => {
    const start = ntorClientCreate(relay, seededRandom('c'));
    const tampered = flipBit(start.onionskin, (NTOR_ONIONSKIN_LENGTH - 5) * 8);
    const server = ntorServerHandshake(serverKeys, tampered, seededRandom('s'));
    assert.ok(server.ok);
    assert.equal(failureOf(ntorClientFinish(start.state, server.value.reply)), 'bad-auth');
  });

  it('rejects small-order points from either side', () => {
    for (const point of SMALL_ORDER_POINTS) {
      const onionskin = concatBytes(id, onion.publicKey, h(point));
      assert.equal(failureOf(ntorServerHandshake(serverKeys, onionskin, seededRandom('s'))), 'zero-dh');
      const start = ntorClientCreate(relay, seededRandom('c'));
      const reply = concatBytes(h(point), new Uint8Array(32));
      assert.equal(failureOf(ntorClientFinish(start.state, reply)), 'zero-dh');
    }
  });

  it('never throws on arbitrary client bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.boolean(), (bytes, withPrefix) => {
        const input = withPrefix ? concatBytes(id, onion.publicKey, bytes).subarray(0, 84) : bytes;
        const result = ntorServerHandshake(serverKeys, input, seededRandom('s'));
        // Random bytes only succeed when they carry our identity and key, as `withPrefix` does.
        if (result.ok) assert.ok(withPrefix);
      }),
      { numRuns: 200 },
    );
  });
});
