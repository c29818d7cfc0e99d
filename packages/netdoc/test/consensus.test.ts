import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBase64Unpadded, toHex, unwrap, utf8 } from '@relayd/common';
import fc from 'fast-check';
import {
  parseAuthorityCertificates,
  type VerifiedAuthorityCertificate,
  verifyAuthorityCertificate,
} from '../src/authority-cert.js';
import { consensusTimeStatus, findRouterStatus, parseConsensus } from '../src/consensus.js';
import {
  ConsensusSignatureError,
  missingCertificateKeys,
  tallyConsensusSignatures,
  verifyConsensusSignatures,
} from '../src/consensus-verify.js';
import { NetDocError } from '../src/errors.js';
import { parseMicrodescriptors } from '../src/microdesc.js';
import { latin1 } from '../src/tokenizer.js';
import { parseIsoTime } from '../src/values.js';
import {
  fixture,
  flipByte,
  GENCERT_NOW,
  gencertAuthorities,
  makeConsensus,
  type TestAuthority,
  testRouters,
} from './helpers.js';

const verified = (auths: readonly TestAuthority[], now = GENCERT_NOW): VerifiedAuthorityCertificate[] =>
  auths.map((a) => unwrap(verifyAuthorityCertificate(a.cert, { now })));

const parse = (text: string) => unwrap(parseConsensus(utf8(text)));

describe('consensus from a real tor 0.4.9.11 authority network', () => {
  const certs = unwrap(parseAuthorityCertificates(fixture('testnet-authority-certs.txt')));
  const now = parseIsoTime('2026-11-21 14:21:30')!;
  const held = certs.map((c) => unwrap(verifyAuthorityCertificate(c, { now })));
  const authorities = held.map((c) => c.fingerprint);

  it('parses the microdesc flavour and accepts its three sha256 signatures', () => {
    const bytes = fixture('testnet-consensus-microdesc.txt');
    const c = unwrap(parseConsensus(bytes, { flavor: 'microdesc' }));
    assert.equal(c.flavor, 'microdesc');
    assert.equal(c.consensusMethod, 35);
    assert.equal(c.validAfter, parseIsoTime('2026-11-21 14:21:20'));
    assert.equal(c.freshUntil - c.validAfter, 20);
    assert.equal(c.validUntil - c.validAfter, 40);
    assert.deepEqual([c.voteSeconds, c.distSeconds], [4, 4]);
    assert.deepEqual(c.knownFlags.slice(0, 3), ['Authority', 'Exit', 'Fast']);
    assert.deepEqual(c.clientVersions, []);
    assert.equal(c.authorities.length, 3);
    assert.deepEqual(
      c.authorities.map((a) => a.nickname),
      ['auth1', 'auth3', 'auth2'],
    );
    assert.equal(c.authorities[0]!.contact, 'auth1@test.test');
    assert.equal(c.routers.length, 1);
    const r = c.routers[0]!;
    assert.equal(r.nickname, 'auth2');
    assert.equal(r.address, '127.0.0.1');
    assert.deepEqual([r.orPort, r.dirPort], [5002, 5102]);
    assert.deepEqual(r.flags, [
      'Authority',
      'Exit',
      'Fast',
      'Guard',
      'HSDir',
      'Running',
      'Stable',
      'V2Dir',
      'Valid',
    ]);
    assert.equal(r.version, 'Tor 0.4.9.11');
    assert.deepEqual(r.protocols.get('Relay'), [2, 3, 4, 5, 6]);
    assert.deepEqual(r.bandwidth, { weight: 3, unmeasured: true });
    assert.equal(toBase64Unpadded(r.microdescDigest!), 'C4nN4xntuho/bzXEi31G13e556fYQnTTmD0K6r82J/c');
    assert.equal(c.bandwidthWeights.get('Wbd'), 3333);
    assert.equal(c.sharedRandCurrent?.reveals, 0);
    assert.deepEqual(
      c.signatures.map((s) => s.algorithm),
      ['sha256', 'sha256', 'sha256'],
    );
    assert.deepEqual(c.raw, bytes);
    assert.equal(findRouterStatus(c, r.identity), r);

    const tally = unwrap(verifyConsensusSignatures(c, { authorities, certificates: held, now }));
    assert.equal(tally.good.length, 3);
    assert.equal(tally.required, 2);
  });

  it('parses the ns flavour and accepts its sha1 signatures', () => {
    const c = unwrap(parseConsensus(fixture('testnet-consensus-ns.txt'), { flavor: 'ns' }));
    assert.equal(c.flavor, 'ns');
    assert.ok(c.routers[0]!.descriptorDigest);
    assert.deepEqual(c.routers[0]!.exitPolicy, { accept: false, ranges: [{ low: 1, high: 65535 }] });
    assert.deepEqual(
      c.signatures.map((s) => s.algorithm),
      ['sha1', 'sha1', 'sha1'],
    );
    assert.ok(verifyConsensusSignatures(c, { authorities, certificates: held, now }).ok);
    assert.ok(!parseConsensus(fixture('testnet-consensus-ns.txt'), { flavor: 'microdesc' }).ok);
  });

  it('names the microdescriptor the authority serves', () => {
    const c = unwrap(parseConsensus(fixture('testnet-consensus-microdesc.txt')));
    const mds = unwrap(parseMicrodescriptors(fixture('testnet-microdescs.txt')));
    assert.equal(mds.invalid.length, 0);
    assert.deepEqual(mds.microdescriptors[0]!.digest, c.routers[0]!.microdescDigest);
  });

  it('refuses the real consensus with one byte changed', () => {
    const bytes = fixture('testnet-consensus-microdesc.txt');
    const at = latin1(bytes).indexOf('\nw Bandwidth=3') + '\nw Bandwidth='.length;
    const c = unwrap(parseConsensus(flipByte(bytes, at)));
    const r = verifyConsensusSignatures(c, { authorities, certificates: held, now });
    assert.ok(!r.ok);
    assert.equal(r.error.tally.bad.length, 3);
    assert.equal(r.error.failure, 'insufficient-signatures');
  });
});

