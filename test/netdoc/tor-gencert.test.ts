/**
 * Authority key certificates made on the spot by C tor's tor-gencert
 * (Debian tor 0.4.9.x) parse and verify with @relayd/netdoc, and a consensus
 * signed with the fresh signing key is accepted — while a certificate with
 * one byte changed is refused. Skipped when tor-gencert is not installed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { toHex, unwrap, utf8 } from '@relayd/common';
import { RsaPrivateKey, sha256 } from '@relayd/crypto';
import {
  parseAuthorityCertificates,
  parseConsensus,
  verifyAuthorityCertificate,
  verifyConsensusSignatures,
} from '@relayd/netdoc';

const GENCERT = '/usr/bin/tor-gencert';

describe('tor-gencert certificates', { skip: !existsSync(GENCERT) && 'tor-gencert is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'relayd-netdoc-gencert-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const generate = (name: string) => {
    const sub = join(dir, name);
    execFileSync('mkdir', ['-p', sub]);
    execFileSync(
      GENCERT,
      ['--create-identity-key', '-m', '3', '-a', '127.0.0.1:7100', '--passphrase-fd', '0'],
      {
        cwd: sub,
        input: '\n',
        timeout: 120_000,
        stdio: ['pipe', 'ignore', 'ignore'],
      },
    );
    return {
      cert: readFileSync(join(sub, 'authority_certificate')),
      signingKey: RsaPrivateKey.fromPem(readFileSync(join(sub, 'authority_signing_key'), 'utf8'))!,
    };
  };

  const made = [generate('a'), generate('b')];
  const now = Math.floor(Date.now() / 1000);

  it('parses and verifies them, concatenated as /tor/keys/all serves them', () => {
    const all = Buffer.concat(made.map((m) => m.cert));
    const certs = unwrap(parseAuthorityCertificates(new Uint8Array(all)));
    assert.equal(certs.length, 2);
    for (const c of certs) {
      const v = verifyAuthorityCertificate(c, { now });
      assert.ok(v.ok, v.ok ? '' : v.error.message);
      assert.ok(c.expires - c.published >= 89 * 86400);
    }
  });

  it('refuses a certificate with one byte changed', () => {
    const bytes = new Uint8Array(made[0]!.cert);
    const text = Buffer.from(bytes).toString('latin1');
    bytes[text.indexOf('dir-address 127.0.0.1:7100') + 'dir-address 127.0.0.'.length] = '2'.charCodeAt(0);
    const cert = unwrap(parseAuthorityCertificates(bytes))[0]!;
    const v = verifyAuthorityCertificate(cert, { now });
    assert.ok(!v.ok);
    assert.equal(v.error.failure, 'bad-signature');
  });

  it('accepts a consensus signed with the fresh signing keys', () => {
    const certs = made.map((m) =>
      unwrap(
        verifyAuthorityCertificate(unwrap(parseAuthorityCertificates(new Uint8Array(m.cert)))[0]!, { now }),
      ),
    );
    const hex = (b: Uint8Array) => toHex(b).toUpperCase();
    let text =
      'network-status-version 3 microdesc\nvote-status consensus\nconsensus-method 35\n' +
      'valid-after 2030-01-01 00:00:00\nfresh-until 2030-01-01 01:00:00\nvalid-until 2030-01-01 03:00:00\n' +
      'voting-delay 300 300\nknown-flags Running Valid\n';
    for (const c of certs)
      text += `dir-source a ${hex(c.fingerprint)} h 127.0.0.1 80 443\ncontact x\nvote-digest ${'0'.repeat(40)}\n`;
    text += 'directory-footer\n';
    const digest = sha256(utf8(`${text}directory-signature `));
    made.forEach((m, i) => {
      const sig = Buffer.from(m.signingKey.signDigest(digest)).toString('base64');
      text += `directory-signature sha256 ${hex(certs[i]!.fingerprint)} ${hex(certs[i]!.signingKeyDigest)}\n`;
      text += `-----BEGIN SIGNATURE-----\n${sig.replace(/(.{64})/g, '$1\n')}\n-----END SIGNATURE-----\n`;
    });
    const consensus = unwrap(parseConsensus(utf8(text.replace(/\n\n/g, '\n'))));
    const tally = verifyConsensusSignatures(consensus, {
      authorities: certs.map((c) => c.fingerprint),
      certificates: certs,
      now,
    });
    assert.ok(tally.ok, tally.ok ? '' : tally.error.message);
    assert.equal(tally.value.good.length, 2);
  });
});
