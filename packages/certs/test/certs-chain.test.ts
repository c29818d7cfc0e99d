import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RsaPrivateKey, sha256 } from '@relayd/crypto';
import fc from 'fast-check';
import * as certsPackage from '../src/index.js';
import {
  CertError,
  CertsSlot,
  CheckedInitiatorCerts,
  checkInitiatorCerts,
  checkResponderCerts,
  createEd25519Cert,
  createRsaEd25519Crosscert,
  Ed25519CertType,
  expirationHoursAfter,
  VerifiedResponderIdentity,
} from '../src/index.js';
import { makeRelay, NOW_MS, withCert, x509With } from './relay-fixture.js';

const relay = makeRelay();
const DAY = 86_400_000;

function expectCode(result: { ok: boolean; error?: unknown }, code: string, certType?: number): void {
  assert.equal(result.ok, false, 'expected a failure');
  assert.ok(result.error instanceof CertError, String(result.error));
  assert.equal(result.error.code, code, result.error.message);
  if (certType !== undefined) assert.equal(result.error.certType, certType);
}

describe('checkResponderCerts: Ed25519 chain', () => {
  it('verifies a full responder CERTS cell built with the create functions', () => {
    const result = checkResponderCerts(relay.responderCerts, relay.tlsCertificate, NOW_MS);
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    const peer = result.value;
    assert.ok(peer instanceof VerifiedResponderIdentity);
    assert.deepEqual(peer.rsaIdentity, relay.rsaIdentity.publicKey.fingerprint());
    assert.equal(peer.rsaIdentity.length, 20);
    assert.deepEqual(peer.rsaIdentityKey.der, relay.rsaIdentity.publicKey.der);
    assert.deepEqual(peer.ed25519Identity, relay.edIdentity.publicKey);
  });

  it('accepts the cell in any order and ignores unknown types', () => {
    const shuffled = [...relay.responderCerts].reverse();
    shuffled.push({ certType: 9, body: Uint8Array.of(1, 2, 3) }, { certType: 0, body: new Uint8Array(0) });
    assert.ok(checkResponderCerts(shuffled, relay.tlsCertificate, NOW_MS).ok);
  });

  it('refuses a missing certificate of each required type', () => {
    for (const slot of [2, 5, 7]) {
      expectCode(
        checkResponderCerts(withCert(relay.responderCerts, slot, undefined), relay.tlsCertificate, NOW_MS),
        'MISSING_CERT',
        slot,
      );
    }
  });

  it('refuses a duplicated certificate type', () => {
    for (const slot of [1, 2, 4, 5, 7]) {
      const entry = relay.responderCerts.find((e) => e.certType === slot)!;
      expectCode(
        checkResponderCerts([...relay.responderCerts, entry], relay.tlsCertificate, NOW_MS),
        'DUPLICATE_CERT',
        slot,
      );
    }
  });

  it('refuses a TLS certificate other than the one type 5 certifies (KEY_MISMATCH)', () => {
    const other = makeRelay();
    expectCode(checkResponderCerts(relay.responderCerts, other.tlsCertificate, NOW_MS), 'KEY_MISMATCH', 5);
  });

  it('refuses certificates signed by the wrong key', () => {
    const other = makeRelay();
    // Type 5 signed by another relay's signing key.
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 5, other.tlsLinkCert), relay.tlsCertificate, NOW_MS),
      'BAD_SIGNATURE',
      5,
    );
    // Type 4 and 7 of another relay: the crosscert is not signed by this RSA identity.
    const mixed = withCert(withCert(relay.responderCerts, 4, other.signingKeyCert), 7, other.crosscert);
    const withOtherLink = withCert(mixed, 5, other.tlsLinkCert);
    expectCode(checkResponderCerts(withOtherLink, relay.tlsCertificate, NOW_MS), 'BAD_SIGNATURE', 7);
    // A crosscert for another Ed25519 identity.
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 7, other.crosscert), relay.tlsCertificate, NOW_MS),
      'KEY_MISMATCH',
      7,
    );
    // A type 2 certificate that is not self-signed.
    const notSelfSigned = x509With({
      subject: relay.rsaIdentity,
      issuer: other.rsaIdentity,
      notBeforeMs: NOW_MS - DAY,
      notAfterMs: NOW_MS + 300 * DAY,
    });
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 2, notSelfSigned), relay.tlsCertificate, NOW_MS),
      'BAD_SIGNATURE',
      2,
    );
  });

  it('refuses a flipped bit in any Ed25519 signature', () => {
    for (const slot of [4, 5, 7]) {
      const body = Uint8Array.from(relay.responderCerts.find((e) => e.certType === slot)!.body);
      body[body.length - 1]! ^= 0x80;
      expectCode(
        checkResponderCerts(withCert(relay.responderCerts, slot, body), relay.tlsCertificate, NOW_MS),
        'BAD_SIGNATURE',
        slot,
      );
    }
  });

  it('refuses expired certificates of every kind', () => {
    // The whole chain, long after the Ed25519 certificates expired (the randomly
    // dated identity certificate may have expired too: either is reported as EXPIRED).
    expectCode(checkResponderCerts(relay.responderCerts, relay.tlsCertificate, NOW_MS + 40 * DAY), 'EXPIRED');
    const expiredLink = createEd25519Cert({
      certType: Ed25519CertType.SIGNING_V_TLS_CERT,
      certifiedKey: sha256(relay.tlsCertificate),
      expirationHours: expirationHoursAfter(NOW_MS, -3600),
      signer: relay.edSigning,
      includeSigningKey: false,
    });
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 5, expiredLink), relay.tlsCertificate, NOW_MS),
      'EXPIRED',
      5,
    );
    const expiredCross = createRsaEd25519Crosscert({
      ed25519Identity: relay.edIdentity.publicKey,
      expirationHours: expirationHoursAfter(NOW_MS, -3600),
      rsaIdentity: relay.rsaIdentity,
    });
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 7, expiredCross), relay.tlsCertificate, NOW_MS),
      'EXPIRED',
      7,
    );
    const expiredId = x509With({
      subject: relay.rsaIdentity,
      issuer: relay.rsaIdentity,
      notBeforeMs: NOW_MS - 400 * DAY,
      notAfterMs: NOW_MS - 3 * DAY,
    });
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 2, expiredId), relay.tlsCertificate, NOW_MS),
      'EXPIRED',
      2,
    );
    const futureId = x509With({
      subject: relay.rsaIdentity,
      issuer: relay.rsaIdentity,
      notBeforeMs: NOW_MS + 31 * DAY,
      notAfterMs: NOW_MS + 400 * DAY,
    });
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 2, futureId), relay.tlsCertificate, NOW_MS),
      'NOT_YET_VALID',
      2,
    );
  });

  it('refuses an identity key that is not RSA-1024', () => {
    const big = RsaPrivateKey.generate(2048);
    const id = x509With({ subject: big, issuer: big, notBeforeMs: NOW_MS - DAY, notAfterMs: NOW_MS + DAY });
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 2, id), relay.tlsCertificate, NOW_MS),
      'BAD_KEY_SIZE',
      2,
    );
  });

  it('refuses a type 4 certificate without its signing key, or of the wrong type', () => {
    const noKey = createEd25519Cert({
      certType: Ed25519CertType.IDENTITY_V_SIGNING,
      certifiedKey: relay.edSigning.publicKey,
      expirationHours: expirationHoursAfter(NOW_MS, 86400),
      signer: relay.edIdentity,
      includeSigningKey: false,
    });
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 4, noKey), relay.tlsCertificate, NOW_MS),
      'MISSING_SIGNING_KEY',
      4,
    );
    // A type 6 certificate placed in slot 5.
    expectCode(
      checkResponderCerts(withCert(relay.responderCerts, 5, relay.authKeyCert), relay.tlsCertificate, NOW_MS),
      'WRONG_TYPE',
      5,
    );
  });

  it('refuses undecodable certificates', () => {
    for (const slot of [2, 4, 5, 7]) {
      expectCode(
        checkResponderCerts(
          withCert(relay.responderCerts, slot, Uint8Array.of(1, 2, 3)),
          relay.tlsCertificate,
          NOW_MS,
        ),
        'UNDECODABLE_CERT',
        slot,
      );
    }
  });

  it('never throws on random CERTS contents', () => {
    const entry = fc.record({
      certType: fc.integer({ min: 0, max: 9 }),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom(...relay.responderCerts.map((e) => e.body)),
      ),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
        const result = checkResponderCerts(entries, relay.tlsCertificate, NOW_MS);
        if (!result.ok) assert.ok(result.error instanceof CertError);
      }),
      { numRuns: 200 },
    );
  });
});

