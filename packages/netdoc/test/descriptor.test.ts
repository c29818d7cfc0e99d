import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEd25519Cert, Ed25519CertType, expirationHoursAfter } from '@relayd/certs';
import { InternalError, toBase64Unpadded, toHex, unwrap, utf8 } from '@relayd/common';
import { Ed25519SigningKey, generateX25519, RsaPrivateKey, RsaPublicKey } from '@relayd/crypto';
import fc from 'fast-check';
import {
  type BridgeDescriptorKeys,
  buildBridgeDocuments,
  buildBridgeExtraInfo,
  buildBridgeServerDescriptor,
  extraInfoDigests,
} from '../src/descriptor-builder.js';
import { NetDocError } from '../src/errors.js';
import { parseExtraInfo, verifyExtraInfo } from '../src/extra-info.js';
import {
  parseServerDescriptor,
  parseServerDescriptors,
  verifyServerDescriptor,
} from '../src/server-descriptor.js';
import { latin1 } from '../src/tokenizer.js';
import { parseIsoTime } from '../src/values.js';
import { fixture, fixtureText, flipByte } from './helpers.js';

const REAL_PROTO =
  'Conflux=1 Cons=1-2 Desc=1-4 DirCache=2 FlowCtrl=1-2 HSDir=2 HSIntro=4-5 HSRend=1-2 Link=3-5 LinkAuth=3 Microdesc=1-3 Padding=2 Relay=2-6';

/** The keys of the tor 0.4.9.11 bridge that published the real-bridge-* fixtures. */
function realBridgeKeys(): BridgeDescriptorKeys {
  const k = JSON.parse(fixtureText('real-bridge-keys.json')) as Record<string, string>;
  const bytes = (name: string) => new Uint8Array(Buffer.from(k[name]!, 'hex'));
  return {
    identityKey: RsaPrivateKey.fromPem(k['secret_id_key_pem']!)!,
    signingKey: Ed25519SigningKey.fromExpanded(bytes('ed25519_signing_secret_key_expanded_hex')),
    signingCert: bytes('ed25519_signing_cert_hex'),
    ntorOnionSecret: bytes('ntor_secret_hex'),
    tapOnionKey: RsaPrivateKey.fromPem(k['secret_onion_key_pem']!)!,
  };
}

/** Fresh keys, as a new bridge would make them. */
export function freshBridgeKeys(nowMs: number, withTap = true): BridgeDescriptorKeys {
  const master = Ed25519SigningKey.generate();
  const signingKey = Ed25519SigningKey.generate();
  const signingCert = createEd25519Cert({
    certType: Ed25519CertType.IDENTITY_V_SIGNING,
    certifiedKey: signingKey.publicKey,
    expirationHours: expirationHoursAfter(nowMs, 30 * 86400),
    signer: master,
    includeSigningKey: true,
  });
  return {
    identityKey: RsaPrivateKey.generate(1024),
    signingKey,
    signingCert,
    ntorOnionSecret: generateX25519().secretKey,
    ...(withTap ? { tapOnionKey: RsaPrivateKey.generate(1024) } : {}),
  };
}

