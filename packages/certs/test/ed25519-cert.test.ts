import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError, hex, unwrap } from '@relayd/common';
import { Ed25519SigningKey, generateX25519 } from '@relayd/crypto';
import fc from 'fast-check';
import {
  CertError,
  CertifiedKeyType,
  checkEd25519Cert,
  checkNtorOnionKeyCrosscert,
  createEd25519Cert,
  createNtorOnionKeyCrosscert,
  type Ed25519Cert,
  Ed25519CertType,
  ed25519CertExpiresAtMs,
  expirationHoursAfter,
  parseEd25519Cert,
} from '../src/index.js';
import { ARTI_CHUTNEY, TOR_DESCRIPTORS } from './vectors.js';

const NOW_MS = Date.UTC(2026, 10, 21, 12, 30);
const identity = Ed25519SigningKey.fromSeed(new Uint8Array(32).fill(1));
const signing = Ed25519SigningKey.fromSeed(new Uint8Array(32).fill(2));
const expirationHours = expirationHoursAfter(NOW_MS, 30 * 86400);

function signingCert(overrides: Partial<Parameters<typeof createEd25519Cert>[0]> = {}): Uint8Array {
  return createEd25519Cert({
    certType: Ed25519CertType.IDENTITY_V_SIGNING,
    certifiedKey: signing.publicKey,
    expirationHours,
    signer: identity,
    includeSigningKey: true,
    ...overrides,
  });
}

function parse(bytes: Uint8Array): Ed25519Cert {
  return unwrap(parseEd25519Cert(bytes));
}

function expectCertError(result: { ok: boolean; error?: unknown }, code: string): void {
  assert.equal(result.ok, false);
  assert.ok(result.error instanceof CertError, String(result.error));
  assert.equal(result.error.code, code);
}

describe('Ed25519 certificates: round trip', () => {
  it('parses what it creates, field by field', () => {
    const bytes = signingCert();
    const cert = parse(bytes);
    assert.equal(cert.certType, 4);
    assert.equal(cert.expirationHours, expirationHours);
    assert.equal(cert.certifiedKeyType, CertifiedKeyType.ED25519);
    assert.deepEqual(cert.certifiedKey, signing.publicKey);
    assert.deepEqual(cert.signingKey, identity.publicKey);
    assert.equal(cert.extensions.length, 1);
    assert.deepEqual(cert.extensions[0], { type: 4, flags: 0, data: identity.publicKey });
    assert.deepEqual(cert.encoded, bytes);
    assert.deepEqual(cert.signature, bytes.subarray(bytes.length - 64));
    // 1+1+4+1+32+1 + (2+1+1+32) + 64
    assert.equal(bytes.length, 140);
    assert.ok(checkEd25519Cert(cert, { nowMs: NOW_MS }).ok);
    assert.ok(checkEd25519Cert(cert, { nowMs: NOW_MS, signingKey: identity.publicKey, certType: 4 }).ok);
  });

  it('defaults the key type of a TLS link certificate to SHA256_OF_X509 (03), as C tor writes it', () => {
    const cert = parse(
      createEd25519Cert({
        certType: Ed25519CertType.SIGNING_V_TLS_CERT,
        certifiedKey: new Uint8Array(32).fill(9),
        expirationHours,
        signer: signing,
        includeSigningKey: false,
      }),
    );
    assert.equal(cert.certifiedKeyType, 0x03);
    assert.equal(cert.signingKey, undefined);
    assert.ok(checkEd25519Cert(cert, { nowMs: NOW_MS, signingKey: signing.publicKey }).ok);
  });

  it('computes EXPIRATION_DATE like C tor (hours, rounded up)', () => {
    assert.equal(expirationHoursAfter(Date.UTC(2020, 0, 1), 3600), Date.UTC(2020, 0, 1, 1) / 3_600_000);
    assert.equal(
      expirationHoursAfter(Date.UTC(2020, 0, 1) + 1000, 3600),
      Date.UTC(2020, 0, 1, 2) / 3_600_000,
    );
    assert.equal(ed25519CertExpiresAtMs({ expirationHours: 445790 }), Date.UTC(2020, 10, 8, 14));
  });
});

