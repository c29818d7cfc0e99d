/**
 * The files the supervisor writes into the DataDirectory besides the keys
 * (which @relayd/keys writes):
 *
 *   bridge-lines.txt    one `Bridge <address>:<port> <FINGERPRINT>` line per
 *                       transport (today only the vanilla ORPort line)
 *   server-descriptor   the signed server descriptor being served and published
 *   extra-info          the signed extra-info document that goes with it
 *
 * Each is replaced atomically (written to a temporary file, then renamed),
 * mode 0600 like tor's own files, and only when its content changed.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, RelayError } from '@relayd/common';

export const BRIDGE_LINES_FILE = 'bridge-lines.txt';
export const SERVER_DESCRIPTOR_FILE = 'server-descriptor';
export const EXTRA_INFO_FILE = 'extra-info';

const FILE_MODE = 0o600;

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/** Atomically replaces `name` in `dataDir` with `text` unless it already holds it. Returns true if written. */
export function writeDataFile(dataDir: string, name: string, text: string): boolean {
  const path = join(dataDir, name);
  if (readIfExists(path) === text) return false;
  const temporary = `${path}.tmp`;
  try {
    writeFileSync(temporary, text, { encoding: 'latin1', mode: FILE_MODE });
    chmodSync(temporary, FILE_MODE);
    renameSync(temporary, path);
  } catch (error) {
    throw new RelayError('io', 'DATA_FILE_WRITE', `${path}: could not write: ${describeError(error)}`, {
      cause: error,
    });
  }
  return true;
}

/** The text of bridge-lines.txt. */
export function bridgeLinesText(lines: readonly string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}