describe('server descriptors and extra-info from a real tor 0.4.9.11 bridge', () => {
  const descBytes = fixture('real-bridge-server-descriptor.txt');
  const eiBytes = fixture('real-bridge-extra-info.txt');

  it('parses and verifies the descriptor', () => {
    const d = unwrap(parseServerDescriptor(descBytes));
    assert.equal(d.nickname, 'relaydTestBridge');
    assert.equal(toHex(d.fingerprint).toUpperCase(), 'ECB470AEA595D0C34E86DA1E2B89010A62C7D918');
    assert.equal(toBase64Unpadded(d.ed25519Identity), 'FWcPk7mflo9C1bCVpakg+yd8g+IBvOcNMgGekuoYpNo');
    assert.equal(d.platform, 'Tor 0.4.9.11 on Linux');
    assert.equal(d.published, parseIsoTime('2026-11-21 14:09:51'));
    assert.deepEqual(d.bandwidth, { average: 1073741824, burst: 1073741824, observed: 0 });
    assert.equal(d.bridgeDistributionRequest, 'any');
    assert.equal(d.contact, 'test <test at example dot org>');
    assert.ok(d.hiddenServiceDir && d.tunnelledDirServer && d.tapOnionKey);
    assert.deepEqual(d.exitPolicy, [{ accept: false, pattern: '*:*' }]);
    // tor ends its descriptor with an extra newline, which is not part of the document.
    assert.equal(d.raw.length, descBytes.length - 1);
    const v = verifyServerDescriptor(d, { now: d.published + 60 });
    assert.ok(v.ok, v.ok ? '' : v.error.message);
  });

  it('parses and verifies the extra-info, whose digests the descriptor names', () => {
    const d = unwrap(parseServerDescriptor(descBytes));
    const ei = unwrap(parseExtraInfo(eiBytes));
    assert.equal(ei.transports.length, 1);
    const t = ei.transports[0]!;
    assert.equal(t.name, 'obfs4');
    assert.deepEqual(t.address, { family: 4, address: '127.0.0.1', port: 47012 });
    assert.equal(t.arguments?.[1]?.[0], 'iat-mode');
    assert.deepEqual(ei.digest, d.extraInfoDigest?.sha1);
    assert.deepEqual(ei.sha256Digest, d.extraInfoDigest?.sha256);
    assert.deepEqual(extraInfoDigests(latin1(eiBytes)), d.extraInfoDigest);
    const v = verifyExtraInfo(ei, { identityKey: d.identityKey, ed25519Identity: d.ed25519Identity });
    assert.ok(v.ok, v.ok ? '' : v.error.message);
  });

  it('rebuilds both documents byte for byte from the bridge keys', () => {
    const real = unwrap(parseExtraInfo(eiBytes));
    const published = parseIsoTime('2026-11-21 14:09:51')!;
    const docs = buildBridgeDocuments(
      {
        nickname: 'relaydTestBridge',
        address: '127.0.0.1',
        orPort: 47011,
        platform: 'Tor 0.4.9.11 on Linux',
        protocols: REAL_PROTO,
        published,
        uptime: 0,
        bandwidth: { average: 1073741824, burst: 1073741824, observed: 0 },
        contact: 'test <test at example dot org>',
        keys: realBridgeKeys(),
      },
      {
        transports: [
          {
            name: 'obfs4',
            address: { family: 4, address: '127.0.0.1', port: 47012 },
            arguments: real.transports[0]!.arguments!,
          },
        ],
        transportInfo: {},
        geoipDbDigest: real.geoipDbDigest!,
        geoip6DbDigest: real.geoip6DbDigest!,
      },
    );
    assert.equal(docs.extraInfo, latin1(eiBytes));
    assert.equal(docs.serverDescriptor, latin1(descBytes).replace(/\n\n$/, '\n'));
  });

  it('refuses the descriptor with one byte changed, in each signed region', () => {
    const text = latin1(descBytes);
    const d0 = unwrap(parseServerDescriptor(descBytes));
    // In the body: both signatures cover it; the Ed25519 one is checked first.
    const body = unwrap(parseServerDescriptor(flipByte(descBytes, text.indexOf('uptime 0') + 7)));
    const v1 = verifyServerDescriptor(body, { now: d0.published });
    assert.ok(!v1.ok);
    assert.match(v1.error.message, /router-sig-ed25519/);
    // In the Ed25519 signature itself: only the RSA signature covers it.
    const sigAt = text.indexOf('router-sig-ed25519 ') + 'router-sig-ed25519 '.length + 10;
    const edOnly = parseServerDescriptor(flipByte(descBytes, sigAt));
    if (edOnly.ok) assert.ok(!verifyServerDescriptor(edOnly.value, { now: d0.published }).ok);
    // An expired identity certificate.
    const late = verifyServerDescriptor(d0, { now: d0.identityCert.expirationHours * 3600 + 1 });
    assert.ok(!late.ok);
    assert.equal(late.error.failure, 'expired');
  });

  it('refuses an extra-info checked against another identity or with a changed byte', () => {
    const ei = unwrap(parseExtraInfo(eiBytes));
    const other = RsaPrivateKey.generate(1024).publicKey;
    const wrong = verifyExtraInfo(ei, { identityKey: other });
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.failure, 'key-mismatch');
    const d = unwrap(parseServerDescriptor(descBytes));
    const at = latin1(eiBytes).indexOf('iat-mode=0') + 9;
    const changed = unwrap(parseExtraInfo(flipByte(eiBytes, at)));
    assert.ok(!verifyExtraInfo(changed, { identityKey: d.identityKey }).ok);
  });

  it('refuses either document when identity-ed25519 is not second or router-sig-ed25519 not next to last', () => {
    const documents = [
      { bytes: descBytes, parse: parseServerDescriptor, first: 'router' },
      { bytes: eiBytes, parse: parseExtraInfo, first: 'extra-info' },
    ];
    for (const { bytes, parse, first } of documents) {
      const text = latin1(bytes);
      assert.ok(parse(bytes).ok, first);
      // An item C tor ignores, in the one place the frame leaves no room for it.
      const afterFirst = text.replace('\n', '\nx-unknown 1\n');
      const beforeRsaSignature = text.replace('\nrouter-signature\n', '\nx-unknown 1\nrouter-signature\n');
      const misplacedCert = parse(utf8(afterFirst));
      assert.ok(!misplacedCert.ok);
      assert.equal(misplacedCert.error.detail, `"identity-ed25519" must follow "${first}"`);
      const misplacedSig = parse(utf8(beforeRsaSignature));
      assert.ok(!misplacedSig.ok);
      assert.equal(misplacedSig.error.detail, '"router-sig-ed25519" must be next to last');
    }
  });
});

