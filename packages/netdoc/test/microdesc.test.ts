import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, toHex, unwrap, utf8 } from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import fc from 'fast-check';
import { NetDocError } from '../src/errors.js';
import { microdescriptorDigest, parseMicrodescriptors } from '../src/microdesc.js';
import { parseServerDescriptors } from '../src/server-descriptor.js';
import { fixture } from './helpers.js';

describe('microdescriptors', () => {
  it('splits and digests C tor test_md_parse data exactly as tor does (src/test/test_microdesc.c)', () => {
    const list = unwrap(parseMicrodescriptors(fixture('tor-test-microdesc-parse-data.txt')));
    assert.equal(list.microdescriptors.length, 14);
    assert.deepEqual(
      list.invalid.map((i) => toHex(i.digest)),
      [
        '5d76bf1c6614e885614a1e0ad074e1ab4ea14655ebeefb1736a71b5ed8a15a51',
        '2fde0ee3343669c2444cd9d53cbd39c6a7d1fc0513513e840ca7f6e68864b36c',
        '20d1576c5ab11bbcff0dedb1db4a3cfcc8bc8dd839d8cbfef92d00a1a7d7b294',
        '074770f394c73dbde7b44412e9692add691a478d4727f9804b77646c95420a96',
      ],
    );
    assert.match(list.invalid[0]!.error.message, /bad base64/);
    assert.match(list.invalid[1]!.error.message, /ntor-onion-key/);
    assert.match(list.invalid[2]!.error.message, /exponent 3/);
    assert.match(list.invalid[3]!.error.message, /annotations/);
    const mds = list.microdescriptors;
    const expectDigest = (i: number, hex: string) => assert.equal(toHex(mds[i]!.digest), hex);
    expectDigest(5, '54bb6d733ddeb375d2456c79ae103961da0cae29620375ac4cf13d54da4d92b3');
    expectDigest(6, '53f740bd222ab37f19f604b1d3759aa65eff1fbce9ac254bd0fa50d4af9b1bae');
    expectDigest(8, 'a0a155562d8093d8fd0feb7b93b7226e17f056c2142aab7a4ea8c5867a0376d5');
    expectDigest(10, '409ebd87d23925a2732bd467a92813c921ca378fcb9ca193d354c51550b6d5e9');
    // "Good 6": an unparseable policy leaves the relay without one, as in tor.
    assert.equal(mds[6]!.exitPolicy, undefined);
    assert.deepEqual(mds[10]!.ipv6OrPort, { family: 6, address: '::1:2:3:4', port: 9090 });
    assert.deepEqual(mds[12]!.exitPolicy?.ranges[0], { low: 20, high: 23 });
    assert.equal(mds[13]!.exitPolicy, undefined);
    assert.equal(mds[13]!.exitPolicyV6?.accept, true);
    assert.deepEqual(mds[7]!.family, ['$D8CFEA0D996F5D1473D2063C041B7910DB23981E']);
    for (const md of mds) {
      assert.deepEqual(md.digest, sha256(md.raw));
      assert.equal(md.digestBase64, microdescriptorDigest(md.raw));
      assert.equal(md.tapOnionKey?.modulusBits, 1024);
    }
  });

  it('parses a real tor 0.4.9.11 microdescriptor and ties it to the relay descriptor', () => {
    const bytes = fixture('testnet-microdescs.txt');
    const md = unwrap(parseMicrodescriptors(bytes)).microdescriptors[0]!;
    assert.deepEqual(md.raw, bytes);
    assert.equal(md.digestBase64, 'C4nN4xntuho/bzXEi31G13e556fYQnTTmD0K6r82J/c');
    const descs = unwrap(parseServerDescriptors(fixture('testnet-server-descriptors.txt')));
    const auth2 = descs.find((d) => d.nickname === 'auth2')!;
    assert.deepEqual(md.ed25519Identity, auth2.ed25519Identity);
    assert.deepEqual(md.ntorOnionKey, auth2.ntorOnionKey);
    assert.deepEqual(md.tapOnionKey?.der, auth2.tapOnionKey?.der);
  });

  it('accepts microdescriptors without a TAP key (proposal 350) and splits them', () => {
    const one =
      'onion-key\nntor-onion-key fhhP23UKD4L2jehA5gopAo5b6NSoB+kZN5Q4ULv3Zww\nfamily-ids ed25519:AAAA\n';
    const two = `onion-key\nntor-onion-key ${Buffer.alloc(32, 1).toString('base64')}\nid ed25519 ${Buffer.alloc(32, 2).toString('base64').replace(/=+$/, '')}\npr Link=4-5\n`;
    const list = unwrap(parseMicrodescriptors(utf8(one + two)));
    assert.equal(list.invalid.length, 0);
    const [a, b] = list.microdescriptors;
    assert.equal(a!.tapOnionKey, undefined);
    assert.deepEqual(a!.familyIds, ['ed25519:AAAA']);
    assert.deepEqual(a!.raw, utf8(one));
    assert.deepEqual(b!.ed25519Identity, new Uint8Array(32).fill(2));
    assert.deepEqual(b!.protocols?.get('Link'), [4, 5]);
    assert.deepEqual(concatBytes(a!.raw, b!.raw), utf8(one + two));
  });

  it('reports a microdescriptor without its ntor key as invalid, keeping the others', () => {
    const bad = 'onion-key\np accept 80\n';
    const good = `onion-key\nntor-onion-key ${Buffer.alloc(32, 1).toString('base64')}\n`;
    const list = unwrap(parseMicrodescriptors(utf8(bad + good + good)));
    assert.equal(list.microdescriptors.length, 2);
    assert.equal(list.invalid.length, 1);
    assert.deepEqual(list.invalid[0]!.digest, sha256(utf8(bad)));
    assert.match(list.invalid[0]!.error.message, /line 1: missing "ntor-onion-key"/);
    const lines = unwrap(parseMicrodescriptors(utf8(good + bad))).invalid[0]!.error;
    assert.equal(lines.line, 3);
    assert.ok(!parseMicrodescriptors(new Uint8Array(0)).ok);
  });

  it('never throws, and accounts for every microdescriptor', () => {
    const bytes = fixture('tor-test-microdesc-parse-data.txt');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 5 }),
        fc.nat(bytes.length),
        (edits, cut) => {
          const m = bytes.slice(0, cut);
          for (const [i, v] of edits) if (i < m.length) m[i] = v;
          const r = parseMicrodescriptors(m);
          if (!r.ok) assert.ok(r.error instanceof NetDocError);
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (m) => {
        const r = parseMicrodescriptors(m);
        if (!r.ok) assert.ok(r.error instanceof NetDocError);
      }),
      { numRuns: 1000 },
    );
  });
});
