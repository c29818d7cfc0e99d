import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  booleanType,
  enumType,
  integerType,
  intervalType,
  isInternalAddress,
  isLegalNickname,
  memunitType,
  parseHostPort,
  parseInterval,
  parseIpAddress,
  parseListenSpec,
  parseLogLine,
  parseMemUnit,
  parseMetricsPortLine,
  parseMsecInterval,
  parsePolicyLine,
  parseServerPortLine,
  parseTransportListenAddrLine,
  parseTransportOptionsLine,
  parseTransportPluginLine,
  type ValueType,
} from '../src/index.js';

function good<T>(type: ValueType<T>, text: string): T {
  const r = type.parse(text);
  assert.ok(r.ok, `${text}: ${!r.ok && r.error}`);
  return r.value.value;
}

function bad<T>(type: ValueType<T>, text: string): string {
  const r = type.parse(text);
  assert.ok(!r.ok, `${text} should not parse`);
  return r.error;
}

function value<T>(r: { ok: true; value: T } | { ok: false; error: string }): T {
  assert.ok(r.ok, !r.ok ? r.error : '');
  return r.value;
}

describe('value types', () => {
  it('boolean is exactly 0 or 1', () => {
    assert.equal(good(booleanType, '0'), false);
    assert.equal(good(booleanType, '1'), true);
    for (const t of ['true', 'yes', '2', '01', ' 1', 'auto']) assert.match(bad(booleanType, t), /0 and 1/);
  });

  it('integers within a range', () => {
    const t = integerType(1, 256);
    assert.equal(good(t, '1'), 1);
    assert.equal(good(t, '256'), 256);
    assert.equal(good(t, '+7'), 7);
    assert.match(bad(t, '0'), /out of range/);
    assert.match(bad(t, '257'), /out of range/);
    for (const x of ['1.5', 'x', '', '1e3', '0x10']) assert.match(bad(t, x), /not an integer/);
  });

  it('memory units are powers of two, bits divide by 8, case ignored', () => {
    assert.equal(good(memunitType, '1 GB'), 2 ** 30);
    assert.equal(good(memunitType, '1GB'), 2 ** 30);
    assert.equal(good(memunitType, '100 KBytes'), 102400);
    assert.equal(good(memunitType, '8 kbits'), 1024);
    assert.equal(good(memunitType, '1 mbit'), 2 ** 17);
    assert.equal(good(memunitType, '2 TBytes'), 2 * 2 ** 40);
    assert.equal(good(memunitType, '1.5 MB'), 1.5 * 2 ** 20);
    assert.equal(good(memunitType, '5'), 5);
    assert.equal(good(memunitType, '3 m'), 3 * 2 ** 20);
    assert.equal(value(parseMemUnit('0 bytes')), 0);
    assert.match(bad(memunitType, '1 GiB'), /unknown unit/);
    assert.match(bad(memunitType, '-1 MB'), /not a number/);
    assert.match(bad(memunitType, 'MB'), /not a number/);
    assert.match(bad(memunitType, '99999999 TB'), /too large/);
  });

  it('intervals in seconds and milliseconds', () => {
    assert.equal(good(intervalType, '30 seconds'), 30);
    assert.equal(good(intervalType, '5 minutes'), 300);
    assert.equal(good(intervalType, '2 hours'), 7200);
    assert.equal(good(intervalType, '1 day'), 86400);
    assert.equal(good(intervalType, '1 week'), 604800);
    assert.equal(good(intervalType, '1 month'), 2629728);
    assert.equal(good(intervalType, '45'), 45);
    assert.equal(value(parseMsecInterval('100 msec')), 100);
    assert.equal(value(parseMsecInterval('2 seconds')), 2000);
    assert.ok(!parseMsecInterval('1 month').ok);
    assert.ok(!parseInterval('100 years').ok);
    assert.equal(value(parseInterval('816 months')), 816 * 2629728);
    assert.ok(!parseInterval('817 months').ok, 'over INT_MAX seconds');
  });

  it('enumerations are case-insensitive and return the canonical spelling', () => {
    const t = enumType(['handoff', 'proxy'] as const);
    assert.equal(good(t, 'HandOff'), 'handoff');
    assert.match(bad(t, 'balanced'), /not one of handoff, proxy/);
  });

  it('nicknames follow tor: 1–19 characters of [A-Za-z0-9]', () => {
    assert.ok(isLegalNickname('a'));
    assert.ok(isLegalNickname('ABCdef0123456789xyz'));
    assert.ok(!isLegalNickname('ABCdef0123456789xyz0'));
    assert.ok(!isLegalNickname(''));
    assert.ok(!isLegalNickname('my_bridge'));
    assert.ok(!isLegalNickname('my-bridge'));
  });
});

