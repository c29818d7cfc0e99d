/**
 * Runs `bin/relayctl` as an operator would, without blocking the test's
 * event loop (the test may be serving what relayctl talks to), bounded in
 * time: a relayctl still running after `timeoutMs` is killed by its PID.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const RELAYCTL_BIN = fileURLToPath(new URL('../../../bin/relayctl', import.meta.url));

export interface RelayctlRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RelayctlOptions {
  /** Run as this user and group (root only). */
  readonly uid?: number;
  readonly gid?: number;
  readonly timeoutMs?: number;
}

export function runRelayctl(args: readonly string[], options: RelayctlOptions = {}): Promise<RelayctlRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RELAYCTL_BIN, ...args], {
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
