/**
 * relayctl against a running relayd: `bin/relayd -f torrc` with two worker
 * processes, an Extended ORPort and the default control socket
 * (DataDirectory/control.sock), driven by `bin/relayctl … -f torrc` as an
 * operator would:
 *
 *   - status and bridge-line agree with the DataDirectory's files;
 *   - workers lists two serving processes; `workers restart 1` gives slot 1
 *     a new PID and drains the old one; `workers drain 2` ends slot 2's
 *     process and a new one takes its place;
 *   - a link through the Extended ORPort (USERADDR, TRANSPORT obfs4) shows
 *     in `connections` by transport and, with SafeLogging 0, by client
 *     address; `reload` after turning SafeLogging on applies it live, and
 *     the addresses are no longer shown; a reload that changes the ORPort
 *     says it needs a restart; a broken file is refused with its line;
 *   - `keys rotate-onion` installs a new ntor key, in the descriptor too;
 *   - as another user (nobody) relayctl exits 4 with its message; once
 *     relayd has stopped it exits 3.
 *
 * Every process is stopped by PID, also when a step fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readExtOrCookieFile } from '@relayd/balancer';
import { fromBase64, fromHex } from '@relayd/common';
import { parseAddressPort } from '@relayd/ext-orport';
import {
  LoopbackAllocator,
  type ManagedProcess,
  ProcessRegistry,
  RELAYD_BIN,
  relaydTorrc,
  sleep,
  UNREACHABLE_DIR_AUTHORITY,
  waitForLogLine,
} from '@relayd/testnet';
import { type ExtOrLink, openLinkThroughExtOrPort } from '../balancer/ext-or-link-client.js';
import { runRelayctl } from '../support/relayctl.js';

const START_TIMEOUT_MS = 60_000;
const isRoot = process.getuid?.() === 0;

const root = mkdtempSync(join(tmpdir(), 'relayd-relayctl-live-'));
const registry = new ProcessRegistry();
const ports = new LoopbackAllocator();
const dataDir = join(root, 'data');
const torrc = join(root, 'torrc');
const noticeLog = join(root, 'notice.log');
const socketPath = join(dataDir, 'control.sock');
let relayd: ManagedProcess;
let orPort = 0;
let extOrPort = 0;
const links: ExtOrLink[] = [];

function relayctl(args: string[], ids: { uid?: number; gid?: number } = {}) {
  return runRelayctl(args, ids);
}

/** `relayctl <args> -f torrc --json`, which must succeed; its answer parsed. */
async function ask<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const r = await relayctl([...args, '-f', torrc, '--json']);
  assert.equal(r.status, 0, `relayctl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface WorkerRow {
  workerId: number;
  role: string;
  pid: number | null;
  state: string;
  healthy: boolean;
  restarts: number;
  deaths: number;
}

async function serving(): Promise<Map<number, WorkerRow>> {
  const report = await ask<{ workers: WorkerRow[] }>('workers');
  return new Map(report.workers.filter((w) => w.role === 'serving').map((w) => [w.workerId, w]));
}

/** Polls `check` (which returns undefined until it holds) for up to `ms`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(250);
  }
}

function torrcText(extra: { safeLogging?: 0 | 1; orPort?: number; broken?: boolean } = {}): string {
  const text = relaydTorrc({
    nickname: 'ctlLive',
    dataDir,
    address: '127.0.0.1',
    orPort: extra.orPort ?? orPort,
    extOrPort: `127.0.0.1:${extOrPort}`,
    dirAuthorityLines: [UNREACHABLE_DIR_AUTHORITY],
    noticeLogPath: noticeLog,
    workers: 2,
    extraTorrc: extra.broken ? ['NoSuchOption 1'] : [],
  });
  return extra.safeLogging === 1 ? text.replace('SafeLogging 0', 'SafeLogging 1') : text;
}

before(async () => {
  orPort = await ports.allocatePort('127.0.0.1');
  extOrPort = await ports.allocatePort('127.0.0.1');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(torrc, torrcText());
  relayd = registry.spawn('relayd', process.execPath, [RELAYD_BIN, '-f', torrc], {
    stdoutPath: join(root, 'stdout.log'),
    stderrPath: join(root, 'stderr.log'),
  });
  await waitForLogLine(noticeLog, /control socket listening on/, {
    timeoutMs: START_TIMEOUT_MS,
    process: relayd,
    alsoShow: [join(root, 'stderr.log')],
    what: 'relayd opening its control socket',
  });
});

after(async () => {
  for (const link of links) link.close();
  await registry.stopAll();
  rmSync(root, { recursive: true, force: true });
});

describe('relayctl against a running relayd', { timeout: 300_000 }, () => {
  it('status and bridge-line agree with the DataDirectory', async () => {
    const status = await ask<{
      version: string;
      pid: number;
      nickname: string;
      fingerprint: string;
      ed25519Identity: string;
      address: string;
      bridgeLines: string[];
      workers: { mode: string; configured: number; running: number };
      uptimeSeconds: number;
    }>('status');
    const fingerprint = readFileSync(join(dataDir, 'fingerprint'), 'latin1').trim().split(' ')[1];
    const ed25519 = readFileSync(join(dataDir, 'fingerprint-ed25519'), 'latin1').trim().split(' ')[1];
    assert.equal(status.pid, relayd.pid);
    assert.equal(status.nickname, 'ctlLive');
    assert.equal(status.fingerprint, fingerprint);
    assert.equal(status.ed25519Identity, ed25519);
    assert.equal(status.address, `127.0.0.1:${orPort}`);
    assert.match(status.version, /^\d+\.\d+\.\d+/);
    assert.ok(status.uptimeSeconds >= 0);
    assert.deepEqual(status.workers, { ...status.workers, mode: 'forked', configured: 2 });
    const lines = readFileSync(join(dataDir, 'bridge-lines.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Bridge '));
    assert.deepEqual(status.bridgeLines, lines);
    assert.deepEqual(status.bridgeLines, [`Bridge 127.0.0.1:${orPort} ${fingerprint}`]);

    // The human-readable forms say the same.
    const text = await relayctl(['status', '-f', torrc]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^fingerprint: +${fingerprint}$`, 'm'));
    const bridgeLine = await relayctl(['bridge-line', '-f', torrc]);
    assert.equal(bridgeLine.status, 0, bridgeLine.stderr);
    assert.equal(bridgeLine.stdout, `${lines.join('\n')}\n`);
  });

  it('workers: restart gives slot 1 a new process; drain ends slot 2’s and a new one serves', async () => {
    const first = await eventually('two healthy workers', async () => {
      const rows = await serving();
      return rows.size === 2 && [...rows.values()].every((w) => w.healthy && w.state === 'ready')
        ? rows
        : undefined;
    });
    const [pid1, pid2] = [first.get(1)!.pid!, first.get(2)!.pid!];
    assert.notEqual(pid1, pid2);

    const restart = await ask<{ action: string; pid: number; previousPid: number }>(
      'workers',
      'restart',
      '1',
    );
    assert.equal(restart.action, 'restart');
    assert.equal(restart.previousPid, pid1);
    assert.notEqual(restart.pid, pid1);
    const afterRestart = await serving();
    assert.equal(afterRestart.get(1)!.pid, restart.pid);
    assert.equal(afterRestart.get(1)!.restarts, 1);
    assert.equal(afterRestart.get(2)!.pid, pid2, 'slot 2 is untouched');

    const drain = await ask<{ action: string; pid: number }>('workers', 'drain', '2');
    assert.deepEqual([drain.action, drain.pid], ['drain', pid2]);
    const replaced = await eventually('slot 2 serving from a new process', async () => {
      const row = (await serving()).get(2);
      return row && row.pid !== pid2 && row.state === 'ready' ? row : undefined;
    });
    assert.equal(replaced.deaths, 0, 'a drain is not a death');
    // The old processes are gone.
    await eventually('the drained processes to exit', async () =>
      [pid1, pid2].every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined,
    );
    // A slot that does not exist is an error with its own message.
    const missing = await relayctl(['workers', 'restart', '7', '-f', torrc]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /there is no worker 7 \(workers: 1, 2\)/);
  });

  it('connections by transport and client address; reload turns SafeLogging on and hides them', async () => {
    const cookie = await readExtOrCookieFile(join(dataDir, 'extended_orport_auth_cookie'));
    const fingerprint = readFileSync(join(dataDir, 'fingerprint'), 'latin1').trim().split(' ')[1]!;
    const ed25519 = readFileSync(join(dataDir, 'fingerprint-ed25519'), 'latin1').trim().split(' ')[1]!;
    const clientAddress = parseAddressPort('198.51.100.23:5555');
    assert.ok(clientAddress.ok);
    links.push(
      await openLinkThroughExtOrPort({
        port: extOrPort,
        cookie,
        clientAddress: clientAddress.value,
        transportName: 'obfs4',
        target: {
          addresses: [{ address: '127.0.0.1', port: extOrPort }],
          rsaIdentity: fromHex(fingerprint)!,
          ed25519Identity: fromBase64(ed25519)!,
        },
        eager: false,
      }),
    );
    interface Connections {
      byTransport: { transport: string; connections: number }[];
      byWorker: { workerId: number; open: number }[];
      clientAddresses: { address: string; connections: number }[] | null;
      clientAddressCount: number | null;
    }
    const seen = await eventually('the obfs4 connection in the workers’ statistics', async () => {
      const c = await ask<Connections>('connections');
      return c.byTransport.some((t) => t.transport === 'obfs4' && t.connections === 1) ? c : undefined;
    });
    assert.deepEqual(seen.clientAddresses, [{ address: '198.51.100.23', connections: 1 }]);
    assert.equal(seen.clientAddressCount, 1);
    assert.equal(
      seen.byWorker.reduce((n, w) => n + w.open, 0),
      1,
    );

    writeFileSync(torrc, torrcText({ safeLogging: 1 }));
    const reload = await ask<{ accepted: boolean; applied: string[]; needsRestart: string[] }>('reload');
    assert.equal(reload.accepted, true);
    assert.ok(reload.applied.includes('safeLogging'), JSON.stringify(reload));
    assert.deepEqual(reload.needsRestart, []);
    const hidden = await ask<Connections>('connections');
    assert.equal(hidden.clientAddresses, null, 'SafeLogging 1: no client address is shown');
    assert.equal(hidden.clientAddressCount, 1);
  });

  it('reload: a change that needs a restart is named; a broken file is refused with its line', async () => {
    writeFileSync(torrc, torrcText({ safeLogging: 1, orPort: orPort + 1 }));
    const moved = await ask<{ accepted: boolean; needsRestart: string[] }>('reload');
    assert.equal(moved.accepted, true);
    assert.deepEqual(moved.needsRestart, ['orPorts']);
    const text = await relayctl(['reload', '-f', torrc]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(`${text.stdout}${text.stderr}`, /orPorts/);

    // A broken file: relayctl -f cannot read the socket from it and says so...
    writeFileSync(torrc, torrcText({ safeLogging: 1, broken: true }));
    const unreadable = await relayctl(['reload', '-f', torrc]);
    assert.equal(unreadable.status, 1);
    assert.match(unreadable.stderr, /cannot find the control socket: .*torrc:\d+: .*NoSuchOption/);
    // ...and given the socket, relayd refuses it with the line and keeps running as it was.
    const viaSocket = await relayctl(['reload', '--socket', socketPath]);
    assert.equal(viaSocket.status, 1);
    assert.match(viaSocket.stderr, /error: .*torrc:\d+: .*NoSuchOption/);
    assert.match(viaSocket.stderr, /relayd keeps running with the old one/);
    const viaSocketJson = await relayctl(['reload', '--socket', socketPath, '--json']);
    const report = JSON.parse(viaSocketJson.stdout) as { accepted: boolean; errors: string[] };
    assert.equal(report.accepted, false);
    assert.match(report.errors.join('\n'), /torrc:\d+: .*NoSuchOption/);
    writeFileSync(torrc, torrcText({ safeLogging: 1 }));
    assert.equal((await ask<{ address: string }>('status')).address, `127.0.0.1:${orPort}`);
  });

  it('keys rotate-onion installs a new ntor key, in the served descriptor too', async () => {
    const descriptorKey = () =>
      /^ntor-onion-key (\S+)$/m.exec(readFileSync(join(dataDir, 'server-descriptor'), 'latin1'))?.[1];
    const before = descriptorKey();
    assert.ok(before);
    const rotated = await ask<{ ntorOnionKey: string; previousNtorOnionKey: string; workersUpdated: number }>(
      'keys',
      'rotate-onion',
    );
    assert.equal(rotated.previousNtorOnionKey, before.replace(/=+$/, ''));
    assert.notEqual(rotated.ntorOnionKey, rotated.previousNtorOnionKey);
    assert.equal(rotated.workersUpdated, 2);
    assert.equal(descriptorKey()!.replace(/=+$/, ''), rotated.ntorOnionKey);
  });

  it('as another user: exit 4 with a message', {
    skip: isRoot ? false : 'needs root to run as nobody',
  }, async () => {
    const r = await relayctl(['status', '--socket', socketPath], { uid: 65534, gid: 65534 });
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /^relayctl: permission denied on the control socket /);
  });

  it('once relayd has stopped: exit 3 with a message', async () => {
    await relayd.stop();
    assert.equal(existsSync(socketPath), false, 'the socket file is removed on shutdown');
    const r = await relayctl(['status', '-f', torrc]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stderr, `relayctl: relayd is not running: there is no control socket at ${socketPath}\n`);
  });
});
