import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ConfigDiagnostic,
  type ConfigFailure,
  DEFAULT_DIR_AUTHORITY_LINES,
  formatDiagnostic,
  type ParsedConfig,
  parseConfig,
  type RelaydConfig,
} from '../src/index.js';

const MINIMAL = 'ORPort 9001\nContactInfo ops@example.org\n';

function load(text: string, cpuCount = 4): ParsedConfig {
  const r = parseConfig(text, { fileName: 'torrc', cpuCount });
  assert.ok(r.ok, `expected success, got:\n${!r.ok ? r.error.errors.map(formatDiagnostic).join('\n') : ''}`);
  return r.value;
}

function config(text: string): RelaydConfig {
  return load(text).config;
}

function fail(text: string): ConfigFailure {
  const r = parseConfig(text, { fileName: 'torrc', cpuCount: 4 });
  assert.ok(!r.ok, 'expected errors');
  return r.error;
}

/** [line, code] of each diagnostic. */
const where = (ds: readonly ConfigDiagnostic[]) => ds.map((d) => [d.line, d.code]);

/**
 * An operator's obfs4 bridge torrc, laid out like the one in the Tor
 * Project's obfs4 bridge setup guide for Debian, with the lines such
 * torrcs usually carry besides.
 */
const OBFS4_BRIDGE_TORRC = `## /etc/tor/torrc of an obfs4 bridge
BridgeRelay 1

# The ORPort must be reachable from outside; avoid 9001, censors scan for it.
ORPort 8443

ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy

# The obfs4 port, also reachable from outside, and not the ORPort.
ServerTransportListenAddr obfs4 0.0.0.0:9443

# Local port between tor and obfs4: always "auto" ("Ext" is "extended").
ExtORPort auto

# So that we can reach you if there is a problem with your bridge.
ContactInfo <address@email.com>

Nickname PickANickname

# Lines bridge operators commonly add:
Log notice file /var/log/tor/notices.log
ExitPolicy reject *:*
SocksPort 0
RunAsDaemon 1
ControlPort 9051
CookieAuthentication 1
BandwidthRate 2 MBytes
BandwidthBurst 4 MBytes
BridgeDistribution any
`;

