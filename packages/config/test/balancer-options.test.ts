import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatDiagnostic,
  parseBalancerBackendLine,
  parseConfig,
  parseSourceAddressesLine,
  sourceRangeSize,
} from '../src/index.js';

const MINIMAL = 'ORPort 9001\nContactInfo ops@example.org\n';

function load(text: string) {
  const r = parseConfig(MINIMAL + text, { fileName: 'torrc', cpuCount: 4 });
  assert.ok(r.ok, `expected success, got:\n${!r.ok ? r.error.errors.map(formatDiagnostic).join('\n') : ''}`);
  return r.value;
}

function errorsOf(text: string): string[] {
  const r = parseConfig(MINIMAL + text, { fileName: 'torrc', cpuCount: 4 });
  assert.ok(!r.ok, 'expected errors');
  return r.error.errors.map(formatDiagnostic);
}

describe('balancer options', () => {
  it('defaults: spread over 127.0.1.1-254, 100 connections per address, checks every 10 s, no backends', () => {
    const { config } = load('');
    assert.deepEqual(config.balancerSourceAddresses, [{ first: '127.0.1.1', last: '127.0.1.254' }]);
    assert.equal(config.balancerMaxConnectionsPerAddress, 100);
    assert.equal(config.balancerHealthCheckIntervalSeconds, 10);
    assert.deepEqual(config.balancerBackends, []);
  });

  it('BalancerBackend lines: address, port and the backend’s cookie file, in order', () => {
    const { config, warnings } = load(
      [
        'BalancerMode proxy',
        'BalancerBackend 127.0.3.1:10001 cookie=/var/lib/tor-instances/snowflake1/extended_orport_auth_cookie',
        'BalancerBackend [::1]:10002 Cookie=/var/lib/tor-instances/snowflake2/extended_orport_auth_cookie',
        '',
      ].join('\n'),
    );
    assert.deepEqual(config.balancerBackends, [
      {
        address: '127.0.3.1',
        family: 4,
        port: 10001,
        cookieFile: '/var/lib/tor-instances/snowflake1/extended_orport_auth_cookie',
      },
      {
        address: '::1',
        family: 6,
        port: 10002,
        cookieFile: '/var/lib/tor-instances/snowflake2/extended_orport_auth_cookie',
      },
    ]);
    assert.equal(warnings.filter((w) => w.option === 'BalancerBackend').length, 0);
  });

  it('BalancerBackend refuses a missing or relative cookie, unknown words, host names, and duplicates', () => {
    assert.match(String(!parseBalancerBackendLine('127.0.0.1:1').ok && 'x'), /x/);
    const cases: Array<[string, RegExp]> = [
      ['127.0.0.1:5000', /needs cookie=/],
      ['127.0.0.1:5000 cookie=relative/path', /not an absolute path/],
      ['127.0.0.1:5000 cookie=/a cookie=/b', /more than one cookie/],
      ['127.0.0.1:5000 cookie=/a weight=2', /unknown BalancerBackend parameter "weight=2"/],
      ['tor1.example:5000 cookie=/a', /not an IP address/],
      ['127.0.0.1 cookie=/a', /has no port/],
    ];
    for (const [value, pattern] of cases) {
      const r = parseBalancerBackendLine(value);
      assert.ok(!r.ok, value);
      assert.match(r.error, pattern, value);
    }
    const errors = errorsOf(
      'BalancerMode proxy\nBalancerBackend 127.0.0.1:5000 cookie=/a\nBalancerBackend 127.0.0.1:5000 cookie=/b\n',
    );
    assert.ok(
      errors.some((e) => /torrc:5: .*already listed on line 4/.test(e)),
      errors.join('\n'),
    );
  });

  it('BalancerBackend without proxy mode is a warning', () => {
    const { warnings } = load('BalancerBackend 127.0.0.1:5000 cookie=/a\n');
    assert.ok(
      warnings.some(
        (w) => w.option === 'BalancerBackend' && /only with "BalancerMode proxy"/.test(w.message),
      ),
    );
  });

  it('BalancerSourceAddresses: single addresses, ranges and CIDR, merged over lines; 0 for the system’s choice', () => {
    const { config } = load(
      'BalancerSourceAddresses 127.0.2.1-127.0.2.10, 127.0.3.7\nBalancerSourceAddresses 127.1.0.0/24\n',
    );
    assert.deepEqual(config.balancerSourceAddresses, [
      { first: '127.0.2.1', last: '127.0.2.10' },
      { first: '127.0.3.7', last: '127.0.3.7' },
      { first: '127.1.0.0', last: '127.1.0.255' },
    ]);
    assert.deepEqual(config.balancerSourceAddresses.map(sourceRangeSize), [10, 1, 256]);
    assert.deepEqual(load('BalancerSourceAddresses 0\n').config.balancerSourceAddresses, []);
    const unaligned = parseSourceAddressesLine('127.0.9.77/30');
    assert.ok(unaligned.ok);
    assert.deepEqual(unaligned.value, [{ first: '127.0.9.76', last: '127.0.9.79' }]);
  });

  it('BalancerSourceAddresses refuses non-loopback, reversed, unusable and oversized ranges', () => {
    const cases: Array<[string, RegExp]> = [
      ['10.0.0.1-10.0.0.9', /not inside 127\.0\.0\.0\/8/],
      ['127.0.0.9-127.0.0.2', /ends before it starts/],
      ['127.0.0.0/24', /127\.0\.0\.0 or 127\.255\.255\.255/],
      ['127.0.0.0/8', /127\.0\.0\.0 or 127\.255\.255\.255/],
      ['127.2.0.0/15', /at most 65536/],
      ['127.0.1.1/33', /not a prefix length/],
      ['localhost', /not an IPv4 address/],
      [',', /at least one address/],
    ];
    for (const [value, pattern] of cases) {
      const r = parseSourceAddressesLine(value);
      assert.ok(!r.ok, value);
      assert.match(r.error, pattern, value);
    }
    const errors = errorsOf('BalancerSourceAddresses 192.168.0.1\n');
    assert.ok(
      errors.some((e) => /^torrc:3: /.test(e)),
      errors.join('\n'),
    );
  });

  it('BalancerMaxConnectionsPerAddress and BalancerHealthCheckInterval', () => {
    const { config } = load('BalancerMaxConnectionsPerAddress 0\nBalancerHealthCheckInterval 2 minutes\n');
    assert.equal(config.balancerMaxConnectionsPerAddress, 0);
    assert.equal(config.balancerHealthCheckIntervalSeconds, 120);
    assert.ok(errorsOf('BalancerHealthCheckInterval 0\n').some((e) => /at least 1 second/.test(e)));
    assert.ok(errorsOf('BalancerMaxConnectionsPerAddress -1\n').length > 0);
  });
});
