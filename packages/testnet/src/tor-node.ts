/**
 * One running tor process of the private network and its files. A node lives
 * in its own directory under the network's base directory:
 *
 *   <baseDir>/<nickname>/torrc          the configuration it was started with
 *   <baseDir>/<nickname>/notice.log     tor's own notice log (what waits watch)
 *   <baseDir>/<nickname>/<level>.log    optional verbose log (info or debug)
 *   <baseDir>/<nickname>/stdout.log     stdout/stderr: start-up and config errors
 *   <baseDir>/<nickname>/stderr.log
 *
 * The directory is also the node's DataDirectory (keys/, cached-* documents).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeLogs, TAIL_LINES, waitForLogLine } from './log-watch.js';
import {
  DEFAULT_STOP_GRACE_MS,
  type ExitStatus,
  type ManagedProcess,
  type ProcessRegistry,
  readTail,
} from './process-registry.js';
import type { TorBinaries } from './tor-tools.js';
import type { TorLogLevel } from './torrc.js';

export type TorRole = 'authority' | 'relay' | 'exit' | 'bridge' | 'client';

/** Where a node's files are. */
export interface NodeLayout {
  readonly nickname: string;
  readonly dataDir: string;
  readonly torrcPath: string;
  readonly noticeLogPath: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  readonly extraLog?: { readonly level: TorLogLevel; readonly path: string };
}

/** Creates `<baseDir>/<nickname>` (mode 0700, as tor requires of a DataDirectory) and names its files. */
export function createNodeLayout(baseDir: string, nickname: string, extraLogLevel?: TorLogLevel): NodeLayout {
  const dataDir = join(baseDir, nickname);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return {
    nickname,
    dataDir,
    torrcPath: join(dataDir, 'torrc'),
    noticeLogPath: join(dataDir, 'notice.log'),
    stdoutPath: join(dataDir, 'stdout.log'),
    stderrPath: join(dataDir, 'stderr.log'),
    ...(extraLogLevel
      ? { extraLog: { level: extraLogLevel, path: join(dataDir, `${extraLogLevel}.log`) } }
      : {}),
  };
}

/** The line tor logs once it has directory information and a working circuit. */
export const BOOTSTRAPPED_100 = /Bootstrapped 100%/;

export class TorNode {
  readonly role: TorRole;
  readonly address: string;
  readonly layout: NodeLayout;
  readonly process: ManagedProcess;

  constructor(role: TorRole, address: string, layout: NodeLayout, process: ManagedProcess) {
    this.role = role;
    this.address = address;
    this.layout = layout;
    this.process = process;
  }

  get nickname(): string {
    return this.layout.nickname;
  }

  get pid(): number {
    return this.process.pid;
  }

  get dataDir(): string {
    return this.layout.dataDir;
  }

  get noticeLogPath(): string {
    return this.layout.noticeLogPath;
  }

  /** Waits (bounded) for a line of the notice log to match `pattern`; resolves with the line. */
  waitForLog(pattern: RegExp, timeoutMs: number, what = `${this.nickname}: ${pattern}`): Promise<string> {
    return waitForLogLine(this.layout.noticeLogPath, pattern, {
      timeoutMs,
      process: this.process,
      alsoShow: [this.layout.stdoutPath, this.layout.stderrPath],
      what,
    });
  }

  /** Waits (bounded) for `Bootstrapped 100%`; resolves with the milliseconds since the process started. */
  async waitForBootstrap(timeoutMs: number): Promise<number> {
    await this.waitForLog(BOOTSTRAPPED_100, timeoutMs, `${this.nickname} bootstrapping`);
    return Date.now() - this.process.startedAtMs;
  }

  /** The last lines of the notice log. */
  logTail(lines = TAIL_LINES): string {
    return readTail(this.layout.noticeLogPath, lines);
  }

  /** The tails of every log of this node, labelled, for failure messages. */
  describeLogs(): string {
    return describeLogs(this.layout.noticeLogPath, [this.layout.stdoutPath, this.layout.stderrPath]);
  }

  /** Stops this node by PID (SIGTERM, then SIGKILL after `graceMs`). */
  stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<ExitStatus> {
    return this.process.stop(graceMs);
  }
}

/** Writes `torrcText` into the node's directory and starts tor on it. */
export function launchTor(
  registry: ProcessRegistry,
  binaries: TorBinaries,
  layout: NodeLayout,
  torrcText: string,
  defaultsTorrc: string,
): ManagedProcess {
  writeFileSync(layout.torrcPath, torrcText);
  return registry.spawn(
    layout.nickname,
    binaries.tor,
    ['--defaults-torrc', defaultsTorrc, '-f', layout.torrcPath],
    {
      stdoutPath: layout.stdoutPath,
      stderrPath: layout.stderrPath,
      cwd: layout.dataDir,
    },
  );
}
