import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBase64Unpadded, toHex } from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import fc from 'fast-check';
import {
  clientLikesConsensus,
  decodeBase64Digest256,
  joinFingerprintPairs,
  splitBase64Digests256,
  splitFingerprintPairs,
  splitHexDigests,
} from '../src/resource-list.js';
import { hexId, TESTNET } from './helpers.js';

const A = 'AA'.repeat(20);
const B = '0B'.repeat(20);

describe('directory URL digest lists (tor dir_split_resource_into_fingerprints)', () => {
  it('splits "+"-separated hex, skips malformed elements, sorts and removes duplicates', () => {
    const out = splitHexDigests(`${A}+${B}+${A.toLowerCase()}+XYZ+${'1'.repeat(39)}+`);
    assert.deepEqual(
      out.map((d) => toHex(d).toUpperCase()),
      [B, A],
    );
  });

  it('splits "-"-separated base64 SHA-256 digests (dir-spec 4.3), in digest-byte order', () => {
    const d1 = sha256(new Uint8Array([1]));
    const d2 = sha256(new Uint8Array([2]));
    const out = splitBase64Digests256(
      `${toBase64Unpadded(d1)}-${toBase64Unpadded(d2)}-${toBase64Unpadded(d1)}-short`,
    );
    const expected = [d1, d2].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(out, expected);
  });

  it('decodes the real consensus "m" digest and refuses non-canonical spellings', () => {
    const d = decodeBase64Digest256(TESTNET.microdescDigest);
    assert.ok(d);
    assert.equal(d.length, 32);
    assert.equal(toBase64Unpadded(d), TESTNET.microdescDigest);
    // The last character carries two unused bits: "d" has them set, so it is another spelling of "c".
    assert.equal(decodeBase64Digest256(`${TESTNET.microdescDigest.slice(0, -1)}d`), undefined);
    assert.equal(decodeBase64Digest256(`${TESTNET.microdescDigest}=`), undefined);
    assert.equal(decodeBase64Digest256(TESTNET.microdescDigest.replace('/', '_')), undefined);
  });

  it('round-trips fingerprint pairs for /tor/keys/fp-sk/', () => {
    const pairs = [
      { identity: hexId(A), signingKeyDigest: hexId(B) },
      { identity: hexId(B), signingKeyDigest: hexId(A) },
    ];
    const text = joinFingerprintPairs(pairs);
    assert.equal(text, `${A}-${B}+${B}-${A}`);
    const back = splitFingerprintPairs(`${text}+${A}${B}+${A}-${B}`);
    assert.deepEqual(back, [pairs[1], pairs[0]]);
  });

  it('property: splitting never throws and yields only well-formed digests', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        for (const d of splitHexDigests(s)) assert.equal(d.length, 20);
        for (const d of splitBase64Digests256(s)) assert.equal(d.length, 32);
        for (const p of splitFingerprintPairs(s))
          assert.equal(p.identity.length + p.signingKeyDigest.length, 40);
      }),
    );
  });
});

describe('client_likes_consensus', () => {
  const signers = TESTNET.authorities.slice(0, 2).map(hexId);

  it('needs more than half of the listed prefixes to match a signer, case-insensitively', () => {
    // Three prefixes, two signers among them: 2 >= 3/2+1.
    assert.equal(clientLikesConsensus('4605d7+730E65+9A2DE6', signers), true);
    // Four prefixes, two matches: 2 < 4/2+1.
    assert.equal(clientLikesConsensus('4605D7+730E65+9A2DE6+ABCDEF', signers), false);
    assert.equal(clientLikesConsensus('9A2DE6', signers), false);
    assert.equal(clientLikesConsensus('4605D7453A9447D1C33267D8B067B3530B9BE13A', signers), true);
  });
});
