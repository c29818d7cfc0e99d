/**
 * relayd reads a torrc as real C tor (Debian tor 0.4.9.x, /usr/bin/tor) does:
 * - the values tor itself reads (`tor --dump-config short`) from a file full
 *   of continuations, quoting, comments and odd keyword case are the values
 *   relayd reads;
 * - on a corpus of bridge torrcs, `tor --verify-config` and relayd agree on
 *   which are valid and which are not (cases where relayd is deliberately
 *   stricter, like SocksPort, are tested in packages/config instead).
 *
 * tor only parses here: --verify-config and --dump-config exit at once and
 * open no sockets.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatDiagnostic, lexTorrc, parseConfig } from '@relayd/config';

const TOR = '/usr/bin/tor';
const root = mkdtempSync(join(tmpdir(), 'relayd-config-interop-'));
const dataDirectory = join(root, 'data');
mkdirSync(dataDirectory, { mode: 0o700 });
after(() => rmSync(root, { recursive: true, force: true }));

/** What every case shares: a bridge with no SOCKS port (tor's default would be 9050). */
const BASE = `SocksPort 0\nDataDirectory ${dataDirectory}\nContactInfo ops@example.org\nBridgeRelay 1\nORPort 9001\n`;

let fileCount = 0;
function writeTorrc(text: string): string {
  const path = join(root, `torrc-${++fileCount}`);
  writeFileSync(path, text);
  return path;
}

