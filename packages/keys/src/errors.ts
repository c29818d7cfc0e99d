/**
 * The key store's error type. Every failure names the file it is about and
 * says what is wrong with it, so an operator can fix the file instead of
 * guessing; nothing in this package ever replaces a damaged key silently.
 */
import { RelayError } from '@relayd/common';

/** Why a key file or key directory was refused. Each code maps to one error kind. */
export const KeyErrorCode = {
  /** The file could not be read or written (EACCES, EISDIR, disk full, …). kind 'io'. */
  UNREADABLE: 'KEY_FILE_UNREADABLE',
  /** The file or the keys directory is accessible to group or others. kind 'io'. */
  PERMISSIONS: 'KEY_FILE_PERMISSIONS',
  /** A file the store needs is absent and may not be created. kind 'io'. */
  MISSING: 'KEY_FILE_MISSING',
  /** The file ends early (shorter than its header or its key material). kind 'bad-input'. */
  TRUNCATED: 'KEY_FILE_TRUNCATED',
  /** The header is not "== <type>: <tag> ==" of the expected type and tag, or not a PEM block. kind 'bad-input'. */
  BAD_HEADER: 'KEY_FILE_BAD_HEADER',
  /** The key material has the wrong length. kind 'bad-input'. */
  BAD_LENGTH: 'KEY_FILE_BAD_LENGTH',
  /** The key material does not decode to a usable key or certificate. kind 'bad-input'. */
  MALFORMED: 'KEY_FILE_MALFORMED',
  /** Two files disagree (public key vs. secret key, certificate vs. keys). kind 'bad-input'. */
  MISMATCH: 'KEY_FILE_MISMATCH',
  /** The signing certificate expired and the master secret key is not here to renew it. kind 'bad-input'. */
  SIGNING_CERT_EXPIRED: 'SIGNING_CERT_EXPIRED',
  /** Creating keys was refused because identity keys already exist. kind 'bad-input'. */
  ALREADY_EXISTS: 'KEY_FILE_ALREADY_EXISTS',
  /** The nickname is not a legal tor nickname. kind 'bad-config'. */
  BAD_NICKNAME: 'BAD_NICKNAME',
} as const;
export type KeyErrorCode = (typeof KeyErrorCode)[keyof typeof KeyErrorCode];

const KIND_OF: Record<KeyErrorCode, 'io' | 'bad-input' | 'bad-config'> = {
  KEY_FILE_UNREADABLE: 'io',
  KEY_FILE_PERMISSIONS: 'io',
  KEY_FILE_MISSING: 'io',
  KEY_FILE_TRUNCATED: 'bad-input',
  KEY_FILE_BAD_HEADER: 'bad-input',
  KEY_FILE_BAD_LENGTH: 'bad-input',
  KEY_FILE_MALFORMED: 'bad-input',
  KEY_FILE_MISMATCH: 'bad-input',
  SIGNING_CERT_EXPIRED: 'bad-input',
  KEY_FILE_ALREADY_EXISTS: 'bad-input',
  BAD_NICKNAME: 'bad-config',
};

/** A problem with the contents of one key file, before it is tied to a path. */
export interface KeyFileProblem {
  readonly code: KeyErrorCode;
  readonly detail: string;
}

export function problem(code: KeyErrorCode, detail: string): KeyFileProblem {
  return { code, detail };
}

/** A refused key file or key directory. `file` is the path the message names. */
export class KeyStoreError extends RelayError {
  readonly file: string | undefined;

  constructor(code: KeyErrorCode, file: string | undefined, detail: string, options?: { cause?: unknown }) {
    super(KIND_OF[code], code, file === undefined ? detail : `${file}: ${detail}`, options);
    this.name = 'KeyStoreError';
    this.file = file;
  }

  static of(file: string, p: KeyFileProblem): KeyStoreError {
    return new KeyStoreError(p.code, file, p.detail);
  }
}
