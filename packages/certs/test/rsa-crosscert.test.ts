import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError, unwrap } from '@relayd/common';
import { Ed25519SigningKey, RsaPrivateKey, RsaPublicKey, sha256 } from '@relayd/crypto';
import fc from 'fast-check';
import {
  CertError,
  checkRsaEd25519Crosscert,
  createRsaEd25519Crosscert,
  expirationHoursAfter,
  parseRsaEd25519Crosscert,
  RSA_ED25519_CROSSCERT_PREFIX,
} from '../src/index.js';
import { ARTI_CHUTNEY } from './vectors.js';

const NOW_MS = Date.UTC(2026, 10, 21, 12, 30);
const rsaIdentity = RsaPrivateKey.generate(1024);
const edIdentity = Ed25519SigningKey.fromSeed(new Uint8Array(32).fill(3)).publicKey;
const expirationHours = expirationHoursAfter(NOW_MS, 365 * 86400);

function expectCode(result: { ok: boolean; error?: unknown }, code: string): void {
  assert.equal(result.ok, false);
  assert.ok(result.error instanceof CertError);
  assert.equal(result.error.code, code);
  assert.equal(result.error.certType, 7);
}

describe('RSA->Ed25519 cross-certificate', () => {
  it(`checks the chutney cross-certificate (${ARTI_CHUTNEY.source})`, () => {
    const key = RsaPublicKey.fromDer(ARTI_CHUTNEY.rsaIdentityKey);
    const wrongKey = RsaPublicKey.fromDer(ARTI_CHUTNEY.wrongRsaKey);
    assert.ok(key && wrongKey);
    const cert = unwrap(parseRsaEd25519Crosscert(ARTI_CHUTNEY.crosscert));
    assert.deepEqual(cert.ed25519Identity, ARTI_CHUTNEY.identityKey);
    assert.equal(cert.expirationHours, 0x0006da3a);
    assert.equal(cert.signature.length, 128);
    assert.ok(checkRsaEd25519Crosscert(cert, key, ARTI_CHUTNEY.nowMs).ok);
    expectCode(checkRsaEd25519Crosscert(cert, wrongKey, ARTI_CHUTNEY.nowMs), 'BAD_SIGNATURE');
    expectCode(checkRsaEd25519Crosscert(cert, key, (0x0006da3a * 3600 + 1) * 1000), 'EXPIRED');
  });

  it('round-trips, signing SHA-256(prefix || key || expiration) with tor RSA padding', () => {
    const bytes = createRsaEd25519Crosscert({ ed25519Identity: edIdentity, expirationHours, rsaIdentity });
    assert.equal(bytes.length, 32 + 4 + 1 + 128);
    const cert = unwrap(parseRsaEd25519Crosscert(bytes));
    assert.deepEqual(cert.ed25519Identity, edIdentity);
    assert.equal(cert.expirationHours, expirationHours);
    assert.deepEqual(cert.encoded, bytes);
    assert.ok(checkRsaEd25519Crosscert(cert, rsaIdentity.publicKey, NOW_MS).ok);
    // The signed digest, recovered independently.
    const digest = sha256(RSA_ED25519_CROSSCERT_PREFIX, bytes.subarray(0, 36));
    assert.deepEqual(rsaIdentity.publicKey.recoverSignedDigest(cert.signature), digest);
  });

  it('refuses tampering, another RSA key and expiry', () => {
    const bytes = createRsaEd25519Crosscert({ ed25519Identity: edIdentity, expirationHours, rsaIdentity });
    for (const at of [0, 31, 33, 40, bytes.length - 1]) {
      const tampered = Uint8Array.from(bytes);
      tampered[at]! ^= 0x01;
      expectCode(
        checkRsaEd25519Crosscert(unwrap(parseRsaEd25519Crosscert(tampered)), rsaIdentity.publicKey, NOW_MS),
        'BAD_SIGNATURE',
      );
    }
    const cert = unwrap(parseRsaEd25519Crosscert(bytes));
    expectCode(
      checkRsaEd25519Crosscert(cert, RsaPrivateKey.generate(1024).publicKey, NOW_MS),
      'BAD_SIGNATURE',
    );
    const old = createRsaEd25519Crosscert({
      ed25519Identity: edIdentity,
      expirationHours: expirationHoursAfter(NOW_MS, -3 * 3600),
      rsaIdentity,
    });
    expectCode(
      checkRsaEd25519Crosscert(unwrap(parseRsaEd25519Crosscert(old)), rsaIdentity.publicKey, NOW_MS),
      'EXPIRED',
    );
  });

  it('parsing is total: random bytes and truncations give ok or a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const result = parseRsaEd25519Crosscert(bytes);
        if (!result.ok) assert.ok(result.error instanceof DecodeError);
        else assert.equal(result.value.signature.length, bytes[36]);
      }),
      { numRuns: 500 },
    );
    const bytes = createRsaEd25519Crosscert({ ed25519Identity: edIdentity, expirationHours, rsaIdentity });
    for (let n = 0; n < bytes.length; n++) {
      const result = parseRsaEd25519Crosscert(bytes.subarray(0, n));
      assert.ok(!result.ok && result.error.failure === 'incomplete');
    }
    const overlong = parseRsaEd25519Crosscert(Uint8Array.of(...bytes, 0));
    assert.ok(!overlong.ok && overlong.error.failure === 'malformed');
  });
});