describe('an operator’s C tor bridge torrc', () => {
  it('loads with warnings only, into the expected RelaydConfig', () => {
    const { config: c, warnings } = load(OBFS4_BRIDGE_TORRC);
    assert.deepEqual(
      warnings.map((w) => [w.line, w.code, w.option]),
      [
        [22, 'unimplemented-option', 'ExitPolicy'],
        [24, 'unimplemented-option', 'RunAsDaemon'],
        [25, 'unimplemented-option', 'ControlPort'],
        [26, 'unimplemented-option', 'CookieAuthentication'],
      ],
    );
    assert.equal(
      formatDiagnostic(warnings[0]!),
      "torrc:22: warning: 'ExitPolicy' is a C tor option relayd does not implement; ignored (relayd is a bridge and never an exit)",
    );
    assert.equal(c.nickname, 'PickANickname');
    assert.equal(c.contactInfo, '<address@email.com>');
    assert.deepEqual(c.orPorts, [
      {
        address: null,
        family: null,
        port: 8443,
        noAdvertise: false,
        noListen: false,
        ipv4Only: false,
        ipv6Only: false,
      },
    ]);
    assert.deepEqual(c.extOrPorts, [
      {
        address: '127.0.0.1',
        family: 4,
        port: 'auto',
        noAdvertise: false,
        noListen: false,
        ipv4Only: false,
        ipv6Only: false,
      },
    ]);
    assert.deepEqual(c.serverTransportPlugins, [
      { kind: 'exec', transports: ['obfs4'], path: '/usr/bin/obfs4proxy', args: [] },
    ]);
    assert.deepEqual(c.serverTransportListenAddrs, [
      { transport: 'obfs4', address: '0.0.0.0', family: 4, port: 9443 },
    ]);
    assert.deepEqual(c.logs, [
      {
        minSeverity: 'notice',
        maxSeverity: 'err',
        destination: { kind: 'file', path: '/var/log/tor/notices.log' },
      },
    ]);
    assert.deepEqual(c.bandwidth, {
      rate: 2 * 2 ** 20,
      burst: 4 * 2 ** 20,
      relayRate: 0,
      relayBurst: 0,
      maxAdvertised: 2 ** 30,
    });
    assert.equal(c.bridgeDistribution, 'any');
    assert.equal(c.publishServerDescriptor, true);
    assert.equal(c.usingDefaultDirAuthorities, true);
    assert.equal(c.dirAuthorities.length, DEFAULT_DIR_AUTHORITY_LINES.length);
    assert.equal(c.extOrPortCookieAuthFile, '/var/lib/relayd/extended_orport_auth_cookie');
  });

  it('Debian’s tor-service-defaults-torrc: only its SocksPort lines are errors', () => {
    // /usr/share/tor/tor-service-defaults-torrc of Debian's tor 0.4.9 package.
    const debianDefaults = `DataDirectory /var/lib/tor
PidFile /run/tor/tor.pid
RunAsDaemon 1
User debian-tor

ControlSocket /run/tor/control GroupWritable RelaxDirModeCheck
ControlSocketsGroupWritable 1
SocksPort unix:/run/tor/socks WorldWritable
SocksPort 9050

CookieAuthentication 1
CookieAuthFileGroupReadable 1
CookieAuthFile /run/tor/control.authcookie

Log notice syslog
`;
    const failure = fail(debianDefaults + OBFS4_BRIDGE_TORRC.replace('SocksPort 0\n', ''));
    assert.deepEqual(where(failure.errors), [
      [8, 'unsupported'],
      [9, 'unsupported'],
    ]);
    assert.match(failure.errors[0]!.message, /not a Tor client/);
    assert.deepEqual(
      failure.warnings.slice(0, 7).map((w) => w.option),
      [
        'PidFile',
        'RunAsDaemon',
        'User',
        'ControlSocketsGroupWritable',
        'CookieAuthentication',
        'CookieAuthFileGroupReadable',
        'CookieAuthFile',
      ],
    );
  });
});

describe('option names', () => {
  it('unknown names are errors, with a suggestion for a typo', () => {
    const f = fail(
      `${MINIMAL}ORPrt 9002\nBandwithRate 1 MB\nnickname x\nFrobnicate 1\nServerTransportPlugn x exec /y\n`,
    );
    assert.deepEqual(where(f.errors), [
      [3, 'unknown-option'],
      [4, 'unknown-option'],
      [6, 'unknown-option'],
      [7, 'unknown-option'],
    ]);
    assert.equal(f.errors[0]!.message, "Unknown option 'ORPrt'. Did you mean 'ORPort'?");
    assert.equal(f.errors[1]!.message, "Unknown option 'BandwithRate'. Did you mean 'BandwidthRate'?");
    assert.equal(f.errors[2]!.message, "Unknown option 'Frobnicate'.");
    assert.match(f.errors[3]!.message, /Did you mean 'ServerTransportPlugin'/);
  });

  it('a truncated name is not an abbreviation, but the full name is suggested', () => {
    const f = fail(`${MINIMAL}ServerTransportListen obfs4 0.0.0.0:1\n`);
    assert.match(f.errors[0]!.message, /Did you mean 'ServerTransportListenAddr'/);
  });

  it('C tor options relayd does not implement, and obsolete ones, are warnings', () => {
    const { warnings } = load(
      `${MINIMAL}HeartbeatPeriod 1 hour\nDoSStreamCreationEnabled 1\nAllowDotExit 1\n`,
    );
    assert.deepEqual(
      warnings.map((w) => [w.line, w.code, w.option]),
      [
        [3, 'unimplemented-option', 'HeartbeatPeriod'],
        [4, 'unimplemented-option', 'DoSStreamCreationEnabled'],
        [5, 'obsolete-option', 'AllowDotExit'],
      ],
    );
  });

  it('keywords are case-insensitive', () => {
    const c = config('orport 9001\nNICKNAME Upper\ncontactinfo x\nbAnDwIdThRaTe 100 KB\n');
    assert.equal(c.nickname, 'Upper');
    assert.equal(c.bandwidth.rate, 102400);
  });

  it('tor’s aliases map to the current name; deprecated ones warn', () => {
    const { config: c, warnings } = load(
      `${MINIMAL}BandwidthRateBytes 100 KB\nDirServer a orport=1 v3ident=${'A'.repeat(40)} 10.0.0.1:80 ${'B'.repeat(40)}\nDirServer b orport=1 bridge 10.0.0.2:80 ${'C'.repeat(40)}\nMaxConn 100\n`,
    );
    assert.equal(c.bandwidth.rate, 102400);
    assert.equal(c.dirAuthorities.length, 2);
    assert.equal(c.dirAuthorities[0]!.nickname, 'a');
    assert.deepEqual(
      warnings.map((w) => [w.line, w.code, w.option]),
      [
        [4, 'questionable', 'DirAuthority'],
        [6, 'deprecated-name', 'ConnLimit'],
        [6, 'unimplemented-option', 'ConnLimit'],
      ],
    );
  });
});

