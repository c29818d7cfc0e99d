import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { bytesEqual, toBase64Unpadded } from '@relayd/common';
import { Ed25519SigningKey, ed25519Verify, RsaPrivateKey, x25519PublicFromSecret } from '@relayd/crypto';
import { KeyErrorCode } from '../src/errors.js';
import {
  clampCurve25519Secret,
  decodeCurve25519KeypairFile,
  decodeEd25519PublicKeyFile,
  decodeEd25519SecretKeyFile,
  decodeRsaPrivateKeyFile,
  encodeCurve25519KeypairFile,
  encodeEd25519PublicKeyFile,
  encodeEd25519SecretKeyFile,
  encodeRsaPrivateKeyFile,
  KeyTag,
} from '../src/key-formats.js';
import { decodeSigningCertFile, encodeSigningCertFile } from '../src/signing-cert.js';

/** Files written by tor 0.4.9.11 (see fixtures/tor-0.4.9.11/README.md). */
const fixtureDir = new URL('../../test/fixtures/tor-0.4.9.11/', import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, fixtureDir)));
const fixtureText = (name: string) => readFileSync(new URL(name, fixtureDir), 'latin1');
/** When tor made the fixture keys: its certificate expires 30 days later, rounded up to the hour. */
const FIXTURE_CREATED_MS = Date.UTC(2026, 10, 21, 14, 9, 27);

function unwrapOk<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; detail: string } }): T {
  if (!r.ok) assert.fail(`${r.error.code}: ${r.error.detail}`);
  return r.value;
}

describe('key files written by tor 0.4.9.11', () => {
  it('secret_id_key decodes and re-encodes byte for byte (PEM + trailing NUL)', () => {
    const bytes = fixture('keys/secret_id_key');
    assert.equal(bytes[bytes.length - 1], 0, 'tor ends the PEM with a NUL');
    const key = unwrapOk(decodeRsaPrivateKeyFile(bytes));
    assert.equal(key.modulusBits, 1024);
    assert.deepEqual(encodeRsaPrivateKeyFile(key), bytes);
    const [nickname, fp] = fixtureText('fingerprint').trim().split(' ');
    assert.equal(nickname, 'probe');
    assert.equal(Buffer.from(key.publicKey.fingerprint()).toString('hex').toUpperCase(), fp);
  });

  it('secret_onion_key (TAP) has the same format', () => {
    const bytes = fixture('keys/secret_onion_key');
    assert.deepEqual(encodeRsaPrivateKeyFile(unwrapOk(decodeRsaPrivateKeyFile(bytes))), bytes);
  });

  it('the Ed25519 master key pair decodes, matches fingerprint-ed25519 and re-encodes', () => {
    const secretBytes = fixture('keys/ed25519_master_id_secret_key');
    const publicBytes = fixture('keys/ed25519_master_id_public_key');
    const secret = unwrapOk(decodeEd25519SecretKeyFile(secretBytes, KeyTag.ED25519_MASTER));
    const pub = unwrapOk(decodeEd25519PublicKeyFile(publicBytes, KeyTag.ED25519_MASTER));
    assert.deepEqual(secret.publicKey, pub);
    assert.equal(toBase64Unpadded(pub), fixtureText('fingerprint-ed25519').trim().split(' ')[1]);
    assert.deepEqual(encodeEd25519SecretKeyFile(secret, KeyTag.ED25519_MASTER), secretBytes);
    assert.deepEqual(encodeEd25519PublicKeyFile(pub, KeyTag.ED25519_MASTER), publicBytes);
    // The expanded secret signs verifiably.
    const msg = new Uint8Array([1, 2, 3]);
    assert.ok(ed25519Verify(pub, msg, secret.sign(msg)));
  });

  it('the signing key and its type-4 certificate fit together', () => {
    const master = unwrapOk(
      decodeEd25519PublicKeyFile(fixture('keys/ed25519_master_id_public_key'), 'type0'),
    );
    const signing = unwrapOk(decodeEd25519SecretKeyFile(fixture('keys/ed25519_signing_secret_key'), 'type4'));
    const certBytes = fixture('keys/ed25519_signing_cert');
    const cert = unwrapOk(decodeSigningCertFile(certBytes));
    assert.deepEqual(cert.certifiedKey, signing.publicKey);
    assert.deepEqual(cert.signedWithKey, master);
    assert.equal(cert.expiresMs, Math.ceil((FIXTURE_CREATED_MS + 30 * 86_400_000) / 3_600_000) * 3_600_000);
    assert.deepEqual(encodeSigningCertFile(cert), certBytes);
    // The master key file tag is type0; the signing key's is type4: swapping them is refused.
    const wrongTag = decodeEd25519SecretKeyFile(fixture('keys/ed25519_signing_secret_key'), 'type0');
    assert.ok(!wrongTag.ok && wrongTag.error.code === KeyErrorCode.BAD_HEADER);
  });

  it('secret_onion_key_ntor holds the secret then the matching public key', () => {
    const bytes = fixture('keys/secret_onion_key_ntor');
    const kp = unwrapOk(decodeCurve25519KeypairFile(bytes, KeyTag.NTOR_ONION));
    assert.deepEqual(x25519PublicFromSecret(kp.secretKey), kp.publicKey);
    assert.deepEqual(clampCurve25519Secret(kp.secretKey), kp.secretKey, 'tor stores clamped secrets');
    assert.deepEqual(encodeCurve25519KeypairFile(kp, KeyTag.NTOR_ONION), bytes);
  });
});

