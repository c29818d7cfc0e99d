/**
 * relayd.service confines relayd with `SystemCallFilter=@system-service`
 * and `SystemCallErrorNumber=EPERM`. This test runs relayd for real — the
 * supervisor, two forked workers, the managed obfs4proxy when installed, a
 * TLS connection handed to a worker, an Extended ORPort connection, and the
 * systemd-notify runs that report READY=1 and STOPPING=1 to a stand-in
 * notification socket (notify-receiver.ts) — under strace, and checks every
 * system call made by any of those processes against systemd's own
 * expansion of @system-service
 * (`systemd-analyze syscall-filter`):
 *
 * - every call outside the set must be one known to fail softly
 *   (TOLERATED_OUTSIDE_FILTER, each with the reason);
 * - relayd is run again with those calls failing with EPERM (strace's error
 *   injection, what the filter does), and must start, serve and stop exactly
 *   the same.
 *
 * This is the check a systemd host would make by starting the unit, without
 * needing systemd as PID 1. Skipped, with the reason, without strace or
 * systemd-analyze, or where ptrace is not permitted.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ProcessRegistry } from '@relayd/testnet';
import { NotifyReceiver, PYTHON } from './notify-receiver.js';
import { findTool, RELAYD_BIN, run } from './support.js';

/** System calls outside @system-service that Node.js makes and survives failing with EPERM. */
const TOLERATED_OUTSIDE_FILTER: ReadonlyMap<string, string> = new Map([
  // V8 asks for a memory protection key (x86 PKU) to guard JIT code pages; when
  // none can be had it protects them with mprotect as on CPUs without PKU.
  ['pkey_alloc', 'V8 memory protection keys: falls back to mprotect'],
  ['pkey_free', 'V8 memory protection keys'],
  ['pkey_mprotect', 'V8 memory protection keys'],
]);

const OBFS4PROXY = '/usr/bin/obfs4proxy';
const strace = findTool('strace');
const systemdAnalyze = findTool('systemd-analyze');

function whySkip(): string | false {
  if (!strace) return 'strace is not installed (apt-get install strace)';
  if (!systemdAnalyze) return 'systemd-analyze is not installed (scripts/install-system-deps.sh)';
  const probe = run(strace, ['-f', '-qq', '-o', '/dev/null', '/bin/true'], { timeoutMs: 10_000 });
  if (probe.status !== 0) return `strace cannot trace here (ptrace not permitted?): ${probe.stderr.trim()}`;
  return false;
}

/** systemd's list of a syscall group, groups expanded (systemd-analyze syscall-filter @GROUP). */
function expandFilter(group: string, seen = new Map<string, Set<string>>()): Set<string> {
  const known = seen.get(group);
  if (known) return known;
  const names = new Set<string>();
  seen.set(group, names);
  const r = run(systemdAnalyze!, ['syscall-filter', group]);
  assert.equal(r.status, 0, r.stderr);
  for (const line of r.stdout.split('\n').slice(1)) {
    const item = line.trim();
    if (item === '' || item.startsWith('#')) continue;
    if (item.startsWith('@')) for (const n of expandFilter(item, seen)) names.add(n);
    else names.add(item);
  }
  return names;
}

/** The syscall names of an `strace -c` summary table. */
function summarySyscalls(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const name = cols[cols.length - 1] ?? '';
    if (cols.length >= 4 && /^[a-z0-9_]+$/.test(name) && name !== 'total' && name !== 'syscall')
      names.add(name);
  }
  return names;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface LogLine {
  readonly msg: string;
  readonly pid?: number;
  readonly [key: string]: unknown;
}

function readLog(path: string): LogLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface TracedRun {
  readonly syscalls: Set<string>;
  readonly log: LogLine[];
  readonly exitCode: number | null;
  /** READY=1, STOPPING=1…, as the notification socket received them. */
  readonly notified: string[];
}

const skip = whySkip();