describe('Ed25519 certificates: vectors from other implementations', () => {
  it(`checks the chutney type 4 and type 5 certificates (${ARTI_CHUTNEY.source})`, () => {
    const id = parse(ARTI_CHUTNEY.signingCert);
    assert.equal(id.certType, 4);
    assert.deepEqual(id.certifiedKey, ARTI_CHUTNEY.signingKey);
    assert.deepEqual(id.signingKey, ARTI_CHUTNEY.identityKey);
    assert.equal(ed25519CertExpiresAtMs(id), ARTI_CHUTNEY.signingCertExpiresMs);
    assert.ok(checkEd25519Cert(id, { nowMs: ARTI_CHUTNEY.nowMs }).ok);
    // One day after expiry (Arti's expired_cert).
    expectCertError(
      checkEd25519Cert(id, { nowMs: ARTI_CHUTNEY.signingCertExpiresMs + 86_400_000 }),
      'EXPIRED',
    );
    // A key that differs from the included one (Arti's mismatched_signing_key).
    const notThatKey = hex('DCB604DB2034B00FD16986D4ADB9D16B21CB4E4457A33DEC0F538903683E96CC');
    expectCertError(
      checkEd25519Cert(id, { nowMs: ARTI_CHUTNEY.nowMs, signingKey: notThatKey }),
      'KEY_MISMATCH',
    );

    const link = parse(ARTI_CHUTNEY.tlsLinkCert);
    assert.equal(link.certType, 5);
    assert.equal(link.certifiedKeyType, CertifiedKeyType.SHA256_OF_X509);
    assert.deepEqual(link.certifiedKey, ARTI_CHUTNEY.tlsCertDigest);
    assert.equal(ed25519CertExpiresAtMs(link), ARTI_CHUTNEY.tlsLinkCertExpiresMs);
    assert.ok(checkEd25519Cert(link, { nowMs: ARTI_CHUTNEY.nowMs, signingKey: ARTI_CHUTNEY.signingKey }).ok);
    expectCertError(checkEd25519Cert(link, { nowMs: ARTI_CHUTNEY.nowMs }), 'MISSING_SIGNING_KEY');
    expectCertError(
      checkEd25519Cert(link, { nowMs: ARTI_CHUTNEY.nowMs, signingKey: ARTI_CHUTNEY.identityKey }),
      'BAD_SIGNATURE',
    );
  });

  it(`refuses the malformed variants of Arti's invalid_certs.rs`, () => {
    // Version 03.
    assert.equal(parseEd25519Cert(hex('03')).ok, false);
    // A 33-byte signed-with-ed25519-key extension.
    const long = hex(
      '01040006CC2A01F82294B866A31F01FC5D0DA8572850A9B929545C3266558D7D2316E3B74172B0' +
        '0100210400DCB604DB2034B00FD16986D4ADB9D16B21CB4E4457A33DEC0F538903683E96E9FF' +
        'FF1A5203FA27F86EF7528D89A0845D2520166E340754FFEA2AAE0F612B7CE5DA' +
        '094A0236CDAC45034B0B6842C18E7F6B51B93A3CF7E60663B8AD061C30A62602',
    );
    const longResult = parseEd25519Cert(long);
    assert.ok(!longResult.ok && longResult.error.failure === 'malformed');
    // Unknown extension 09 with AFFECTS_VALIDATION: parses, but never checks.
    const critical = Uint8Array.from(ARTI_CHUTNEY.signingCert);
    critical[42] = 0x09;
    critical[43] = 0x01;
    const cert = parse(critical);
    assert.equal(cert.signingKey, undefined);
    expectCertError(
      checkEd25519Cert(cert, { nowMs: ARTI_CHUTNEY.nowMs, signingKey: ARTI_CHUTNEY.identityKey }),
      'UNKNOWN_CRITICAL_EXTENSION',
    );
  });

  it(`checks C tor descriptors' identity-ed25519 and ntor-onion-key-crosscert (${TOR_DESCRIPTORS.source})`, () => {
    for (const router of TOR_DESCRIPTORS.routers) {
      const id = parse(router.identityCert);
      assert.equal(id.certType, Ed25519CertType.IDENTITY_V_SIGNING, router.nickname);
      assert.deepEqual(id.signingKey, router.masterKey);
      assert.ok(checkEd25519Cert(id, { nowMs: TOR_DESCRIPTORS.nowMs }).ok, router.nickname);

      const cc = parse(router.ntorCrosscert);
      assert.equal(cc.certType, Ed25519CertType.NTOR_CC_IDENTITY);
      assert.equal(cc.signingKey, undefined, 'C tor includes no signing key in the ntor crosscert');
      const opts = {
        ntorOnionKey: router.ntorOnionKey,
        signBit: router.ntorCrosscertSignBit,
        ed25519Identity: router.masterKey,
        nowMs: TOR_DESCRIPTORS.nowMs,
      };
      assert.ok(checkNtorOnionKeyCrosscert(cc, opts).ok, router.nickname);
      const otherBit = (1 - router.ntorCrosscertSignBit) as 0 | 1;
      expectCertError(checkNtorOnionKeyCrosscert(cc, { ...opts, signBit: otherBit }), 'BAD_SIGNATURE');
      expectCertError(
        checkNtorOnionKeyCrosscert(cc, { ...opts, ed25519Identity: new Uint8Array(32) }),
        'KEY_MISMATCH',
      );
      expectCertError(
        checkNtorOnionKeyCrosscert(cc, { ...opts, nowMs: ed25519CertExpiresAtMs(cc) + 1000 }),
        'EXPIRED',
      );
    }
  });
});

