/**
 * The supervisor with its connection front (@relayd/balancer) and a managed
 * pluggable transport (@relayd/transports), in this process with the
 * in-process worker:
 *
 * - handoff mode, no ExtORPort line: the front opens 127.0.0.1:auto with
 *   its cookie file; Debian's obfs4proxy is launched against it; the
 *   bridge lines and the extra-info carry its `transport obfs4` line; an
 *   Extended ORPort connection (USERADDR, TRANSPORT) reaches the worker and
 *   is counted under its transport; the front counts it as open until it
 *   closes; a killed obfs4proxy is dropped from the lines and comes back;
 *   stop ends the transport (by PID) and the front;
 * - proxy mode: the balancer listens on the ORPort itself and proxies to
 *   the worker's Extended ORPort backend (registered as "worker 1"),
 *   carrying the client's address, and TRANSPORT for ExtORPort clients;
 * - an external transport (`ServerTransportPlugin … proxy`): relayd writes
 *   its TOR_PT_* environment to DataDirectory/pt-<name>.env, and a real
 *   obfs4proxy started with exactly that environment (as
 *   relayd-pt@.service runs it) serves on the proxy line's address.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseIpAddress } from '@relayd/common';
import { parseConfig } from '@relayd/config';
import { dialExtOrPort } from '@relayd/net';
import { Supervisor } from '../src/index.js';
import { type LogLine, recordingLogger } from './fake-workers.js';

const OBFS4PROXY = '/usr/bin/obfs4proxy';
const AUTH_FP = '0000000000000000000000000000000000000001';

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function clientAddress(address: string, port: number) {
  const ip = parseIpAddress(address);
  assert.ok(ip);
  return { ...ip, address, port };
}

function baseConfig(dataDir: string, nickname: string): string[] {
  return [
    `DataDirectory ${dataDir}`,
    `Nickname ${nickname}`,
    'ContactInfo ops@example.org',
    'ORPort 127.0.0.1:auto',
    'Address 127.0.0.1',
    'PublishServerDescriptor 0',
    `DirAuthority v3auth orport=8 v3ident=${'A'.repeat(40)} 127.0.0.1:8 ${AUTH_FP}`,
  ];
}

async function startSupervisor(lines: LogLine[], torrc: string[]): Promise<Supervisor> {
  const parsed = parseConfig(torrc.join('\n'));
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error.errors));
  return Supervisor.start(
    { config: parsed.value.config, version: '0.0.0-test', maintenanceIntervalMs: 3_600_000 },
    {
      logger: recordingLogger(lines),
      fetch: async () => {
        throw new Error('connection refused');
      },
      transportStopGraceMs: 1_000,
    },
  );
}

describe('supervisor front: handoff mode with a managed obfs4proxy', { timeout: 90_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-supervisor-front-'));
  const dataDir = join(root, 'data');
  const lines: LogLine[] = [];
  const sockets: Socket[] = [];
  const pids = new Set<number>();
  let supervisor: Supervisor | undefined;
  let obfs4Port = 0;

  const logs = () => lines.map((l) => `${l.level} ${l.message}`).join('\n');

  before(async () => {
    obfs4Port = await freePort('127.0.0.1');
    supervisor = await startSupervisor(lines, [
      ...baseConfig(dataDir, 'frontTest'),
      `ServerTransportPlugin obfs4 exec ${OBFS4PROXY}`,
      `ServerTransportListenAddr obfs4 127.0.0.1:${obfs4Port}`,
    ]);
    for (const t of supervisor.status().transports) if (t.status === 'running') pids.add(t.pid);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await supervisor?.stop();
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('opens an Extended ORPort on 127.0.0.1:auto with its cookie file, and runs obfs4proxy against it', () => {
    const status = supervisor!.status();
    assert.equal(status.balancer?.mode, 'handoff');
    const front = status.balancer!.fronts[0]!;
    assert.equal(front.front, 'ext-or');
    assert.equal(front.host, '127.0.0.1');
    assert.ok(front.port > 0);
    const cookieFile = join(dataDir, 'extended_orport_auth_cookie');
    assert.equal(supervisor!.front?.cookieFile, cookieFile);
    assert.equal(readFileSync(cookieFile).length, 64);
    const [obfs4] = status.transports;
    assert.ok(obfs4?.status === 'running', logs());
    assert.equal(obfs4.name, 'obfs4');
    assert.equal(obfs4.port, obfs4Port);
    assert.ok(isAlive(obfs4.pid));
  });

  it('publishes the obfs4 bridge line after the vanilla one, and the transport line in the extra-info', () => {
    const status = supervisor!.status();
    const fp = supervisor!.fingerprint;
    const [vanilla, obfs4] = supervisor!.bridgeLines;
    assert.equal(vanilla, `Bridge 127.0.0.1:${status.endpoint.orPort} ${fp}`);
    assert.match(
      obfs4 ?? '',
      new RegExp(`^Bridge obfs4 127\\.0\\.0\\.1:${obfs4Port} ${fp} cert=\\S+ iat-mode=0$`),
    );
    assert.equal(readFileSync(join(dataDir, 'bridge-lines.txt'), 'latin1'), `${vanilla}\n${obfs4}\n`);
    const cert = /cert=(\S+)/.exec(obfs4!)![1]!;
    const extraInfo = readFileSync(join(dataDir, 'extra-info'), 'latin1');
    assert.equal(extraInfo, supervisor!.currentDocuments.extraInfo);
    assert.match(
      extraInfo,
      new RegExp(
        `^transport obfs4 127\\.0\\.0\\.1:${obfs4Port} cert=${cert.replace(/[+/]/g, '\\$&')},iat-mode=0$`,
        'm',
      ),
    );
  });

  it('hands an Extended ORPort connection to the worker with its transport; the front counts it until it closes', async () => {
    const front = supervisor!.front!;
    const cookie = new Uint8Array(readFileSync(front.cookieFile!)).subarray(32);
    const dialed = await dialExtOrPort({
      host: '127.0.0.1',
      port: front.extOrPorts[0]!.port,
      cookie,
      clientAddress: clientAddress('192.0.2.9', 4321),
      transportName: 'obfs4',
    });
    assert.equal(dialed.status, 'accepted');
    assert.ok(dialed.status === 'accepted');
    sockets.push(dialed.socket);
    await until('the worker to count the obfs4 connection', () => {
      const counts = supervisor!.status().workers[0]?.connectionsByTransport;
      return counts?.pluggable['obfs4']?.connections === 1;
    });
    const handoff = () => supervisor!.status().balancer!.handoff!;
    assert.deepEqual(handoff(), { handedOff: 1, refused: 0, open: 1 });
    assert.equal(supervisor!.status().balancer!.clientAddresses, 1);
    dialed.socket.destroy();
    await until('the connection to be counted as closed', () => handoff().open === 0);
    assert.equal(supervisor!.status().balancer!.clientAddresses, 0);
  });

  it('a killed obfs4proxy leaves the bridge lines, and is back with the same line after its restart', async () => {
    const before = supervisor!.bridgeLines;
    const first = supervisor!.status().transports[0];
    assert.ok(first?.status === 'running');
    process.kill(first.pid, 'SIGKILL');
    await until('the obfs4 line to go', () => supervisor!.bridgeLines.length === 1);
    assert.equal(readFileSync(join(dataDir, 'bridge-lines.txt'), 'latin1'), `${before[0]}\n`);
    assert.doesNotMatch(readFileSync(join(dataDir, 'extra-info'), 'latin1'), /^transport /m);
    const again = await until('obfs4proxy to run again', () => {
      const t = supervisor!.status().transports[0];
      return t?.status === 'running' ? t : undefined;
    });
    pids.add(again.pid);
    assert.notEqual(again.pid, first.pid);
    assert.deepEqual(supervisor!.bridgeLines, before, 'same port, same cert (its state directory)');
    assert.match(readFileSync(join(dataDir, 'extra-info'), 'latin1'), /^transport obfs4 /m);
  });

  it('stops the transport by PID, then the front', async () => {
    const port = supervisor!.front!.extOrPorts[0]!.port;
    await supervisor!.stop();
    assert.equal(supervisor!.status().transports[0]?.status, 'stopped');
    for (const p of pids) assert.equal(isAlive(p), false, `obfs4proxy pid ${p} exited`);
    const refused = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    assert.ok(refused, 'the Extended ORPort is closed');
    // The files keep the last published lines: a stop does not unpublish the transport.
    assert.equal(readFileSync(join(dataDir, 'bridge-lines.txt'), 'latin1').split('\n').length, 3);
  });
});

describe('supervisor front: proxy mode', { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-supervisor-proxy-'));
  const dataDir = join(root, 'data');
  const lines: LogLine[] = [];
  const sockets: Socket[] = [];
  let supervisor: Supervisor | undefined;

  before(async () => {
    supervisor = await startSupervisor(lines, [
      ...baseConfig(dataDir, 'proxyTest'),
      'BalancerMode proxy',
      'ExtORPort 127.0.0.1:auto',
      'BalancerHealthCheckInterval 1 second',
    ]);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await supervisor?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('listens on the ORPort itself and registers the worker Extended ORPort as a backend', async () => {
    const status = supervisor!.status();
    assert.equal(status.balancer?.mode, 'proxy');
    const vanilla = status.balancer!.fronts.find((f) => f.front === 'vanilla');
    assert.equal(vanilla?.port, status.endpoint.orPort, 'the published ORPort is the balancer’s');
    const backend = await until('the worker backend to pass a health check', () => {
      const b = supervisor!.status().balancer!.backends.find((x) => x.id === 'worker 1');
      return b && b.checksPassed >= 1 ? b : undefined;
    });
    assert.equal(backend.host, '127.0.2.1');
    assert.equal(backend.healthy, true);
  });

  it('proxies a vanilla connection and an Extended ORPort one to the worker, with their client and transport', async () => {
    const status = supervisor!.status();
    const plain = createConnection({ host: '127.0.0.1', port: status.endpoint.orPort });
    plain.on('error', () => {});
    sockets.push(plain);
    const front = supervisor!.front!;
    const cookie = new Uint8Array(readFileSync(front.cookieFile!)).subarray(32);
    const dialed = await dialExtOrPort({
      host: '127.0.0.1',
      port: front.extOrPorts[0]!.port,
      cookie,
      clientAddress: clientAddress('198.51.100.3', 999),
      transportName: 'meek_lite',
    });
    assert.ok(dialed.status === 'accepted');
    sockets.push(dialed.socket);
    const counts = await until('the worker to count both', () => {
      const c = supervisor!.status().workers[0]?.connectionsByTransport;
      return c && c.vanilla.connections === 1 && c.pluggable['meek_lite']?.connections === 1 ? c : undefined;
    });
    assert.deepEqual(Object.keys(counts.pluggable), ['meek_lite']);
    const stats = supervisor!.status().balancer!;
    assert.equal(stats.proxy?.unreachable, 0);
    assert.equal(stats.backends.find((b) => b.id === 'worker 1')?.connections, 2);
  });
});

describe('supervisor front: an external transport started beside relayd', { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-supervisor-external-'));
  const dataDir = join(root, 'data');
  const lines: LogLine[] = [];
  let supervisor: Supervisor | undefined;
  let extOrPort = 0;
  let transportPort = 0;
  let sibling: ChildProcess | undefined;

  before(async () => {
    extOrPort = await freePort('127.0.0.1');
    transportPort = await freePort('127.0.0.1');
    supervisor = await startSupervisor(lines, [
      ...baseConfig(dataDir, 'externalTest'),
      `ExtORPort 127.0.0.1:${extOrPort}`,
      `ServerTransportPlugin obfs4 proxy 127.0.0.1:${transportPort}`,
      'ServerTransportOptions obfs4 iat-mode=0',
    ]);
  });

  after(async () => {
    if (sibling?.pid !== undefined && sibling.exitCode === null) sibling.kill('SIGKILL');
    await supervisor?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes the transport’s environment to DataDirectory/pt-obfs4.env and launches nothing itself', () => {
    const path = join(dataDir, 'pt-obfs4.env');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const env = envFile(readFileSync(path, 'utf8'));
    const orPort = supervisor!.status().endpoint.orPort;
    assert.deepEqual(env, {
      TOR_PT_MANAGED_TRANSPORT_VER: '1',
      TOR_PT_STATE_LOCATION: `${join(dataDir, 'pt_state')}/`,
      TOR_PT_SERVER_TRANSPORTS: 'obfs4',
      TOR_PT_SERVER_BINDADDR: `obfs4-127.0.0.1:${transportPort}`,
      TOR_PT_SERVER_TRANSPORT_OPTIONS: 'obfs4:iat-mode=0',
      TOR_PT_ORPORT: `127.0.0.1:${orPort}`,
      TOR_PT_EXTENDED_SERVER_PORT: `127.0.0.1:${extOrPort}`,
      TOR_PT_AUTH_COOKIE_FILE: join(dataDir, 'extended_orport_auth_cookie'),
    });
    assert.deepEqual(supervisor!.status().transports, [], 'an external transport is not relayd’s to run');
  });

  it('a real obfs4proxy started with that environment serves, as relayd-pt@.service would run it', async () => {
    const env = envFile(readFileSync(join(dataDir, 'pt-obfs4.env'), 'utf8'));
    // As under systemd: stdin is /dev/null (so no TOR_PT_EXIT_ON_STDIN_CLOSE), the environment is the file's.
    sibling = spawn(OBFS4PROXY, [], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    sibling.stdout!.on('data', (d) => {
      stdout += String(d);
    });
    await until('SMETHODS DONE from obfs4proxy', () => stdout.includes('SMETHODS DONE'));
    assert.match(
      stdout,
      new RegExp(`^SMETHOD obfs4 127\\.0\\.0\\.1:${transportPort} ARGS:cert=\\S+,iat-mode=0$`, 'm'),
    );
    // It keeps running with stdin at /dev/null, listening where the proxy line says.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sibling.exitCode, null, `obfs4proxy exited: ${stdout}`);
    const probe = createConnection({ host: '127.0.0.1', port: transportPort });
    await new Promise<void>((resolve, reject) => {
      probe.once('connect', resolve);
      probe.once('error', reject);
    });
    probe.destroy();
  });
});

/** A systemd EnvironmentFile= as KEY → value (double-quoted values unquoted, `\\\\` unescaped). */
function envFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const raw = line.slice(eq + 1);
    out[line.slice(0, eq)] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return out;
}