describe('descriptors written by other tor relays', () => {
  it('verifies the three relay descriptors of a real 0.4.9.11 authority network (/tor/server/all)', () => {
    const all = unwrap(parseServerDescriptors(fixture('testnet-server-descriptors.txt')));
    assert.deepEqual(all.map((d) => d.nickname).sort(), ['auth1', 'auth2', 'auth3']);
    for (const d of all) {
      assert.equal(d.bridgeDistributionRequest, undefined);
      assert.ok(d.cachesExtraInfo);
      const v = verifyServerDescriptor(d, { now: d.published + 60 });
      assert.ok(v.ok, v.ok ? '' : v.error.message);
    }
  });

  it('verifies the chutney descriptor of C tor test_microdesc.c (IPv6 or-address, accept *:*)', () => {
    const d = unwrap(parseServerDescriptor(fixture('tor-test-chutney-router-descriptor.txt')));
    assert.deepEqual(d.orAddresses, [{ family: 6, address: '::', port: 5005 }]);
    assert.deepEqual(d.exitPolicy, [{ accept: true, pattern: '*:*' }]);
    assert.ok(verifyServerDescriptor(d, { now: d.published }).ok);
  });

  it('accepts exactly the extra-info documents C tor accepts (src/test/example_extrainfo.inc)', () => {
    const { documents } = JSON.parse(fixtureText('tor-example-extrainfo.json')) as {
      documents: Record<string, string>;
    };
    const names = Object.keys(documents).filter((n) => !n.endsWith('_FP') && !n.endsWith('_KEY'));
    assert.equal(names.length, 14);
    for (const name of names) {
      const pem = documents[`${name}_KEY`]!;
      const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
      const identityKey = RsaPublicKey.fromDer(new Uint8Array(der))!;
      const parsed = parseExtraInfo(utf8(documents[name]!));
      const accepted = parsed.ok && verifyExtraInfo(parsed.value, { identityKey }).ok;
      assert.equal(accepted, name === 'EX_EI_MINIMAL' || name === 'EX_EI_MAXIMAL', name);
      if (parsed.ok) assert.equal(toHex(parsed.value.fingerprint).toUpperCase(), documents[`${name}_FP`]);
    }
  });
});

