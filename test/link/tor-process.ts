/**
 * One real C tor process for the link interop tests: started with a given
 * torrc on loopback, its log followed in memory, stopped by its PID (SIGTERM,
 * then SIGKILL after a grace period), also when a test fails.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const TOR = '/usr/bin/tor';
const STOP_GRACE_MS = 10_000;

/** A directory authority nobody runs, so tor never reaches the public network (its port 9 is closed). */
export const FAKE_DIR_AUTHORITY =
  'DirAuthority unreachable orport=9 no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:9 0000 0000 0000 0000 0000 0000 0000 0000 0000 0001';

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export class TorProcess {
  private log = '';
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  /** Writes `torrc` (one option per line) into `root` and starts tor on it. */
  constructor(root: string, torrc: readonly string[]) {
    const torrcPath = join(root, 'torrc');
    const defaults = join(root, 'torrc-defaults');
    writeFileSync(defaults, '');
    writeFileSync(torrcPath, `${torrc.join('\n')}\n`);
    this.child = spawn(TOR, ['-f', torrcPath, '--defaults-torrc', defaults], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const append = (d: Buffer) => {
      this.log += d.toString('utf8');
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', () => resolve(null));
    });
  }

  get output(): string {
    return this.log;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Waits until the log matches `pattern`; fails if tor exits or `timeoutMs` passes. */
  async waitForLog(pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.log.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null) assert.fail(`tor exited before ${what}:\n${this.log}`);
      if (Date.now() > deadline) assert.fail(`tor did not log ${what} within ${timeoutMs} ms:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops tor by its PID: SIGTERM, then SIGKILL if it has not exited after a grace period. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      } catch {}
    }, STOP_GRACE_MS);
    await gone;
    clearTimeout(timer);
  }
}
