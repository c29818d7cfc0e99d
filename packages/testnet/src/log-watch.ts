/**
 * Bounded waits on log files: "tell me when this line appears, or why not".
 *
 * The file is polled (tor writes it directly; there is no stream to listen
 * to) and read incrementally from where the last poll stopped. A wait ends
 * when a line matches, when the watched process exits first, or when the time
 * runs out; the two failures carry the tail of the log in their message.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { TESTNET_ERROR, TestnetError } from './errors.js';
import { describeExit, type ManagedProcess, readTail } from './process-registry.js';

const POLL_MS = 100;
export const TAIL_LINES = 30;

export interface WaitForLogOptions {
  readonly timeoutMs: number;
  /** Stop waiting (with an error) if this process exits before the line appears. */
  readonly process?: ManagedProcess;
  /** Extra files whose tails help explain a failure (e.g. stdout of the process). */
  readonly alsoShow?: readonly string[];
  /** What is being waited for, in words ("client0 to bootstrap"). */
  readonly what: string;
}

/** Incremental line reader over a growing file. */
export class LogFollower {
  private offset = 0;
  private partial = '';

  constructor(readonly path: string) {}

  /** Complete lines appended since the last call (none if the file does not exist yet). */
  readNewLines(): string[] {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return [];
    }
    if (size < this.offset) {
      // Truncated or replaced: start over.
      this.offset = 0;
      this.partial = '';
    }
    if (size === this.offset) return [];
    const buffer = Buffer.alloc(size - this.offset);
    const fd = openSync(this.path, 'r');
    let read: number;
    try {
      read = readSync(fd, buffer, 0, buffer.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset += read;
    const text = this.partial + buffer.subarray(0, read).toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    return lines;
  }
}

/**
 * Resolves with the first line of `path` (from the beginning of the file)
 * matching `pattern`. Rejects with a TestnetError naming `what` and quoting
 * the log's tail on timeout or when `process` exits first.
 */
export async function waitForLogLine(
  path: string,
  pattern: RegExp,
  opts: WaitForLogOptions,
): Promise<string> {
  const follower = new LogFollower(path);
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    for (const line of follower.readNewLines()) if (pattern.test(line)) return line;
    const status = opts.process?.exitStatus;
    if (status) {
      // One last read: the line may have been written just before the exit.
      for (const line of follower.readNewLines()) if (pattern.test(line)) return line;
      throw new TestnetError(
        TESTNET_ERROR.processExited,
        `${opts.what}: ${opts.process!.name} (pid ${opts.process!.pid}) exited with ${describeExit(status)} ` +
          `before ${pattern} appeared in ${path}\n${describeLogs(path, opts.alsoShow)}`,
      );
    }
    if (Date.now() >= deadline) {
      throw new TestnetError(
        TESTNET_ERROR.timeout,
        `${opts.what}: ${pattern} did not appear in ${path} within ${opts.timeoutMs} ms\n` +
          describeLogs(path, opts.alsoShow),
      );
    }
    await sleep(POLL_MS);
  }
}

/** The tails of `path` and `others`, labelled, for an error message. */
export function describeLogs(path: string, others: readonly string[] = []): string {
  const parts: string[] = [];
  for (const file of [path, ...others]) {
    const tail = readTail(file, TAIL_LINES);
    if (tail) parts.push(`--- last lines of ${file} ---\n${tail}`);
    else parts.push(`--- ${file}: empty or missing ---`);
  }
  return parts.join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
