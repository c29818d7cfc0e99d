/**
 * The example configurations in configs/:
 * - every `*.torrc` is accepted by the built relayd exactly as an operator
 *   checks it (`bin/relayd --verify-config -f FILE`: "Configuration was
 *   valid", exit 0) and without a single warning;
 * - each one is the arrangement its comments describe (read back with
 *   @relayd/config), and its fixed ports stay below the ephemeral port range
 *   that systemd/99-relayd.conf sets, as that file asks;
 * - configs/pt-snowflake.env, the operator's part of the environment of
 *   relayd-pt@snowflake.service, sets PT_EXEC and PT_ARGS and leaves the
 *   TOR_PT_* lines to the file relayd writes at each start
 *   (externalTransportEnvironmentFiles for
 *   configs/external-pt-many-workers.torrc); both read in the unit's order
 *   in sh give the transport its program and relayd's ExtORPort.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigFile, type RelaydConfig } from '@relayd/config';
import { externalTransportEnvironmentFiles, ptOrPortTarget } from '@relayd/transports';
import { CONFIGS_DIR, describeRun, relayd, run, SYSTEMD_DIR } from './support.js';

const torrcs = readdirSync(CONFIGS_DIR)
  .filter((f) => f.endsWith('.torrc'))
  .sort();

function load(name: string): RelaydConfig {
  const r = loadConfigFile(join(CONFIGS_DIR, name));
  assert.ok(r.ok, `${name} loads`);
  return r.value.config;
}

/** The low end of net.ipv4.ip_local_port_range in systemd/99-relayd.conf. */
function ephemeralRangeStart(): number {
  const text = readFileSync(join(SYSTEMD_DIR, '99-relayd.conf'), 'utf8');
  const m = /^net\.ipv4\.ip_local_port_range\s*=\s*(\d+)\s+(\d+)\s*$/m.exec(text);
  assert.ok(m, 'the sysctl file sets the port range');
  return Number(m[1]);
}

