/**
 * What the operator-surface tests share: where the checkout's files are,
 * running a command with a bound, and finding a system tool (a test that
 * needs an absent tool is skipped with the reason, never passed).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout (this file runs from test/dist/ops/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const RELAYD_BIN = join(REPO_ROOT, 'bin', 'relayd');
export const RELAYCTL_BIN = join(REPO_ROOT, 'bin', 'relayctl');
export const SYSTEMD_DIR = join(REPO_ROOT, 'systemd');
export const CONFIGS_DIR = join(REPO_ROOT, 'configs');
export const INSTALL_SCRIPT = join(REPO_ROOT, 'scripts', 'install.sh');

export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): RunResult {
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    env: options.env ?? process.env,
    cwd: options.cwd ?? REPO_ROOT,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `node bin/relayd ARGS` of this checkout. */
export function relayd(args: readonly string[]): RunResult {
  return run(process.execPath, [RELAYD_BIN, ...args]);
}

/** The absolute path of an executable found on PATH (or given absolute), or undefined. */
export function findTool(name: string): string | undefined {
  const candidates = name.startsWith('/')
    ? [name]
    : (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
        .split(':')
        .concat(['/usr/sbin', '/sbin', '/usr/lib/systemd', '/lib/systemd'])
        .map((dir) => join(dir, name));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function describeRun(r: RunResult): string {
  return `exit ${r.status ?? r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