describe('consensus signature threshold (tor networkstatus_check_consensus_signature)', () => {
  const auths = gencertAuthorities();
  const certificates = verified(auths);
  const ids = auths.map((a) => a.cert.fingerprint);
  const check = { authorities: ids, certificates, now: GENCERT_NOW };

  it('accepts 3 of 5 and refuses 2 of 5', () => {
    const three = parse(
      makeConsensus({ listed: auths, signers: auths.slice(0, 3).map((authority) => ({ authority })) }),
    );
    const ok3 = verifyConsensusSignatures(three, check);
    assert.ok(ok3.ok);
    assert.equal(ok3.value.required, 3);
    assert.equal(ok3.value.unsigned.length, 2);

    const two = parse(
      makeConsensus({ listed: auths, signers: auths.slice(0, 2).map((authority) => ({ authority })) }),
    );
    const no2 = verifyConsensusSignatures(two, check);
    assert.ok(!no2.ok);
    assert.ok(no2.error instanceof ConsensusSignatureError);
    assert.equal(no2.error.tally.good.length, 2);
    assert.match(no2.error.message, /needs 3 good signatures .* has 2/);
  });

  it('needs floor(n/2)+1: 2 of 4 configured is not enough, 3 of 4 is', () => {
    const four = { ...check, authorities: ids.slice(0, 4) };
    const listed = auths.slice(0, 4);
    const two = parse(
      makeConsensus({ listed, signers: listed.slice(0, 2).map((authority) => ({ authority })) }),
    );
    assert.ok(!verifyConsensusSignatures(two, four).ok);
    const three = parse(
      makeConsensus({ listed, signers: listed.slice(0, 3).map((authority) => ({ authority })) }),
    );
    assert.ok(verifyConsensusSignatures(three, four).ok);
  });

  it('counts sha1 and sha256 signatures, one per authority', () => {
    const signers = [
      { authority: auths[0]!, algorithm: 'sha1' as const },
      { authority: auths[0]!, algorithm: 'sha256' as const },
      { authority: auths[1]!, algorithm: 'sha1' as const },
      { authority: auths[2]!, algorithm: 'sha256' as const },
    ];
    const c = parse(makeConsensus({ listed: auths, signers }));
    assert.equal(c.signatures.length, 4);
    const t = tallyConsensusSignatures(c, check);
    assert.equal(t.good.length, 3);
  });

  it('does not count an authority listed twice twice', () => {
    const listed = [...auths.slice(0, 3), auths[0]!];
    const text = makeConsensus({
      listed,
      signers: [auths[0]!, auths[1]!, auths[0]!].map((authority, i) => ({
        authority,
        algorithm: i === 2 ? ('sha1' as const) : ('sha256' as const),
      })),
    });
    const t = tallyConsensusSignatures(parse(text), check);
    assert.equal(t.good.length, 2);
    assert.equal(t.unsigned.length, 2);
  });

  it('ignores a signature from an authority it is not configured with', () => {
    const c = parse(
      makeConsensus({ listed: auths, signers: auths.slice(0, 3).map((authority) => ({ authority })) }),
    );
    const r = verifyConsensusSignatures(c, { ...check, authorities: [ids[0]!, ids[3]!, ids[4]!] });
    assert.ok(!r.ok);
    assert.deepEqual(r.error.tally.good, [ids[0]]);
    assert.equal(r.error.tally.unknownAuthority.length, 2);
  });

  it('treats a missing or expired certificate as missing, and says which to fetch', () => {
    const c = parse(
      makeConsensus({ listed: auths, signers: auths.slice(0, 3).map((authority) => ({ authority })) }),
    );
    const r = verifyConsensusSignatures(c, { ...check, certificates: certificates.slice(1) });
    assert.ok(!r.ok);
    assert.deepEqual(r.error.tally.missingCertificate, [ids[0]]);
    const wanted = missingCertificateKeys(c, { ...check, certificates: certificates.slice(1) });
    assert.equal(wanted.length, 1);
    assert.deepEqual(wanted[0]!.signingKeyDigest, auths[0]!.cert.signingKeyDigest);

    const later = Math.max(...auths.map((a) => a.cert.expires)) + 1;
    const expired = tallyConsensusSignatures(c, { ...check, now: later });
    assert.equal(expired.missingCertificate.length, 3);
    assert.equal(expired.good.length, 0);
  });

  it('refuses when one byte of the signed text changes; signatures may come in any order', () => {
    const text = makeConsensus({
      listed: auths,
      signers: auths.slice(0, 3).map((authority) => ({ authority })),
    });
    const bytes = utf8(text);
    const inHeader = text.indexOf('bwweightscale=10000') + 'bwweightscale='.length;
    const bad = unwrap(parseConsensus(flipByte(bytes, inHeader)));
    const r = verifyConsensusSignatures(bad, check);
    assert.ok(!r.ok);
    assert.equal(r.error.tally.bad.length, 3);
    // Everything after the first "directory-signature " is unsigned: reordering the signatures keeps them valid.
    const sigAt = text.indexOf('directory-signature ');
    const blocks = text.slice(sigAt).split(/(?=directory-signature )/);
    const reordered = text.slice(0, sigAt) + blocks.reverse().join('');
    assert.notEqual(reordered, text);
    assert.ok(verifyConsensusSignatures(parse(reordered), check).ok);
  });

  it('rejects a signature that verifies under another authority key', () => {
    const text = makeConsensus({
      listed: auths,
      signers: auths.slice(0, 3).map((authority) => ({ authority })),
    });
    // Claim authority 1's signature was made by authority 4 (with 4's signing key digest).
    const hex = (b: Uint8Array) => toHex(b).toUpperCase();
    const forged = text.replace(
      `${hex(ids[0]!)} ${hex(auths[0]!.cert.signingKeyDigest)}`,
      `${hex(ids[3]!)} ${hex(auths[3]!.cert.signingKeyDigest)}`,
    );
    const t = tallyConsensusSignatures(parse(forged), check);
    assert.equal(t.good.length, 2);
    assert.deepEqual(t.bad, [ids[3]]);
  });

  it('classifies its lifetime', () => {
    const c = parse(makeConsensus({ listed: auths, signers: [{ authority: auths[0]! }] }));
    assert.equal(consensusTimeStatus(c, c.validAfter - 1), 'not-yet-valid');
    assert.equal(consensusTimeStatus(c, c.validAfter), 'fresh');
    assert.equal(consensusTimeStatus(c, c.freshUntil), 'valid');
    assert.equal(consensusTimeStatus(c, c.validUntil), 'valid');
    assert.equal(consensusTimeStatus(c, c.validUntil + 3600), 'reasonably-live');
    assert.equal(consensusTimeStatus(c, c.validUntil + 86401), 'expired');
  });
});

