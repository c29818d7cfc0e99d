import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  formatIpAddress,
  hex,
  type IpAddress,
  type IpTextOptions,
  ipv4FromBytes,
  ipv6FromBytes,
  isInternalAddress,
  isUnspecifiedAddress,
  parseIpAddress,
  parseIpv4,
  parseIpv6,
  toHex,
} from '../src/index.js';

const ipArb: fc.Arbitrary<IpAddress> = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((bytes) => ({ family: 'ipv4' as const, bytes })),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => ({ family: 'ipv6' as const, bytes })),
);

const LENIENT: IpTextOptions = { allowLeadingZeros: true, allowIpv4Suffix: true };

describe('IP addresses', () => {
  it('formats IPv4 and RFC 5952 IPv6', () => {
    assert.equal(formatIpAddress({ family: 'ipv4', bytes: hex('7f000001') }), '127.0.0.1');
    const cases: Array<[string, string]> = [
      ['00000000000000000000000000000001', '::1'],
      ['00000000000000000000000000000000', '::'],
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
      ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
      ['2607f8b0400c0c020000000000000068', '2607:f8b0:400c:c02::68'],
    ];
    for (const [bytes, text] of cases) {
      assert.equal(formatIpAddress({ family: 'ipv6', bytes: hex(bytes) }), text);
      const parsed = parseIpAddress(text);
      assert.ok(parsed);
      assert.equal(toHex(parsed.bytes), bytes);
    }
  });

  it('parses only well-formed text', () => {
    assert.deepEqual(parseIpAddress('10.0.0.255'), { family: 'ipv4', bytes: hex('0a0000ff') });
    assert.deepEqual(parseIpAddress('[::1]'), {
      family: 'ipv6',
      bytes: hex('00000000000000000000000000000001'),
    });
    for (const bad of [
      '256.0.0.1',
      '1.2.3',
      '01.2.3.4',
      '1.2.3.4.5',
      '',
      '1:2:3:4:5:6:7',
      '::1::',
      '1:2:3:4:5:6:7:8:9',
      'g::1',
      '1:2:3:4:5:6:7::8',
      '::ffff:1.2.3.4',
    ]) {
      assert.equal(parseIpAddress(bad), undefined, bad);
    }
    assert.equal(ipv4FromBytes(new Uint8Array(5)), undefined);
    assert.equal(ipv6FromBytes(new Uint8Array(16))?.family, 'ipv6');
  });

  it('parse(format(a)) == a', () => {
    fc.assert(
      fc.property(ipArb, (address) => assert.deepEqual(parseIpAddress(formatIpAddress(address)), address)),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) =>
        assert.deepEqual(parseIpv6(formatIpAddress({ family: 'ipv6', bytes: b }), LENIENT)?.bytes, b),
      ),
    );
  });

  it('accepts leading zeros and a dotted-quad IPv6 tail only when asked', () => {
    assert.equal(parseIpv4('010.0.0.1'), undefined);
    assert.deepEqual(parseIpv4('010.0.0.1', LENIENT)?.bytes, hex('0a000001'));
    assert.equal(parseIpv6('::ffff:192.0.2.1'), undefined);
    assert.equal(toHex(parseIpv6('::ffff:192.0.2.1', LENIENT)!.bytes), '00000000000000000000ffffc0000201');
    assert.equal(toHex(parseIpv6('::1.2.3.4', LENIENT)!.bytes), '00000000000000000000000001020304');
    assert.equal(toHex(parseIpv6('1:2:3:4:5:6:1.2.3.4', LENIENT)!.bytes), '00010002000300040005000601020304');
    assert.equal(formatIpAddress(parseIpAddress('[::ffff:1.2.3.4]', LENIENT)!), '::ffff:102:304');
    assert.equal(formatIpAddress(parseIpAddress('[2001:DB8:0:0::1]', LENIENT)!), '2001:db8::1');
    // The dotted quad only ever ends the text and counts as two groups.
    for (const bad of [
      '1.2.3',
      '[::1',
      '::1.2.3.4:5',
      '1.2.3.4::',
      '1.2.3.4::5',
      ':1.2.3.4',
      '::1.2.3.256',
      '1:2:3:4:5:6:7::1.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4',
      '[1.2.3.4]',
    ])
      assert.equal(parseIpAddress(bad, LENIENT), undefined, bad);
  });
});

describe('address classes (tor_addr_is_internal)', () => {
  it('classifies private, loopback, link-local and public addresses as C tor does', () => {
    const internal = [
      '10.0.0.1',
      '127.0.0.1',
      '0.1.2.3',
      '100.64.0.1',
      '100.127.255.255',
      '169.254.1.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '::1',
      '::',
      'fc00::1',
      'fd12::1',
      'fe80::1',
      'fec0::1',
      '::ffff:a00:1',
    ];
    const external = [
      '8.8.8.8',
      '100.128.0.1',
      '172.32.0.1',
      '192.0.2.1',
      '203.0.113.5',
      '2001:db8::1',
      '::2',
      '::ffff:808:808',
    ];
    for (const text of internal) assert.equal(isInternalAddress(parseIpAddress(text)!), true, text);
    for (const text of external) assert.equal(isInternalAddress(parseIpAddress(text)!), false, text);
  });

  it('knows the unspecified address', () => {
    assert.equal(isUnspecifiedAddress(parseIpAddress('0.0.0.0')!), true);
    assert.equal(isUnspecifiedAddress(parseIpAddress('::')!), true);
    assert.equal(isUnspecifiedAddress(parseIpAddress('0.0.0.1')!), false);
    assert.equal(isUnspecifiedAddress(parseIpAddress('::1')!), false);
  });
});