describe('relayd under systemd-style syscall filtering', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'relayd-sandbox-'));
  const started: ChildProcess[] = [];
  const relaydPids: number[] = [];
  const receivers = new ProcessRegistry();
  after(async () => {
    await receivers.stopAll();
    for (const pid of relaydPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const child of started) if (child.pid && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const withTransport = existsSync(OBFS4PROXY);
  // relayd.service is Type=notify: relayd runs systemd-notify inside the same sandbox.
  const withNotify = existsSync(PYTHON) && existsSync('/usr/bin/systemd-notify');

  /** Starts relayd under strace, exercises it, stops it with SIGTERM, returns what it called. */
  async function tracedRun(name: string, straceArgs: string[]): Promise<TracedRun> {
    const base = join(dir, name);
    mkdirSync(base);
    const logFile = join(base, 'notice.log');
    const summary = join(base, 'strace.txt');
    const lines = [
      `DataDirectory ${join(base, 'data')}`,
      'Nickname SandboxTest',
      'ContactInfo ops@example.org',
      'ORPort 127.0.0.1:auto',
      'Address 203.0.113.5',
      'PublishServerDescriptor 0',
      'AssumeReachable 1',
      // An authority on a loopback port nothing listens on: no traffic leaves the machine.
      'DirAuthority sandbox orport=1 v3ident=0123456789ABCDEF0123456789ABCDEF01234567 127.0.0.1:1 0123456789ABCDEF0123456789ABCDEF01234567',
      'Workers 2',
      'ExtORPort 127.0.0.1:auto',
      `Log notice file ${logFile}`,
    ];
    if (withTransport) {
      lines.push(`ServerTransportPlugin obfs4 exec ${OBFS4PROXY}`);
      lines.push(`ServerTransportListenAddr obfs4 127.0.0.1:${await freePort()}`);
    }
    const torrc = join(base, 'torrc');
    writeFileSync(torrc, `${lines.join('\n')}\n`);
    const receiver = withNotify ? await NotifyReceiver.start(receivers, base, 'notify') : undefined;

    const child = spawn(
      strace!,
      ['-f', '-qq', '-c', '-o', summary, ...straceArgs, process.execPath, RELAYD_BIN, '-f', torrc],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: receiver ? { ...process.env, NOTIFY_SOCKET: receiver.socketPath } : process.env,
      },
    );
    started.push(child);
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const ready = await waitFor(
      'relayd to finish starting (its bridge line)',
      () => {
        if (child.exitCode !== null) throw new Error(`relayd exited early: ${stderr}`);
        const log = readLog(logFile);
        return log.some((l) => l.msg.startsWith('bridge line: Bridge 203.0.113.5:')) &&
          (!withTransport || log.some((l) => l.msg.startsWith("registered server transport 'obfs4'")))
          ? log
          : undefined;
      },
      60_000,
    );
    const pid = ready[0]?.pid;
    assert.ok(typeof pid === 'number', 'the log names relayd pid');
    relaydPids.push(pid);
    const orPort = Number(
      /ORPort listening on 127\.0\.0\.1:(\d+)/.exec(ready.map((l) => l.msg).join('\n'))?.[1],
    );
    const extOrPort = Number(
      /Extended ORPort listening on 127\.0\.0\.1:(\d+)/.exec(ready.map((l) => l.msg).join('\n'))?.[1],
    );
    assert.ok(orPort > 0 && extOrPort > 0, 'ORPort and ExtORPort are listening');

    // A TLS connection: accepted by the supervisor, its socket handed to a worker (SCM_RIGHTS).
    await new Promise<void>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: orPort, rejectUnauthorized: false }, () => {
        socket.end();
        resolve();
      });
      socket.once('error', reject);
      socket.setTimeout(15_000, () => reject(new Error('TLS handshake with a worker timed out')));
    });
    // An Extended ORPort connection: the supervisor's front answers with its auth types.
    await new Promise<void>((resolve, reject) => {
      const socket = tcpConnect({ host: '127.0.0.1', port: extOrPort });
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
      socket.setTimeout(10_000, () => reject(new Error('no answer from the Extended ORPort')));
    });

    if (receiver)
      await receiver.waitFor('READY=1', (d) => d.fields.get('READY') === '1', { timeoutMs: 30_000 });
    process.kill(pid, 'SIGTERM');
    const exitCode = await exited;
    const log = readLog(logFile);
    const notified = receiver?.states() ?? [];
    return { syscalls: summarySyscalls(readFileSync(summary, 'utf8')), log, exitCode, notified };
  }

  let first: TracedRun | undefined;

  it('makes no system call outside @system-service except those known to fail softly', async () => {
    first = await tracedRun('traced', []);
    assert.equal(first.exitCode, 0, 'relayd (under strace) exits 0 after SIGTERM');
    assert.ok(first.log.some((l) => l.msg === 'relayd stopped'));
    // The summary covers every process: forks, the handed-over socket (SCM_RIGHTS), the accepts.
    for (const expected of ['execve', 'sendmsg', 'recvmsg', 'accept4']) {
      assert.ok(first.syscalls.has(expected), `strace saw ${expected}`);
    }
    assert.ok(first.syscalls.has('clone') || first.syscalls.has('clone3'), 'strace saw the forks');
    if (withNotify) assert.deepEqual(first.notified, ['READY', 'STOPPING']);
    const allowed = expandFilter('@system-service');
    assert.ok(allowed.has('read') && allowed.has('sendmsg') && allowed.size > 300, 'the filter expanded');
    const outside = [...first.syscalls].filter((s) => !allowed.has(s)).sort();
    const unexpected = outside.filter((s) => !TOLERATED_OUTSIDE_FILTER.has(s));
    assert.deepEqual(unexpected, [], `system calls @system-service would refuse: ${outside.join(', ')}`);
  });

  it('starts, serves and stops the same when those calls fail with EPERM', async () => {
    assert.ok(first, 'the traced run happened');
    const outside = [...first.syscalls].filter((s) => TOLERATED_OUTSIDE_FILTER.has(s));
    const inject = outside.flatMap((s) => ['-e', `inject=${s}:error=EPERM`]);
    const second = await tracedRun('eperm', inject);
    assert.equal(second.exitCode, 0);
    assert.deepEqual(second.notified, first.notified);
    const milestones = (r: TracedRun) =>
      r.log
        .map((l) => l.msg)
        .filter((m) => /^(worker \d ready|relayd stopped|registered server transport)/.test(m))
        .map((m) => m.replace(/\(pid \d+\)/, '(pid)').replace(/ at '[^']*'$/, ''))
        .sort();
    assert.deepEqual(milestones(second), milestones(first));
  });
});
