import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, toHex, utf8 } from '@relayd/common';
import { DirectoryStore, MICRODESCRIPTOR_UNLISTED_LIFETIME_MS } from '../src/directory-store.js';
import { MissingCertificatesError } from '../src/errors.js';
import {
  alterBase64At,
  fixture,
  GENCERT_NOW_MS,
  gencertAuthorities,
  gencertCertificates,
  hexId,
  makeConsensus,
  makeMicrodescriptor,
  TESTNET,
} from './helpers.js';

const testnetStore = () => new DirectoryStore({ authorities: TESTNET.authorities.map(hexId) });

describe('DirectoryStore with the real testnet documents', () => {
  it('accepts the consensus once the authorities certificates are held', () => {
    const store = testnetStore();
    const first = store.offerConsensus(TESTNET.consensus(), TESTNET.nowMs);
    assert.ok(!first.ok && first.error instanceof MissingCertificatesError);
    assert.equal(first.error.missing.length, 3);
    assert.deepEqual(
      first.error.missing.map((m) => toHex(m.identity).toUpperCase()).sort(),
      [...TESTNET.authorities].sort(),
    );
    assert.equal(store.consensus(), undefined);

    const added = store.addCertificates(TESTNET.certificates(), TESTNET.nowMs);
    assert.ok(added.ok);
    assert.deepEqual(
      { ...added.value, rejected: added.value.rejected.length },
      { added: 3, duplicates: 0, ignored: 0, rejected: 0 },
    );
    const again = store.addCertificates(TESTNET.certificates(), TESTNET.nowMs);
    assert.ok(again.ok && again.value.duplicates === 3 && again.value.added === 0);

    const accepted = store.offerConsensus(TESTNET.consensus(), TESTNET.nowMs);
    assert.ok(accepted.ok, accepted.ok ? '' : accepted.error.message);
    assert.equal(accepted.value.tally.good.length, 3);
    assert.equal(accepted.value.obtainedAtMs, TESTNET.nowMs);
    assert.deepEqual(accepted.value.consensus.raw, TESTNET.consensus());
    assert.equal(accepted.value.digestSha3Hex.length, 64);
    assert.deepEqual([...accepted.value.listedMicrodescriptors], [TESTNET.microdescDigest]);
    assert.deepEqual(store.missingMicrodescriptors(), [TESTNET.microdescDigest]);

    // The same consensus again is not newer.
    const same = store.offerConsensus(TESTNET.consensus(), TESTNET.nowMs);
    assert.ok(!same.ok && same.error.code === 'NOT_NEWER');

    const mds = store.addMicrodescriptors(
      TESTNET.microdescriptors(),
      TESTNET.nowMs,
      new Set([TESTNET.microdescDigest]),
    );
    assert.ok(mds.ok);
    assert.deepEqual(mds.value.added, [TESTNET.microdescDigest]);
    assert.deepEqual(store.missingMicrodescriptors(), []);
    assert.deepEqual(store.microdescriptor(TESTNET.microdescDigest)?.raw, TESTNET.microdescriptors());
  });

  it('keeps certificates only of configured authorities, and only valid ones', () => {
    const store = new DirectoryStore({ authorities: [hexId(TESTNET.authorities[0])] });
    const r = store.addCertificates(TESTNET.certificates(), TESTNET.nowMs);
    assert.ok(r.ok);
    assert.equal(r.value.added, 1);
    assert.equal(r.value.ignored, 2);
    // A year and a day later the certificate has expired: refused, and the held one dropped.
    const later = TESTNET.nowMs + 367 * 86400_000;
    const expired = store.addCertificates(TESTNET.certificates(), later);
    assert.ok(expired.ok);
    assert.equal(expired.value.rejected.length, 1);
    assert.equal(expired.value.rejected[0]!.code, 'BAD_CERTIFICATE');
    assert.equal(store.certificates().length, 0);

    const certs = TESTNET.certificates();
    const text = Buffer.from(certs).toString('latin1');
    // Corrupt one base64 character inside the first certification signature.
    const at = text.indexOf('-----BEGIN SIGNATURE-----', text.indexOf('dir-key-certification')) + 30;
    const tampered = new DirectoryStore({ authorities: TESTNET.authorities.map(hexId) });
    const bad = tampered.addCertificates(alterBase64At(certs, at), TESTNET.nowMs);
    assert.ok(bad.ok);
    assert.equal(bad.value.added, 2);
    assert.equal(bad.value.rejected.length, 1);
    assert.ok(!tampered.addCertificates(utf8('not a certificate'), TESTNET.nowMs).ok);
  });

  it('refuses a consensus with a forged signature and keeps the good one', () => {
    const store = testnetStore();
    store.addCertificates(TESTNET.certificates(), TESTNET.nowMs);
    const good = TESTNET.consensus();
    const text = Buffer.from(good).toString('latin1');
    // Damage two of the three signatures: one good signature is not a majority of three.
    let forged = good;
    let from = 0;
    for (let i = 0; i < 2; i++) {
      const sig = text.indexOf('-----BEGIN SIGNATURE-----', from) + 30;
      forged = alterBase64At(forged, sig);
      from = sig;
    }
    const r = store.offerConsensus(forged, TESTNET.nowMs);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'INSUFFICIENT_SIGNATURES');
    assert.ok(store.offerConsensus(good, TESTNET.nowMs).ok);
    const after = store.offerConsensus(forged, TESTNET.nowMs);
    assert.ok(!after.ok);
    assert.deepEqual(store.consensus()?.consensus.raw, good);
  });

  it('refuses a consensus that is not reasonably live, or not the microdesc flavour, or malformed', () => {
    const store = testnetStore();
    store.addCertificates(TESTNET.certificates(), TESTNET.nowMs);
    const dayAndMore = 24 * 3600_000 + 60_000;
    const old = store.offerConsensus(TESTNET.consensus(), TESTNET.nowMs + dayAndMore);
    assert.ok(!old.ok && old.error.code === 'NOT_LIVE', old.ok ? '' : old.error.message);
    const early = store.offerConsensus(TESTNET.consensus(), TESTNET.nowMs - dayAndMore);
    assert.ok(!early.ok && early.error.code === 'NOT_LIVE');
    const ns = store.offerConsensus(fixture('testnet-consensus-ns.txt'), TESTNET.nowMs);
    assert.ok(!ns.ok && ns.error.code === 'WRONG_FLAVOR');
    const junk = store.offerConsensus(utf8('network-status-version 3 microdesc\n'), TESTNET.nowMs);
    assert.ok(!junk.ok && junk.error.code === 'MALFORMED');
    assert.equal(store.consensus(), undefined);
  });
});