describe('addresses', () => {
  it('IP literals', () => {
    assert.deepEqual(parseIpAddress('192.0.2.1'), { family: 4, address: '192.0.2.1' });
    assert.deepEqual(parseIpAddress('010.0.0.1'), { family: 4, address: '10.0.0.1' });
    assert.deepEqual(parseIpAddress('[2001:DB8::1]'), { family: 6, address: '2001:db8::1' });
    assert.deepEqual(parseIpAddress('::1'), { family: 6, address: '::1' });
    assert.deepEqual(parseIpAddress('::ffff:192.0.2.1'), { family: 6, address: '::ffff:192.0.2.1' });
    assert.deepEqual(parseIpAddress('1:2:3:4:5:6:7:8'), { family: 6, address: '1:2:3:4:5:6:7:8' });
    for (const t of [
      '256.0.0.1',
      '1.2.3',
      '1.2.3.4.5',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1::2:3:4:5:6:7:8',
      '12345::',
      'g::1',
      '',
      '[::1',
      '::1.2.3.4:5',
    ])
      assert.equal(parseIpAddress(t), undefined, t);
  });

  it('internal addresses as tor_addr_is_internal sees them', () => {
    for (const t of ['127.0.0.1', '010.0.0.1', '[fec0::1]', 'fe80::1', '::ffff:192.168.0.1', '::'])
      assert.equal(isInternalAddress(parseIpAddress(t)!), true, t);
    for (const t of ['192.0.2.1', '2001:db8::1', '::ffff:192.0.2.1'])
      assert.equal(isInternalAddress(parseIpAddress(t)!), false, t);
  });

  it('address:port with IPv6 in brackets', () => {
    assert.deepEqual(value(parseHostPort('[::1]:9001', { portRequired: true })), {
      address: '::1',
      family: 6,
      port: 9001,
    });
    assert.deepEqual(value(parseHostPort('127.0.0.1:443', { portRequired: true })), {
      address: '127.0.0.1',
      family: 4,
      port: 443,
    });
    assert.deepEqual(value(parseHostPort('::1', { portRequired: false })), {
      address: '::1',
      family: 6,
      port: null,
    });
    assert.deepEqual(
      value(parseHostPort('bridge.example.org:80', { portRequired: true, allowHostname: true })),
      {
        address: 'bridge.example.org',
        family: null,
        port: 80,
      },
    );
    assert.ok(!parseHostPort('bridge.example.org:80', { portRequired: true }).ok);
    assert.match(parseHostPort('127.0.0.1', { portRequired: true }).ok ? '' : 'no port', /no port/);
    for (const t of [
      '[::1]',
      '[::1]9001',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '127.0.0.1:x',
      '2001:db8::1:9001x',
      '[::1',
    ])
      assert.ok(!parseHostPort(t, { portRequired: true }).ok, t);
  });
});

