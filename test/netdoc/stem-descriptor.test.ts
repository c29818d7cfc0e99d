/**
 * The bridge descriptor and extra-info that @relayd/netdoc builds, read by an
 * independent implementation: python3-stem with validate=True, which checks
 * the RSA "router-signature" against the "signing-key" and (through the
 * identity-ed25519 certificate) the "router-sig-ed25519". Stem must also
 * compute the same descriptor digest and the same extra-info digests that
 * the descriptor names. A tampered descriptor must be refused.
 *
 * Runs /usr/bin/python3 (Debian's, where stem is installed); skipped when
 * stem is not importable.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createEd25519Cert, Ed25519CertType, expirationHoursAfter } from '@relayd/certs';
import { toBase64Unpadded, toHex, unwrap, utf8 } from '@relayd/common';
import { Ed25519SigningKey, generateX25519, RsaPrivateKey } from '@relayd/crypto';
import { buildBridgeDocuments, parseExtraInfo, parseServerDescriptor } from '@relayd/netdoc';

const PYTHON = '/usr/bin/python3';

const STEM_SCRIPT = `
import sys, json
from stem.descriptor.server_descriptor import RelayDescriptor
from stem.descriptor.extrainfo_descriptor import RelayExtraInfoDescriptor
out = {}
try:
    d = RelayDescriptor(open(sys.argv[1], 'rb').read(), validate=True)
    d.certificate.validate(d)
    out['descriptor'] = {
        'nickname': d.nickname, 'fingerprint': d.fingerprint, 'digest': d.digest(),
        'ed25519_master_key': d.ed25519_master_key, 'extra_info_digest': d.extra_info_digest,
        'extra_info_sha256_digest': d.extra_info_sha256_digest,
        'bridge_distribution': d.bridge_distribution, 'or_port': d.or_port, 'address': d.address,
        'contact': d.contact.decode('utf-8') if d.contact else None,
        'link': sorted(d.protocols.get('Link', [])),
    }
except Exception as e:
    out['descriptor_error'] = str(e)
try:
    e = RelayExtraInfoDescriptor(open(sys.argv[2], 'rb').read(), validate=True)
    out['extra_info'] = {
        'nickname': e.nickname, 'fingerprint': e.fingerprint, 'digest': e.digest(),
        'sha256': e.digest('SHA256', 'BASE64'),
        'transports': {k: [v[0], v[1], v[2]] for k, v in e.transport.items()},
    }
except Exception as ex:
    out['extra_info_error'] = str(ex)
print(json.dumps(out))
`;

function stemAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import stem.descriptor.server_descriptor, cryptography'], {
    timeout: 30_000,
  });
  return r.status === 0;
}

interface StemResult {
  descriptor?: {
    nickname: string;
    fingerprint: string;
    digest: string;
    ed25519_master_key: string;
    extra_info_digest: string;
    extra_info_sha256_digest: string;
    bridge_distribution: string;
    or_port: number;
    address: string;
    contact: string | null;
    link: number[];
  };
  descriptor_error?: string;
  extra_info?: {
    nickname: string;
    fingerprint: string;
    digest: string;
    sha256: string;
    transports: Record<string, [string, number, string[]]>;
  };
  extra_info_error?: string;
}

describe('bridge descriptors read by stem', {
  skip: !stemAvailable() && 'python3-stem is not installed',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'relayd-netdoc-stem-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'check.py');
  writeFileSync(script, STEM_SCRIPT);

  const runStem = (descriptor: string, extraInfo: string): StemResult => {
    writeFileSync(join(dir, 'desc'), descriptor);
    writeFileSync(join(dir, 'ei'), extraInfo);
    const out = execFileSync(PYTHON, [script, join(dir, 'desc'), join(dir, 'ei')], { timeout: 60_000 });
    return JSON.parse(out.toString()) as StemResult;
  };

  const published = Math.floor(Date.now() / 1000);
  const master = Ed25519SigningKey.generate();
  const signingKey = Ed25519SigningKey.generate();
  const keys = {
    identityKey: RsaPrivateKey.generate(1024),
    signingKey,
    signingCert: createEd25519Cert({
      certType: Ed25519CertType.IDENTITY_V_SIGNING,
      certifiedKey: signingKey.publicKey,
      expirationHours: expirationHoursAfter(published * 1000, 30 * 86400),
      signer: master,
      includeSigningKey: true,
    }),
    ntorOnionSecret: generateX25519().secretKey,
    tapOnionKey: RsaPrivateKey.generate(1024),
  };
  const docs = buildBridgeDocuments(
    {
      nickname: 'relaydStem',
      address: '203.0.113.9',
      orPort: 9443,
      platform: 'relayd 0.1.0 on Linux',
      protocols: 'Cons=1-2 Desc=1-2 DirCache=2 FlowCtrl=1-2 Link=4-5 LinkAuth=3 Microdesc=1-2 Relay=2-4',
      published,
      uptime: 42,
      bandwidth: { average: 1048576, burst: 2097152, observed: 4096 },
      contact: 'operator <ops at example dot org>',
      bridgeDistributionRequest: 'Moat',
      keys,
    },
    {
      transports: [
        {
          name: 'obfs4',
          address: { family: 4, address: '203.0.113.9', port: 8443 },
          arguments: [
            ['cert', 'ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa+7kTOa9/m+tGWT1SmSYpQ9uTBGa6Hw'],
            ['iat-mode', '0'],
          ],
        },
      ],
      transportInfo: { version: '0.0.14' },
    },
  );

  it('validates both documents and agrees on every digest', () => {
    const desc = unwrap(parseServerDescriptor(utf8(docs.serverDescriptor)));
    const ei = unwrap(parseExtraInfo(utf8(docs.extraInfo)));
    const r = runStem(docs.serverDescriptor, docs.extraInfo);
    assert.equal(r.descriptor_error, undefined);
    assert.equal(r.extra_info_error, undefined);
    const d = r.descriptor!;
    assert.equal(d.nickname, 'relaydStem');
    assert.equal(d.address, '203.0.113.9');
    assert.equal(d.or_port, 9443);
    assert.equal(d.fingerprint, toHex(desc.fingerprint).toUpperCase());
    assert.equal(d.digest, toHex(desc.digest).toUpperCase());
    assert.equal(d.ed25519_master_key, toBase64Unpadded(master.publicKey));
    assert.equal(d.bridge_distribution, 'moat');
    assert.equal(d.contact, 'operator <ops at example dot org>');
    assert.deepEqual(d.link, [4, 5]);
    const e = r.extra_info!;
    assert.equal(e.fingerprint, d.fingerprint);
    assert.equal(e.digest, d.extra_info_digest);
    assert.equal(e.digest, toHex(ei.digest).toUpperCase());
    assert.equal(e.sha256, d.extra_info_sha256_digest);
    assert.equal(e.sha256, toBase64Unpadded(ei.sha256Digest));
    assert.deepEqual(e.transports['obfs4']?.slice(0, 2), ['203.0.113.9', 8443]);
  });

  it('is refused by stem when one signed byte changes', () => {
    const tampered = docs.serverDescriptor.replace('uptime 42', 'uptime 43');
    const r = runStem(tampered, docs.extraInfo);
    assert.match(r.descriptor_error ?? '', /digest does not match|signature/i);
  });
});