describe('DirectoryStore with signed synthetic consensuses', () => {
  const auths = gencertAuthorities();
  const start = Math.floor(GENCERT_NOW_MS / 1000);
  const store = () => {
    const s = new DirectoryStore({ authorities: auths.map((a) => hexId(a.v3Identity)) });
    s.addCertificates(gencertCertificates(auths), GENCERT_NOW_MS);
    return s;
  };

  it('applies the majority threshold of configured authorities (3 of 5)', () => {
    const mds = [makeMicrodescriptor(1)];
    const s = store();
    const two = makeConsensus({
      listed: auths,
      signers: auths.slice(0, 2),
      validAfter: start,
      microdescriptors: mds,
    });
    const r2 = s.offerConsensus(two, GENCERT_NOW_MS);
    assert.ok(!r2.ok && r2.error.code === 'INSUFFICIENT_SIGNATURES');
    const three = makeConsensus({
      listed: auths,
      signers: auths.slice(0, 3),
      validAfter: start,
      microdescriptors: mds,
    });
    const r3 = s.offerConsensus(three, GENCERT_NOW_MS);
    assert.ok(r3.ok);
    assert.equal(r3.value.signers.length, 3);
  });

  it('replaces the consensus only with a newer one, and forgets microdescriptors unlisted for a week', () => {
    const s = store();
    const md1 = makeMicrodescriptor(1);
    const md2 = makeMicrodescriptor(2);
    const c1 = makeConsensus({ listed: auths, signers: auths, validAfter: start, microdescriptors: [md1] });
    const c2 = makeConsensus({
      listed: auths,
      signers: auths,
      validAfter: start + 3600,
      microdescriptors: [md2],
    });
    assert.ok(s.offerConsensus(c1, GENCERT_NOW_MS).ok);
    const added = s.addMicrodescriptors(
      concatBytes(md1.raw, md2.raw),
      GENCERT_NOW_MS,
      new Set([md1.digestBase64]),
    );
    assert.ok(added.ok);
    assert.deepEqual(added.value.added, [md1.digestBase64]);
    assert.equal(added.value.unrequested, 1);

    assert.ok(s.offerConsensus(c2, GENCERT_NOW_MS + 3600_000).ok);
    const back = s.offerConsensus(c1, GENCERT_NOW_MS + 3600_000);
    assert.ok(!back.ok && back.error.code === 'NOT_NEWER');
    assert.deepEqual(s.missingMicrodescriptors(), [md2.digestBase64]);
    // md1 is unlisted now but kept for a week after it was last listed.
    assert.ok(s.microdescriptor(md1.digestBase64));
    const week = MICRODESCRIPTOR_UNLISTED_LIFETIME_MS / 1000;
    const at = (seconds: number) =>
      s.offerConsensus(
        makeConsensus({
          listed: auths,
          signers: auths,
          validAfter: start + seconds,
          microdescriptors: [md2],
        }),
        GENCERT_NOW_MS + seconds * 1000,
      );
    assert.ok(at(week - 3600).ok);
    assert.ok(s.microdescriptor(md1.digestBase64), 'unlisted for less than a week: kept');
    assert.ok(at(week + 3600).ok);
    assert.equal(s.microdescriptor(md1.digestBase64), undefined);
  });

  it('round-trips a snapshot into a fresh store (as a worker would receive it)', () => {
    const s = store();
    const mds = [makeMicrodescriptor(1), makeMicrodescriptor(2)];
    s.offerConsensus(
      makeConsensus({ listed: auths, signers: auths, validAfter: start, microdescriptors: mds }),
      GENCERT_NOW_MS,
    );
    s.addMicrodescriptors(concatBytes(...mds.map((m) => m.raw)), GENCERT_NOW_MS);
    const own = fixture('real-bridge-server-descriptor.txt');
    const ownExtra = fixture('real-bridge-extra-info.txt');
    assert.ok(s.setOwnDescriptors(own, ownExtra, GENCERT_NOW_MS).ok);

    const worker = new DirectoryStore({ authorities: auths.map((a) => hexId(a.v3Identity)) });
    const problems = worker.importSnapshot(s.snapshot(), GENCERT_NOW_MS);
    assert.deepEqual(problems, []);
    assert.equal(worker.consensus()?.digestSha3Hex, s.consensus()?.digestSha3Hex);
    assert.equal(worker.certificates().length, 5);
    assert.equal(worker.microdescriptorCount, 2);
    assert.deepEqual(worker.ownDescriptors()?.serverDescriptor.raw, s.ownDescriptors()?.serverDescriptor.raw);
    assert.deepEqual(worker.ownDescriptors()?.extraInfo?.raw, s.ownDescriptors()?.extraInfo?.raw);
    assert.equal(worker.ownDescriptors()?.serverDescriptor.nickname, 'relaydTestBridge');
  });

  it('refuses own descriptors that do not parse or do not match', () => {
    const s = store();
    assert.equal(s.setOwnDescriptors(utf8('router x'), undefined, 0).ok, false);
    const r = s.setOwnDescriptors(
      fixture('real-bridge-server-descriptor.txt'),
      fixture('tor-test-chutney-router-descriptor.txt'),
      0,
    );
    assert.ok(!r.ok && r.error.code === 'BAD_DESCRIPTOR');
    assert.equal(s.ownDescriptors(), undefined);
  });

  it('tells listeners what changed', () => {
    const s = store();
    const seen: string[] = [];
    const off = s.onChange((c) => seen.push(c));
    const md = makeMicrodescriptor(9);
    s.offerConsensus(
      makeConsensus({ listed: auths, signers: auths, validAfter: start, microdescriptors: [md] }),
      GENCERT_NOW_MS,
    );
    s.addMicrodescriptors(md.raw, GENCERT_NOW_MS);
    off();
    s.addMicrodescriptors(makeMicrodescriptor(10).raw, GENCERT_NOW_MS);
    assert.deepEqual(seen, ['consensus', 'microdescriptors']);
  });
});
