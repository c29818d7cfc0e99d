/**
 * What moves when a bridge's identity moves — the key files of
 * `DataDirectory/keys/` (C tor's names, see @relayd/keys) and the
 * pluggable transports' state under `DataDirectory/pt_state/` (obfs4's
 * `cert=` lives there) — and how it is installed into a DataDirectory
 * without ever overwriting an identity by accident.
 *
 * Installing: every file is first written into a private staging directory
 * inside the destination DataDirectory (mode 0700, files 0600, each file's
 * modification time kept: relayd dates the onion key by it), the staged keys
 * are read back and must give the expected identity, and only then are they
 * renamed into place. Without `force`, an existing identity file, or any
 * file the bundle would replace, refuses the whole install before anything
 * is written. With `force`, the existing `keys/` (and `pt_state/`, when the
 * bundle has one) are renamed aside to `keys.replaced-<time>`, never
 * deleted.
 */
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  utimesSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { describeError, RelayError } from '@relayd/common';
import {
  IDENTITY_FILES,
  KeyFileName,
  type KeyStatus,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  readKeyStatus,
} from '@relayd/keys';
import { KeyBundleError, KeyBundleErrorCode } from './errors.js';

/** One file of a bundle: a path relative to the DataDirectory, its bytes, its modification time. */
export interface BundleFile {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly mtimeMs: number;
}

export const KEYS_AREA = 'keys';
export const PT_STATE_AREA = 'pt_state';
/** Longest bundle path: what a ustar name holds. */
export const MAX_BUNDLE_PATH_BYTES = 100;
const MAX_PT_STATE_DEPTH = 4;
export const MAX_BUNDLE_FILES = 1024;
export const MAX_BUNDLE_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_BUNDLE_TOTAL_BYTES = 64 * 1024 * 1024;

const KEY_FILE_NAMES: ReadonlySet<string> = new Set(Object.values(KeyFileName));
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why `path` may not be in a bundle, or undefined when it may. */
export function bundlePathProblem(path: string): string | undefined {
  if (new TextEncoder().encode(path).length > MAX_BUNDLE_PATH_BYTES) {
    return `is longer than ${MAX_BUNDLE_PATH_BYTES} bytes`;
  }
  const segments = path.split('/');
  if (segments[0] === KEYS_AREA) {
    return segments.length === 2 && KEY_FILE_NAMES.has(segments[1]!)
      ? undefined
      : 'is not one of the key files tor and relayd keep in keys/';
  }
  if (segments[0] === PT_STATE_AREA) {
    if (segments.length < 2 || segments.length > MAX_PT_STATE_DEPTH + 1) return 'is too deep in pt_state/';
    return segments.slice(1).every((s) => SAFE_SEGMENT.test(s))
      ? undefined
      : 'has a name that is not letters, digits, ".", "_" and "-"';
  }
  return 'is neither under keys/ nor under pt_state/';
}

function fsCode(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

function io(what: string, error: unknown): KeyBundleError {
  return new KeyBundleError(KeyBundleErrorCode.IO, `${what}: ${describeError(error)}`, { cause: error });
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (fsCode(error) === 'ENOENT') return undefined;
    throw io(`cannot stat ${path}`, error);
  }
}

export interface CollectedFiles {
  readonly files: BundleFile[];
  /** Entries left out, with the reason ("keys/foo: not a key file"). */
  readonly skipped: string[];
}

/**
 * The bundle files of a DataDirectory: its key files (regular files only,
 * which group and others may not access) and its pt_state/ tree.
 */