describe('bridge descriptor builder', () => {
  const published = parseIsoTime('2026-11-21 15:00:00')!;
  const base = {
    nickname: 'relaydBridge',
    address: '192.0.2.7',
    orPort: 443,
    platform: 'relayd 0.1.0 on Linux',
    protocols: 'Cons=1-2 Desc=1-2 DirCache=2 FlowCtrl=1-2 Link=4-5 LinkAuth=3 Microdesc=1-2 Relay=2-4',
    published,
    uptime: 3600,
    bandwidth: { average: 10485760, burst: 20971520, observed: 123456 },
    contact: 'ops@example.org',
  };

  it('signs documents its own parser verifies, with the extra-info digests tied together', () => {
    const keys = freshBridgeKeys(published * 1000);
    const docs = buildBridgeDocuments(
      {
        ...base,
        keys,
        ipv6OrPort: { family: 6, address: '2001:db8::7', port: 443 },
        family: [`$${'A'.repeat(40)}`],
      },
      {
        transports: [
          {
            name: 'obfs4',
            address: { family: 4, address: '192.0.2.7', port: 8443 },
            arguments: [
              ['cert', 'abc+/x'],
              ['iat-mode', '0'],
            ],
          },
          {
            name: 'webtunnel',
            address: { family: 6, address: '2001:db8::7', port: 8080 },
            arguments: [['url', 'https://example.org/a,b=c']],
          },
        ],
      },
    );
    const d = unwrap(parseServerDescriptor(utf8(docs.serverDescriptor)));
    const ei = unwrap(parseExtraInfo(utf8(docs.extraInfo)));
    assert.ok(verifyServerDescriptor(d, { now: published }).ok);
    assert.ok(verifyExtraInfo(ei, { identityKey: d.identityKey, ed25519Identity: d.ed25519Identity }).ok);
    assert.deepEqual(d.extraInfoDigest, { sha1: ei.digest, sha256: ei.sha256Digest });
    assert.deepEqual(d.fingerprint, keys.identityKey.publicKey.fingerprint());
    assert.deepEqual(d.orAddresses, [{ family: 6, address: '2001:db8::7', port: 443 }]);
    assert.deepEqual(d.family, [`$${'A'.repeat(40)}`]);
    assert.equal(d.bridgeDistributionRequest, 'any');
    assert.equal(d.ntorOnionKeyCrosscert.expirationHours, Math.ceil((published + 28 * 86400) / 3600));
    assert.deepEqual(ei.transports[1]!.arguments, [['url', 'https://example.org/a,b=c']]);
    assert.match(
      docs.extraInfo,
      /\ntransport webtunnel \[2001:db8::7\]:8080 url=https:\/\/example\.org\/a\\,b\\=c\n/,
    );
    assert.ok(!docs.serverDescriptor.endsWith('\n\n'));
  });

  it('omits the TAP key and its cross-certificate when given none', () => {
    const keys = freshBridgeKeys(published * 1000, false);
    const text = buildBridgeServerDescriptor({ ...base, keys });
    assert.ok(!/^onion-key(-crosscert)?$/m.test(text));
    const d = unwrap(parseServerDescriptor(utf8(text)));
    assert.equal(d.tapOnionKey, undefined);
    assert.ok(verifyServerDescriptor(d, { now: published }).ok);
  });

  it('refuses inputs that cannot make a valid document', () => {
    const keys = freshBridgeKeys(published * 1000);
    assert.throws(() => buildBridgeServerDescriptor({ ...base, keys, nickname: 'not valid' }), InternalError);
    assert.throws(() => buildBridgeServerDescriptor({ ...base, keys, contact: 'a\nb' }), InternalError);
    assert.throws(() => buildBridgeServerDescriptor({ ...base, keys, protocols: 'Link=99' }), InternalError);
    const otherSigning = Ed25519SigningKey.generate();
    assert.throws(
      () => buildBridgeServerDescriptor({ ...base, keys: { ...keys, signingKey: otherSigning } }),
      InternalError,
    );
    assert.throws(
      () =>
        buildBridgeExtraInfo({
          nickname: 'relaydBridge',
          published,
          transports: [{ name: 'obfs4!', address: { family: 4, address: '1.2.3.4', port: 1 } }],
          keys,
        }),
      InternalError,
    );
  });

  it('parsing never throws on mutated descriptors', () => {
    const keys = freshBridgeKeys(published * 1000);
    const docs = buildBridgeDocuments({ ...base, keys }, { transports: [] });
    const bytes = utf8(docs.serverDescriptor);
    const eiBytes = utf8(docs.extraInfo);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.nat(bytes.length),
        (edits, cut) => {
          const m = bytes.slice(0, Math.max(cut, 1));
          const e = eiBytes.slice(0, Math.max(cut, 1));
          for (const [i, v] of edits) {
            if (i < m.length) m[i] = v;
            if (i < e.length) e[i] = v;
          }
          const r = parseServerDescriptors(m);
          if (r.ok) for (const d of r.value) verifyServerDescriptor(d, { now: published });
          else assert.ok(r.error instanceof NetDocError);
          const x = parseExtraInfo(e);
          if (x.ok) verifyExtraInfo(x.value, { identityKey: keys.identityKey.publicKey });
          else assert.ok(x.error instanceof NetDocError);
        },
      ),
      { numRuns: 200 },
    );
  });
});