describe('ports', () => {
  it('listen specs: port, auto, address:port, [IPv6]:port, address:auto', () => {
    assert.deepEqual(value(parseListenSpec('9001', 'ORPort')), { address: null, family: null, port: 9001 });
    assert.deepEqual(value(parseListenSpec('0', 'ORPort')), { address: null, family: null, port: 0 });
    assert.deepEqual(value(parseListenSpec('AUTO', 'ORPort')), { address: null, family: null, port: 'auto' });
    assert.deepEqual(value(parseListenSpec('127.0.0.1:auto', 'ORPort')), {
      address: '127.0.0.1',
      family: 4,
      port: 'auto',
    });
    assert.deepEqual(value(parseListenSpec('[::1]:9001', 'ORPort')), {
      address: '::1',
      family: 6,
      port: 9001,
    });
    assert.deepEqual(value(parseListenSpec('[2001:db8::5]:auto', 'ORPort')), {
      address: '2001:db8::5',
      family: 6,
      port: 'auto',
    });
    for (const t of ['65536', '127.0.0.1', 'unix:/run/x', 'localhost:9001', '[::1]', 'x:auto'])
      assert.ok(!parseListenSpec(t, 'ORPort').ok, t);
  });

  it('ORPort flags', () => {
    const p = value(parseServerPortLine('[::]:443 NoAdvertise ipv6only', 'ORPort'));
    assert.deepEqual(p.setting, {
      address: '::',
      family: 6,
      port: 443,
      noAdvertise: true,
      noListen: false,
      ipv4Only: false,
      ipv6Only: true,
    });
    assert.deepEqual(p.warnings, []);
    const unknown = value(parseServerPortLine('9001 NoAdvertize', 'ORPort'));
    assert.match(unknown.warnings[0]!, /unrecognized ORPort flag 'NoAdvertize'/);
    assert.match(value(parseServerPortLine('9001', 'ORPort')).setting.port.toString(), /9001/);
    for (const t of [
      '9001 NoAdvertise NoListen',
      '9001 IPv4Only IPv6Only',
      '[::1]:9001 IPv4Only',
      '1.2.3.4:9001 IPv6Only',
      '',
    ])
      assert.ok(!parseServerPortLine(t, 'ORPort').ok, t);
  });

  it('MetricsPort', () => {
    assert.deepEqual(value(parseMetricsPortLine('9035')), {
      address: '127.0.0.1',
      family: 4,
      port: 9035,
      format: 'prometheus',
    });
    assert.deepEqual(value(parseMetricsPortLine('1.2.3.4:9035 Prometheus')), {
      address: '1.2.3.4',
      family: 4,
      port: 9035,
      format: 'prometheus',
    });
    assert.equal(value(parseMetricsPortLine('0')), null);
    for (const t of ['9035 json', '9035 prometheus extra', 'auto', 'localhost:9035', ''])
      assert.ok(!parseMetricsPortLine(t).ok, t);
  });
});

describe('Log', () => {
  const setting = (line: string) => value(parseLogLine(line)).setting;
  it('tor’s forms', () => {
    assert.deepEqual(setting('notice stdout'), {
      minSeverity: 'notice',
      maxSeverity: 'err',
      destination: { kind: 'stdout' },
    });
    assert.deepEqual(setting('info-warn STDERR'), {
      minSeverity: 'info',
      maxSeverity: 'warn',
      destination: { kind: 'stderr' },
    });
    assert.deepEqual(setting('debug syslog'), {
      minSeverity: 'debug',
      maxSeverity: 'err',
      destination: { kind: 'syslog' },
    });
    assert.deepEqual(setting('notice file /var/log/tor/notices log'), {
      minSeverity: 'notice',
      maxSeverity: 'err',
      destination: { kind: 'file', path: '/var/log/tor/notices log' },
    });
    assert.deepEqual(setting('warn'), {
      minSeverity: 'warn',
      maxSeverity: 'err',
      destination: { kind: 'stdout' },
    });
  });

  it('domain-qualified ranges are accepted with a warning', () => {
    const r = value(parseLogLine('[handshake]debug [~net,~mm]info notice stdout'));
    assert.deepEqual(r.setting, {
      minSeverity: 'debug',
      maxSeverity: 'err',
      destination: { kind: 'stdout' },
    });
    assert.match(r.warnings[0]!, /no log domains/);
  });

  it('rejects what tor rejects', () => {
    for (const t of [
      'stdout',
      'loud stdout',
      'notice-loud stdout',
      'err-debug stdout',
      'notice warn stdout',
      'notice file',
      'notice printer',
      'notice stdout extra',
      '[nosuchdomain]info stdout',
      '[net info stdout',
      '',
    ])
      assert.ok(!parseLogLine(t).ok, t);
  });
});