export function collectBundleFiles(dataDir: string): CollectedFiles {
  const files: BundleFile[] = [];
  const skipped: string[] = [];
  let totalBytes = 0;
  const add = (relative: string, absolute: string, st: Stats) => {
    if (files.length >= MAX_BUNDLE_FILES) {
      throw new KeyBundleError(
        KeyBundleErrorCode.BAD_SOURCE,
        `${dataDir} has more than ${MAX_BUNDLE_FILES} files to copy`,
      );
    }
    if (st.size > MAX_BUNDLE_FILE_BYTES) {
      throw new KeyBundleError(
        KeyBundleErrorCode.BAD_SOURCE,
        `${absolute} is larger than ${MAX_BUNDLE_FILE_BYTES} bytes`,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(absolute));
    } catch (error) {
      throw io(`cannot read ${absolute}`, error);
    }
    totalBytes += bytes.length;
    if (totalBytes > MAX_BUNDLE_TOTAL_BYTES) {
      throw new KeyBundleError(
        KeyBundleErrorCode.BAD_SOURCE,
        `${dataDir} has more than ${MAX_BUNDLE_TOTAL_BYTES} bytes to copy`,
      );
    }
    files.push({ path: relative, bytes, mtimeMs: st.mtimeMs });
  };

  const keysDir = join(dataDir, KEYS_AREA);
  for (const name of readdirOrEmpty(keysDir).sort()) {
    const absolute = join(keysDir, name);
    const st = lstatOrUndefined(absolute);
    if (!st) continue;
    const relative = `${KEYS_AREA}/${name}`;
    if (!KEY_FILE_NAMES.has(name)) {
      skipped.push(`${relative}: not a key file`);
      continue;
    }
    if (!st.isFile()) {
      throw new KeyBundleError(KeyBundleErrorCode.BAD_SOURCE, `${absolute} is not a regular file`);
    }
    if ((st.mode & 0o077) !== 0) {
      throw new KeyBundleError(
        KeyBundleErrorCode.BAD_SOURCE,
        `${absolute}: group or others may access this secret file (mode 0${(st.mode & 0o777).toString(8)}); run: chmod 600 ${absolute}`,
      );
    }
    add(relative, absolute, st);
  }

  const walk = (relativeDir: string, depth: number) => {
    const absoluteDir = join(dataDir, relativeDir);
    for (const name of readdirOrEmpty(absoluteDir).sort()) {
      const relative = `${relativeDir}/${name}`;
      const absolute = join(dataDir, relative);
      const st = lstatOrUndefined(absolute);
      if (!st) continue;
      const problem = bundlePathProblem(relative);
      if (st.isDirectory()) {
        if (depth >= MAX_PT_STATE_DEPTH || !SAFE_SEGMENT.test(name))
          skipped.push(`${relative}/: not copied (too deep or an unusual name)`);
        else walk(relative, depth + 1);
      } else if (!st.isFile()) skipped.push(`${relative}: not a regular file`);
      else if (problem !== undefined) skipped.push(`${relative}: ${problem}`);
      else add(relative, absolute, st);
    }
  };
  walk(PT_STATE_AREA, 1);
  return { files, skipped };
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if (fsCode(error) === 'ENOENT') return [];
    throw io(`cannot read the directory ${dir}`, error);
  }
}