function tor(args: string[]) {
  const r = spawnSync(TOR, [...args, '--defaults-torrc', '/dev/null'], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const skip = existsSync(TOR) ? false : `${TOR} is not installed (scripts/install-system-deps.sh)`;

describe('torrc reading agrees with C tor', { skip }, () => {
  it('tor --dump-config reads the same values relayd reads', () => {
    const text = `${BASE}ContactInfo first \\
  second # a comment inside the continued value \\
 third
Nickname "Quoted1"
BANDWIDTHRATE 1.5 MBytes
bandwidthburst 3 MB
Log notice file ${root}/relayd a.log   # trailing comment
Log debug stderr
/Log
+Log info-warn stderr
ExtORPort auto
ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy -enableLogging
ServerTransportOptions "obfs4 iat-mode=1\\tcert=\\x41\\102"
`;
    const path = writeTorrc(text);
    const dumped = tor(['--dump-config', 'short', '-f', path]);
    assert.equal(dumped.status, 0, dumped.stdout + dumped.stderr);

    // tor's dump is itself torrc; read it back with relayd's lexer.
    const torValues = new Map<string, string[]>();
    for (const e of lexTorrc(dumped.stdout, 'dump').entries) {
      torValues.set(e.key, [...(torValues.get(e.key) ?? []), e.value]);
    }
    const r = parseConfig(text, { fileName: path, cpuCount: 1 });
    assert.ok(r.ok, !r.ok ? r.error.errors.map(formatDiagnostic).join('\n') : '');
    const c = r.value.config;

    assert.deepEqual(torValues.get('ContactInfo'), [c.contactInfo]);
    assert.equal(c.contactInfo, 'first   second  third');
    assert.deepEqual(torValues.get('Nickname'), [c.nickname]);
    assert.deepEqual(torValues.get('BandwidthRate'), [String(c.bandwidth.rate)]);
    assert.deepEqual(torValues.get('BandwidthBurst'), [String(c.bandwidth.burst)]);
    assert.equal(c.bandwidth.rate, 1.5 * 2 ** 20);
    // "/Log" dropped the first two Log lines in both.
    assert.deepEqual(torValues.get('Log'), ['info-warn stderr']);
    assert.deepEqual(c.logs, [{ minSeverity: 'info', maxSeverity: 'warn', destination: { kind: 'stderr' } }]);
    assert.deepEqual(torValues.get('ServerTransportOptions'), ['obfs4 iat-mode=1\tcert=AB']);
    assert.deepEqual(c.serverTransportOptions, [
      {
        transport: 'obfs4',
        options: [
          { key: 'iat-mode', value: '1' },
          { key: 'cert', value: 'AB' },
        ],
      },
    ]);
    assert.deepEqual(torValues.get('ServerTransportPlugin'), [
      'obfs4 exec /usr/bin/obfs4proxy -enableLogging',
    ]);
  });

  const fp = '0123456789ABCDEF0123456789ABCDEF01234567';
  const valid = [
    '',
    `ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy\nServerTransportListenAddr obfs4 0.0.0.0:9443\nExtORPort auto\nNickname PickANickname\nLog notice file ${root}/notices.log`,
    'BandwidthRate 100 KBytes\nBandwidthBurst 200 KBytes\nRelayBandwidthRate 60 KB',
    'PublishServerDescriptor 0\nBridgeDistribution none',
    'Address 192.0.2.1\nOutboundBindAddress 127.0.0.1',
    'ContactInfo "a \\"quoted\\" contact"',
    'ContactInfo not "quoted" at all: quotes only count at the start of a value',
    'ExitPolicy reject *:*\nHeartbeatPeriod 1 hour',
    'MetricsPort 127.0.0.1:9035\nMetricsPortPolicy accept 127.0.0.1',
    'ORPort [::1]:9002\nExtORPort 127.0.0.1:auto',
    'nickname lowercasekey\nsafelogging relay\nassumereachable 1',
    `AlternateDirAuthority a1 orport=5000 no-v2 v3ident=${'A'.repeat(40)} 127.0.0.1:7000 ${fp}\nAlternateBridgeAuthority b1 orport=5001 no-v2 bridge 127.0.0.1:7001 ${'B'.repeat(40)}\nTestingTorNetwork 1`,
  ];
  const invalid = [
    'ORPrt 9002',
    'BandwidthRate 1 GiB',
    'BridgeRelay 2',
    'Nickname bad_name',
    'Nickname ThisNicknameIsTooLong1',
    'ContactInfo "unterminated',
    'ContactInfo "x" y',
    'ContactInfo "\\q"',
    'BandwidthRate 2 MB\nBandwidthBurst 1 MB',
    'BandwidthRate 10 KB',
    'RelayBandwidthRate 2 MB\nRelayBandwidthBurst 1 MB',
    'MaxAdvertisedBandwidth 3 GB',
    'PublishServerDescriptor v3',
    'PublishServerDescriptor v4',
    'TestingTorNetwork 1',
    `DirAuthority moria1 orport=9201 1.2.3.4 ${fp}`,
    `DirAuthority x 1.2.3.4:80 ${fp.slice(2)}`,
    `DirAuthority x 1.2.3.4:80 ${fp}\nAlternateBridgeAuthority y bridge 1.2.3.5:80 ${fp}`,
    'ServerTransportPlugin obfs-4 exec /bin/true',
    'ServerTransportPlugin obfs4 run /bin/true',
    'ServerTransportListenAddr obfs4 0.0.0.0',
    'ServerTransportOptions obfs4 novalue',
    'BridgeDistribution bad/value',
    'Log loud stdout',
    'Log notice printer',
    'ORPort 99999',
    'ORPort 9002 NoListen NoAdvertise',
    'ORPort 0',
    'ExtORPort 0\nExtORPort auto',
    'OutboundBindAddress 1.2.3.4\nOutboundBindAddress 5.6.7.8',
    'MetricsPort 9035 json',
    'SafeLogging 2',
    '%include /nonexistent/relayd-test.conf',
  ];

  const verdicts = (snippet: string) => {
    const text = `${BASE}${snippet}\n`;
    const path = writeTorrc(text);
    const t = tor(['--verify-config', '-f', path]);
    const r = parseConfig(text, { fileName: path, cpuCount: 1 });
    const relaydErrors = r.ok ? [] : r.error.errors.map(formatDiagnostic);
    return {
      torValid: t.status === 0,
      relaydValid: r.ok,
      torSays: t.stdout.split('\n').filter((l) => /\[(warn|err)\]/.test(l)),
      relaydErrors,
    };
  };

  it('bridge torrcs tor accepts, relayd accepts', () => {
    for (const snippet of valid) {
      const v = verdicts(snippet);
      assert.ok(v.torValid, `tor rejects ${JSON.stringify(snippet)}: ${v.torSays.join(' | ')}`);
      assert.ok(v.relaydValid, `relayd rejects ${JSON.stringify(snippet)}: ${v.relaydErrors.join(' | ')}`);
    }
  });

  it('torrcs tor rejects, relayd rejects', () => {
    for (const snippet of invalid) {
      const v = verdicts(snippet);
      assert.ok(!v.torValid, `tor accepts ${JSON.stringify(snippet)}`);
      assert.ok(!v.relaydValid, `relayd accepts ${JSON.stringify(snippet)} (tor: ${v.torSays.join(' | ')})`);
    }
  });
});