describe('MetricsPortPolicy', () => {
  it('items, masks, wildcards and private', () => {
    const rules = value(
      parsePolicyLine('accept 127.0.0.1, accept 10.0.0.0/8,reject 192.168.0.0/255.255.0.0:80-90'),
    );
    assert.deepEqual(rules.rules, [
      {
        action: 'accept',
        target: { kind: 'network', family: 4, address: '127.0.0.1', maskBits: 32 },
        portMin: 1,
        portMax: 65535,
      },
      {
        action: 'accept',
        target: { kind: 'network', family: 4, address: '10.0.0.0', maskBits: 8 },
        portMin: 1,
        portMax: 65535,
      },
      {
        action: 'reject',
        target: { kind: 'network', family: 4, address: '192.168.0.0', maskBits: 16 },
        portMin: 80,
        portMax: 90,
      },
    ]);
    assert.deepEqual(value(parsePolicyLine('accept6 [2001:db8::]/32:*')).rules, [
      {
        action: 'accept',
        target: { kind: 'network', family: 6, address: '2001:db8::', maskBits: 32 },
        portMin: 1,
        portMax: 65535,
      },
    ]);
    assert.deepEqual(
      value(parsePolicyLine('reject *, accept *4, reject6 *, accept private:*')).rules.map((r) => r.target),
      [
        { kind: 'wildcard', family: null },
        { kind: 'wildcard', family: 4 },
        { kind: 'wildcard', family: 6 },
        { kind: 'private' },
      ],
    );
    const skipped = value(parsePolicyLine('accept6 1.2.3.4, accept 5.6.7.8'));
    assert.equal(skipped.rules.length, 1);
    assert.match(skipped.warnings[0]!, /accept6/);
  });

  it('malformed items', () => {
    for (const t of [
      'allow 1.2.3.4',
      'accept',
      'accept 1.2.3.4/33',
      'accept 1.2.3.4/255.0.255.0',
      'accept [::1]/129',
      'accept ::1',
      'accept 1.2.3.4:90-80',
      'accept */8',
      'accept host.example',
    ])
      assert.ok(!parsePolicyLine(t).ok, t);
  });
});

describe('pluggable transports', () => {
  it('ServerTransportPlugin exec and proxy', () => {
    assert.deepEqual(
      value(parseTransportPluginLine('obfs4,meek_lite exec /usr/bin/lyrebird -enableLogging -logLevel INFO')),
      {
        kind: 'exec',
        transports: ['obfs4', 'meek_lite'],
        path: '/usr/bin/lyrebird',
        args: ['-enableLogging', '-logLevel', 'INFO'],
      },
    );
    assert.deepEqual(value(parseTransportPluginLine('snowflake proxy 127.0.0.1:7000')), {
      kind: 'proxy',
      transports: ['snowflake'],
      address: '127.0.0.1',
      family: 4,
      port: 7000,
    });
    for (const t of [
      'obfs4 exec',
      'obfs4 EXEC /bin/x',
      'obfs4 socks5 1.2.3.4:5',
      'obfs-4 exec /bin/x',
      '4obfs exec /x',
      'obfs4 proxy nowhere',
      'obfs4 proxy 1.2.3.4:5 extra',
    ])
      assert.ok(!parseTransportPluginLine(t).ok, t);
  });

  it('ServerTransportListenAddr and ServerTransportOptions', () => {
    assert.deepEqual(value(parseTransportListenAddrLine('obfs4 [::]:443')), {
      transport: 'obfs4',
      address: '::',
      family: 6,
      port: 443,
    });
    assert.deepEqual(value(parseTransportOptionsLine('obfs4 iat-mode=1 cert=abc=def')), {
      transport: 'obfs4',
      options: [
        { key: 'iat-mode', value: '1' },
        { key: 'cert', value: 'abc=def' },
      ],
    });
    for (const t of ['obfs4', 'obfs4 0.0.0.0', 'obfs4 0.0.0.0:443 extra', 'ob-fs4 0.0.0.0:443'])
      assert.ok(!parseTransportListenAddrLine(t).ok, t);
    for (const t of ['obfs4', 'obfs4 iat-mode', 'obfs4 =1', 'ob.fs4 a=b'])
      assert.ok(!parseTransportOptionsLine(t).ok, t);
  });
});
