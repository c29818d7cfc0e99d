/**
 * The files of a DataDirectory, named as C tor names them, and the only code
 * in this package that touches the file system.
 *
 * Reads refuse a key file that is not a regular file or that group or others
 * may access; writes go to "<name>.tmp" (mode 0600, fsync) and are renamed
 * over the target, as tor's start_writing_to_file/finish_writing_to_file do,
 * so a crash never leaves a half-written key behind.
 */
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { KeyErrorCode, KeyStoreError } from './errors.js';

/** Files under DataDirectory/keys (tor: router.c init_keys, routerkeys.c load_ed_keys). */
export const KeyFileName = {
  /** RSA-1024 identity, PEM. */
  RSA_IDENTITY: 'secret_id_key',
  /** Ed25519 master identity, 64-byte expanded secret; may be kept offline. */
  ED25519_MASTER_SECRET: 'ed25519_master_id_secret_key',
  /** The passphrase-encrypted form tor --keygen can write instead; relayd cannot decrypt it. */
  ED25519_MASTER_SECRET_ENCRYPTED: 'ed25519_master_id_secret_key_encrypted',
  ED25519_MASTER_PUBLIC: 'ed25519_master_id_public_key',
  /** Medium-term Ed25519 signing key (tag type4). */
  ED25519_SIGNING_SECRET: 'ed25519_signing_secret_key',
  /** Ed25519 certificate of type 4 (identity → signing), signed by the master key. */
  ED25519_SIGNING_CERT: 'ed25519_signing_cert',
  /** Legacy TAP onion key, RSA-1024 PEM. tor 0.4.9 still creates it and publishes it. */
  TAP_ONION: 'secret_onion_key',
  TAP_ONION_OLD: 'secret_onion_key.old',
  /** Curve25519 ntor onion key. */
  NTOR_ONION: 'secret_onion_key_ntor',
  NTOR_ONION_OLD: 'secret_onion_key_ntor.old',
} as const;
export type KeyFileName = (typeof KeyFileName)[keyof typeof KeyFileName];

/** Files in the DataDirectory itself (tor: router.c router_write_fingerprint). */
export const DataFileName = {
  FINGERPRINT: 'fingerprint',
  FINGERPRINT_ED25519: 'fingerprint-ed25519',
  /** Written by bridges only: the hashed fingerprint bridges.torproject.org shows. */
  HASHED_FINGERPRINT: 'hashed-fingerprint',
} as const;

/** The identity-bearing files: if any exists, the directory is not fresh and no identity is created. */
export const IDENTITY_FILES: readonly KeyFileName[] = [
  KeyFileName.RSA_IDENTITY,
  KeyFileName.ED25519_MASTER_SECRET,
  KeyFileName.ED25519_MASTER_SECRET_ENCRYPTED,
  KeyFileName.ED25519_MASTER_PUBLIC,
  KeyFileName.ED25519_SIGNING_SECRET,
  KeyFileName.ED25519_SIGNING_CERT,
];

export const KEYS_SUBDIRECTORY = 'keys';
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

function describeFsError(e: unknown): string {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  return code ? `${code}: ${message.replace(/^[A-Z]+: /, '')}` : message;
}

function modeString(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** The paths of one DataDirectory. */
export class DataDirectoryPaths {
  readonly keysDir: string;

  constructor(readonly dataDir: string) {
    this.keysDir = join(dataDir, KEYS_SUBDIRECTORY);
  }

  key(name: KeyFileName): string {
    return join(this.keysDir, name);
  }

  data(name: string): string {
    return join(this.dataDir, name);
  }
}

/** True iff something exists at `path` (a dangling symlink counts). */
export function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw new KeyStoreError(KeyErrorCode.UNREADABLE, path, `cannot stat: ${describeFsError(e)}`, {
      cause: e,
    });
  }
}

/**
 * Reads a private file, or returns undefined when it does not exist. Refuses
 * anything but a regular file, and any file group or others may access.
 */
export function readPrivateFile(path: string): Uint8Array | undefined {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw new KeyStoreError(KeyErrorCode.UNREADABLE, path, `cannot stat: ${describeFsError(e)}`, {
      cause: e,
    });
  }
  if (!st.isFile()) {
    throw new KeyStoreError(
      KeyErrorCode.UNREADABLE,
      path,
      st.isSymbolicLink() ? 'is a symbolic link; key files must be regular files' : 'is not a regular file',
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new KeyStoreError(
      KeyErrorCode.PERMISSIONS,
      path,
      `mode ${modeString(st.mode)} lets group or others access a secret file; run: chmod 600 ${path}`,
    );
  }
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new KeyStoreError(KeyErrorCode.UNREADABLE, path, `cannot read: ${describeFsError(e)}`, {
      cause: e,
    });
  }
}

/**
 * Checks that `dir` is a directory no one but its owner may enter, creating
 * it (mode 0700) when `create` is set and it does not exist. Returns whether
 * it existed before.
 */
export function ensurePrivateDirectory(dir: string, create: boolean): boolean {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dir);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') {
      throw new KeyStoreError(KeyErrorCode.UNREADABLE, dir, `cannot stat: ${describeFsError(e)}`, {
        cause: e,
      });
    }
    if (!create) return false;
    try {
      mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    } catch (e2) {
      throw new KeyStoreError(
        KeyErrorCode.UNREADABLE,
        dir,
        `cannot create directory: ${describeFsError(e2)}`,
        {
          cause: e2,
        },
      );
    }
    return false;
  }
  if (!st.isDirectory()) throw new KeyStoreError(KeyErrorCode.UNREADABLE, dir, 'is not a directory');
  if ((st.mode & 0o077) !== 0) {
    throw new KeyStoreError(
      KeyErrorCode.PERMISSIONS,
      dir,
      `directory mode ${modeString(st.mode)} lets group or others in; run: chmod 700 ${dir}`,
    );
  }
  return true;
}

/** Writes `bytes` to `path` atomically with mode 0600. */
export function writePrivateFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp`;
  try {
    rmSync(tmp, { force: true });
    const fd = openSync(tmp, 'wx', PRIVATE_FILE_MODE);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new KeyStoreError(KeyErrorCode.UNREADABLE, path, `cannot write: ${describeFsError(e)}`, {
      cause: e,
    });
  }
}

/** Renames `from` to `to`, replacing `to` (tor's replace_file during onion key rotation). */
export function replaceFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    throw new KeyStoreError(KeyErrorCode.UNREADABLE, from, `cannot rename to ${to}: ${describeFsError(e)}`, {
      cause: e,
    });
  }
}

/** Removes a file if it exists. */
export function removeFile(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch (e) {
    throw new KeyStoreError(KeyErrorCode.UNREADABLE, path, `cannot remove: ${describeFsError(e)}`, {
      cause: e,
    });
  }
}

/** Reads a non-secret text file (the fingerprint files); undefined when absent. */
export function readTextFileIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw new KeyStoreError(KeyErrorCode.UNREADABLE, path, `cannot read: ${describeFsError(e)}`, {
      cause: e,
    });
  }
}

/** The modification time of a file in ms since the epoch. */
export function fileModifiedMs(path: string): number {
  try {
    return lstatSync(path).mtimeMs;
  } catch (e) {
    throw new KeyStoreError(KeyErrorCode.UNREADABLE, path, `cannot stat: ${describeFsError(e)}`, {
      cause: e,
    });
  }
}
