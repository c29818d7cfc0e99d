/**
 * One real C tor process on its own, outside a private network: for interop
 * tests that need a single tor relay or client on loopback (link handshakes,
 * key files, certificates).
 *
 * The caller gives the torrc lines; this adds a directory authority nobody
 * runs (127.0.0.1:9, a closed port), so tor never contacts the public
 * network, and `__OwningControllerProcess`, so tor exits by itself if the test
 * process dies. The process belongs to the caller's ProcessRegistry, which
 * stops it by PID; its stdout and stderr go to files next to its torrc.
 *
 *   <dir>/<name>.torrc        the configuration it was started with
 *   <dir>/<name>.stdout.log   stdout (where a `Log ... stdout` line sends tor's log)
 *   <dir>/<name>.stderr.log
 *   <dir>/empty               the (empty) --defaults-torrc
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeLogs, waitForLogLine } from './log-watch.js';
import {
  DEFAULT_STOP_GRACE_MS,
  type ExitStatus,
  type ManagedProcess,
  type ProcessRegistry,
  withTimeout,
} from './process-registry.js';
import { createEmptyFile, DEBIAN_TOR_BINARIES } from './tor-tools.js';
import { dirAuthorityLine } from './torrc.js';

/**
 * A `DirAuthority` line for an authority nobody runs: tor's only authority is
 * at 127.0.0.1:9, where nothing listens, so it never fetches from (or
 * publishes to) the public directory.
 */
export const UNREACHABLE_DIR_AUTHORITY = dirAuthorityLine({
  nickname: 'unreachable',
  address: '127.0.0.1',
  orPort: 9,
  dirPort: 9,
  v3Identity: '0'.repeat(40),
  fingerprint: `${'0'.repeat(39)}1`,
});

export interface StandaloneTorOptions {
  readonly registry: ProcessRegistry;
  /** Where the torrc and logs go (created, mode 0700, if missing). Not the DataDirectory unless the torrc says so. */
  readonly dir: string;
  /** torrc lines, one option each ("Keyword value"). */
  readonly torrcLines: readonly string[];
  /** Arguments after the configuration, e.g. `--list-fingerprint` for a one-shot run. */
  readonly extraArgs?: readonly string[];
  /** Names the process and its files (default "tor"); distinct names let runs share `dir`. */
  readonly name?: string;
  /** Default /usr/bin/tor. */
  readonly torBinary?: string;
}

export class StandaloneTor {
  readonly process: ManagedProcess;
  readonly torrcPath: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;

  constructor(process: ManagedProcess, paths: { torrcPath: string; stdoutPath: string; stderrPath: string }) {
    this.process = process;
    this.torrcPath = paths.torrcPath;
    this.stdoutPath = paths.stdoutPath;
    this.stderrPath = paths.stderrPath;
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Everything tor has written so far: stdout, then stderr. */
  get output(): string {
    return readOrEmpty(this.stdoutPath) + readOrEmpty(this.stderrPath);
  }

  /** Waits (bounded) for a line of stdout to match `pattern`; resolves with the line. Fails if tor exits first. */
  waitForLog(pattern: RegExp, timeoutMs: number, what = `tor: ${pattern}`): Promise<string> {
    return waitForLogLine(this.stdoutPath, pattern, {
      timeoutMs,
      process: this.process,
      alsoShow: [this.stderrPath],
      what,
    });
  }

  /** Waits (bounded) for tor to exit by itself; past `timeoutMs` it is stopped by PID. */
  async waitForExit(timeoutMs: number): Promise<ExitStatus> {
    return (await withTimeout(this.process.exited, timeoutMs)) ?? (await this.stop());
  }

  /** The tails of its logs, labelled, for failure messages. */
  describeLogs(): string {
    return describeLogs(this.stdoutPath, [this.stderrPath]);
  }

  /** Stops tor by PID (SIGTERM, then SIGKILL after `graceMs`). */
  stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<ExitStatus> {
    return this.process.stop(graceMs);
  }
}

/** Writes the torrc (plus the unreachable authority and the owning PID) and starts tor on it. */
export function startStandaloneTor(opts: StandaloneTorOptions): StandaloneTor {
  const name = opts.name ?? 'tor';
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const paths = {
    torrcPath: join(opts.dir, `${name}.torrc`),
    stdoutPath: join(opts.dir, `${name}.stdout.log`),
    stderrPath: join(opts.dir, `${name}.stderr.log`),
  };
  const lines = [...opts.torrcLines, UNREACHABLE_DIR_AUTHORITY, `__OwningControllerProcess ${process.pid}`];
  writeFileSync(paths.torrcPath, `${lines.join('\n')}\n`);
  // A fresh start gets fresh logs (the registry appends).
  writeFileSync(paths.stdoutPath, '');
  writeFileSync(paths.stderrPath, '');
  const defaults = createEmptyFile(opts.dir);
  const child = opts.registry.spawn(
    name,
    opts.torBinary ?? DEBIAN_TOR_BINARIES.tor,
    ['-f', paths.torrcPath, '--defaults-torrc', defaults, ...(opts.extraArgs ?? [])],
    { stdoutPath: paths.stdoutPath, stderrPath: paths.stderrPath },
  );
  return new StandaloneTor(child, paths);
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
