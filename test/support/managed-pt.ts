/**
 * One real managed pluggable-transport process (obfs4proxy) for interop
 * tests: started with a TOR_PT_* environment, its stdout read through
 * @relayd/ext-orport's PT line codec, stopped by its PID — stdin closed
 * first (TOR_PT_EXIT_ON_STDIN_CLOSE=1), then SIGTERM, then SIGKILL — also
 * when a test fails. Also the torrc a tor client needs to use obfs4proxy.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PtLineSplitter, type PtMessage, parsePtLine } from '@relayd/ext-orport';
import type { TorrcEntry } from '@relayd/testnet';

export const OBFS4PROXY = '/usr/bin/obfs4proxy';
/** The torrc line that gives a tor client obfs4, through the same obfs4proxy. */
export const OBFS4_CLIENT_TORRC: readonly TorrcEntry[] = [
  ['ClientTransportPlugin', `obfs4 exec ${OBFS4PROXY}`],
];
const STOP_GRACE_MS = 3_000;

export class ManagedPt {
  private readonly child: ChildProcess;
  private readonly splitter = new PtLineSplitter();
  /** Every stdout line, parsed (or the parse error's message). */
  readonly messages: Array<PtMessage | { type: 'malformed'; line: string; error: string }> = [];
  private stderr = '';
  readonly exited: Promise<number | null>;

  /** Starts `OBFS4PROXY` with the given TOR_PT_* variables; it logs at DEBUG into its state directory. */
  constructor(
    readonly name: string,
    private readonly stateLocation: string,
    ptEnvironment: Record<string, string>,
  ) {
    this.child = spawn(OBFS4PROXY, ['-enableLogging', '-logLevel', 'DEBUG'], {
      // Only PATH from our environment: the PT must see exactly the TOR_PT_* we chose.
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...ptEnvironment },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      for (const line of this.splitter.push(chunk)) {
        const parsed = parsePtLine(line);
        this.messages.push(
          parsed.ok ? parsed.value : { type: 'malformed', line, error: parsed.error.message },
        );
      }
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', () => resolve(null));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** stdout lines so far, stderr and the PT's own log, for failure messages. */
  diagnostics(): string {
    let log = '';
    try {
      log = readFileSync(join(this.stateLocation, 'obfs4proxy.log'), 'utf8');
    } catch {
      log = '(no obfs4proxy.log)';
    }
    return `${this.name} stdout: ${JSON.stringify(this.messages)}\nstderr: ${this.stderr}\nlog:\n${log}`;
  }

  /**
   * Waits until the configuration protocol ends with `done`
   * ('smethods-done' or 'cmethods-done'); fails on any *-ERROR line, on
   * exit, or after `timeoutMs`.
   */
  async waitForMethods(done: 'smethods-done' | 'cmethods-done', timeoutMs: number): Promise<PtMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failure = this.messages.find((m) => m.type.endsWith('error') || m.type === 'malformed');
      if (failure) assert.fail(`${this.name} reported ${JSON.stringify(failure)}\n${this.diagnostics()}`);
      if (this.messages.some((m) => m.type === done))
        return this.messages.filter((m) => m.type !== 'malformed') as PtMessage[];
      if (this.child.exitCode !== null)
        assert.fail(`${this.name} exited before ${done}\n${this.diagnostics()}`);
      if (Date.now() > deadline)
        assert.fail(`${this.name}: no ${done} within ${timeoutMs} ms\n${this.diagnostics()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Closes stdin (the pt-spec 3.4 shutdown signal), then SIGTERM, then SIGKILL, each after a grace period. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
      return child.exitCode;
    const exitedWithin = (ms: number) =>
      Promise.race([
        this.exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
      ]);
    child.stdin?.end();
    if (await exitedWithin(STOP_GRACE_MS)) return child.exitCode;
    child.kill('SIGTERM');
    if (await exitedWithin(STOP_GRACE_MS)) return child.exitCode;
    child.kill('SIGKILL');
    await exitedWithin(STOP_GRACE_MS);
    return child.exitCode;
  }
}
