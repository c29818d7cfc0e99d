import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ControlClientError, type ControlServer } from '@relayd/control';
import { CommandFailed, describeFailure, ExitCode, exitCodeFor, getCli, UsageError } from '../src/index.js';
import { type FakeDaemon, STATUS, startFakeDaemon, WORKERS } from './fake-daemon.js';

const root = mkdtempSync(join(tmpdir(), 'relayctl-online-'));
chmodSync(root, 0o755);
const socket = join(root, 'control.sock');
let daemon: FakeDaemon;
let server: ControlServer;
before(async () => {
  ({ daemon, server } = await startFakeDaemon(socket));
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
  let error: unknown;
  try {
    await getCli(argv, io).parseAsync();
  } catch (e) {
    error = e;
  }
  return { out, err, error, exit: error === undefined ? 0 : exitCodeFor(error) };
}

const S = ['--socket', socket];

describe('relayctl online commands', () => {
  it('status: text and JSON', async () => {
    const json = await run(['status', ...S, '--json']);
    assert.equal(json.exit, 0, String(json.error));
    assert.equal(json.out.length, 1);
    assert.deepEqual(JSON.parse(json.out[0]!), STATUS);

    const text = await run(['status', ...S]);
    assert.deepEqual(text.out, [
      'relayd 0.1.0, pid 4242, up 1h 5m (since 2026-03-01T08:00:00.000Z)',
      'nickname:         ctlBridge',
      'fingerprint:      4C1F0E1D2C3B4A5968778695A4B3C2D1E0F01234',
      'ed25519 identity: ZmFrZWVkMjU1MTlpZGVudGl0eWZvcnRoZXRlc3RzMDA',
      'address:          203.0.113.5:443',
      'onion keys:       coordinated rotation',
      'workers:          2 running, 1 healthy, 2 configured (forked)',
      'directory:        stale consensus (valid after 2026-03-01T08:00:00.000Z, fresh until 2026-03-01T09:00:00.000Z, valid until 2026-03-01T11:00:00.000Z), 7000 routers, 6990/7000 microdescriptors',
      '                  next fetch 2026-03-01T09:10:00.000Z',
      '                  2 failed fetches since the last success',
      '                  last error: consensus from moria1: HTTP 503 (2026-03-01T09:05:00.000Z)',
      'transports:       obfs4 running on 0.0.0.0:9443 (pid 5000)',
      '                  webtunnel failed, 3 restarts: exited with status 1; retry at 2026-03-01T09:06:00.000Z',
      'totals:           22 channels, 86 circuits, 120 connections received; sent 54.27 MB, received 1.99 MB',
      'onionskins:       fast 6/0/0, ntor 80/1/2, ntor_v3 0/0/0, tap 0/0/0, unknown 0/0/0 (processed/failed/dropped)',
      'bridge lines:',
      '  Bridge 203.0.113.5:443 4C1F0E1D2C3B4A5968778695A4B3C2D1E0F01234',
      '  Bridge obfs4 203.0.113.5:9443 4C1F0E1D2C3B4A5968778695A4B3C2D1E0F01234 cert=abc iat-mode=0',
    ]);
  });

  it('workers: a table, and restart / drain of one', async () => {
    const list = await run(['workers', ...S]);
    assert.deepEqual(list.out, [
      'WORKER  ROLE         PID   STATE     HEALTHY  UPTIME  RESTARTS  DEATHS  CONNS  CHANNELS  CIRCUITS  CPU    RSS       HEARTBEAT',
      '1       serving      4251  ready     yes      1h 4m   0         0       10     11        43        12.5s  80.0 MiB  2s ago',
      '2       replacement  4260  starting  no       1s      2         1       0      0         0         -      -         -',
      '2 worker processes (forked); 120 connections handed off, 3 refused for want of a healthy worker',
    ]);
    assert.deepEqual(JSON.parse((await run(['workers', ...S, '--json'])).out[0]!), WORKERS);

    const restart = await run(['workers', 'restart', '1', ...S]);
    assert.deepEqual(restart.out, ['worker 1 restarted: pid 4300 serves, pid 4251 drains']);
    const drain = await run(['workers', 'drain', '1', ...S, '--json']);
    assert.equal(JSON.parse(drain.out[0]!).pid, 4251);

    const missing = await run(['workers', 'drain', '9', ...S]);
    assert.equal(missing.exit, ExitCode.ERROR);
    assert.equal(
      describeFailure(missing.error),
      'relayd refused (no-such-worker): there is no worker 9 (workers: 1-2)',
    );
    assert.deepEqual(daemon.requests.slice(-3), ['restart 1', 'drain 1', 'drain 9']);

    for (const bad of [
      ['workers', 'restart', 'two'],
      ['workers', 'restart', '0'],
      ['workers', 'restart'],
      ['workers', 'stop', '1'],
    ]) {
      const r = await run([...bad, ...S]);
      assert.equal(r.exit, ExitCode.USAGE, `${bad.join(' ')}: ${String(r.error)}`);
      assert.ok(r.error instanceof UsageError);
    }
  });

  it('reload: what was applied, and a refused configuration', async () => {
    const ok = await run(['reload', ...S]);
    assert.equal(ok.exit, 0);
    assert.deepEqual(ok.out, [
      'reloaded the configuration: applied contactInfo, workers',
      'changed but needing a restart of relayd to take effect: orPorts',
    ]);
    daemon.reloadReport = {
      accepted: false,
      errors: ['/etc/relayd/torrc:7: unknown option "Wrokers" (did you mean Workers?)'],
      warnings: [],
      applied: [],
      restartedWorkers: false,
      needsRestart: [],
    };
    const refused = await run(['reload', ...S]);
    assert.equal(refused.exit, ExitCode.ERROR);
    assert.ok(refused.error instanceof CommandFailed);
    assert.deepEqual(refused.err, [
      'relayctl: error: /etc/relayd/torrc:7: unknown option "Wrokers" (did you mean Workers?)',
      'relayctl: the configuration has errors; relayd keeps running with the old one',
    ]);
    const json = await run(['reload', ...S, '--json']);
    assert.equal(JSON.parse(json.out[0]!).accepted, false);
    assert.equal(json.exit, ExitCode.ERROR, 'the exit status says it failed with --json too');
  });

  it('bridge-line prints just the lines; skipped transports go to stderr', async () => {
    const r = await run(['bridge-line', ...S]);
    assert.deepEqual(r.out, STATUS.bridgeLines);
    assert.deepEqual(r.err, ['relayctl: note: no bridge line for transport webtunnel: it is not running']);
  });

  it('circuits and connections', async () => {
    assert.deepEqual((await run(['circuits', ...S])).out, [
      'WORKER  PID   CIRCUITS  OPEN  AWAITING-HANDSHAKE',
      '1       4251  43        42    1',
      '2       4252  43        42    1',
      'total         86        84    2',
    ]);
    const hidden = await run(['connections', ...S]);
    assert.deepEqual(hidden.out, [
      'by transport:',
      '  TRANSPORT  CONNECTIONS  LINKS',
      '  vanilla    40           39',
      '  obfs4      80           80',
      'by worker:',
      '  WORKER  PID   OPEN  CHANNELS  RECEIVED BY TRANSPORT',
      '  1       4251  10    11        vanilla 40, obfs4 20',
      'client addresses: 2 (the addresses are shown only with SafeLogging 0)',
    ]);
    assert.equal(daemon.requests.at(-1), 'connections {"includeClientAddresses":false,"limit":100}');
    daemon.safe = 'none';
    const shown = await run(['connections', ...S, '--limit', '1']);
    assert.deepEqual(shown.out.slice(-3), [
      'client addresses: 2',
      '  ADDRESS       CONNECTIONS',
      '  198.51.100.7  5',
    ]);
    daemon.safe = 'all';
  });

  it('keys rotate-onion goes to the daemon', async () => {
    const r = await run(['keys', 'rotate-onion', ...S, '--force']);
    assert.deepEqual(r.out, [
      'rotated the onion keys at 2026-03-01T09:05:00.000Z; 2 worker processes have the new keys',
      'ntor onion key:   bmV3bnRvcm9uaW9ua2V5Zm9ydGhldGVzdHMwMDAwMDA',
      'previous:         b2xkbnRvcm9uaW9ua2V5Zm9ydGhldGVzdHMwMDAwMDA (still accepted for the grace period)',
      'descriptor:       published 2026-03-01T09:05:00.000Z',
    ]);
    assert.equal(daemon.requests.at(-1), 'rotate force=true');
    await run(['keys', 'rotate-onion', ...S, '--json']);
    assert.equal(daemon.requests.at(-1), 'rotate force=false');
  });
});

describe('relayctl finds the control socket', () => {
  const torrc = (name: string, lines: string[]) => {
    const file = join(root, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };

  it('from the configuration file: ControlSocket, or DataDirectory/control.sock', async () => {
    const withSocket = torrc('a.torrc', [
      'ORPort 9001',
      `DataDirectory ${join(root, 'elsewhere')}`,
      `ControlSocket ${socket}`,
    ]);
    assert.equal((await run(['status', '-f', withSocket, '--json'])).exit, 0);
    const byDataDir = torrc('b.torrc', ['ORPort 9001', `DataDirectory ${root}`]);
    const r = await run(['circuits', '-f', byDataDir]);
    assert.equal(r.exit, 0, String(r.error));
    const disabled = torrc('c.torrc', ['ORPort 9001', `DataDirectory ${root}`, 'ControlSocket 0']);
    const off = await run(['status', '-f', disabled]);
    assert.equal(off.exit, ExitCode.ERROR);
    assert.equal(
      describeFailure(off.error),
      `the control socket is disabled in ${disabled} (ControlSocket 0)`,
    );
    const broken = await run(['status', '-f', join(root, 'missing.torrc')]);
    assert.equal(broken.exit, ExitCode.ERROR);
    assert.match(
      describeFailure(broken.error),
      /^cannot find the control socket: .*missing\.torrc.*; give --socket PATH or -f FILE$/,
    );
  });

  it('from RELAYCTL_SOCKET in the environment', async () => {
    process.env.RELAYCTL_SOCKET = socket;
    try {
      assert.equal((await run(['bridge-line'])).exit, 0);
    } finally {
      delete process.env.RELAYCTL_SOCKET;
    }
  });

  it('says when relayd is not running (exit 3)', async () => {
    const missing = join(root, 'nothing-here.sock');
    const r = await run(['status', '--socket', missing]);
    assert.ok(r.error instanceof ControlClientError);
    assert.equal(r.exit, ExitCode.NOT_RUNNING);
    assert.equal(describeFailure(r.error), `relayd is not running: there is no control socket at ${missing}`);
  });
});

const bin = fileURLToPath(new URL('../../../../bin/relayctl', import.meta.url));

/** Runs bin/relayctl without blocking this process (which serves the fake daemon). */
function runBin(
  args: string[],
  ids: { uid?: number; gid?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const isRoot = process.getuid?.() === 0;

describe('the relayctl process: exit statuses and messages', () => {
  it('exit 3 with a message when relayd is not running; 2 for a usage mistake; 0 for success', () => {
    const missing = join(root, 'gone.sock');
    const r = spawnSync(process.execPath, [bin, 'status', '--socket', missing], { encoding: 'utf8' });
    assert.equal(r.status, 3);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `relayctl: relayd is not running: there is no control socket at ${missing}\n`);
    const usage = spawnSync(process.execPath, [bin, 'workers', 'restart'], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /^relayctl: Not enough non-option arguments/m);
  });

  it('exit 4 with a message when the socket is closed to the user', {
    skip: isRoot ? false : 'needs root to run relayctl as another user',
  }, async () => {
    // A socket anyone may write (0666) in a directory only root may enter: the directory is the gate.
    const privateDir = join(root, 'private');
    mkdirSync(privateDir, { mode: 0o700 });
    const path = join(privateDir, 'control.sock');
    const { server: closed } = await startFakeDaemon(path, 0o666);
    try {
      const r = await runBin(['status', '--socket', path], { uid: 65534, gid: 65534 });
      assert.equal(r.status, 4, r.stderr);
      assert.equal(
        r.stderr,
        `relayctl: permission denied on the control socket ${path}: run relayctl as root or as relayd's user, ` +
          'or as a member of ControlSocketGroup when the socket is GroupWritable (the directories above it must let you in too)\n',
      );
      // And root gets in, with the same command.
      const asRoot = await runBin(['status', '--socket', path, '--json']);
      assert.equal(asRoot.status, 0, asRoot.stderr);
      assert.equal(JSON.parse(asRoot.stdout).fingerprint, STATUS.fingerprint);
    } finally {
      await closed.close();
    }
  });
});