describe('consensus structure rules', () => {
  const auths = gencertAuthorities().slice(0, 3);
  const signers = auths.map((authority) => ({ authority }));

  it('parses routers in order and finds them by identity', () => {
    const routers = testRouters(25);
    const c = parse(makeConsensus({ listed: auths, signers, routers }));
    assert.equal(c.routers.length, 25);
    for (const r of routers) assert.equal(findRouterStatus(c, r.identity)?.nickname, r.nickname);
    assert.equal(findRouterStatus(c, new Uint8Array(20)), undefined);
    assert.equal(c.params.get('cc_alg'), 2);
    assert.deepEqual(c.clientVersions, ['0.4.8.1', '0.4.9.11']);
    assert.deepEqual(c.requiredClientProtocols?.get('Link'), [4]);
  });

  it('refuses malformed consensuses with the line at fault', () => {
    const routers = testRouters(3);
    const cases: [(t: string) => string, RegExp][] = [
      [(t) => t.replace('vote-status consensus', 'vote-status vote'), /not a consensus/],
      [
        (t) => t.replace('network-status-version 3 microdesc', 'network-status-version 3 fancy'),
        /unknown flavour/,
      ],
      [
        (t) => t.replace('known-flags Authority Exit', 'known-flags Exit Authority'),
        /known-flags are not in order/,
      ],
      [
        (t) => t.replace('bwweightscale=10000 ', 'bwweightscale=10000 bwweightscale=1 '),
        /not in order|duplicate/,
      ],
      [(t) => t.replace('cc_alg=2', 'cc_alg=2147483648'), /bad value of cc_alg/],
      [(t) => t.replace(/\npr [^\n]+/, ''), /missing "pr"/],
      [(t) => t.replace(/valid-until [^\n]+/, 'valid-until 2026-11-30 00:00:00'), /out of order/],
      [
        (t) => {
          const last = t.lastIndexOf('\nr ');
          return (
            t.slice(0, last) + t.slice(last).replace(/\nr (\S+) \S+/, '\nr $1 AAAAAAAAAAAAAAAAAAAAAAAAAAA')
          );
        },
        /not sorted/,
      ],
      [(t) => t.replace(/\nr relay\d /, '\nr bad_nick '), /bad nickname/],
      [(t) => t.replace(/\nm \S+/, '\nm AAAA'), /microdescriptor digest/],
      [(t) => t.replace(/\nw Bandwidth=20/, '\nw Bandwidth=-1'), /bandwidth/],
      [(t) => t.replace(/\ndir-source[^\n]+\ncontact[^\n]+/, (m) => `${m}\ncontact twice`), /out of place/],
    ];
    for (const [edit, pattern] of cases) {
      const r = parseConsensus(utf8(makeConsensus({ listed: auths, signers, routers, edit })));
      assert.ok(!r.ok, `expected failure ${pattern}`);
      assert.match(r.error.message, pattern);
      assert.ok(r.error.line !== undefined || /not sorted|no /.test(r.error.message), r.error.message);
    }
  });

  it('refuses footers that tor refuses', () => {
    const text = makeConsensus({ listed: auths, signers });
    const noSig = text.slice(0, text.indexOf('directory-signature'));
    assert.match(
      (parseConsensus(utf8(noSig)) as { error: NetDocError }).error.message,
      /no "directory-signature"/,
    );
    const trailing = parseConsensus(utf8(`${text}bandwidth-weights Wbd=1\n`));
    assert.ok(!trailing.ok);
    assert.match(trailing.error.message, /after the first directory-signature/);
    const stranger = gencertAuthorities()[4]!;
    const foreign = makeConsensus({ listed: auths, signers: [...signers, { authority: stranger }] });
    const f = parseConsensus(utf8(foreign));
    assert.ok(!f.ok);
    assert.match(f.error.message, /not a dir-source/);
    const unknownAlg = text.replace(/directory-signature sha256 /, 'directory-signature sha3-256 ');
    const u = unwrap(parseConsensus(utf8(unknownAlg)));
    assert.equal(u.signatures.length, 2);
  });

  it('never throws on mutated consensuses', () => {
    const bytes = fixture('testnet-consensus-microdesc.txt');
    const now = parseIsoTime('2026-11-21 14:21:30')!;
    const held = unwrap(parseAuthorityCertificates(fixture('testnet-authority-certs.txt'))).map((c) =>
      unwrap(verifyAuthorityCertificate(c, { now })),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.nat(bytes.length),
        (edits, cut) => {
          const m = bytes.slice(0, Math.max(cut, 1));
          for (const [i, v] of edits) if (i < m.length) m[i] = v;
          const r = parseConsensus(m);
          if (!r.ok) {
            assert.ok(r.error instanceof NetDocError);
            return;
          }
          tallyConsensusSignatures(r.value, {
            authorities: held.map((h) => h.fingerprint),
            certificates: held,
            now,
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
