import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Random } from '@relayd/common';
import fc from 'fast-check';
import {
  createRelayTlsCertificates,
  createX509Certificate,
  IDENTITY_CERT_LIFETIME_SECONDS,
  parseX509Certificate,
  pickCertificateValidity,
  pickLinkCertificateLifetime,
  RsaPrivateKey,
  randomTlsHostname,
  sha256,
  X509_FUTURE_SLOP_MS,
  X509_PAST_SLOP_MS,
  x509DerToPem,
} from '../src/index.js';

const DAY_MS = 86_400_000;
const NOW_MS = Date.UTC(2026, 10, 21, 14, 3, 7);

/** A deterministic Random for repeatable certificate contents. */
function counterRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    bytes(n: number) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        out[i] = state >>> 24;
      }
      return out;
    },
  };
}

const identityKey = RsaPrivateKey.generate(1024);
const linkKey = RsaPrivateKey.generate(2048);
const relay = createRelayTlsCertificates({ identityKey, linkKey, nowMs: NOW_MS, random: counterRandom(7) });

describe('relay X.509 certificates', () => {
  it('identity certificate: self-signed, RSA-1024, key fingerprint equals RsaPublicKey.fingerprint()', () => {
    const id = parseX509Certificate(relay.identityCertificate);
    assert.ok(id);
    assert.deepEqual(id.der, relay.identityCertificate);
    assert.equal(id.subjectPublicKey.modulusBits, 1024);
    assert.deepEqual(id.subjectPublicKey.fingerprint(), identityKey.publicKey.fingerprint());
    assert.deepEqual(id.subjectPublicKey.der, identityKey.publicKey.der);
    assert.ok(id.isSignedBy(identityKey.publicKey));
    assert.ok(!id.isSignedBy(linkKey.publicKey));
    assert.equal(id.notAfter.getTime() - id.notBefore.getTime(), IDENTITY_CERT_LIFETIME_SECONDS * 1000);
    assert.equal(id.notBefore.getTime() % DAY_MS, 0);
    assert.ok(id.isLiveAt(NOW_MS));
    assert.deepEqual(id.sha256, sha256(relay.identityCertificate));
  });

  it('link certificate: the link key, signed by the identity, tor-like names', () => {
    const link = parseX509Certificate(relay.linkCertificate);
    assert.ok(link);
    assert.deepEqual(link.subjectPublicKey.der, linkKey.publicKey.der);
    assert.equal(link.subjectPublicKey.modulusBits, 2048);
    assert.ok(link.isSignedBy(identityKey.publicKey));
    assert.ok(!link.isSignedBy(linkKey.publicKey));
    assert.ok(link.isLiveAt(NOW_MS));

    // Cross-check the structure with OpenSSL's own reading.
    const native = new X509Certificate(Buffer.from(relay.linkCertificate));
    const idNative = new X509Certificate(Buffer.from(relay.identityCertificate));
    assert.match(native.subject, /^CN=www\.[a-z2-7]{8,20}\.net$/);
    assert.match(native.issuer, /^CN=www\.[a-z2-7]{8,20}\.com$/);
    assert.equal(native.issuer, idNative.subject);
    assert.equal(idNative.issuer, idNative.subject);
    assert.match(native.serialNumber, /^[0-9A-F]{2,18}$/);
    assert.ok(native.checkIssued(idNative));
    assert.equal(native.toString(), new X509Certificate(x509DerToPem(relay.linkCertificate)).toString());
  });

  it('is deterministic given the same keys, time and randomness', () => {
    const again = createRelayTlsCertificates({
      identityKey,
      linkKey,
      nowMs: NOW_MS,
      random: counterRandom(7),
    });
    assert.deepEqual(again.linkCertificate, relay.linkCertificate);
    assert.deepEqual(again.identityCertificate, relay.identityCertificate);
  });

  it('generates an RSA-2048 link key natively when none is given', () => {
    const fresh = createRelayTlsCertificates({ identityKey, nowMs: NOW_MS });
    assert.equal(fresh.linkKey.modulusBits, 2048);
    assert.ok(parseX509Certificate(fresh.linkCertificate)?.isSignedBy(identityKey.publicKey));
  });

  it('encodes serial numbers as positive minimal DER integers', () => {
    for (const serial of [new Uint8Array(8).fill(0xff), Uint8Array.of(0, 0, 1), new Uint8Array(8)]) {
      const der = createX509Certificate({
        subjectKey: identityKey.publicKey,
        issuerKey: identityKey,
        subjectCommonName: 'www.example.com',
        issuerCommonName: 'www.example.com',
        notBeforeMs: 0,
        notAfterMs: Date.UTC(2100, 0, 1),
        serialNumber: serial,
      });
      const parsed = parseX509Certificate(der);
      assert.ok(parsed, 'OpenSSL accepts the encoding');
      assert.equal(parsed.notAfter.getTime(), Date.UTC(2100, 0, 1));
      const expected = BigInt(`0x${Buffer.from(serial).toString('hex')}`);
      assert.equal(BigInt(`0x${new X509Certificate(Buffer.from(der)).serialNumber}`), expected);
    }
  });

  it('applies tor slop to the validity window', () => {
    const id = parseX509Certificate(relay.identityCertificate)!;
    const nb = id.notBefore.getTime();
    const na = id.notAfter.getTime();
    assert.ok(id.isLiveAt(nb - X509_FUTURE_SLOP_MS));
    assert.ok(!id.isLiveAt(nb - X509_FUTURE_SLOP_MS - 1000));
    assert.ok(id.isLiveAt(na + X509_PAST_SLOP_MS));
    assert.ok(!id.isLiveAt(na + X509_PAST_SLOP_MS + 1000));
  });
});

