import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isPidAlive, ProcessRegistry, TestnetError, waitForLogLine } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'testnet-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function logs(name: string) {
  counter++;
  return { stdoutPath: join(dir, `${name}-${counter}.out`), stderrPath: join(dir, `${name}-${counter}.err`) };
}

/** A node process that prints `ready`, then idles; optionally ignoring SIGTERM. */
function idler(ignoreTerm: boolean): string[] {
  const ignore = ignoreTerm ? "process.on('SIGTERM', () => console.log('ignored TERM'));" : '';
  return ['-e', `${ignore} console.log('ready'); setInterval(() => {}, 1000);`];
}

describe('ProcessRegistry', () => {
  it('records PIDs, captures stdout to a file, and stops by SIGTERM', async () => {
    const registry = new ProcessRegistry();
    const files = logs('term');
    const child = registry.spawn('idler', process.execPath, idler(false), files);
    assert.ok(child.pid > 0);
    assert.deepEqual(registry.pids, [child.pid]);
    await waitForLogLine(files.stdoutPath, /^ready$/, { timeoutMs: 10_000, what: 'idler start' });
    assert.equal(isPidAlive(child.pid), true);
    const status = await child.stop(5_000);
    assert.equal(status.signal, 'SIGTERM');
    assert.equal(isPidAlive(child.pid), false);
    assert.equal(child.running, false);
    // Stopping again is a no-op that reports the same fate.
    assert.deepEqual(await child.stop(), status);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const registry = new ProcessRegistry();
    const files = logs('kill');
    const child = registry.spawn('stubborn', process.execPath, idler(true), files);
    await waitForLogLine(files.stdoutPath, /^ready$/, { timeoutMs: 10_000, what: 'stubborn start' });
    const started = Date.now();
    await registry.stopAll(300);
    assert.equal(child.exitStatus?.signal, 'SIGKILL');
    assert.ok(Date.now() - started >= 300);
    await waitForLogLine(files.stdoutPath, /^ignored TERM$/, { timeoutMs: 1_000, what: 'TERM seen' });
    assert.deepEqual(registry.running, []);
    assert.equal(isPidAlive(child.pid), false);
  });

  it("run() returns a tool's stdout and fails with its output and exit code", async () => {
    const registry = new ProcessRegistry();
    const out = await registry.run('echo', process.execPath, ['-e', 'process.stdout.write("fp 1234\\n")'], {
      ...logs('run'),
      timeoutMs: 10_000,
    });
    assert.equal(out, 'fp 1234\n');
    await assert.rejects(
      registry.run('fails', process.execPath, ['-e', 'console.error("no keys here"); process.exit(3)'], {
        ...logs('fail'),
        timeoutMs: 10_000,
      }),
      (e: unknown) =>
        e instanceof TestnetError &&
        e.code === 'TESTNET_PROCESS_EXITED' &&
        e.message.includes('code 3') &&
        e.message.includes('no keys here'),
    );
    const stdin = await registry.run('cat', process.execPath, ['-e', 'process.stdin.pipe(process.stdout)'], {
      ...logs('stdin'),
      stdin: 'passphrase\n',
      timeoutMs: 10_000,
    });
    assert.equal(stdin, 'passphrase\n');
    assert.equal(registry.pids.length, 3);
    assert.equal(registry.pids.filter(isPidAlive).length, 0);
  });

  it('run() kills a tool that outlives its bound', async () => {
    const registry = new ProcessRegistry();
    await assert.rejects(
      registry.run('hang', process.execPath, idler(false), { ...logs('hang'), timeoutMs: 300 }),
      (e: unknown) => e instanceof TestnetError && e.code === 'TESTNET_TIMEOUT',
    );
    assert.equal(isPidAlive(registry.pids[0]!), false);
  });

  it('refuses to spawn a missing binary with a clear error', () => {
    const registry = new ProcessRegistry();
    assert.throws(
      () => registry.spawn('ghost', join(dir, 'no-such-binary'), [], logs('ghost')),
      (e: unknown) => e instanceof TestnetError && e.code === 'TESTNET_SPAWN_FAILED',
    );
  });
});

describe('waitForLogLine', () => {
  it('finds a line appended later, across partial writes', async () => {
    const path = join(dir, 'growing.log');
    writeFileSync(path, 'Bootstrapped 50%\n');
    setTimeout(() => appendFileSync(path, 'Bootstrapped 10'), 150);
    setTimeout(() => appendFileSync(path, '0% (done): Done\n'), 300);
    const line = await waitForLogLine(path, /Bootstrapped 100%/, { timeoutMs: 5_000, what: 'bootstrap' });
    assert.equal(line, 'Bootstrapped 100% (done): Done');
  });

  it('times out with the tail of the log in the error', async () => {
    const path = join(dir, 'stuck.log');
    writeFileSync(path, 'line one\n[warn] the reason it is stuck\n');
    await assert.rejects(
      waitForLogLine(path, /never/, { timeoutMs: 250, what: 'something impossible' }),
      (e: unknown) =>
        e instanceof TestnetError &&
        e.code === 'TESTNET_TIMEOUT' &&
        e.message.startsWith('something impossible') &&
        e.message.includes('the reason it is stuck'),
    );
  });

  it('stops waiting when the watched process exits', async () => {
    const registry = new ProcessRegistry();
    const files = logs('dies');
    const child = registry.spawn(
      'dies',
      process.execPath,
      ['-e', 'console.log("fatal: bad torrc"); process.exit(1)'],
      files,
    );
    await assert.rejects(
      waitForLogLine(files.stdoutPath, /Bootstrapped 100%/, {
        timeoutMs: 10_000,
        process: child,
        what: 'dies bootstrapping',
      }),
      (e: unknown) =>
        e instanceof TestnetError &&
        e.code === 'TESTNET_PROCESS_EXITED' &&
        e.message.includes('code 1') &&
        e.message.includes('fatal: bad torrc'),
    );
  });
});
