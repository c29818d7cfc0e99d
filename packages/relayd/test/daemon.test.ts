import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ReloadReport } from '@relayd/control';
import { DaemonExit, runDaemon, type ServiceNotifier } from '../src/index.js';

const BIN = fileURLToPath(new URL('../../../../bin/relayd', import.meta.url));
const AUTHORITY =
  'DirAuthority nobody orport=9 v3ident=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 127.0.0.1:9 0000000000000000000000000000000000000001';

/** A notifier that records what relayd reports, and whether the control socket existed at READY=1. */
function recordingNotifier(controlSocket: string) {
  const events: string[] = [];
  const notifier: ServiceNotifier = {
    ready: (status) =>
      events.push(`ready (control socket ${existsSync(controlSocket) ? 'open' : 'missing'}): ${status}`),
    reloading: () => events.push('reloading'),
    stopping: () => events.push('stopping'),
    close: async () => {
      events.push('close');
    },
  };
  return { notifier, events };
}

describe('relayd -f FILE (the daemon)', { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-daemon-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  function torrc(name: string, lines: string[]): string {
    const path = join(root, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  }

  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
  }

  it('reports every configuration error as one FILE:LINE line and exits 1', () => {
    const file = torrc('bad.torrc', ['ORPort 9001', 'ORPrt 9002']);
    const run = spawnSync(process.execPath, [BIN, '-f', file], { timeout: 30_000, encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, `relayd: ${file}:2: Unknown option 'ORPrt'. Did you mean 'ORPort'?\n`);
  });

  it('reports an unusable key directory in one line naming the file, and exits 1', async () => {
    const dataDir = join(root, 'damaged');
    mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'keys', 'secret_id_key'), 'not a key', { mode: 0o600 });
    const file = torrc('damaged.torrc', [
      `DataDirectory ${dataDir}`,
      'ContactInfo ops@example.org',
      'ORPort 127.0.0.1:auto',
      `Log notice file ${join(root, 'damaged.log')}`,
      AUTHORITY,
    ]);
    const { io, out, err } = capture();
    const { notifier, events } = recordingNotifier(join(dataDir, 'control.sock'));
    await assert.rejects(
      runDaemon(file, '0.0.0-test', io, { stopSignal: () => new Promise(() => {}), notifier }),
      (e: unknown) => e instanceof DaemonExit && e.exitCode === 1,
    );
    // Nothing but the notifier closing: systemd learns of a failed start from the exit.
    assert.deepEqual(events, ['close']);
    assert.deepEqual(out, []);
    assert.equal(err.length, 1);
    assert.match(err[0]!, new RegExp(`^relayd: ${join(dataDir, 'keys', 'secret_id_key')}`));
    assert.match(readFileSync(join(root, 'damaged.log'), 'utf8'), /relayd could not start/);
  });

  it('runs until the stop signal, then shuts down cleanly', async () => {
    const dataDir = join(root, 'good');
    const log = join(root, 'good.log');
    const file = torrc('good.torrc', [
      `DataDirectory ${dataDir}`,
      'Nickname daemonTest',
      'ContactInfo ops@example.org',
      'ORPort 127.0.0.1:auto',
      'PublishServerDescriptor 0',
      `Log notice file ${log}`,
      AUTHORITY,
    ]);
    const { io, err } = capture();
    let signal!: (name: string) => void;
    const running = runDaemon(file, '0.0.0-test', io, {
      stopSignal: () =>
        new Promise((resolve) => {
          signal = resolve;
        }),
    });
    const deadline = Date.now() + 20_000;
    const logText = () => {
      try {
        return readFileSync(log, 'utf8');
      } catch {
        return '';
      }
    };
    while (!logText().includes('bridge line: Bridge 127.0.0.1:') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(
      readFileSync(join(dataDir, 'bridge-lines.txt'), 'latin1'),
      /^Bridge 127\.0\.0\.1:\d+ [0-9A-F]{40}\n$/,
    );
    signal('SIGTERM');
    await running;
    assert.deepEqual(err, []);
    const lines = logText()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.ok(lines.every((l) => ['notice', 'warn', 'err'].includes(l.level)));
    assert.equal(lines.at(-2)?.msg, 'received SIGTERM: shutting down');
    assert.equal(lines.at(-1)?.msg, 'relayd stopped');
  });

  it('reloads the configuration: new Log lines and Workers apply, a broken file keeps the running configuration', async () => {
    const dataDir = join(root, 'reload');
    const firstLog = join(root, 'reload-1.log');
    const secondLog = join(root, 'reload-2.log');
    const lines = (log: string, workers: number, extra: string[] = []) => [
      `DataDirectory ${dataDir}`,
      'Nickname reloadTest',
      'ContactInfo ops@example.org',
      'ORPort 127.0.0.1:auto',
      'PublishServerDescriptor 0',
      `Workers ${workers}`,
      `Log notice file ${log}`,
      AUTHORITY,
      ...extra,
    ];
    const file = torrc('reload.torrc', lines(firstLog, 2));
    const { io } = capture();
    let signal!: (name: string) => void;
    let reload!: () => Promise<ReloadReport>;
    const running = runDaemon(file, '0.0.0-test', io, {
      stopSignal: () =>
        new Promise((resolve) => {
          signal = resolve;
        }),
      onReloadReady: (r) => {
        reload = r;
      },
    });
    const read = (path: string) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return '';
      }
    };
    const waitFor = async (path: string, text: string) => {
      const deadline = Date.now() + 30_000;
      while (!read(path).includes(text)) {
        assert.ok(Date.now() < deadline, `timed out waiting for "${text}" in ${path}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const workerCount = () =>
      (JSON.parse(readFileSync(join(dataDir, 'workers.json'), 'utf8')) as { workers: { state: string }[] })
        .workers.length;
    try {
      await waitFor(firstLog, 'bridge line: Bridge 127.0.0.1:');
      assert.equal(workerCount(), 2);
      // A broken file: reported, nothing changes.
      writeFileSync(file, `${lines(secondLog, 1, ['NoSuchOption 1']).join('\n')}\n`);
      const refused = await reload();
      assert.equal(refused.accepted, false);
      assert.equal(refused.errors.length, 1);
      assert.match(refused.errors[0]!, /reload\.torrc:\d+: .*NoSuchOption/);
      assert.deepEqual(refused.applied, []);
      assert.match(read(firstLog), /keeping the running configuration/);
      assert.equal(read(secondLog), '');
      // A good one: the log moves to the new file and the pool shrinks.
      writeFileSync(file, `${lines(secondLog, 1).join('\n')}\n`);
      const applied = await reload();
      assert.equal(applied.accepted, true);
      assert.deepEqual([...applied.applied].sort(), ['logs', 'workers']);
      assert.deepEqual(applied.needsRestart, []);
      await waitFor(secondLog, 'reloaded the configuration: applied');
      assert.match(read(secondLog), /applied (logs, workers|workers, logs)/);
      const deadline = Date.now() + 10_000;
      while (workerCount() !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(workerCount(), 1);
    } finally {
      signal('SIGTERM');
      await running;
    }
    assert.match(read(secondLog).trim().split('\n').at(-1)!, /relayd stopped/);
  });

  it('tells the service manager: READY=1 once the control socket is open, RELOADING=1 and READY=1 around a reload, STOPPING=1', async () => {
    const dataDir = join(root, 'notify');
    const log = join(root, 'notify.log');
    const lines = (workers: number) => [
      `DataDirectory ${dataDir}`,
      'Nickname notifyTest',
      'ContactInfo ops@example.org',
      'ORPort 127.0.0.1:auto',
      'PublishServerDescriptor 0',
      `Workers ${workers}`,
      `Log notice file ${log}`,
      AUTHORITY,
    ];
    const file = torrc('notify.torrc', lines(2));
    const { io, err } = capture();
    const { notifier, events } = recordingNotifier(join(dataDir, 'control.sock'));
    let signal!: (name: string) => void;
    let reload!: () => Promise<ReloadReport>;
    const running = runDaemon(file, '0.0.0-test', io, {
      stopSignal: () =>
        new Promise((resolve) => {
          signal = resolve;
        }),
      onReloadReady: (r) => {
        reload = r;
      },
      notifier,
    });
    try {
      const deadline = Date.now() + 30_000;
      while (events.length === 0) {
        assert.ok(Date.now() < deadline, 'timed out waiting for READY=1');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(events, [
        `ready (control socket open): serving as bridge notifyTest with 2 workers; 1 bridge line`,
      ]);
      writeFileSync(file, `${lines(1).join('\n')}\n`);
      const applied = await reload();
      assert.equal(applied.accepted, true);
      assert.deepEqual(events.slice(1), [
        'reloading',
        `ready (control socket open): serving as bridge notifyTest with 1 worker; 1 bridge line`,
      ]);
    } finally {
      signal('SIGTERM');
      await running;
    }
    assert.deepEqual(err, []);
    assert.deepEqual(events.slice(3), ['stopping', 'close']);
  });
});
