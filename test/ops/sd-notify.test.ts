/**
 * relayd.service is Type=notify: `bin/relayd -f torrc` run with
 * NOTIFY_SOCKET (and WATCHDOG_USEC) pointing at a stand-in for systemd's
 * notification socket (notify-receiver.ts), as systemd would start it:
 *
 *   - READY=1 with its STATUS= line arrives once relayd serves, and at that
 *     moment (before the receiver reads anything else) the control socket
 *     accepts connections; relayctl status answers;
 *   - it is followed by BARRIER=1 with one descriptor (systemd-notify waits
 *     for the receiver, see service-notifier.ts), and, run as root, the
 *     sender is relayd's own PID;
 *   - WATCHDOG=1 pings arrive at half the WATCHDOG_USEC interval;
 *   - SIGHUP: RELOADING=1 with MONOTONIC_USEC on the receiver's
 *     CLOCK_MONOTONIC, then READY=1; SIGTERM: STOPPING=1, and relayd exits 0;
 *   - the worker processes did not inherit NOTIFY_SOCKET or WATCHDOG_*;
 *   - with NOTIFY_SOCKET naming a socket nobody listens on, relayd warns
 *     once and serves as usual.
 *
 * Every process is stopped by PID, also when a step fails. Skipped, with
 * the reason, without /usr/bin/python3 or systemd-notify.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  isPidAlive,
  LoopbackAllocator,
  ProcessRegistry,
  RELAYD_BIN,
  relaydTorrc,
  UNREACHABLE_DIR_AUTHORITY,
  waitForLogLine,
} from '@relayd/testnet';
import { runRelayctl } from '../support/relayctl.js';
import { NotifyReceiver, PYTHON } from './notify-receiver.js';

/** What relayd runs to notify (SYSTEMD_NOTIFY in packages/relayd/src/service-notifier.ts). */
const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';
const START_TIMEOUT_MS = 60_000;
const WATCHDOG_USEC = 1_000_000;
const isRoot = process.getuid?.() === 0;

