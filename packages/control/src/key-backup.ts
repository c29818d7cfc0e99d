/**
 * Key backups: `relayctl keys export` and `relayctl keys restore`.
 *
 * A backup holds the bridge's key files (`keys/…`, tor's names and formats),
 * its transports' state (`pt_state/…`), and a manifest,
 * `relayd-key-backup.json`:
 *
 *   { "format": "relayd-key-backup", "version": 1,
 *     "created": "2026-03-01T08:15:00.000Z",
 *     "rsaFingerprint": "<40 hex>", "ed25519Identity": "<base64>",
 *     "files": [ { "path": "keys/secret_id_key", "size": 888,
 *                  "sha256": "<64 hex>", "mtime": "<ISO 8601>" }, … ] }
 *
 * in one of two forms:
 *   - an archive: one POSIX ustar file (tar.ts), mode 0600, the manifest
 *     first, directories 0700 and files 0600 inside; `tar tvf` lists it;
 *   - a directory: the same tree on disk, directories 0700, files 0600.
 *
 * Export reads the keys as relayd does (a damaged or exposed key is refused,
 * so a backup is never made of keys that would not load) and never
 * overwrites: the archive must not exist, the directory must be new or
 * empty. Restore checks everything before it writes anything: the manifest,
 * each file's size and SHA-256 against it, that the files give the identity
 * the manifest names; then installs as key-bundle.ts does (an existing
 * identity is kept unless `force`, which renames it aside).
 */
import {
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { toHex } from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import { KeyBundleError, KeyBundleErrorCode } from './errors.js';
import {
  type BundleFile,
  bundlePathProblem,
  collectBundleFiles,
  type InstallReport,
  installBundle,
  KEYS_AREA,
  MAX_BUNDLE_FILE_BYTES,
  MAX_BUNDLE_FILES,
  MAX_BUNDLE_TOTAL_BYTES,
  makePrivateDirectory,
  readIdentity,
  writeBundleTree,
  writePrivateFile,
} from './key-bundle.js';
import { readTar, type TarEntry, writeTar } from './tar.js';

export const BACKUP_FORMAT = 'relayd-key-backup';
export const BACKUP_VERSION = 1;
export const BACKUP_MANIFEST = 'relayd-key-backup.json';
const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface BackupManifestFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly mtime: string;
}

export interface BackupManifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: typeof BACKUP_VERSION;
  readonly created: string;
  readonly rsaFingerprint: string;
  readonly ed25519Identity: string;
  readonly files: readonly BackupManifestFile[];
}

/** What `keys export` did (its `--json` output). */
export interface ExportReport {
  readonly dataDirectory: string;
  readonly to: string;
  readonly form: 'archive' | 'directory';
  readonly rsaFingerprint: string;
  readonly ed25519Identity: string;
  readonly files: readonly string[];
  readonly skipped: readonly string[];
}

/** What `keys restore` did (its `--json` output). */
export interface RestoreReport {
  readonly from: string;
  readonly form: 'archive' | 'directory';
  readonly dataDirectory: string;
  readonly created: string;
  readonly rsaFingerprint: string;
  readonly ed25519Identity: string;
  readonly files: readonly string[];
  /** Directories `--force` renamed aside. */
  readonly movedAside: readonly string[];
}

function bad(message: string): KeyBundleError {
  return new KeyBundleError(KeyBundleErrorCode.BAD_BACKUP, message);
}

function io(what: string, error: unknown): KeyBundleError {
  return new KeyBundleError(KeyBundleErrorCode.IO, `${what}: ${(error as Error).message}`, { cause: error });
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw io(`cannot stat ${path}`, error);
  }
}

const utf8 = new TextEncoder();

export function backupManifest(
  files: readonly BundleFile[],
  identity: { rsaFingerprint: string; ed25519Identity: string },
  createdMs: number,
): BackupManifest {
  return {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    created: new Date(createdMs).toISOString(),
    rsaFingerprint: identity.rsaFingerprint,
    ed25519Identity: identity.ed25519Identity,
    files: files.map((f) => ({
      path: f.path,
      size: f.bytes.length,
      sha256: toHex(sha256(f.bytes)),
      mtime: new Date(f.mtimeMs).toISOString(),
    })),
  };
}

/** The directories an archive lists before their files (so tar recreates them 0700). */
function directoriesOf(files: readonly BundleFile[]): string[] {
  const dirs = new Set<string>([KEYS_AREA]);
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}

