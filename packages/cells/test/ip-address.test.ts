import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hex, toHex } from '@relayd/common';
import fc from 'fast-check';
import { formatIpAddress, ipv4FromBytes, ipv6FromBytes, parseIpAddress } from '../src/index.js';
import { ipArb } from './arbitraries.js';

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
  });
});