describe('Ed25519 certificates: tampering', () => {
  it('a flipped signature bit gives BAD_SIGNATURE', () => {
    const bytes = signingCert();
    for (const bit of [0, 7, 300, 511]) {
      const tampered = Uint8Array.from(bytes);
      tampered[bytes.length - 64 + (bit >> 3)]! ^= 1 << (bit & 7);
      expectCertError(checkEd25519Cert(parse(tampered), { nowMs: NOW_MS }), 'BAD_SIGNATURE');
    }
  });

  it('any changed signed byte gives BAD_SIGNATURE (or a parse error)', () => {
    const bytes = signingCert();
    fc.assert(
      fc.property(fc.nat(bytes.length - 65), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const tampered = Uint8Array.from(bytes);
        tampered[at]! ^= flip;
        const parsed = parseEd25519Cert(tampered);
        if (!parsed.ok) return;
        const checked = checkEd25519Cert(parsed.value, { nowMs: NOW_MS, signingKey: identity.publicKey });
        assert.equal(checked.ok, false);
      }),
      { numRuns: 150 },
    );
  });

  it('an expired certificate gives EXPIRED, one second after its hour', () => {
    const cert = parse(signingCert({ expirationHours: expirationHoursAfter(NOW_MS, -7200) }));
    expectCertError(checkEd25519Cert(cert, { nowMs: NOW_MS }), 'EXPIRED');
    const atHour = parse(signingCert({ expirationHours: 500_000 }));
    assert.ok(checkEd25519Cert(atHour, { nowMs: 500_000 * 3_600_000 }).ok);
    expectCertError(checkEd25519Cert(atHour, { nowMs: 500_000 * 3_600_000 + 1000 }), 'EXPIRED');
  });

  it('the wrong signer, type or certified key is refused', () => {
    const cert = parse(signingCert());
    expectCertError(checkEd25519Cert(cert, { nowMs: NOW_MS, signingKey: signing.publicKey }), 'KEY_MISMATCH');
    expectCertError(checkEd25519Cert(cert, { nowMs: NOW_MS, certType: 5 }), 'WRONG_TYPE');
    // Signed by someone else but claiming the identity: the included key does not verify.
    const forged = parse(signingCert({ signer: signing }));
    expectCertError(
      checkEd25519Cert(forged, { nowMs: NOW_MS, signingKey: identity.publicKey }),
      'KEY_MISMATCH',
    );
    const forgedNoKey = parse(signingCert({ signer: signing, includeSigningKey: false }));
    expectCertError(
      checkEd25519Cert(forgedNoKey, { nowMs: NOW_MS, signingKey: identity.publicKey }),
      'BAD_SIGNATURE',
    );
  });

  it('an unknown critical extension gives UNKNOWN_CRITICAL_EXTENSION; a non-critical one is ignored', () => {
    const critical = parse(
      signingCert({ extraExtensions: [{ type: 0x42, flags: 1, data: Uint8Array.of(1, 2) }] }),
    );
    assert.equal(critical.extensions.length, 2);
    expectCertError(checkEd25519Cert(critical, { nowMs: NOW_MS }), 'UNKNOWN_CRITICAL_EXTENSION');
    const benign = parse(
      signingCert({ extraExtensions: [{ type: 0x42, flags: 2, data: Uint8Array.of(1, 2) }] }),
    );
    assert.ok(checkEd25519Cert(benign, { nowMs: NOW_MS }).ok);
  });

  it('refuses two signing-key extensions and trailing bytes at parse time', () => {
    const twice = signingCert({ extraExtensions: [{ type: 4, flags: 0, data: identity.publicKey }] });
    assert.equal(parseEd25519Cert(twice).ok, false);
    const trailing = Uint8Array.of(...signingCert(), 0);
    const result = parseEd25519Cert(trailing);
    assert.ok(!result.ok && result.error.failure === 'malformed');
  });
});

