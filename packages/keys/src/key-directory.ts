/**
 * Reading a DataDirectory's keys: every file that is present is decoded and
 * the files are checked against each other, without writing anything. The
 * store (key-store.ts) decides what to create or renew from the result;
 * `relayctl keys show` reports it as is.
 */
import { bytesEqual, type Result } from '@relayd/common';
import type { Ed25519SigningKey, RsaPrivateKey, X25519Keypair } from '@relayd/crypto';
import { KeyErrorCode, type KeyFileProblem, KeyStoreError } from './errors.js';
import {
  type DataDirectoryPaths,
  ensurePrivateDirectory,
  IDENTITY_FILES,
  KeyFileName,
  pathExists,
  readPrivateFile,
} from './key-files.js';
import {
  decodeCurve25519KeypairFile,
  decodeEd25519PublicKeyFile,
  decodeEd25519SecretKeyFile,
  decodeRsaPrivateKeyFile,
  KeyTag,
} from './key-formats.js';
import { checkSigningCertSignature, decodeSigningCertFile, type SigningCert } from './signing-cert.js';

/** Everything found under keys/, each file decoded on its own. */
export interface KeyFiles {
  /** False when keys/ does not exist yet. */
  readonly keysDirExists: boolean;
  /** True when none of the identity files exists: a new relay whose identity may be created. */
  readonly fresh: boolean;
  readonly rsaIdentity: RsaPrivateKey | undefined;
  readonly masterSecret: Ed25519SigningKey | undefined;
  readonly masterPublic: Uint8Array | undefined;
  readonly signingSecret: Ed25519SigningKey | undefined;
  readonly signingCert: SigningCert | undefined;
  readonly tapOnion: RsaPrivateKey | undefined;
  readonly tapOnionOld: RsaPrivateKey | undefined;
  readonly ntorOnion: X25519Keypair | undefined;
  readonly ntorOnionOld: X25519Keypair | undefined;
}

function readDecoded<T>(
  paths: DataDirectoryPaths,
  name: KeyFileName,
  decode: (bytes: Uint8Array) => Result<T, KeyFileProblem>,
): T | undefined {
  const path = paths.key(name);
  const bytes = readPrivateFile(path);
  if (bytes === undefined) return undefined;
  const decoded = decode(bytes);
  if (!decoded.ok) throw KeyStoreError.of(path, decoded.error);
  return decoded.value;
}

/** Reads and decodes every key file present. Throws KeyStoreError on the first bad one. */
export function readKeyFiles(paths: DataDirectoryPaths, createKeysDir: boolean): KeyFiles {
  const keysDirExists = ensurePrivateDirectory(paths.keysDir, createKeysDir);
  const fresh = !keysDirExists || IDENTITY_FILES.every((name) => !pathExists(paths.key(name)));
  if (!keysDirExists) {
    return {
      keysDirExists,
      fresh,
      rsaIdentity: undefined,
      masterSecret: undefined,
      masterPublic: undefined,
      signingSecret: undefined,
      signingCert: undefined,
      tapOnion: undefined,
      tapOnionOld: undefined,
      ntorOnion: undefined,
      ntorOnionOld: undefined,
    };
  }
  return {
    keysDirExists,
    fresh,
    rsaIdentity: readDecoded(paths, KeyFileName.RSA_IDENTITY, decodeRsaPrivateKeyFile),
    masterSecret: readDecoded(paths, KeyFileName.ED25519_MASTER_SECRET, (b) =>
      decodeEd25519SecretKeyFile(b, KeyTag.ED25519_MASTER),
    ),
    masterPublic: readDecoded(paths, KeyFileName.ED25519_MASTER_PUBLIC, (b) =>
      decodeEd25519PublicKeyFile(b, KeyTag.ED25519_MASTER),
    ),
    signingSecret: readDecoded(paths, KeyFileName.ED25519_SIGNING_SECRET, (b) =>
      decodeEd25519SecretKeyFile(b, KeyTag.ED25519_SIGNING),
    ),
    signingCert: readDecoded(paths, KeyFileName.ED25519_SIGNING_CERT, decodeSigningCertFile),
    tapOnion: readDecoded(paths, KeyFileName.TAP_ONION, decodeRsaPrivateKeyFile),
    tapOnionOld: readDecoded(paths, KeyFileName.TAP_ONION_OLD, decodeRsaPrivateKeyFile),
    ntorOnion: readDecoded(paths, KeyFileName.NTOR_ONION, (b) =>
      decodeCurve25519KeypairFile(b, KeyTag.NTOR_ONION),
    ),
    ntorOnionOld: readDecoded(paths, KeyFileName.NTOR_ONION_OLD, (b) =>
      decodeCurve25519KeypairFile(b, KeyTag.NTOR_ONION),
    ),
  };
}