describe('parseX509Certificate', () => {
  it('refuses trailing bytes, truncation and garbage without throwing', () => {
    const der = relay.linkCertificate;
    assert.equal(parseX509Certificate(Uint8Array.of(...der, 0)), undefined);
    assert.equal(parseX509Certificate(der.subarray(0, der.length - 1)), undefined);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        assert.equal(parseX509Certificate(bytes), undefined);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.nat(der.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const copy = Uint8Array.from(der);
        copy[at]! ^= flip;
        const parsed = parseX509Certificate(copy);
        // A corrupted certificate either no longer parses or no longer verifies.
        if (parsed) assert.ok(!parsed.isSignedBy(identityKey.publicKey));
      }),
      { numRuns: 100 },
    );
  });
});

describe('tor certificate policies', () => {
  it('picks hostnames like crypto_random_hostname(8, 20, "www.", suffix)', () => {
    const random = counterRandom(1);
    for (let i = 0; i < 200; i++)
      assert.match(randomTlsHostname('.net', random), /^www\.[a-z2-7]{8,20}\.net$/);
  });

  it('picks link lifetimes of 5 to 365 days, on a day or one second short', () => {
    const random = counterRandom(2);
    let sawShort = false;
    let sawWhole = false;
    for (let i = 0; i < 200; i++) {
      const lifetime = pickLinkCertificateLifetime(random);
      assert.ok(lifetime >= 5 * 86400 - 1 && lifetime < 365 * 86400, String(lifetime));
      if (lifetime % 86400 === 0) sawWhole = true;
      else {
        assert.equal((lifetime + 1) % 86400, 0);
        sawShort = true;
      }
    }
    assert.ok(sawShort && sawWhole);
  });

  it('starts validity on a day boundary, in the past, with at least a day left', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3 * 86400, max: 400 * 86400 }),
        fc.integer({ min: 0, max: 1e9 }),
        (life, s) => {
          const { notBeforeMs, notAfterMs } = pickCertificateValidity(NOW_MS, life, counterRandom(s));
          assert.equal(notBeforeMs % DAY_MS, 0);
          assert.ok(notBeforeMs <= NOW_MS);
          assert.equal(notAfterMs - notBeforeMs, life * 1000);
          assert.ok(notAfterMs > NOW_MS + DAY_MS - 1000);
        },
      ),
      { numRuns: 200 },
    );
  });
});