describe('Ed25519 certificates: parsing is total', () => {
  it('random bytes give a certificate or a DecodeError, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const result = parseEd25519Cert(bytes);
        if (!result.ok) assert.ok(result.error instanceof DecodeError);
      }),
      { numRuns: 500 },
    );
  });

  it('every truncation of a valid certificate is an incomplete DecodeError', () => {
    const bytes = signingCert({ extraExtensions: [{ type: 9, flags: 0, data: new Uint8Array(5) }] });
    for (let n = 0; n < bytes.length; n++) {
      const result = parseEd25519Cert(bytes.subarray(0, n));
      assert.ok(!result.ok && result.error.failure === 'incomplete', `length ${n}`);
    }
  });

  it('structured random certificates round-trip through parse', () => {
    const extension = fc.record({
      type: fc.integer({ min: 5, max: 255 }),
      flags: fc.integer({ min: 0, max: 255 }),
      data: fc.uint8Array({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.boolean(),
        fc.array(extension, { maxLength: 4 }),
        (certType, hours, key, include, extraExtensions) => {
          const bytes = createEd25519Cert({
            certType,
            certifiedKey: key,
            expirationHours: hours,
            signer: identity,
            includeSigningKey: include,
            extraExtensions,
          });
          const cert = parse(bytes);
          assert.equal(cert.certType, certType);
          assert.equal(cert.expirationHours, hours);
          assert.deepEqual(cert.certifiedKey, key);
          assert.equal(cert.extensions.length, extraExtensions.length + (include ? 1 : 0));
          assert.deepEqual(cert.encoded, bytes);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('ntor onion key cross-certificate', () => {
  it('round-trips with C tor semantics: type 0A, certifies the identity, no included key', () => {
    const onion = generateX25519();
    const { cert, signBit } = createNtorOnionKeyCrosscert({
      ntorOnionSecret: onion.secretKey,
      ed25519Identity: identity.publicKey,
      expirationHours,
    });
    const parsed = parse(cert);
    assert.equal(parsed.certType, 0x0a);
    assert.equal(parsed.certifiedKeyType, CertifiedKeyType.ED25519);
    assert.deepEqual(parsed.certifiedKey, identity.publicKey);
    assert.equal(parsed.signingKey, undefined);
    const opts = {
      ntorOnionKey: onion.publicKey,
      signBit,
      ed25519Identity: identity.publicKey,
      nowMs: NOW_MS,
    };
    assert.ok(checkNtorOnionKeyCrosscert(parsed, opts).ok);
    expectCertError(
      checkNtorOnionKeyCrosscert(parsed, { ...opts, ntorOnionKey: generateX25519().publicKey }),
      'BAD_SIGNATURE',
    );
    expectCertError(
      checkNtorOnionKeyCrosscert(parsed, { ...opts, ntorOnionKey: new Uint8Array(31) }),
      'KEY_MISMATCH',
    );
    expectCertError(
      checkNtorOnionKeyCrosscert(parse(signingCert()), { ...opts, ed25519Identity: signing.publicKey }),
      'WRONG_TYPE',
    );
  });
});
