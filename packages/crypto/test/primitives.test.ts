import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import { sha3_256 as nobleSha3, shake256 as nobleShake } from '@noble/hashes/sha3.js';
import { hex, toHex, utf8 } from '@relayd/common';
import fc from 'fast-check';
import {
  AesCtrStream,
  Ed25519SigningKey,
  ed25519Verify,
  expandEd25519Seed,
  generateX25519,
  RsaPrivateKey,
  RsaPublicKey,
  RunningDigest,
  sha1,
  sha3_256,
  sha256,
  shake256,
  x25519PublicFromSecret,
  x25519SharedSecret,
} from '../src/index.js';

describe('hashes', () => {
  it('agree with @noble/hashes', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (m) => {
        assert.deepEqual(sha1(m), nobleSha1(m));
        assert.deepEqual(sha3_256(m), nobleSha3(m));
        assert.deepEqual(shake256(77, m), nobleShake(m, { dkLen: 77 }));
      }),
      { numRuns: 50 },
    );
    assert.equal(
      toHex(sha256(utf8('abc'))),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('running digest peeks and clones without disturbing state', () => {
    const d = new RunningDigest('sha1', utf8('seed'));
    d.update(utf8('a'));
    const fork = d.clone();
    assert.deepEqual(d.peek(), sha1(utf8('seeda')));
    fork.update(utf8('b'));
    assert.deepEqual(fork.peek(), sha1(utf8('seedab')));
    assert.deepEqual(d.peek(), sha1(utf8('seeda')));
  });
});

describe('AES-CTR stream', () => {
  it('keeps the keystream position across calls (FIPS SP800-38A F.5.1 first blocks)', () => {
    // SP 800-38A CTR-AES128 uses IV f0f1...ff; check the stream is continuous across split updates.
    const key = hex('2b7e151628aed2a6abf7158809cf4f3c');
    const iv = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
    const pt = hex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51');
    const whole = new AesCtrStream(key, iv).apply(pt);
    assert.equal(toHex(whole), '874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff');
    const split = new AesCtrStream(key, iv);
    const parts = [split.apply(pt.subarray(0, 7)), split.apply(pt.subarray(7))];
    assert.equal(toHex(parts[0]!) + toHex(parts[1]!), toHex(whole));
  });
});

describe('x25519', () => {
  it('agrees with @noble/curves and rejects the zero point', () => {
    const a = generateX25519();
    const b = generateX25519();
    assert.deepEqual(x25519PublicFromSecret(a.secretKey), a.publicKey);
    assert.deepEqual(a.publicKey, x25519.getPublicKey(a.secretKey));
    const s1 = x25519SharedSecret(a.secretKey, b.publicKey);
    assert.ok(s1);
    assert.deepEqual(s1, x25519SharedSecret(b.secretKey, a.publicKey));
    assert.deepEqual(s1, x25519.getSharedSecret(a.secretKey, b.publicKey));
    assert.equal(x25519SharedSecret(a.secretKey, new Uint8Array(32)), undefined);
  });
});

describe('ed25519', () => {
  // RFC 8032 7.1 TEST 1.
  const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const pub = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  const sig =
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

  it('signs RFC 8032 test 1 from the seed and from the expanded key', () => {
    const fromSeed = Ed25519SigningKey.fromSeed(seed);
    assert.deepEqual(fromSeed.publicKey, pub);
    assert.equal(toHex(fromSeed.sign(new Uint8Array())), sig);
    const fromExpanded = Ed25519SigningKey.fromExpanded(expandEd25519Seed(seed));
    assert.deepEqual(fromExpanded.publicKey, pub);
    assert.equal(toHex(fromExpanded.sign(new Uint8Array())), sig);
    assert.equal(ed25519Verify(pub, new Uint8Array(), hex(sig)), true);
  });

  it('expanded-key signatures match @noble and verify on OpenSSL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array(), (s, m) => {
        const k = Ed25519SigningKey.fromExpanded(expandEd25519Seed(s));
        const signature = k.sign(m);
        assert.deepEqual(signature, ed25519.sign(m, s));
        assert.equal(ed25519Verify(k.publicKey, m, signature), true);
        const bad = Uint8Array.from(signature);
        bad[5]! ^= 1;
        assert.equal(ed25519Verify(k.publicKey, m, bad), false);
      }),
      { numRuns: 20 },
    );
  });

  it('verify never throws on junk', () => {
    assert.equal(ed25519Verify(new Uint8Array(31), new Uint8Array(), new Uint8Array(64)), false);
    assert.equal(ed25519Verify(new Uint8Array(32).fill(0xff), new Uint8Array(), new Uint8Array(64)), false);
  });
});

describe('RSA', () => {
  const key = RsaPrivateKey.generate();
  it('makes tor-style signatures over raw digests', () => {
    const digest = sha1(utf8('descriptor'));
    const signature = key.signDigest(digest);
    assert.equal(signature.length, 128);
    assert.equal(key.publicKey.verifyDigest(digest, signature), true);
    assert.equal(key.publicKey.verifyDigest(sha1(utf8('other')), signature), false);
  });
  it('round-trips PEM and DER and fingerprints the PKCS#1 DER', () => {
    const again = RsaPrivateKey.fromPem(key.toPem());
    assert.ok(again);
    assert.deepEqual(again.publicKey.der, key.publicKey.der);
    assert.match(key.toPem(), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    const pub = RsaPublicKey.fromDer(key.publicKey.der);
    assert.ok(pub);
    assert.equal(pub.modulusBits, 1024);
    assert.deepEqual(pub.fingerprint(), sha1(key.publicKey.der));
    assert.equal(RsaPublicKey.fromDer(new Uint8Array([1, 2, 3])), undefined);
    assert.equal(RsaPrivateKey.fromPem('garbage'), undefined);
  });
});

describe('x25519 key handling', () => {
  it('generates clamped secrets whose cached key objects agree with a fresh import', () => {
    for (let i = 0; i < 20; i++) {
      const k = generateX25519();
      assert.equal(k.secretKey[0]! & 7, 0);
      assert.equal(k.secretKey[31]! & 0xc0, 0x40);
      // A copy is a different array instance, so it takes the uncached import path.
      const copy = Uint8Array.from(k.secretKey);
      assert.deepEqual(x25519PublicFromSecret(copy), k.publicKey);
      const peer = generateX25519();
      assert.deepEqual(
        x25519SharedSecret(k.secretKey, peer.publicKey),
        x25519SharedSecret(copy, peer.publicKey),
      );
      assert.deepEqual(
        x25519SharedSecret(k.secretKey, peer.publicKey),
        x25519.getSharedSecret(copy, peer.publicKey),
      );
    }
  });
});

describe('x25519 key cache', () => {
  it('does not serve a stale key for a secret mutated in place', () => {
    const k = generateX25519();
    const before = x25519PublicFromSecret(k.secretKey);
    k.secretKey[1]! ^= 1;
    assert.notDeepEqual(x25519PublicFromSecret(k.secretKey), before);
    assert.deepEqual(x25519PublicFromSecret(k.secretKey), x25519.getPublicKey(k.secretKey));
  });
});