describe('RSA PEM files', () => {
  const key = RsaPrivateKey.generate(1024);
  const file = encodeRsaPrivateKeyFile(key);
  const text = Buffer.from(file).toString('latin1');

  it('are PKCS#1 PEM in 64-column lines, then a NUL, like OpenSSL output plus tor’s terminator', () => {
    assert.equal(text, `${key.toPem()}\0`);
    for (const line of text.split('\n').slice(1, -2)) assert.ok(line.length <= 64);
  });

  it('also load without the NUL and with surrounding whitespace', () => {
    const plain = new Uint8Array(Buffer.from(`\n  ${key.toPem()}\n\n`));
    assert.ok(bytesEqual(unwrapOk(decodeRsaPrivateKeyFile(plain)).toDer(), key.toDer()));
  });

  it('name truncation, a wrong block and a wrong key size', () => {
    const code = (bytes: Uint8Array) => {
      const r = decodeRsaPrivateKeyFile(bytes);
      return r.ok ? 'ok' : r.error.code;
    };
    assert.equal(code(new Uint8Array(0)), KeyErrorCode.TRUNCATED);
    assert.equal(code(file.subarray(0, 300)), KeyErrorCode.TRUNCATED);
    assert.equal(
      code(new Uint8Array(Buffer.from(text.replace(/RSA PRIVATE KEY/g, 'PRIVATE KEY')))),
      KeyErrorCode.BAD_HEADER,
    );
    assert.equal(code(new Uint8Array(Buffer.from('hello\n'))), KeyErrorCode.BAD_HEADER);
    const garbled = text.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
    assert.equal(code(new Uint8Array(Buffer.from(garbled))), KeyErrorCode.MALFORMED);
    const big = RsaPrivateKey.generate(2048);
    const r = decodeRsaPrivateKeyFile(encodeRsaPrivateKeyFile(big));
    assert.ok(!r.ok);
    assert.equal(r.error.code, KeyErrorCode.MALFORMED);
    assert.match(r.error.detail, /2048 bits/);
  });
});

describe('Ed25519 and Curve25519 files', () => {
  it('round-trip fresh keys', () => {
    const k = Ed25519SigningKey.generate();
    const back = unwrapOk(decodeEd25519SecretKeyFile(encodeEd25519SecretKeyFile(k, 'type4'), 'type4'));
    assert.deepEqual(back.expandedSecret, k.expandedSecret);
    assert.deepEqual(back.publicKey, k.publicKey);
  });

  it('refuse a public key that is not a curve point', () => {
    // y = 2 is not the y-coordinate of any Ed25519 point.
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    const r = decodeEd25519PublicKeyFile(encodeEd25519PublicKeyFile(notAPoint, 'type0'), 'type0');
    assert.ok(!r.ok && r.error.code === KeyErrorCode.MALFORMED);
  });

  it('refuse an ntor file whose halves disagree', () => {
    const bytes = fixture('keys/secret_onion_key_ntor');
    const bad = Uint8Array.from(bytes);
    bad[bad.length - 1]! ^= 1;
    const r = decodeCurve25519KeypairFile(bad, 'onion');
    assert.ok(!r.ok && r.error.code === KeyErrorCode.MISMATCH);
  });
});