describe('checkResponderCerts: RSA-only chain (no type 4)', () => {
  const rsaOnly = relay.responderCerts.filter((e) => e.certType === 1 || e.certType === 2);

  it('verifies types 1 + 2 against the TLS key, with no Ed25519 identity', () => {
    const result = checkResponderCerts(rsaOnly, relay.tlsCertificate, NOW_MS);
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.equal(result.value.ed25519Identity, undefined);
    assert.deepEqual(result.value.rsaIdentity, relay.rsaIdentity.publicKey.fingerprint());
  });

  it('refuses a link certificate for another key, or not signed by the identity', () => {
    const other = makeRelay();
    expectCode(checkResponderCerts(rsaOnly, other.tlsCertificate, NOW_MS), 'KEY_MISMATCH', 1);
    expectCode(
      checkResponderCerts(withCert(rsaOnly, 1, undefined), relay.tlsCertificate, NOW_MS),
      'MISSING_CERT',
      1,
    );
    const foreignLink = x509With({
      subject: relay.linkKey,
      issuer: other.rsaIdentity,
      notBeforeMs: NOW_MS - DAY,
      notAfterMs: NOW_MS + DAY,
    });
    expectCode(
      checkResponderCerts(withCert(rsaOnly, 1, foreignLink), foreignLink, NOW_MS),
      'BAD_SIGNATURE',
      1,
    );
  });

  it('does not fall back to RSA-only when a type 4 certificate is present but bad', () => {
    const broken = withCert(relay.responderCerts, 5, undefined);
    expectCode(checkResponderCerts(broken, relay.tlsCertificate, NOW_MS), 'MISSING_CERT', 5);
  });
});