/** The keys of a directory as relayd reads them; KeyBundleError BAD_SOURCE naming the file otherwise. */
export function readIdentity(dataDir: string, nowMs: number, what: string): KeyStatus {
  try {
    return readKeyStatus(dataDir, nowMs);
  } catch (error) {
    if (error instanceof RelayError && error.kind !== 'internal') {
      throw new KeyBundleError(KeyBundleErrorCode.BAD_SOURCE, `${what}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** The identity the installed keys must have. */
export interface ExpectedIdentity {
  readonly rsaFingerprint: string;
  readonly ed25519Identity: string;
}

export function checkIdentity(status: KeyStatus, expected: ExpectedIdentity, where: string): void {
  if (status.rsaFingerprint !== expected.rsaFingerprint) {
    throw new KeyBundleError(
      KeyBundleErrorCode.FINGERPRINT_MISMATCH,
      `${where}: the keys give fingerprint ${status.rsaFingerprint}, not ${expected.rsaFingerprint}`,
    );
  }
  if (status.ed25519Identity !== expected.ed25519Identity) {
    throw new KeyBundleError(
      KeyBundleErrorCode.FINGERPRINT_MISMATCH,
      `${where}: the keys give Ed25519 identity ${status.ed25519Identity}, not ${expected.ed25519Identity}`,
    );
  }
}

/** Writes a private file (0600, fsync) with its modification time; refuses to replace one. */
export function writePrivateFile(path: string, bytes: Uint8Array, mtimeMs: number): void {
  try {
    const fd = openSync(path, 'wx', PRIVATE_FILE_MODE);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const seconds = mtimeMs / 1000;
    utimesSync(path, seconds, seconds);
  } catch (error) {
    throw io(`cannot write ${path}`, error);
  }
}

/** Creates `dir` and its missing parents with mode 0700. */
export function makePrivateDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (error) {
    throw io(`cannot create the directory ${dir}`, error);
  }
}

/** Writes `files` under `root` (0700 directories, 0600 files). */
export function writeBundleTree(root: string, files: readonly BundleFile[]): void {
  for (const file of files) {
    const target = join(root, file.path);
    makePrivateDirectory(dirname(target));
    writePrivateFile(target, file.bytes, file.mtimeMs);
  }
}

export interface InstallOptions {
  readonly force: boolean;
  readonly expected: ExpectedIdentity;
  readonly nowMs: number;
}

export interface InstallReport {
  /** Bundle paths now in the DataDirectory. */
  readonly installed: string[];
  /** Directories renamed aside by `force` (absolute paths). */
  readonly movedAside: string[];
}

function compactTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Refuses (before anything is written) what would overwrite an identity or a file. */
function checkNoOverwrite(dataDir: string, files: readonly BundleFile[]): void {
  for (const name of IDENTITY_FILES) {
    const path = join(dataDir, KEYS_AREA, name);
    if (lstatOrUndefined(path)) {
      throw new KeyBundleError(
        KeyBundleErrorCode.WOULD_OVERWRITE,
        `${path}: this DataDirectory already has an identity; refusing to overwrite it`,
      );
    }
  }
  for (const file of files) {
    const path = join(dataDir, file.path);
    if (lstatOrUndefined(path)) {
      throw new KeyBundleError(
        KeyBundleErrorCode.WOULD_OVERWRITE,
        `${path} exists; refusing to overwrite it`,
      );
    }
  }
}

/** Installs `files` into `dataDir` (see the module comment). */
export function installBundle(
  dataDir: string,
  files: readonly BundleFile[],
  options: InstallOptions,
): InstallReport {
  for (const file of files) {
    const problem = bundlePathProblem(file.path);
    if (problem !== undefined) {
      throw new KeyBundleError(KeyBundleErrorCode.BAD_BACKUP, `${file.path} ${problem}`);
    }
  }
  if (!lstatOrUndefined(dataDir)) makePrivateDirectory(dataDir);
  if (!options.force) checkNoOverwrite(dataDir, files);

  let staging: string;
  try {
    staging = mkdtempSync(join(dataDir, '.relayd-keys-'));
  } catch (error) {
    throw io(`cannot create a staging directory in ${dataDir}`, error);
  }
  try {
    makePrivateDirectory(join(staging, KEYS_AREA));
    writeBundleTree(staging, files);
    // The staged keys must be the identity they claim before anything in the DataDirectory changes.
    checkIdentity(readIdentity(staging, options.nowMs, 'the keys to install'), options.expected, dataDir);

    const areas = [
      KEYS_AREA,
      ...(files.some((f) => f.path.startsWith(`${PT_STATE_AREA}/`)) ? [PT_STATE_AREA] : []),
    ];
    const movedAside: string[] = [];
    for (const area of areas) {
      const target = join(dataDir, area);
      if (options.force && lstatOrUndefined(target)) {
        const aside = `${target}.replaced-${compactTime(options.nowMs)}`;
        try {
          renameSync(target, aside);
        } catch (error) {
          throw io(`cannot move ${target} aside to ${aside}`, error);
        }
        movedAside.push(aside);
      }
      if (!lstatOrUndefined(target)) {
        try {
          renameSync(join(staging, area), target);
        } catch (error) {
          throw io(`cannot move the new ${area}/ into ${dataDir}`, error);
        }
        continue;
      }
      // An existing directory without any of the bundle's files (checked above): add them one by one.
      for (const file of files.filter((f) => f.path.startsWith(`${area}/`))) {
        const destination = join(dataDir, file.path);
        makePrivateDirectory(dirname(destination));
        try {
          renameSync(join(staging, file.path), destination);
        } catch (error) {
          throw io(`cannot move ${file.path} into ${dataDir}`, error);
        }
      }
    }
    checkIdentity(readIdentity(dataDir, options.nowMs, dataDir), options.expected, dataDir);
    return { installed: files.map((f) => f.path), movedAside };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