function whySkip(): string | false {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`;
  if (!existsSync(SYSTEMD_NOTIFY)) return `${SYSTEMD_NOTIFY} is not installed (it comes with systemd)`;
  return false;
}

/** The NAME=value pairs of /proc/PID/environ (the environment the process was started with). */
function startEnvironment(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

const skip = whySkip();

describe('relayd reports to systemd (sd_notify)', { skip, timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-sd-notify-'));
  const registry = new ProcessRegistry();
  const ports = new LoopbackAllocator();
  const workerPids = new Set<number>();
  after(async () => {
    await registry.stopAll();
    // Workers end with relayd; any left (relayd killed) are stopped by their PID.
    for (const pid of workerPids) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  /** Writes a torrc for `name` and starts relayd on it with `env` added. */
  async function startRelayd(name: string, env: Record<string, string>) {
    const base = join(root, name);
    const dataDir = join(base, 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const torrc = join(base, 'torrc');
    const noticeLog = join(base, 'notice.log');
    writeFileSync(
      torrc,
      relaydTorrc({
        nickname: `notify${name}`,
        dataDir,
        address: '127.0.0.1',
        orPort: await ports.allocatePort('127.0.0.1'),
        dirAuthorityLines: [UNREACHABLE_DIR_AUTHORITY],
        noticeLogPath: noticeLog,
        workers: 2,
      }),
    );
    const relayd = registry.spawn(`relayd-${name}`, process.execPath, [RELAYD_BIN, '-f', torrc], {
      stdoutPath: join(base, 'stdout.log'),
      stderrPath: join(base, 'stderr.log'),
      env: { ...process.env, ...env },
    });
    return { base, dataDir, torrc, noticeLog, relayd };
  }

  function rememberWorkers(dataDir: string): number[] {
    const state = JSON.parse(readFileSync(join(dataDir, 'workers.json'), 'utf8')) as {
      workers: { pid: number | null }[];
    };
    const pids = state.workers.map((w) => w.pid).filter((pid): pid is number => typeof pid === 'number');
    for (const pid of pids) workerPids.add(pid);
    return pids;
  }

  it('READY=1 once the control socket answers; reload and stop are reported; workers inherit nothing', async () => {
    const dir = join(root, 'receiver');
    mkdirSync(dir);
    // The control socket is DataDirectory/control.sock (the default ControlSocket).
    const controlSocket = join(root, 'main', 'data', 'control.sock');
    const receiver = await NotifyReceiver.start(registry, dir, 'notify', { probeOnReady: controlSocket });
    const { dataDir, torrc, noticeLog, relayd } = await startRelayd('main', {
      NOTIFY_SOCKET: receiver.socketPath,
      WATCHDOG_USEC: String(WATCHDOG_USEC),
    });
    const ready = await receiver.waitFor('READY=1', (d) => d.fields.get('READY') === '1', {
      timeoutMs: START_TIMEOUT_MS,
      sender: relayd,
    });
    assert.equal(ready.probe, 'connected', 'the control socket accepted a connection when READY=1 arrived');
    assert.equal(ready.fields.get('STATUS'), 'serving as bridge notifymain with 2 workers; 1 bridge line');
    // systemd-notify sends with its caller's PID when it may (root), else with its own.
    if (isRoot) assert.equal(ready.pid, relayd.pid);
    else assert.notEqual(ready.pid, relayd.pid);
    assert.equal(ready.fds, 0);
    // Then it waits for the receiver: BARRIER=1 with the pipe end the receiver closes.
    const all = receiver.datagrams();
    const barrier = all[all.findIndex((d) => d.fields.get('READY') === '1') + 1];
    assert.equal(barrier?.text, 'BARRIER=1');
    assert.equal(barrier?.fds, 1);
    await waitForLogLine(noticeLog, /control socket listening on/, {
      timeoutMs: 1_000,
      process: relayd,
      what: 'the control socket in the log',
    });
    const status = await runRelayctl(['status', '-f', torrc, '--json']);
    assert.equal(status.status, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { pid: number }).pid, relayd.pid);

    // Watchdog pings every WATCHDOG_USEC / 2.
    const firstPings = receiver.datagrams().filter((d) => d.text === 'WATCHDOG=1').length;
    await receiver.waitFor('two more WATCHDOG=1', (d) => d.text === 'WATCHDOG=1', {
      count: firstPings + 2,
      timeoutMs: 5_000,
      sender: relayd,
    });

    // The workers were not given systemd's variables.
    const workers = rememberWorkers(dataDir);
    assert.equal(workers.length, 2);
    for (const pid of workers) {
      const env = startEnvironment(pid);
      // (The control: what workers are given is there.)
      assert.equal(env.get('PATH'), process.env.PATH, `worker ${pid}'s environment was read`);
      for (const name of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) {
        assert.equal(env.get(name), undefined, `worker ${pid} has ${name}`);
      }
    }
    // (The control: this test process's relayd was started with them.)
    assert.equal(startEnvironment(relayd.pid).get('NOTIFY_SOCKET'), receiver.socketPath);

    // SIGHUP: RELOADING=1 stamped with CLOCK_MONOTONIC, then READY=1 again.
    process.kill(relayd.pid, 'SIGHUP');
    const reloading = await receiver.waitFor('RELOADING=1', (d) => d.fields.get('RELOADING') === '1', {
      sender: relayd,
    });
    const stamp = Number(reloading.fields.get('MONOTONIC_USEC'));
    assert.ok(
      stamp <= reloading.receivedUsec && stamp > reloading.receivedUsec - 10_000_000,
      `MONOTONIC_USEC=${stamp} is CLOCK_MONOTONIC shortly before receipt (${reloading.receivedUsec})`,
    );
    await receiver.waitFor('READY=1 after the reload', (d) => d.fields.get('READY') === '1', {
      count: 2,
      sender: relayd,
    });
    await waitForLogLine(noticeLog, /reloaded the configuration/, { timeoutMs: 10_000, what: 'the reload' });

    // SIGTERM: STOPPING=1, then a clean exit.
    process.kill(relayd.pid, 'SIGTERM');
    const exit = await relayd.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.deepEqual(receiver.states(), ['READY', 'RELOADING', 'READY', 'STOPPING']);
    const stopping = receiver.datagrams().find((d) => d.fields.get('STOPPING') === '1');
    assert.equal(stopping?.fields.get('STATUS'), 'shutting down');
    // Every notification was followed by its barrier, and taken: no warning about them.
    assert.doesNotMatch(readFileSync(noticeLog, 'utf8'), /cannot notify systemd/);
  });

  it('serves as usual when nobody listens on NOTIFY_SOCKET, and says so once', async () => {
    const missing = join(root, 'nobody-listens.sock');
    const { torrc, noticeLog, relayd } = await startRelayd('orphan', { NOTIFY_SOCKET: missing });
    const warning = await waitForLogLine(noticeLog, /cannot notify systemd/, {
      timeoutMs: START_TIMEOUT_MS,
      process: relayd,
      what: 'the notification warning',
    });
    const line = JSON.parse(warning) as { level: string; msg: string; socket: string };
    assert.equal(line.level, 'warn');
    assert.equal(
      line.msg,
      'cannot notify systemd (READY=1): Failed to notify init system: No such file or directory; relayd serves on, but systemd may not see it as started',
    );
    assert.equal(line.socket, missing);
    const status = await runRelayctl(['status', '-f', torrc, '--json']);
    assert.equal(status.status, 0, status.stderr);
    process.kill(relayd.pid, 'SIGTERM');
    assert.deepEqual(await relayd.exited, { code: 0, signal: null });
    const log = readFileSync(noticeLog, 'utf8');
    assert.equal(log.match(/"level":"warn"[^\n]*cannot notify systemd/g)?.length, 1);
    assert.match(log, /relayd stopped/);
  });
});