/** Where the Ed25519 identity came from, when it did not come from its own public key file. */
export type MasterPublicSource = 'public-key-file' | 'secret-key-file' | 'signing-cert';

/** The identity resolved from the files of a directory that is not fresh. */
export interface ResolvedIdentity {
  readonly rsaIdentity: RsaPrivateKey;
  readonly masterPublic: Uint8Array;
  readonly masterPublicSource: MasterPublicSource;
  /**
   * The signing key and certificate when they are a consistent pair made by
   * this master key; undefined when either file is absent, or (with
   * `mismatchedSigningPair`) when they do not belong together.
   */
  readonly signing: { readonly key: Ed25519SigningKey; readonly cert: SigningCert } | undefined;
  /** The signing key and certificate exist but the certificate certifies another key. */
  readonly mismatchedSigningPair: boolean;
}

/**
 * Checks the identity files of an existing relay against each other. A
 * missing RSA identity, a public key that does not match the secret key, or
 * a signing certificate from another master key is an error: these never
 * happen to a healthy relay, and guessing would change its identity.
 */
export function resolveIdentity(paths: DataDirectoryPaths, files: KeyFiles): ResolvedIdentity {
  const rsaPath = paths.key(KeyFileName.RSA_IDENTITY);
  if (!files.rsaIdentity) {
    throw new KeyStoreError(
      KeyErrorCode.MISSING,
      rsaPath,
      files.keysDirExists && !files.fresh
        ? 'the RSA identity key is missing while other identity keys exist; restore it from your backup (a new one would change the relay fingerprint)'
        : 'no RSA identity key: this DataDirectory has no relay keys yet',
    );
  }

  let masterPublic: Uint8Array;
  let masterPublicSource: MasterPublicSource;
  if (files.masterSecret && files.masterPublic) {
    if (!bytesEqual(files.masterSecret.publicKey, files.masterPublic)) {
      throw new KeyStoreError(
        KeyErrorCode.MISMATCH,
        paths.key(KeyFileName.ED25519_MASTER_PUBLIC),
        `does not match ${KeyFileName.ED25519_MASTER_SECRET}; if you restored from backup, check that the key files were not mixed up`,
      );
    }
    masterPublic = files.masterPublic;
    masterPublicSource = 'public-key-file';
  } else if (files.masterPublic) {
    masterPublic = files.masterPublic;
    masterPublicSource = 'public-key-file';
  } else if (files.masterSecret) {
    masterPublic = files.masterSecret.publicKey;
    masterPublicSource = 'secret-key-file';
  } else if (files.signingCert?.signedWithKey) {
    // tor: "Master public key was absent; inferring from public key in signing certificate".
    masterPublic = files.signingCert.signedWithKey;
    masterPublicSource = 'signing-cert';
  } else {
    throw new KeyStoreError(
      KeyErrorCode.MISSING,
      paths.key(KeyFileName.ED25519_MASTER_PUBLIC),
      `no Ed25519 identity: neither ${KeyFileName.ED25519_MASTER_PUBLIC} nor ${KeyFileName.ED25519_MASTER_SECRET} nor a signing certificate naming it exists; restore them from your backup`,
    );
  }

  let signing: ResolvedIdentity['signing'];
  let mismatchedSigningPair = false;
  const cert = files.signingCert;
  if (cert) {
    const certPath = paths.key(KeyFileName.ED25519_SIGNING_CERT);
    if (!cert.signedWithKey) {
      throw new KeyStoreError(
        KeyErrorCode.MALFORMED,
        certPath,
        'the certificate does not include the key that signed it (tor always includes it)',
      );
    }
    if (!bytesEqual(cert.signedWithKey, masterPublic)) {
      throw new KeyStoreError(
        KeyErrorCode.MISMATCH,
        certPath,
        'the certificate was signed by a different Ed25519 master key than this relay’s',
      );
    }
    const bad = checkSigningCertSignature(cert, masterPublic);
    if (bad) throw KeyStoreError.of(certPath, bad);
    if (files.signingSecret) {
      if (bytesEqual(cert.certifiedKey, files.signingSecret.publicKey)) {
        signing = { key: files.signingSecret, cert };
      } else {
        mismatchedSigningPair = true;
      }
    }
  }
  return {
    rsaIdentity: files.rsaIdentity,
    masterPublic,
    masterPublicSource,
    signing,
    mismatchedSigningPair,
  };
}
