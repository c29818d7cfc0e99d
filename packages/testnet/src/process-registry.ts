/**
 * Owns every child process the test network starts.
 *
 * Each child is spawned with its stdout and stderr going straight to files
 * (the child holds the file descriptors, so output is captured even while the
 * test's event loop is busy), and its PID is recorded for the registry's whole
 * life. Stopping is by PID only: SIGTERM, then SIGKILL if the process is still
 * there after a bound. A PID is never signalled after its exit was observed, so
 * a recycled PID is never hit.
 *
 * As a backstop, every registry with live children is killed (SIGKILL, the only
 * thing that can be done synchronously) when this Node process exits or gets
 * SIGINT/SIGTERM/SIGHUP. Tor nodes are also told the test's PID
 * (`__OwningControllerProcess`), so they exit by themselves even if this
 * process is SIGKILLed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { TESTNET_ERROR, TestnetError } from './errors.js';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** File that receives the child's stdout (appended). */
  readonly stdoutPath: string;
  /** File that receives the child's stderr (appended). */
  readonly stderrPath: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. Without it, stdin is /dev/null. */
  readonly stdin?: string;
}

/** How long a stopped process gets between SIGTERM and SIGKILL, by default. */
export const DEFAULT_STOP_GRACE_MS = 5_000;
/** How long to wait for the exit of a SIGKILLed process before giving up. */
const KILL_WAIT_MS = 5_000;

export function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

/** One child process and its fate. */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** When it was spawned (Date.now()). */
  readonly startedAtMs: number;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;

  constructor(
    name: string,
    child: ChildProcess,
    command: string,
    args: readonly string[],
    opts: SpawnOptions,
  ) {
    if (child.pid === undefined) throw new Error('ManagedProcess needs a spawned child with a PID');
    this.name = name;
    this.pid = child.pid;
    this.command = command;
    this.args = args;
    this.stdoutPath = opts.stdoutPath;
    this.stderrPath = opts.stderrPath;
    this.startedAtMs = Date.now();
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.status = { code, signal };
        resolve(this.status);
      });
    });
  }

  /** The exit status, once the process has exited. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  /**
   * Stops the process by PID: SIGTERM, then SIGKILL after `graceMs`. Resolves
   * with its exit status; rejects only if it survives SIGKILL.
   */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<ExitStatus> {
    if (this.status) return this.status;
    this.signal('SIGTERM');
    const afterTerm = await withTimeout(this.exited, graceMs);
    if (afterTerm) return afterTerm;
    this.signal('SIGKILL');
    const afterKill = await withTimeout(this.exited, KILL_WAIT_MS);
    if (afterKill) return afterKill;
    throw new TestnetError(
      TESTNET_ERROR.timeout,
      `${this.name} (pid ${this.pid}) is still running ${KILL_WAIT_MS} ms after SIGKILL`,
    );
  }

  /** Sends SIGKILL now if still running; for the synchronous exit hook. */
  killNow(): void {
    this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.status) return;
    try {
      process.kill(this.pid, signal);
    } catch (e) {
      // ESRCH: it exited and the 'exit' event is on its way.
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}

/** A set of child processes that are stopped together. */
export class ProcessRegistry {
  private readonly all: ManagedProcess[] = [];

  /** Spawns `command`, recording its PID. Throws a TestnetError if it cannot be started. */
  spawn(name: string, command: string, args: readonly string[], opts: SpawnOptions): ManagedProcess {
    const stdoutFd = openSync(opts.stdoutPath, 'a');
    const stderrFd = openSync(opts.stderrPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', stdoutFd, stderrFd],
        detached: false,
      });
    } finally {
      // The child has its own copies of the descriptors.
      closeSync(stdoutFd);
      closeSync(stderrFd);
    }
    let spawnError: Error | undefined;
    child.once('error', (e) => {
      spawnError = e;
    });
    if (child.pid === undefined) {
      throw new TestnetError(
        TESTNET_ERROR.spawnFailed,
        `could not start ${name}: ${command} ${args.join(' ')}`,
        {
          cause: spawnError,
        },
      );
    }
    if (opts.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => {
        // The child may exit without reading its input; its exit status tells the story.
      });
      child.stdin.end(opts.stdin);
    }
    const managed = new ManagedProcess(name, child, command, args, opts);
    this.all.push(managed);
    liveRegistries.add(this);
    installExitHooks();
    return managed;
  }

  /**
   * Spawns a short-lived tool and waits for it; resolves with its stdout.
   * Rejects with the tool's stderr if it fails or outlives `timeoutMs`.
   */
  async run(
    name: string,
    command: string,
    args: readonly string[],
    opts: SpawnOptions & { readonly timeoutMs: number },
  ): Promise<string> {
    const child = this.spawn(name, command, args, opts);
    const status = await withTimeout(child.exited, opts.timeoutMs);
    const output = () =>
      `stdout: ${readTail(opts.stdoutPath, 20) || '(empty)'}\nstderr: ${readTail(opts.stderrPath, 20) || '(empty)'}`;
    if (!status) {
      await child.stop(1_000);
      throw new TestnetError(
        TESTNET_ERROR.timeout,
        `${name} did not finish within ${opts.timeoutMs} ms: ${command} ${args.join(' ')}\n${output()}`,
      );
    }
    if (status.code !== 0) {
      throw new TestnetError(
        TESTNET_ERROR.processExited,
        `${name} failed (${describeExit(status)}): ${command} ${args.join(' ')}\n${output()}`,
      );
    }
    return readFileSync(opts.stdoutPath, 'utf8');
  }

  /** Every process this registry ever spawned, in spawn order. */
  get processes(): readonly ManagedProcess[] {
    return this.all;
  }

  /** The PIDs of every process ever spawned (for "nothing left behind" checks). */
  get pids(): number[] {
    return this.all.map((p) => p.pid);
  }

  /** The processes whose exit has not been observed yet. */
  get running(): ManagedProcess[] {
    return this.all.filter((p) => p.running);
  }

  /** Stops every running process (in parallel), SIGTERM then SIGKILL after `graceMs`. */
  async stopAll(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    const results = await Promise.allSettled(this.running.map((p) => p.stop(graceMs)));
    liveRegistries.delete(this);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) throw failures[0]!.reason;
  }

  /** SIGKILLs every running process without waiting. */
  killAllNow(): void {
    for (const p of this.running) p.killNow();
  }
}

/** Whether a PID names a live process (or a zombie nobody has reaped). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolves with the promise's value, or `undefined` once `ms` have passed. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The last `lines` lines of a text file ('' if it is missing). */
export function readTail(path: string, lines: number): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return '';
  }
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

const liveRegistries = new Set<ProcessRegistry>();
let hooksInstalled = false;

function killEverything(): void {
  for (const registry of liveRegistries) registry.killAllNow();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killEverything();
      // If nobody else handles the signal, restore the default action (exit)
      // and deliver it again, so our hook does not keep the process alive.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}