describe('configs/*.torrc', () => {
  it('there are the four documented examples', () => {
    assert.deepEqual(torrcs, [
      'external-pt-many-workers.torrc',
      'obfs4-managed.torrc',
      'proxy-legacy-c-tor.torrc',
      'vanilla-bridge.torrc',
    ]);
  });

  for (const name of torrcs) {
    it(`${name}: relayd --verify-config says "Configuration was valid", with no warning`, () => {
      const r = relayd(['--verify-config', '-f', join(CONFIGS_DIR, name)]);
      assert.equal(r.status, 0, describeRun(r));
      assert.equal(r.stdout.trim(), 'Configuration was valid', describeRun(r));
      assert.equal(r.stderr, '', `warnings:\n${r.stderr}`);
    });
  }

  it('fixed listening ports stay below the ephemeral range of systemd/99-relayd.conf', () => {
    const low = ephemeralRangeStart();
    for (const name of torrcs) {
      const c = load(name);
      const ports = [
        ...c.orPorts.map((p) => p.port),
        ...c.extOrPorts.map((p) => p.port),
        ...c.serverTransportListenAddrs.map((l) => l.port),
        ...c.serverTransportPlugins.flatMap((p) => (p.kind === 'proxy' ? [p.port] : [])),
      ].filter((p): p is number => typeof p === 'number' && p > 0);
      assert.ok(ports.length > 0, `${name} has fixed ports`);
      for (const port of ports) assert.ok(port < low, `${name}: port ${port} is inside the ephemeral range`);
    }
  });

  it('vanilla-bridge.torrc: an ORPort, no transports, no Extended ORPort', () => {
    const c = load('vanilla-bridge.torrc');
    assert.equal(c.dataDirectory, '/var/lib/relayd');
    assert.equal(c.serverTransportPlugins.length, 0);
    assert.equal(c.extOrPorts.length, 0);
    assert.deepEqual(
      c.orPorts.map((p) => p.port),
      [443],
    );
  });

  it('obfs4-managed.torrc: obfs4proxy launched by relayd on a fixed port, ExtORPort auto', () => {
    const c = load('obfs4-managed.torrc');
    assert.deepEqual(
      c.serverTransportPlugins.map((p) => [p.kind, p.transports]),
      [['exec', ['obfs4']]],
    );
    const plugin = c.serverTransportPlugins[0]!;
    assert.ok(plugin.kind === 'exec' && plugin.path === '/usr/bin/obfs4proxy');
    assert.deepEqual(
      c.serverTransportListenAddrs.map((l) => [l.transport, l.port]),
      [['obfs4', 443]],
    );
    assert.deepEqual(
      c.extOrPorts.map((p) => p.port),
      ['auto'],
    );
    assert.equal(c.balancerMode, 'handoff');
  });

  it('external-pt-many-workers.torrc: a fixed ExtORPort, an external transport, many workers, handoff', () => {
    const c = load('external-pt-many-workers.torrc');
    assert.deepEqual(
      c.extOrPorts.map((p) => [p.address, p.port]),
      [['127.0.0.1', 10001]],
    );
    assert.equal(c.extOrPortCookieAuthFile, '/var/lib/relayd/extended_orport_auth_cookie');
    assert.deepEqual(
      c.serverTransportPlugins.map((p) => [p.kind, p.transports]),
      [['proxy', ['snowflake']]],
    );
    assert.equal(c.workers, 8);
    assert.equal(c.balancerMode, 'handoff');
  });

  it('proxy-legacy-c-tor.torrc: proxy mode over four C tor backends from spread source addresses', () => {
    const c = load('proxy-legacy-c-tor.torrc');
    assert.equal(c.balancerMode, 'proxy');
    assert.deepEqual(
      c.balancerBackends.map((b) => `${b.address}:${b.port}`),
      ['127.0.3.1:10001', '127.0.3.2:10001', '127.0.3.3:10001', '127.0.3.4:10001'],
    );
    for (const b of c.balancerBackends)
      assert.match(b.cookieFile, /^\/var\/lib\/tor-instances\/snowflake\d\//);
    assert.deepEqual(c.balancerSourceAddresses, [{ first: '127.0.1.1', last: '127.0.1.254' }]);
    assert.equal(c.onionKeyRotation, 'frozen');
  });
});

describe('configs/pt-snowflake.env', () => {
  const envText = readFileSync(join(CONFIGS_DIR, 'pt-snowflake.env'), 'utf8');

  it('leaves the TOR_PT_* variables to relayd, which renders them for external-pt-many-workers.torrc', () => {
    assert.deepEqual(
      envText.split('\n').filter((l) => /^\s*TOR_PT_/.test(l)),
      [],
      'a TOR_PT_* line here would override what relayd writes at each start',
    );
    // What relayd writes to /var/lib/relayd/pt-snowflake.env for that configuration.
    const c = load('external-pt-many-workers.torrc');
    const ext = c.extOrPorts[0]!;
    assert.ok(ext.port !== 'auto');
    const files = externalTransportEnvironmentFiles(c, {
      extOrPort: { address: ext.address ?? '127.0.0.1', port: ext.port },
      authCookieFile: c.extOrPortCookieAuthFile,
      ...(ptOrPortTarget(c.orPorts, []) ? { orPort: ptOrPortTarget(c.orPorts, [])! } : {}),
    });
    assert.deepEqual(
      files.map((f) => f.fileName),
      ['pt-snowflake.env'],
    );
    const rendered = files[0]!.text;
    assert.match(rendered, /^TOR_PT_SERVER_BINDADDR=snowflake-0\.0\.0\.0:443$/m);
    assert.match(rendered, /^TOR_PT_EXTENDED_SERVER_PORT=127\.0\.0\.1:10001$/m);
    assert.match(rendered, /^TOR_PT_AUTH_COOKIE_FILE=\/var\/lib\/relayd\/extended_orport_auth_cookie$/m);
    assert.doesNotMatch(rendered, /TOR_PT_EXIT_ON_STDIN_CLOSE/, 'stdin is /dev/null under systemd');
  });

  it('reads as relayd-pt@.service needs it, after relayd’s file, in sh as well', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relayd-pt-env-'));
    try {
      const c = load('external-pt-many-workers.torrc');
      const ext = c.extOrPorts[0]!;
      assert.ok(ext.port !== 'auto');
      const relaydFile = join(dir, 'pt-snowflake.env');
      writeFileSync(
        relaydFile,
        externalTransportEnvironmentFiles(c, {
          extOrPort: { address: ext.address ?? '127.0.0.1', port: ext.port },
          authCookieFile: c.extOrPortCookieAuthFile,
        })[0]!.text,
      );
      // The unit's order: relayd's file, then the operator's.
      const script =
        'set -a; . "$1"; . "$2"; printf "%s\\n" "$PT_EXEC" "$PT_ARGS" "$TOR_PT_EXTENDED_SERVER_PORT" "$TOR_PT_AUTH_COOKIE_FILE"';
      const r = run('/bin/sh', ['-c', script, 'sh', relaydFile, join(CONFIGS_DIR, 'pt-snowflake.env')]);
      assert.equal(r.status, 0, describeRun(r));
      assert.deepEqual(r.stdout.split('\n').slice(0, 4), [
        '/usr/bin/snowflake-server',
        '-acme-hostnames snowflake.example.org -acme-email ops@example.org',
        '127.0.0.1:10001',
        '/var/lib/relayd/extended_orport_auth_cookie',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