describe('checkInitiatorCerts', () => {
  it('accepts types 2, 4, 6, 7 and exposes the AUTHENTICATE key', () => {
    const result = checkInitiatorCerts(relay.initiatorCerts, NOW_MS);
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.ok(result.value instanceof CheckedInitiatorCerts);
    assert.deepEqual(result.value.authenticationKey, relay.edAuth.publicKey);
    assert.deepEqual(result.value.ed25519Identity, relay.edIdentity.publicKey);
    assert.deepEqual(result.value.rsaIdentity, relay.rsaIdentity.publicKey.fingerprint());
  });

  it('refuses a responder-style cell (type 5 instead of 6) and RSA-only initiators', () => {
    expectCode(
      checkInitiatorCerts(relay.responderCerts, NOW_MS),
      'MISSING_CERT',
      CertsSlot.ED25519_AUTHENTICATE,
    );
    expectCode(checkInitiatorCerts(withCert(relay.initiatorCerts, 4, undefined), NOW_MS), 'MISSING_CERT', 4);
    const other = makeRelay();
    expectCode(
      checkInitiatorCerts(withCert(relay.initiatorCerts, 6, other.authKeyCert), NOW_MS),
      'BAD_SIGNATURE',
      6,
    );
  });
});

describe('verified types', () => {
  it('are obtainable only through the checks: the package exports no factory', () => {
    const names = Object.keys(certsPackage);
    assert.ok(names.includes('VerifiedResponderIdentity'));
    assert.deepEqual(
      names.filter((n) => n.startsWith('make')),
      [],
    );
  });
});