describe('values and repetition', () => {
  it('a repeated single option keeps the last value with a warning; lists accumulate', () => {
    const { config: c, warnings } = load(`${MINIMAL}Nickname first\nNickname second\nORPort 9002\n`);
    assert.equal(c.nickname, 'second');
    assert.deepEqual(
      c.orPorts.map((p) => p.port),
      [9001, 9002],
    );
    assert.deepEqual(where(warnings), [[4, 'repeated-option']]);
    assert.match(warnings[0]!.message, /also at line 3/);
  });

  it('an empty value resets a single option; an empty list line is skipped with a warning', () => {
    const { config: c, warnings } = load(`${MINIMAL}Nickname custom\nNickname\nLog\n`);
    assert.equal(c.nickname, 'Unnamed');
    assert.deepEqual(where(warnings), [[5, 'empty-value']]);
  });

  it('/Option clears earlier lines; +Option adds as usual', () => {
    const c = config(`${MINIMAL}Log debug stderr\n/Log\n+Log warn stdout\n+ORPort 9002\n`);
    assert.deepEqual(c.logs, [{ minSeverity: 'warn', maxSeverity: 'err', destination: { kind: 'stdout' } }]);
    assert.deepEqual(
      c.orPorts.map((p) => p.port),
      [9001, 9002],
    );
  });

  it('defaults', () => {
    const c = parseConfig('ORPort 9001\n', { cpuCount: 6 });
    assert.ok(c.ok);
    const { config: d, warnings } = c.value;
    assert.deepEqual(where(warnings), [[null, 'questionable']]);
    assert.match(warnings[0]!.message, /ContactInfo/);
    assert.deepEqual(
      { ...d, dirAuthorities: d.dirAuthorities.length, orPorts: undefined, files: undefined },
      {
        dataDirectory: '/var/lib/relayd',
        nickname: 'Unnamed',
        contactInfo: null,
        addresses: [],
        orPorts: undefined,
        bridgeRelay: true,
        publishServerDescriptor: true,
        dirAuthorities: DEFAULT_DIR_AUTHORITY_LINES.length,
        usingDefaultDirAuthorities: true,
        testingTorNetwork: false,
        extendAllowPrivateAddresses: false,
        testing: {
          countPrivateBandwidth: false,
          dirAllowPrivateAddresses: false,
          dirConnectionMaxStallSeconds: 300,
          minTimeToReportBandwidthSeconds: 86400,
        },
        logs: [{ minSeverity: 'notice', maxSeverity: 'err', destination: { kind: 'stdout' } }],
        safeLogging: 'all',
        assumeReachable: false,
        bandwidth: { rate: 2 ** 30, burst: 2 ** 30, relayRate: 0, relayBurst: 0, maxAdvertised: 2 ** 30 },
        outboundBindAddresses: { ipv4: null, ipv6: null },
        extOrPorts: [],
        extOrPortCookieAuthFile: '/var/lib/relayd/extended_orport_auth_cookie',
        serverTransportPlugins: [],
        serverTransportListenAddrs: [],
        serverTransportOptions: [],
        bridgeDistribution: null,
        workers: 6,
        workersAuto: true,
        balancerMode: 'handoff',
        balancerBackends: [],
        balancerSourceAddresses: [{ first: '127.0.1.1', last: '127.0.1.254' }],
        balancerMaxConnectionsPerAddress: 100,
        balancerHealthCheckIntervalSeconds: 10,
        onionKeyRotation: 'coordinated',
        controlSocket: { path: '/var/lib/relayd/control.sock', groupWritable: false, worldWritable: false },
        controlSocketGroup: null,
        metricsPort: null,
        metricsPortPolicy: [],
        throttleAlgorithm: 'off',
        files: undefined,
      },
    );
    assert.deepEqual(d.files, ['torrc']);
  });

  it('relayd’s own options', () => {
    const c = config(
      `${MINIMAL}Workers 3\nBalancerMode proxy\nOnionKeyRotation Frozen\nControlSocket /run/relayd/control GroupWritable\nControlSocketGroup relayd\nMetricsPort 127.0.0.1:9035\nMetricsPortPolicy accept 127.0.0.1\nThrottleAlgorithm bit-splitting\n`,
    );
    assert.equal(c.workers, 3);
    assert.equal(c.workersAuto, false);
    assert.equal(c.balancerMode, 'proxy');
    assert.equal(c.onionKeyRotation, 'frozen');
    assert.deepEqual(c.controlSocket, {
      path: '/run/relayd/control',
      groupWritable: true,
      worldWritable: false,
    });
    assert.equal(c.controlSocketGroup, 'relayd');
    assert.deepEqual(c.metricsPort, { address: '127.0.0.1', family: 4, port: 9035, format: 'prometheus' });
    assert.equal(c.metricsPortPolicy.length, 1);
    assert.equal(c.throttleAlgorithm, 'bit-splitting');
    assert.equal(config(`${MINIMAL}ControlSocket 0\n`).controlSocket, null);
  });

  it('Workers auto follows the CPU count, capped', () => {
    assert.equal(load(`${MINIMAL}Workers auto\n`, 1).config.workers, 1);
    assert.equal(load(MINIMAL, 1000).config.workers, 256);
  });

  it('every implemented option rejects a malformed value, naming the option and line', () => {
    const cases: [string, RegExp][] = [
      ['DataDirectory relative/dir', /absolute/],
      ['DataDirectory ~/tor', /does not expand/],
      ['Nickname has_underscore', /nicknames must be/],
      ['Nickname ThisNicknameIsTooLong1', /nicknames must be/],
      ['Address not_a_host!', /neither an IP address nor a host name/],
      ['ORPort 99999', /out of range/],
      ['BridgeRelay yes', /0 and 1/],
      ['PublishServerDescriptor v4', /unrecognized value 'v4'/],
      ['DirAuthority 1.2.3.4:80', /too few arguments/],
      ['AlternateDirAuthority x 1.2.3.4:80 ABCD', /length 4/],
      [`AlternateBridgeAuthority x bridge 1.2.3.4 ${'A'.repeat(40)}`, /missing port/],
      ['TestingTorNetwork 2', /0 and 1/],
      ['ExtendAllowPrivateAddresses on', /0 and 1/],
      ['Log loud stdout', /bad severity/],
      ['Log notice file relative.log', /absolute/],
      ['SafeLogging 2', /SafeLogging/],
      ['AssumeReachable -1', /0 and 1/],
      ['BandwidthRate 1 GiB', /unknown unit/],
      ['BandwidthBurst lots', /not a number/],
      ['RelayBandwidthRate 1 parsec', /unknown unit/],
      ['RelayBandwidthBurst -5', /not a number/],
      ['MaxAdvertisedBandwidth 1e9', /not a number/],
      ['OutboundBindAddress example.org', /not an IP address/],
      ['ExtORPort unix:/run/ext', /unix sockets/],
      ['ExtORPortCookieAuthFile cookie', /absolute/],
      ['ServerTransportPlugin obfs4 run /x', /strange/],
      ['ServerTransportListenAddr obfs4 0.0.0.0', /no port/],
      ['ServerTransportOptions obfs4 nonsense', /key=value/],
      ['BridgeDistribution bad/value', /invalid BridgeDistribution/],
      ['SocksPort 9050', /not a Tor client/],
      ['Workers 0', /out of range/],
      ['Workers many', /not an integer/],
      ['BalancerMode roundrobin', /not one of handoff, proxy/],
      ['OnionKeyRotation never', /not one of coordinated, frozen/],
      ['ControlSocket relative', /absolute/],
      ['ControlSocket /run/c Sticky', /unknown ControlSocket flag/],
      ['ControlSocketGroup "bad group"', /not a group name/],
      ['MetricsPort 9035 json', /unknown format/],
      ['MetricsPortPolicy allow 1.2.3.4', /not "accept\|reject/],
      ['ThrottleAlgorithm fast', /not one of off, static, bit-splitting, flagging, threshold/],
    ];
    for (const [line, message] of cases) {
      const f = fail(`${MINIMAL}${line}\n`);
      const option = line.split(' ')[0]!;
      assert.equal(f.errors.length, 1, `${line}: ${f.errors.map(formatDiagnostic).join('; ')}`);
      assert.equal(f.errors[0]!.line, 3, line);
      assert.equal(f.errors[0]!.option, option, line);
      assert.match(f.errors[0]!.message, message, line);
      assert.ok(f.errors[0]!.message.startsWith(`${option}: `), line);
    }
  });

  it('every error of a file is reported, in file order', () => {
    const f = fail(
      'Nickname bad_name\nORPort x\nWorkers 0\nBogus 1\nLog "unterminated\nBandwidthRate 1 GiB\n',
    );
    assert.deepEqual(
      f.errors.map((e) => [e.line, e.code]),
      [
        [1, 'bad-value'],
        [2, 'bad-value'],
        [3, 'bad-value'],
        [4, 'unknown-option'],
        [5, 'syntax'],
        [6, 'bad-value'],
      ],
    );
  });
});

describe('checks across options', () => {
  const errorsOf = (text: string) => fail(text).errors.map((e) => [e.line, e.option, e.code]);

  it('ORPort is required and must be usable', () => {
    assert.deepEqual(errorsOf('ContactInfo x\n'), [[null, 'ORPort', 'conflict']]);
    assert.deepEqual(errorsOf('ORPort 0\n'), [[1, 'ORPort', 'conflict']]);
    assert.deepEqual(errorsOf('ORPort 9001\nORPort 0\n'), [[2, 'ORPort', 'conflict']]);
    assert.deepEqual(errorsOf('ORPort 9001 NoListen\n'), [[1, 'ORPort', 'conflict']]);
    assert.deepEqual(errorsOf('ORPort 9001 NoAdvertise\n'), [[1, 'ORPort', 'conflict']]);
    const ok = config('ORPort 443 NoListen\nORPort 127.0.0.1:9001 NoAdvertise\nContactInfo x\n');
    assert.equal(ok.orPorts.length, 2);
  });

  it('a malformed ORPort is one error, not also "ORPort missing"', () => {
    assert.deepEqual(errorsOf('ORPort nowhere\n'), [[1, 'ORPort', 'bad-value']]);
  });

  it('relayd runs only as a bridge', () => {
    assert.deepEqual(errorsOf(`${MINIMAL}BridgeRelay 0\n`), [[3, 'BridgeRelay', 'unsupported']]);
    assert.deepEqual(errorsOf(`${MINIMAL}PublishServerDescriptor bridge,v3\n`), [
      [3, 'PublishServerDescriptor', 'conflict'],
    ]);
    assert.equal(config(`${MINIMAL}PublishServerDescriptor 0\n`).publishServerDescriptor, false);
    const { config: c, warnings } = load(`${MINIMAL}PublishServerDescriptor 1,bridge\n`);
    assert.equal(c.publishServerDescriptor, true);
    assert.match(warnings[0]!.message, /sole argument/);
  });

  it('directory authorities: replacement rules and TestingTorNetwork', () => {
    const v3 = (nick: string, ip: string) =>
      `${nick} orport=5000 no-v2 v3ident=${'A'.repeat(39)}${nick.length} ${ip}:7000 ${ip.replace(/\./g, '').padEnd(40, 'F')}`;
    const bridge = `ba orport=5001 no-v2 bridge 127.0.0.9:7001 ${'E'.repeat(40)}`;

    const alternateDir = config(`${MINIMAL}AlternateDirAuthority ${v3('a1', '127.0.0.1')}\n`);
    assert.deepEqual(
      alternateDir.dirAuthorities.map((a) => a.nickname),
      ['Serge', 'a1'],
    );
    const alternateBridge = config(`${MINIMAL}AlternateBridgeAuthority ${bridge}\n`);
    assert.equal(alternateBridge.dirAuthorities.length, DEFAULT_DIR_AUTHORITY_LINES.length);
    assert.equal(alternateBridge.dirAuthorities.find((a) => a.isBridgeAuthority)!.nickname, 'ba');

    assert.deepEqual(
      errorsOf(`${MINIMAL}DirAuthority ${v3('a1', '127.0.0.1')}\nAlternateBridgeAuthority ${bridge}\n`),
      [[4, 'DirAuthority', 'conflict']],
    );
    assert.deepEqual(errorsOf(`${MINIMAL}TestingTorNetwork 1\n`), [[3, 'TestingTorNetwork', 'conflict']]);
    assert.deepEqual(
      errorsOf(`${MINIMAL}TestingTorNetwork 1\nAlternateDirAuthority ${v3('a1', '127.0.0.1')}\n`),
      [[3, 'TestingTorNetwork', 'conflict']],
    );

    const testnet = load(
      `${MINIMAL}TestingTorNetwork 1\nAssumeReachable 1\nAlternateDirAuthority ${v3('a1', '127.0.0.1')}\nAlternateBridgeAuthority ${bridge}\n`,
    );
    assert.deepEqual(testnet.warnings, []);
    const t = testnet.config;
    assert.equal(t.testingTorNetwork, true);
    assert.equal(t.assumeReachable, true);
    assert.equal(t.usingDefaultDirAuthorities, false);
    assert.deepEqual(
      t.dirAuthorities.map((a) => a.nickname),
      ['ba', 'a1'],
    );
    assert.equal(t.extendAllowPrivateAddresses, true);
    assert.deepEqual(t.testing, {
      countPrivateBandwidth: true,
      dirAllowPrivateAddresses: true,
      dirConnectionMaxStallSeconds: 30,
      minTimeToReportBandwidthSeconds: 0,
    });
    const explicit = config(
      `${MINIMAL}TestingTorNetwork 1\nExtendAllowPrivateAddresses 0\nDirAuthority ${v3('a1', '127.0.0.1')}\nDirAuthority ${bridge}\n`,
    );
    assert.equal(explicit.extendAllowPrivateAddresses, false);
    assert.equal(explicit.dirAuthorities.length, 2);
  });

  it('warns when publishing without a bridge authority, and about alternate authorities on the live network', () => {
    const { warnings } = load(
      `${MINIMAL}DirAuthority a orport=1 v3ident=${'A'.repeat(40)} 10.0.0.1:80 ${'B'.repeat(40)}\n`,
    );
    assert.deepEqual(
      warnings.map((w) => w.option),
      ['DirAuthority', 'PublishServerDescriptor'],
    );
  });

  it('bandwidth rules of tor', () => {
    assert.equal(config(`${MINIMAL}BandwidthRate 2 GB\nBandwidthBurst 2 GB\n`).bandwidth.rate, 2 ** 31 - 1);
    assert.deepEqual(errorsOf(`${MINIMAL}BandwidthRate 3 GB\n`), [[3, 'BandwidthRate', 'bad-value']]);
    assert.deepEqual(errorsOf(`${MINIMAL}BandwidthRate 40 KB\n`), [[3, 'BandwidthRate', 'conflict']]);
    assert.deepEqual(errorsOf(`${MINIMAL}MaxAdvertisedBandwidth 20 KB\n`), [
      [3, 'MaxAdvertisedBandwidth', 'conflict'],
    ]);
    assert.deepEqual(errorsOf(`${MINIMAL}BandwidthRate 2 MB\nBandwidthBurst 1 MB\n`), [
      [4, 'BandwidthBurst', 'conflict'],
    ]);
    assert.deepEqual(errorsOf(`${MINIMAL}RelayBandwidthRate 10 KB\n`), [
      [3, 'RelayBandwidthRate', 'conflict'],
    ]);
    assert.deepEqual(errorsOf(`${MINIMAL}RelayBandwidthRate 2 MB\nRelayBandwidthBurst 1 MB\n`), [
      [4, 'RelayBandwidthBurst', 'conflict'],
    ]);
    // One relay value fills the other; BandwidthRate/Burst are raised to them.
    assert.deepEqual(
      config(`${MINIMAL}BandwidthRate 1 MB\nBandwidthBurst 1 MB\nRelayBandwidthBurst 3 MB\n`).bandwidth,
      {
        rate: 3 * 2 ** 20,
        burst: 3 * 2 ** 20,
        relayRate: 3 * 2 ** 20,
        relayBurst: 3 * 2 ** 20,
        maxAdvertised: 2 ** 30,
      },
    );
  });

  it('addresses: one per family', () => {
    const c = config(
      `${MINIMAL}Address 203.0.113.5\nAddress [2001:db8::5]\nOutboundBindAddress 203.0.113.5\nOutboundBindAddress [2001:db8::5]\n`,
    );
    assert.deepEqual(c.addresses, [
      { family: 4, address: '203.0.113.5' },
      { family: 6, address: '2001:db8::5' },
    ]);
    assert.deepEqual(c.outboundBindAddresses, { ipv4: '203.0.113.5', ipv6: '2001:db8::5' });
    assert.deepEqual(config(`${MINIMAL}Address bridge.example.org\n`).addresses, [
      { family: null, address: 'bridge.example.org' },
    ]);
    assert.deepEqual(errorsOf(`${MINIMAL}Address 203.0.113.5\nAddress 203.0.113.6\n`), [
      [4, 'Address', 'conflict'],
    ]);
    assert.deepEqual(errorsOf(`${MINIMAL}OutboundBindAddress ::1\nOutboundBindAddress ::2\n`), [
      [4, 'OutboundBindAddress', 'conflict'],
    ]);
  });

  it('pluggable transports', () => {
    assert.deepEqual(
      errorsOf(
        `${MINIMAL}ExtORPort auto\nServerTransportPlugin obfs4 exec /a\nServerTransportPlugin meek,obfs4 exec /b\n`,
      ),
      [[5, 'ServerTransportPlugin', 'conflict']],
    );
    const { config: c, warnings } = load(
      `${MINIMAL}ExtORPort 127.0.0.1:6000\nServerTransportPlugin obfs4 exec /a -v\nServerTransportListenAddr obfs4 [::]:443\nServerTransportListenAddr obfs4 0.0.0.0:444\nServerTransportListenAddr webtunnel 0.0.0.0:445\nServerTransportOptions obfs4 iat-mode=2\n`,
    );
    assert.deepEqual(c.serverTransportListenAddrs, [
      { transport: 'obfs4', address: '::', family: 6, port: 443 },
      { transport: 'webtunnel', address: '0.0.0.0', family: 4, port: 445 },
    ]);
    assert.deepEqual(c.serverTransportOptions, [
      { transport: 'obfs4', options: [{ key: 'iat-mode', value: '2' }] },
    ]);
    assert.deepEqual(
      warnings.map((w) => [w.line, w.option]),
      [
        [6, 'ServerTransportListenAddr'],
        [7, 'ServerTransportListenAddr'],
      ],
    );
    // Transports without an ExtORPort get 127.0.0.1:auto (tor only suggests it); "ExtORPort 0" is refused.
    const defaulted = load(`${MINIMAL}ServerTransportPlugin obfs4 exec /a\n`);
    assert.deepEqual(defaulted.warnings, []);
    assert.deepEqual(defaulted.config.extOrPorts, [
      {
        address: '127.0.0.1',
        family: 4,
        port: 'auto',
        noAdvertise: false,
        noListen: false,
        ipv4Only: false,
        ipv6Only: false,
      },
    ]);
    assert.deepEqual(config(MINIMAL).extOrPorts, []);
    assert.match(
      load(`${MINIMAL}ServerTransportPlugin snowflake proxy 127.0.0.1:7000\n`).warnings[0]!.message,
      /needs a fixed ExtORPort/,
    );
    assert.deepEqual(
      load(`${MINIMAL}ExtORPort 127.0.0.1:10001\nServerTransportPlugin snowflake proxy 127.0.0.1:7000\n`)
        .warnings,
      [],
    );
    assert.deepEqual(errorsOf(`${MINIMAL}ExtORPort 0\nServerTransportPlugin obfs4 exec /a\n`), [
      [3, 'ExtORPort', 'conflict'],
    ]);
    assert.match(load(`${MINIMAL}ExtORPort 192.0.2.7:6000\n`).warnings[0]!.message, /public address/);
  });

  it('MetricsPort without a policy: loopback only, and a warning when it listens elsewhere', () => {
    const { config: c, warnings } = load(`${MINIMAL}MetricsPort 9035\n`);
    assert.equal(c.metricsPort?.port, 9035);
    assert.equal(c.metricsPort?.address, '127.0.0.1');
    assert.deepEqual(c.metricsPortPolicy, []);
    assert.deepEqual(warnings, [], 'on loopback the default policy is what the operator wants');
    assert.deepEqual(load(`${MINIMAL}MetricsPort [::1]:9035\n`).warnings, []);
    const wide = load(`${MINIMAL}MetricsPort 0.0.0.0:9035\n`).warnings;
    assert.equal(wide.length, 1);
    assert.match(wide[0]!.message, /only loopback peers may scrape it/);
    assert.deepEqual(
      load(`${MINIMAL}MetricsPort 0.0.0.0:9035\nMetricsPortPolicy accept 10.0.0.2\n`).warnings,
      [],
    );
    assert.equal(config(`${MINIMAL}MetricsPort 0\n`).metricsPort, null);
  });

  it('the control socket path must fit in a unix socket address', () => {
    assert.deepEqual(errorsOf(`${MINIMAL}DataDirectory /${'d'.repeat(100)}\n`), [
      [3, 'DataDirectory', 'conflict'],
    ]);
    assert.deepEqual(errorsOf(`${MINIMAL}ControlSocket /${'c'.repeat(107)}\n`), [
      [3, 'ControlSocket', 'conflict'],
    ]);
    assert.equal(
      config(`${MINIMAL}DataDirectory /${'d'.repeat(100)}\nControlSocket /run/relayd.sock\n`).controlSocket
        ?.path,
      '/run/relayd.sock',
    );
  });
});
