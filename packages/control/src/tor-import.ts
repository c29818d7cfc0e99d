/**
 * `relayctl keys import --from TOR_DATADIR --data-dir DIR`: moves a C tor
 * bridge's identity to relayd. relayd keeps keys in tor's formats and names,
 * so the import is a checked copy:
 *
 *   1. tor's keys are read as relayd reads them (every file decoded and
 *      cross-checked, permissions 0600/0700 required), which gives the
 *      fingerprint and Ed25519 identity;
 *   2. those must agree with what tor itself wrote in its DataDirectory
 *      (`fingerprint`, `fingerprint-ed25519`) when those files are there;
 *   3. the key files and `pt_state/` (the transports' state: obfs4's cert)
 *      are installed as key-bundle.ts does: never over an existing identity,
 *      staged and re-read first, modification times kept (relayd dates the
 *      onion key from it, as tor does).
 *
 * tor's other files (cached documents, state, the lock) are not copied.
 */
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { DataFileName } from '@relayd/keys';
import { KeyBundleError, KeyBundleErrorCode } from './errors.js';
import { collectBundleFiles, installBundle, KEYS_AREA, readIdentity } from './key-bundle.js';

export interface TorImportOptions {
  /** tor's DataDirectory (the one holding `keys/`). */
  readonly from: string;
  /** relayd's DataDirectory; created (0700) when missing. */
  readonly dataDir: string;
  readonly nowMs: number;
}

/** What `keys import` did (its `--json` output; docs/relayctl.md). */
export interface TorImportReport {
  readonly from: string;
  readonly dataDirectory: string;
  /** The Nickname in tor's fingerprint file, if there is one. */
  readonly nickname: string | null;
  readonly rsaFingerprint: string;
  readonly ed25519Identity: string;
  /** tor's files the identity was checked against (`fingerprint`, `fingerprint-ed25519`). */
  readonly checkedAgainst: readonly string[];
  /** The files copied, relative to the DataDirectory. */
  readonly files: readonly string[];
  /** What was left out, and why. */
  readonly skipped: readonly string[];
}

/** "<Nickname> <value>" of a tor fingerprint file, or undefined when the file is absent. */
function readFingerprintFile(path: string): { nickname: string; value: string } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw new KeyBundleError(KeyBundleErrorCode.IO, `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const match = /^(\S+) (\S+)\n?$/.exec(text);
  if (!match) {
    throw new KeyBundleError(
      KeyBundleErrorCode.BAD_SOURCE,
      `${path} is not "<Nickname> <value>" as tor writes it`,
    );
  }
  return { nickname: match[1]!, value: match[2]! };
}

function sameDirectory(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export function importTorKeys(options: TorImportOptions): TorImportReport {
  const { from, dataDir, nowMs } = options;
  try {
    if (!lstatSync(join(from, KEYS_AREA)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new KeyBundleError(
      KeyBundleErrorCode.BAD_SOURCE,
      `${from} has no keys/ directory: give tor's DataDirectory (DataDirectory in its torrc, e.g. /var/lib/tor)`,
    );
  }
  if (sameDirectory(from, dataDir)) {
    throw new KeyBundleError(
      KeyBundleErrorCode.WOULD_OVERWRITE,
      `${from} is already the DataDirectory: relayd reads tor's keys where they are; nothing to import`,
    );
  }
  const identity = readIdentity(from, nowMs, `tor's keys in ${from}`);
  const checkedAgainst: string[] = [];
  const fingerprintFile = readFingerprintFile(join(from, DataFileName.FINGERPRINT));
  if (fingerprintFile) {
    if (fingerprintFile.value !== identity.rsaFingerprint) {
      throw new KeyBundleError(
        KeyBundleErrorCode.FINGERPRINT_MISMATCH,
        `${join(from, DataFileName.FINGERPRINT)} says ${fingerprintFile.value}, but the keys in ${from}/keys give ${identity.rsaFingerprint}`,
      );
    }
    checkedAgainst.push(DataFileName.FINGERPRINT);
  }
  const edFile = readFingerprintFile(join(from, DataFileName.FINGERPRINT_ED25519));
  if (edFile) {
    if (edFile.value !== identity.ed25519Identity) {
      throw new KeyBundleError(
        KeyBundleErrorCode.FINGERPRINT_MISMATCH,
        `${join(from, DataFileName.FINGERPRINT_ED25519)} says ${edFile.value}, but the keys in ${from}/keys give ${identity.ed25519Identity}`,
      );
    }
    checkedAgainst.push(DataFileName.FINGERPRINT_ED25519);
  }
  const { files, skipped } = collectBundleFiles(from);
  const installed = installBundle(dataDir, files, {
    force: false,
    expected: { rsaFingerprint: identity.rsaFingerprint, ed25519Identity: identity.ed25519Identity },
    nowMs,
  });
  return {
    from,
    dataDirectory: dataDir,
    nickname: fingerprintFile?.nickname ?? edFile?.nickname ?? null,
    rsaFingerprint: identity.rsaFingerprint,
    ed25519Identity: identity.ed25519Identity,
    checkedAgainst,
    files: installed.installed,
    skipped,
  };
}