/** Writes a backup of `dataDir`'s keys and transport state to `to` (see the module comment). */
export function exportKeyBackup(options: { dataDir: string; to: string; nowMs: number }): ExportReport {
  const { dataDir, to, nowMs } = options;
  const identity = readIdentity(dataDir, nowMs, `the keys of ${dataDir}`);
  const { files, skipped } = collectBundleFiles(dataDir);
  const manifest = backupManifest(files, identity, nowMs);
  const manifestBytes = utf8.encode(`${JSON.stringify(manifest, null, 2)}\n`);
  const existing = statOrUndefined(to);
  const asDirectory = existing ? existing.isDirectory() : to.endsWith('/');
  const report = {
    dataDirectory: dataDir,
    to,
    rsaFingerprint: identity.rsaFingerprint,
    ed25519Identity: identity.ed25519Identity,
    files: files.map((f) => f.path),
    skipped,
  };
  if (asDirectory) {
    if (existing && readdirSync(to).length > 0) {
      throw new KeyBundleError(
        KeyBundleErrorCode.WOULD_OVERWRITE,
        `${to} is not empty; give a new or empty directory, or a file name for an archive`,
      );
    }
    makePrivateDirectory(to);
    writePrivateFile(join(to, BACKUP_MANIFEST), manifestBytes, nowMs);
    makePrivateDirectory(join(to, KEYS_AREA));
    writeBundleTree(to, files);
    return { ...report, form: 'directory' };
  }
  if (existing) {
    throw new KeyBundleError(KeyBundleErrorCode.WOULD_OVERWRITE, `${to} exists; refusing to overwrite it`);
  }
  const entries: TarEntry[] = [
    { path: BACKUP_MANIFEST, type: 'file', mode: 0o600, mtimeMs: nowMs, bytes: manifestBytes },
    ...directoriesOf(files).map(
      (path): TarEntry => ({
        path,
        type: 'directory',
        mode: 0o700,
        mtimeMs: nowMs,
        bytes: new Uint8Array(0),
      }),
    ),
    ...files.map(
      (f): TarEntry => ({ path: f.path, type: 'file', mode: 0o600, mtimeMs: f.mtimeMs, bytes: f.bytes }),
    ),
  ];
  const archive = writeTar(entries);
  const tmp = `${to}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      let off = 0;
      while (off < archive.length) off += writeSync(fd, archive, off, archive.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (statOrUndefined(to)) throw new Error(`${to} appeared while the backup was written`);
    renameSync(tmp, to);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw io(`cannot write ${to}`, error);
  }
  return { ...report, form: 'archive' };
}

// ------------------------------------------------------------ reading a backup

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a parsed manifest. Total. */
export function checkManifest(value: unknown): BackupManifest {
  if (!isRecord(value)) throw bad(`${BACKUP_MANIFEST} is not a JSON object`);
  if (value.format !== BACKUP_FORMAT) throw bad(`${BACKUP_MANIFEST} is not a relayd key backup manifest`);
  if (value.version !== BACKUP_VERSION) {
    throw bad(
      `backup format version ${JSON.stringify(value.version)} is not one this relayctl reads (${BACKUP_VERSION})`,
    );
  }
  const { created, rsaFingerprint, ed25519Identity, files } = value;
  if (typeof created !== 'string' || Number.isNaN(Date.parse(created)))
    throw bad('the manifest has no valid "created" time');
  if (typeof rsaFingerprint !== 'string' || !/^[0-9A-F]{40}$/.test(rsaFingerprint)) {
    throw bad('the manifest has no valid "rsaFingerprint"');
  }
  if (typeof ed25519Identity !== 'string' || !/^[A-Za-z0-9+/]{43}$/.test(ed25519Identity)) {
    throw bad('the manifest has no valid "ed25519Identity"');
  }
  if (!Array.isArray(files) || files.length > MAX_BUNDLE_FILES)
    throw bad('the manifest has no valid "files" list');
  const seen = new Set<string>();
  let total = 0;
  const checked: BackupManifestFile[] = [];
  for (const entry of files as unknown[]) {
    if (!isRecord(entry)) throw bad('a manifest file entry is not an object');
    const { path, size, sha256: digest, mtime } = entry;
    if (typeof path !== 'string') throw bad('a manifest file entry has no "path"');
    const problem = bundlePathProblem(path);
    if (problem !== undefined) throw bad(`manifest entry ${JSON.stringify(path)} ${problem}`);
    if (seen.has(path)) throw bad(`manifest entry ${path} is listed twice`);
    seen.add(path);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > MAX_BUNDLE_FILE_BYTES) {
      throw bad(`manifest entry ${path} has no valid "size"`);
    }
    total += size;
    if (total > MAX_BUNDLE_TOTAL_BYTES)
      throw bad(`the backup holds more than ${MAX_BUNDLE_TOTAL_BYTES} bytes`);
    if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest))
      throw bad(`manifest entry ${path} has no valid "sha256"`);
    if (typeof mtime !== 'string' || Number.isNaN(Date.parse(mtime)))
      throw bad(`manifest entry ${path} has no valid "mtime"`);
    checked.push({ path, size, sha256: digest, mtime });
  }
  if (!seen.has(`${KEYS_AREA}/secret_id_key`))
    throw bad('the backup has no keys/secret_id_key: it holds no identity');
  return {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    created,
    rsaFingerprint,
    ed25519Identity,
    files: checked,
  };
}

function parseManifest(bytes: Uint8Array): BackupManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw bad(`${BACKUP_MANIFEST} is too large`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw bad(`${BACKUP_MANIFEST} is not valid JSON`);
  }
  return checkManifest(parsed);
}

/** The manifest's files with their contents, each checked against the manifest. */
function verifiedFiles(
  manifest: BackupManifest,
  contentOf: (path: string) => Uint8Array | undefined,
): BundleFile[] {
  return manifest.files.map((entry) => {
    const bytes = contentOf(entry.path);
    if (bytes === undefined) throw bad(`${entry.path} is listed in the manifest but missing from the backup`);
    if (bytes.length !== entry.size)
      throw bad(`${entry.path} has ${bytes.length} bytes, the manifest says ${entry.size}`);
    if (toHex(sha256(bytes)) !== entry.sha256)
      throw bad(`${entry.path} does not match its SHA-256 in the manifest (damaged?)`);
    return { path: entry.path, bytes, mtimeMs: Date.parse(entry.mtime) };
  });
}

interface ReadBackup {
  readonly form: 'archive' | 'directory';
  readonly manifest: BackupManifest;
  readonly files: BundleFile[];
}

function readArchive(path: string): ReadBackup {
  let archive: Uint8Array;
  try {
    const st = lstatSync(path);
    if (st.size > MAX_BUNDLE_TOTAL_BYTES + MAX_MANIFEST_BYTES + 1024 * 1024)
      throw bad(`${path} is too large to be a key backup`);
    archive = new Uint8Array(readFileSync(path));
  } catch (error) {
    if (error instanceof KeyBundleError) throw error;
    throw io(`cannot read ${path}`, error);
  }
  const entries = readTar(archive, {
    maxEntries: MAX_BUNDLE_FILES * 2 + 16,
    maxTotalBytes: MAX_BUNDLE_TOTAL_BYTES + MAX_MANIFEST_BYTES,
  });
  if (!entries.ok) throw bad(`${path} is not a relayd key backup archive: ${entries.error}`);
  const files = new Map<string, Uint8Array>();
  let manifestBytes: Uint8Array | undefined;
  for (const entry of entries.value) {
    if (entry.path === BACKUP_MANIFEST && entry.type === 'file') manifestBytes = entry.bytes;
    else if (entry.type === 'file') {
      if (files.has(entry.path)) throw bad(`${path}: ${entry.path} appears twice`);
      files.set(entry.path, entry.bytes);
    }
  }
  if (manifestBytes === undefined)
    throw bad(`${path} has no ${BACKUP_MANIFEST}: it is not a relayd key backup`);
  const manifest = parseManifest(manifestBytes);
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const name of files.keys()) {
    if (!listed.has(name)) throw bad(`${path}: ${name} is not listed in the manifest`);
  }
  return { form: 'archive', manifest, files: verifiedFiles(manifest, (p) => files.get(p)) };
}

function readDirectoryBackup(dir: string): ReadBackup {
  let manifestBytes: Uint8Array;
  try {
    manifestBytes = new Uint8Array(readFileSync(join(dir, BACKUP_MANIFEST)));
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') {
      throw bad(`${dir} has no ${BACKUP_MANIFEST}: it is not a relayd key backup`);
    }
    throw io(`cannot read ${join(dir, BACKUP_MANIFEST)}`, error);
  }
  const manifest = parseManifest(manifestBytes);
  const files = verifiedFiles(manifest, (p) => {
    const full = join(dir, p);
    const st = statOrUndefined(full);
    if (!st) return undefined;
    if (!st.isFile()) throw bad(`${full} is not a regular file`);
    try {
      return new Uint8Array(readFileSync(full));
    } catch (error) {
      throw io(`cannot read ${full}`, error);
    }
  });
  return { form: 'directory', manifest, files };
}

/** Reads and checks a backup (archive or directory) without installing it. */
export function readKeyBackup(from: string): ReadBackup {
  const st = statOrUndefined(from);
  if (!st) throw new KeyBundleError(KeyBundleErrorCode.BAD_BACKUP, `${from} does not exist`);
  return st.isDirectory() ? readDirectoryBackup(from) : readArchive(from);
}

/** Restores a backup into `dataDir` (see the module comment). */
export function restoreKeyBackup(options: {
  from: string;
  dataDir: string;
  force: boolean;
  nowMs: number;
}): RestoreReport {
  const backup = readKeyBackup(options.from);
  const { manifest } = backup;
  const installed: InstallReport = installBundle(options.dataDir, backup.files, {
    force: options.force,
    expected: { rsaFingerprint: manifest.rsaFingerprint, ed25519Identity: manifest.ed25519Identity },
    nowMs: options.nowMs,
  });
  return {
    from: options.from,
    form: backup.form,
    dataDirectory: options.dataDir,
    created: manifest.created,
    rsaFingerprint: manifest.rsaFingerprint,
    ed25519Identity: manifest.ed25519Identity,
    files: installed.installed,
    movedAside: installed.movedAside,
  };
}
