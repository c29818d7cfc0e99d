import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseExitPolicyRule } from '../src/exit-policy.js';
import { formatPortPolicySummary, parsePortPolicySummary, summaryAllowsPort } from '../src/port-policy.js';
import { formatProtocols, parseProtocols, supportsProtocol } from '../src/protocols.js';
import { formatTransportArguments, parseTransportArguments } from '../src/transport-line.js';
import {
  formatIPv6,
  formatIsoTime,
  formatSpacedFingerprint,
  parseAddressPort,
  parseIPv6,
  parseIsoTime,
} from '../src/values.js';

describe('document values', () => {
  it('parses and formats times strictly', () => {
    assert.equal(parseIsoTime('2026-11-21 14:09:51'), 1795270191);
    assert.equal(formatIsoTime(1795270191), '2026-11-21 14:09:51');
    for (const bad of [
      '2026-02-30 00:00:00',
      '2026-11-21T14:09:51',
      '2026-11-21 24:00:00',
      '26-11-21 14:09:51',
      '',
    ])
      assert.equal(parseIsoTime(bad), undefined, bad);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4102444800 }), (t) =>
        assert.equal(parseIsoTime(formatIsoTime(t)), t),
      ),
    );
  });

  it('parses addresses and ports', () => {
    assert.deepEqual(parseAddressPort('[2001:DB8:0:0::1]:443'), {
      family: 6,
      address: '2001:db8::1',
      port: 443,
    });
    assert.deepEqual(parseAddressPort('[::ffff:1.2.3.4]:1'), {
      family: 6,
      address: '::ffff:102:304',
      port: 1,
    });
    assert.deepEqual(parseAddressPort('10.0.0.1:9001'), { family: 4, address: '10.0.0.1', port: 9001 });
    for (const bad of [
      '10.0.0.256:1',
      '10.0.0.1:0',
      '10.0.0.1:65536',
      '[1::2::3]:1',
      '[::]',
      '1.2.3.4',
      '[1:2:3:4:5:6:7:8:9]:1',
    ])
      assert.equal(parseAddressPort(bad), undefined, bad);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) =>
        assert.deepEqual(parseIPv6(formatIPv6(b)), b),
      ),
    );
    assert.equal(
      formatSpacedFingerprint(new Uint8Array(20).fill(0xab)),
      'ABAB ABAB ABAB ABAB ABAB ABAB ABAB ABAB ABAB ABAB',
    );
  });

  it('parses protocol lists as tor does', () => {
    const p = parseProtocols('Link=1-3,5 Relay=2 HSDir= Cons=1-2')!;
    assert.deepEqual(p.get('Link'), [1, 2, 3, 5]);
    assert.deepEqual(p.get('HSDir'), []);
    assert.ok(supportsProtocol(p, 'Relay', 2) && !supportsProtocol(p, 'Relay', 3));
    assert.equal(formatProtocols(p), 'Cons=1-2 HSDir= Link=1-3,5 Relay=2');
    for (const bad of ['Link=64', 'Link=3-1', 'Link', '=1', 'Li_nk=1', 'Link=1,', 'Link=-1'])
      assert.equal(parseProtocols(bad), undefined, bad);
  });

  it('parses exit policy summaries and full policy lines', () => {
    const s = parsePortPolicySummary('accept 80,443,1000-2000')!;
    assert.ok(summaryAllowsPort(s, 1500) && !summaryAllowsPort(s, 22));
    assert.equal(formatPortPolicySummary(s), 'accept 80,443,1000-2000');
    assert.ok(!summaryAllowsPort(parsePortPolicySummary('reject 1-65535')!, 80));
    for (const bad of ['accept', 'allow 80', 'accept 0', 'accept 80-79', 'accept frogs-mice'])
      assert.equal(parsePortPolicySummary(bad), undefined, bad);
    for (const good of [
      '*:*',
      '10.0.0.0/8:*',
      '10.0.0.0/255.0.0.0:80-88',
      '[::1]/128:443',
      'private:*',
      '*6:22',
    ])
      assert.ok(parseExitPolicyRule('reject', good), good);
    for (const bad of ['*', '*:0', '300.0.0.1:*', '[::1]/129:*', '* :*'])
      assert.equal(parseExitPolicyRule('accept', bad), undefined, bad);
  });

  it('round-trips pluggable transport arguments with escapes', () => {
    const pairs: [string, string][] = [
      ['cert', 'a,b=c\\d'],
      ['iat-mode', '0'],
    ];
    const text = formatTransportArguments(pairs);
    assert.equal(text, 'cert=a\\,b\\=c\\\\d,iat-mode=0');
    assert.deepEqual(parseTransportArguments(text), pairs);
    assert.equal(parseTransportArguments('novalue'), undefined);
    assert.equal(parseTransportArguments('a=1\\'), undefined);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1 }), fc.string())), (ps) =>
        assert.deepEqual(parseTransportArguments(formatTransportArguments(ps)), ps),
      ),
    );
  });
});
