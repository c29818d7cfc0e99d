import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, toHex, unwrap, utf8 } from '@relayd/common';
import fc from 'fast-check';
import {
  parseAuthorityCertificate,
  parseAuthorityCertificates,
  verifyAuthorityCertificate,
} from '../src/authority-cert.js';
import { NetDocError } from '../src/errors.js';
import { latin1 } from '../src/tokenizer.js';
import { parseIsoTime } from '../src/values.js';
import { fixture, fixtureText, flipByte, GENCERT_NOW } from './helpers.js';

describe('authority certificates', () => {
  it('parses and verifies the three C tor unit-test certificates (src/test/test_data.c)', () => {
    const expected: Record<number, [string, string]> = {
      1: ['ad011e25302925a9d39a80e0e32576442e956467', '2013-11-14 14:12:05'],
      2: ['628c2086ec29c9d26e638c5a8b2065bfbd35829b', '2013-11-14 14:12:18'],
      3: ['d867acf56a9d229b35c25f0090bc9867e906be69', '2008-12-12 18:07:24'],
    };
    for (const i of [1, 2, 3]) {
      const cert = unwrap(parseAuthorityCertificate(fixture(`tor-test-authority-cert-${i}.txt`)));
      assert.equal(toHex(cert.fingerprint), expected[i]![0]);
      assert.equal(cert.published, parseIsoTime(expected[i]![1]));
      assert.equal(cert.expires - cert.published, 365 * 86400);
      assert.equal(cert.identityKey.modulusBits, 3072);
      assert.deepEqual(cert.raw, fixture(`tor-test-authority-cert-${i}.txt`));
      assert.ok(verifyAuthorityCertificate(cert, { now: cert.published + 1 }).ok);
    }
    // test_data.c: AUTHORITY_SIGNKEY_A_DIGEST is the signing key digest of certificate 3.
    const c3 = unwrap(parseAuthorityCertificate(fixture('tor-test-authority-cert-3.txt')));
    assert.equal(toHex(c3.signingKeyDigest).toUpperCase(), 'CBF56A83368A5150F1A9AAADAFB4D77F8C4170E2');
  });

  it('parses and verifies certificates written by tor-gencert 0.4.9.11', () => {
    for (const i of [1, 2, 3, 4, 5]) {
      const text = fixtureText(`gencert-authority-cert-${i}.txt`);
      const cert = unwrap(parseAuthorityCertificate(utf8(text)));
      assert.equal(toHex(cert.fingerprint).toUpperCase(), /fingerprint (\w+)/.exec(text)![1]);
      assert.deepEqual(cert.dirAddress, { family: 4, address: `127.0.0.${i}`, port: Number(`70${i}${i}`) });
      assert.equal(cert.signingKey.modulusBits, 2048);
      const v = verifyAuthorityCertificate(cert, { now: GENCERT_NOW });
      assert.ok(v.ok, v.ok ? '' : v.error.message);
    }
  });

  it('parses a /tor/keys/all answer from a real authority as a list', () => {
    const certs = unwrap(parseAuthorityCertificates(fixture('testnet-authority-certs.txt')));
    assert.equal(certs.length, 3);
    const joined = concatBytes(...certs.map((c) => c.raw));
    assert.deepEqual(joined, fixture('testnet-authority-certs.txt'));
    for (const c of certs) assert.ok(verifyAuthorityCertificate(c, { now: c.published + 60 }).ok);
  });

  it('refuses a certificate with one byte changed in the signed portion', () => {
    const bytes = fixture('gencert-authority-cert-1.txt');
    const at = latin1(bytes).indexOf('dir-key-published 2026') + 'dir-key-published 20'.length;
    const tampered = flipByte(bytes, at);
    const cert = unwrap(parseAuthorityCertificate(tampered));
    const v = verifyAuthorityCertificate(cert, { now: GENCERT_NOW });
    assert.ok(!v.ok);
    assert.equal(v.error.failure, 'bad-signature');
    assert.match(v.error.message, /dir-key-certification/);
    assert.equal(v.error.kind, 'crypto-failure');
  });

  it('refuses a certificate whose cross-certification is not by its signing key', () => {
    const a = fixtureText('gencert-authority-cert-1.txt');
    const b = fixtureText('gencert-authority-cert-2.txt');
    const crossOf = (t: string) =>
      /dir-key-crosscert\n(-----BEGIN ID SIGNATURE-----\n[\s\S]*?-----END ID SIGNATURE-----\n)/.exec(t)![1]!;
    const swapped = a.replace(crossOf(a), crossOf(b));
    const cert = unwrap(parseAuthorityCertificate(utf8(swapped)));
    const v = verifyAuthorityCertificate(cert, { now: GENCERT_NOW });
    assert.ok(!v.ok);
    // The certification covers the cross-certificate, so the first check already fails.
    assert.equal(v.error.failure, 'bad-signature');
  });

  it('refuses expired and future certificates', () => {
    const cert = unwrap(parseAuthorityCertificate(fixture('gencert-authority-cert-3.txt')));
    const expired = verifyAuthorityCertificate(cert, { now: cert.expires + 1 });
    assert.ok(!expired.ok);
    assert.equal(expired.error.failure, 'expired');
    assert.ok(verifyAuthorityCertificate(cert, { now: cert.expires }).ok);
    const early = verifyAuthorityCertificate(cert, { now: cert.published - 2 * 86400 });
    assert.ok(!early.ok);
    assert.equal(early.error.failure, 'not-yet-valid');
    assert.ok(verifyAuthorityCertificate(cert, { now: cert.published - 3600 }).ok);
  });

  it('refuses malformed certificates with the line at fault', () => {
    const text = fixtureText('gencert-authority-cert-1.txt');
    const cases: [string, RegExp][] = [
      [text.replace('dir-key-certificate-version 3', 'dir-key-certificate-version 4'), /version "4"/],
      [text.replace(/fingerprint (\w)/, 'fingerprint 0'), /fingerprint does not match/],
      [text.replace(/dir-key-published [^\n]+/, 'dir-key-published 2026-13-01 00:00:00'), /bad time/],
      [text.replace('dir-signing-key\n', 'dir-signing-key x\n'), /takes no arguments/],
      [text.replace(/dir-key-expires[^\n]+\n/, ''), /missing "dir-key-expires"/],
      [`${text}dir-key-expires 2030-01-01 00:00:00\n`, /last/],
      [
        text.replace('dir-key-crosscert\n-----BEGIN ID SIGNATURE', 'dir-key-crosscert\n-----BEGIN FOO'),
        /FOO/,
      ],
    ];
    for (const [bad, pattern] of cases) {
      const r = parseAuthorityCertificate(utf8(bad));
      assert.ok(!r.ok, `expected failure for ${pattern}`);
      assert.match(r.error.message, pattern);
      assert.ok(r.error instanceof NetDocError);
    }
    const fp = parseAuthorityCertificate(utf8(text.replace(/fingerprint (\w)/, 'fingerprint 0')));
    assert.ok(!fp.ok);
    assert.equal(fp.error.line, 3);
  });

  it('never throws on mutated certificates', () => {
    const bytes = fixture('gencert-authority-cert-2.txt');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(bytes.length),
        (edits, cut) => {
          const m = bytes.slice(0, Math.max(cut, 1));
          for (const [i, v] of edits) if (i < m.length) m[i] = v;
          const r = parseAuthorityCertificates(m);
          if (r.ok) for (const c of r.value) verifyAuthorityCertificate(c, { now: GENCERT_NOW });
          else assert.ok(r.error instanceof NetDocError);
        },
      ),
      { numRuns: 300 },
    );
  });
});
