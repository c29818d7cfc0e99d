/**
 * The relay's key store: loads the keys of a DataDirectory, creates the ones
 * tor itself would create, renews the signing key, rotates onion keys, and
 * hands workers an immutable snapshot without the master identity secret.
 *
 * What is created, and when (compare C tor init_keys / load_ed_keys):
 * - Fresh directory (none of the identity files exists): everything.
 * - Existing relay: never an identity key. A missing secret_id_key or a
 *   missing Ed25519 identity is an error naming the file. The master public
 *   key file is re-derived from the master secret key, or from the signing
 *   certificate, when only it is missing (tor repairs the same way).
 * - The signing key and certificate are (re)made from the master secret key
 *   when missing, expired or within the slop of expiry. Without the master
 *   secret key (kept offline) an expired certificate refuses to start.
 * - Onion keys (secret_onion_key, secret_onion_key_ntor) are made when
 *   missing; the ".old" ones are only ever produced by rotation.
 * - A file that is present but damaged (truncated, wrong header or tag, wrong
 *   length, accessible to group/others) is always an error, never replaced.
 */
import { assertInvariant, bytesEqual, type Logger, silentLogger, toBase64Unpadded } from '@relayd/common';
import { Ed25519SigningKey, generateX25519, RsaPrivateKey, type X25519Keypair } from '@relayd/crypto';
import { KeyErrorCode, KeyStoreError } from './errors.js';
import {
  checkNickname,
  DEFAULT_NICKNAME,
  ed25519IdentityToBase64,
  fingerprintFileLine,
  hashedFingerprintHex,
  rsaFingerprintHex,
} from './fingerprint.js';
import { type KeyFiles, readKeyFiles, resolveIdentity } from './key-directory.js';
import {
  DataDirectoryPaths,
  DataFileName,
  ensurePrivateDirectory,
  fileModifiedMs,
  IDENTITY_FILES,
  KeyFileName,
  pathExists,
  readTextFileIfExists,
  removeFile,
  replaceFile,
  writePrivateFileAtomic,
} from './key-files.js';
import {
  clampCurve25519Secret,
  encodeCurve25519KeypairFile,
  encodeEd25519PublicKeyFile,
  encodeEd25519SecretKeyFile,
  encodeRsaPrivateKeyFile,
  KeyTag,
  RSA_KEY_BITS,
} from './key-formats.js';
import { createSigningCert, encodeSigningCertFile, type SigningCert } from './signing-cert.js';
import {
  DEFAULT_OFFLINE_EXPIRY_WARNING_MS,
  DEFAULT_SIGNING_KEY_LIFETIME_MS,
  DEFAULT_SIGNING_KEY_SLOP_MS,
  decideSigningKey,
} from './signing-policy.js';
import { type WorkerKeySnapshot, workerKeySnapshot } from './worker-snapshot.js';

export interface KeyStoreOptions {
  /** The current time (ms since the epoch): certificate validity is judged and made against it. */
  readonly nowMs: number;
  /** Written into the fingerprint files; tor's default is "Unnamed". */
  readonly nickname?: string;
  readonly logger?: Logger;
  /** Lifetime of a new signing certificate (tor SigningKeyLifetime, 30 days). */
  readonly signingKeyLifetimeMs?: number;
  /** Renew the signing key when its certificate expires within this (tor TestingSigningKeySlop, 1 day). */
  readonly signingKeySlopMs?: number;
  /** With the master key offline, warn when the certificate expires within this (default 7 days). */
  readonly offlineExpiryWarningMs?: number;
  /** Write fingerprint, fingerprint-ed25519 and hashed-fingerprint (default true). */
  readonly writeFingerprintFiles?: boolean;
}

interface ResolvedOptions {
  readonly nickname: string;
  readonly logger: Logger;
  readonly lifetimeMs: number;
  readonly slopMs: number;
  readonly offlineWarningMs: number;
  readonly writeFingerprintFiles: boolean;
}

function resolveOptions(opts: KeyStoreOptions): ResolvedOptions {
  return {
    nickname: checkNickname(opts.nickname ?? DEFAULT_NICKNAME),
    logger: opts.logger ?? silentLogger,
    lifetimeMs: opts.signingKeyLifetimeMs ?? DEFAULT_SIGNING_KEY_LIFETIME_MS,
    slopMs: opts.signingKeySlopMs ?? DEFAULT_SIGNING_KEY_SLOP_MS,
    offlineWarningMs: opts.offlineExpiryWarningMs ?? DEFAULT_OFFLINE_EXPIRY_WARNING_MS,
    writeFingerprintFiles: opts.writeFingerprintFiles ?? true,
  };
}

/** A new Curve25519 onion keypair with tor's clamped secret. */
function generateNtorKeypair(): X25519Keypair {
  const { secretKey, publicKey } = generateX25519();
  return { secretKey: clampCurve25519Secret(secretKey), publicKey };
}

/** The signing key and the certificate the master identity made for it. */
export interface SigningKeyPair {
  readonly key: Ed25519SigningKey;
  readonly cert: SigningCert;
}

/**
 * What a DataDirectory's keys say about the relay, for `relayctl keys show`
 * and health checks. Fields are null when the file they come from is absent.
 */
export interface KeyStatus {
  /** 40 uppercase hex digits. */
  readonly rsaFingerprint: string;
  /** SHA-1 of the fingerprint, 40 uppercase hex digits (bridges). */
  readonly hashedFingerprint: string;
  /** Ed25519 master identity, base64 without padding. */
  readonly ed25519Identity: string;
  readonly signingCertExpiresMs: number | null;
  readonly signingCertExpired: boolean | null;
  /** False when the master identity secret key is kept offline. */
  readonly masterSecretKeyPresent: boolean;
  /** Current ntor onion public key, base64 without padding. */
  readonly ntorOnionKey: string | null;
  readonly previousNtorOnionKey: string | null;
}

/** A loaded key store. The RSA and Ed25519 identities never change; the signing and onion keys do. */
export class KeyStore {
  readonly paths: DataDirectoryPaths;
  readonly nickname: string;
  /** RSA-1024 identity (its SHA-1 is the relay fingerprint). */
  readonly rsaIdentity: RsaPrivateKey;
  /** Ed25519 master identity public key (KP_relayid_ed). */
  readonly ed25519Identity: Uint8Array;
  /** The master identity secret key, absent when the operator keeps it offline. */
  readonly ed25519MasterSecret: Ed25519SigningKey | undefined;
  private signingPair: SigningKeyPair;
  private ntor: X25519Keypair;
  private ntorPrevious: X25519Keypair | undefined;
  private tap: RsaPrivateKey;
  private tapPrevious: RsaPrivateKey | undefined;
  private readonly opts: ResolvedOptions;

  /** @internal Built by loadOrCreateKeys. */
  constructor(init: {
    paths: DataDirectoryPaths;
    opts: ResolvedOptions;
    rsaIdentity: RsaPrivateKey;
    ed25519Identity: Uint8Array;
    ed25519MasterSecret: Ed25519SigningKey | undefined;
    signing: SigningKeyPair;
    ntor: X25519Keypair;
    ntorPrevious: X25519Keypair | undefined;
    tap: RsaPrivateKey;
    tapPrevious: RsaPrivateKey | undefined;
  }) {
    this.paths = init.paths;
    this.opts = init.opts;
    this.nickname = init.opts.nickname;
    this.rsaIdentity = init.rsaIdentity;
    this.ed25519Identity = init.ed25519Identity;
    this.ed25519MasterSecret = init.ed25519MasterSecret;
    this.signingPair = init.signing;
    this.ntor = init.ntor;
    this.ntorPrevious = init.ntorPrevious;
    this.tap = init.tap;
    this.tapPrevious = init.tapPrevious;
  }

  get dataDir(): string {
    return this.paths.dataDir;
  }

  /** The relay fingerprint: SHA-1 of the RSA identity, 40 uppercase hex digits. */
  fingerprint(): string {
    return rsaFingerprintHex(this.rsaIdentity.publicKey);
  }

  /** The hashed fingerprint a bridge is known by on bridges.torproject.org. */
  hashedFingerprint(): string {
    return hashedFingerprintHex(this.rsaIdentity.publicKey);
  }

  /** The Ed25519 identity, base64 without padding (as in fingerprint-ed25519). */
  ed25519IdentityBase64(): string {
    return ed25519IdentityToBase64(this.ed25519Identity);
  }

  get masterSecretKeyPresent(): boolean {
    return this.ed25519MasterSecret !== undefined;
  }

  /** The current medium-term signing key (KP_relaysign_ed). */
  get signingKey(): Ed25519SigningKey {
    return this.signingPair.key;
  }

  /** The encoded type-4 certificate of the signing key, as stored in ed25519_signing_cert. */
  get signingCert(): Uint8Array {
    return this.signingPair.cert.encoded;
  }

  get signingCertExpiresMs(): number {
    return this.signingPair.cert.expiresMs;
  }

  /** The current ntor onion key (KP_ntor). */
  get ntorOnionKey(): X25519Keypair {
    return this.ntor;
  }

  /** The ntor key before the last rotation, still accepted during the grace period. */
  get previousNtorOnionKey(): X25519Keypair | undefined {
    return this.ntorPrevious;
  }

  /** The legacy TAP onion key: no longer used for handshakes, still published in descriptors. */
  get tapOnionKey(): RsaPrivateKey {
    return this.tap;
  }

  get previousTapOnionKey(): RsaPrivateKey | undefined {
    return this.tapPrevious;
  }

  /** When secret_onion_key_ntor was last written (creation or rotation), from its mtime. */
  ntorOnionKeyWrittenAtMs(): number {
    return fileModifiedMs(this.paths.key(KeyFileName.NTOR_ONION));
  }

  status(nowMs: number): KeyStatus {
    return {
      rsaFingerprint: this.fingerprint(),
      hashedFingerprint: this.hashedFingerprint(),
      ed25519Identity: this.ed25519IdentityBase64(),
      signingCertExpiresMs: this.signingCertExpiresMs,
      signingCertExpired: this.signingCertExpiresMs < nowMs,
      masterSecretKeyPresent: this.masterSecretKeyPresent,
      ntorOnionKey: toBase64Unpadded(this.ntor.publicKey),
      previousNtorOnionKey: this.ntorPrevious ? toBase64Unpadded(this.ntorPrevious.publicKey) : null,
    };
  }

  /**
   * Renews the signing key if its certificate expires within the slop (the
   * periodic check tor makes in should_make_new_ed_keys). Returns true when
   * a new key was made: workers then need a new snapshot. With the master key
   * offline it only warns, and throws once the certificate has expired.
   */
  refreshSigningKey(nowMs: number): boolean {
    const renewed = applySigningDecision(
      this.paths,
      this.opts,
      this.ed25519MasterSecret,
      this.signingPair,
      nowMs,
      false,
    );
    if (renewed === this.signingPair) return false;
    this.signingPair = renewed;
    return true;
  }

  /**
   * Rotates both onion keys as tor's rotate_onion_key() does: the current
   * files become ".old", new keys are written, and the previous ntor key stays
   * loaded so clients with an older descriptor still complete handshakes.
   */
  rotateOnionKeys(): void {
    const tapPath = this.paths.key(KeyFileName.TAP_ONION);
    const ntorPath = this.paths.key(KeyFileName.NTOR_ONION);
    const newTap = RsaPrivateKey.generate(RSA_KEY_BITS);
    const newNtor = generateNtorKeypair();
    if (pathExists(tapPath)) replaceFile(tapPath, this.paths.key(KeyFileName.TAP_ONION_OLD));
    writePrivateFileAtomic(tapPath, encodeRsaPrivateKeyFile(newTap));
    if (pathExists(ntorPath)) replaceFile(ntorPath, this.paths.key(KeyFileName.NTOR_ONION_OLD));
    writePrivateFileAtomic(ntorPath, encodeCurve25519KeypairFile(newNtor, KeyTag.NTOR_ONION));
    this.tapPrevious = this.tap;
    this.tap = newTap;
    this.ntorPrevious = this.ntor;
    this.ntor = newNtor;
    this.opts.logger.notice({}, 'rotated onion keys');
  }

  /** Forgets the previous onion keys and removes their ".old" files (tor's expire_old_onion_keys). */
  expireOldOnionKeys(): void {
    removeFile(this.paths.key(KeyFileName.TAP_ONION_OLD));
    removeFile(this.paths.key(KeyFileName.NTOR_ONION_OLD));
    this.tapPrevious = undefined;
    this.ntorPrevious = undefined;
  }

  /** Everything a worker needs, except the master identity secret. */
  workerSnapshot(): WorkerKeySnapshot {
    return workerKeySnapshot({
      nickname: this.nickname,
      rsaIdentity: this.rsaIdentity,
      ed25519Identity: this.ed25519Identity,
      signingKey: this.signingPair.key,
      signingCert: this.signingPair.cert.encoded,
      signingCertExpiresMs: this.signingPair.cert.expiresMs,
      ntor: this.ntor,
      ntorPrevious: this.ntorPrevious,
    });
  }
}

/** Makes and stores a new signing key and certificate. */
function makeSigningKey(
  paths: DataDirectoryPaths,
  master: Ed25519SigningKey,
  nowMs: number,
  lifetimeMs: number,
): SigningKeyPair {
  const key = Ed25519SigningKey.generate();
  const cert = createSigningCert(master, key.publicKey, nowMs, lifetimeMs);
  writePrivateFileAtomic(
    paths.key(KeyFileName.ED25519_SIGNING_SECRET),
    encodeEd25519SecretKeyFile(key, KeyTag.ED25519_SIGNING),
  );
  writePrivateFileAtomic(paths.key(KeyFileName.ED25519_SIGNING_CERT), encodeSigningCertFile(cert));
  return { key, cert };
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Applies the signing-key policy to the current pair (or its absence) and
 * returns the pair to use: the same object when nothing changed.
 */
function applySigningDecision(
  paths: DataDirectoryPaths,
  opts: ResolvedOptions,
  master: Ed25519SigningKey | undefined,
  current: SigningKeyPair | undefined,
  nowMs: number,
  mismatchedPair: boolean,
): SigningKeyPair {
  const decision = decideSigningKey({
    certExpiresMs: current?.cert.expiresMs,
    haveMasterSecret: master !== undefined,
    nowMs,
    slopMs: opts.slopMs,
    offlineWarningMs: opts.offlineWarningMs,
  });
  const certPath = paths.key(KeyFileName.ED25519_SIGNING_CERT);
  const encryptedHint = pathExists(paths.key(KeyFileName.ED25519_MASTER_SECRET_ENCRYPTED))
    ? ` (${KeyFileName.ED25519_MASTER_SECRET_ENCRYPTED} is passphrase-protected; relayd cannot use it: run 'tor --keygen' with this DataDirectory)`
    : ' (the master key is offline: make a new signing key with "tor --keygen" and copy ed25519_signing_secret_key and ed25519_signing_cert here)';
  switch (decision.action) {
    case 'keep':
      return current!;
    case 'keep-and-warn':
      opts.logger.warn(
        { file: certPath, expires: isoTime(decision.expiresMs) },
        `the Ed25519 signing certificate expires at ${isoTime(decision.expiresMs)} and the master identity key is not here to renew it${encryptedHint}`,
      );
      return current!;
    case 'refuse':
      if (mismatchedPair) {
        throw new KeyStoreError(
          KeyErrorCode.MISMATCH,
          certPath,
          `certifies a different key than ${KeyFileName.ED25519_SIGNING_SECRET}, and ${KeyFileName.ED25519_MASTER_SECRET} is not here to make a new pair${encryptedHint}`,
        );
      }
      if (decision.reason === 'expired') {
        throw new KeyStoreError(
          KeyErrorCode.SIGNING_CERT_EXPIRED,
          certPath,
          `the signing certificate expired at ${isoTime(current!.cert.expiresMs)} and ${KeyFileName.ED25519_MASTER_SECRET} is absent, so it cannot be renewed${encryptedHint}`,
        );
      }
      throw new KeyStoreError(
        KeyErrorCode.MISSING,
        pathExists(certPath) ? paths.key(KeyFileName.ED25519_SIGNING_SECRET) : certPath,
        `no usable signing key and certificate, and ${KeyFileName.ED25519_MASTER_SECRET} is absent, so none can be made${encryptedHint}`,
      );
    case 'renew': {
      const pair = makeSigningKey(paths, master!, nowMs, opts.lifetimeMs);
      const why =
        decision.reason === 'missing'
          ? mismatchedPair
            ? 'the old certificate did not match the old signing key'
            : 'there was none'
          : decision.reason === 'expired'
            ? 'the old certificate had expired'
            : 'the old certificate was about to expire';
      opts.logger.notice(
        { file: certPath, expires: isoTime(pair.cert.expiresMs) },
        `made a new Ed25519 signing key and certificate because ${why}`,
      );
      return pair;
    }
  }
}

/** Writes a DataDirectory fingerprint file unless it already holds exactly this line (tor: write_str_to_file_if_not_equal). */
function writeFingerprintFile(paths: DataDirectoryPaths, name: string, line: string): void {
  const path = paths.data(name);
  if (readTextFileIfExists(path) === line) return;
  writePrivateFileAtomic(path, new Uint8Array(Buffer.from(line, 'latin1')));
}

/** Creates the identity keys of a new relay and writes them. */
function createIdentity(
  paths: DataDirectoryPaths,
  opts: ResolvedOptions,
  nowMs: number,
): { rsa: RsaPrivateKey; master: Ed25519SigningKey; signing: SigningKeyPair } {
  const rsa = RsaPrivateKey.generate(RSA_KEY_BITS);
  const master = Ed25519SigningKey.generate();
  writePrivateFileAtomic(paths.key(KeyFileName.RSA_IDENTITY), encodeRsaPrivateKeyFile(rsa));
  writePrivateFileAtomic(
    paths.key(KeyFileName.ED25519_MASTER_SECRET),
    encodeEd25519SecretKeyFile(master, KeyTag.ED25519_MASTER),
  );
  writePrivateFileAtomic(
    paths.key(KeyFileName.ED25519_MASTER_PUBLIC),
    encodeEd25519PublicKeyFile(master.publicKey, KeyTag.ED25519_MASTER),
  );
  const signing = makeSigningKey(paths, master, nowMs, opts.lifetimeMs);
  opts.logger.notice({ dataDir: paths.dataDir }, 'created new relay identity keys');
  return { rsa, master, signing };
}

/**
 * Loads the keys of `dataDir`, creating what tor would create (see the
 * module comment), and returns the store. Throws KeyStoreError naming the
 * file for anything it refuses.
 */
export function loadOrCreateKeys(dataDir: string, options: KeyStoreOptions): KeyStore {
  const opts = resolveOptions(options);
  const { nowMs } = options;
  const paths = new DataDirectoryPaths(dataDir);
  // tor creates the DataDirectory 0700 when it is missing; an existing one is left as it is.
  if (!pathExists(dataDir)) ensurePrivateDirectory(dataDir, true);
  const files: KeyFiles = readKeyFiles(paths, true);

  let rsaIdentity: RsaPrivateKey;
  let ed25519Identity: Uint8Array;
  let master: Ed25519SigningKey | undefined;
  let signing: SigningKeyPair;
  if (files.fresh) {
    const created = createIdentity(paths, opts, nowMs);
    rsaIdentity = created.rsa;
    ed25519Identity = created.master.publicKey;
    master = created.master;
    signing = created.signing;
  } else {
    const identity = resolveIdentity(paths, files);
    rsaIdentity = identity.rsaIdentity;
    ed25519Identity = identity.masterPublic;
    master = files.masterSecret;
    const publicPath = paths.key(KeyFileName.ED25519_MASTER_PUBLIC);
    if (identity.masterPublicSource === 'secret-key-file') {
      writePrivateFileAtomic(publicPath, encodeEd25519PublicKeyFile(ed25519Identity, KeyTag.ED25519_MASTER));
      opts.logger.notice(
        { file: publicPath },
        'found the master secret key but not its public key; wrote it',
      );
    } else if (identity.masterPublicSource === 'signing-cert') {
      writePrivateFileAtomic(publicPath, encodeEd25519PublicKeyFile(ed25519Identity, KeyTag.ED25519_MASTER));
      opts.logger.warn(
        { file: publicPath },
        'the master public key was absent; took it from the signing certificate and wrote it',
      );
    }
    signing = applySigningDecision(
      paths,
      opts,
      master,
      identity.signing,
      nowMs,
      identity.mismatchedSigningPair,
    );
  }
  assertInvariant(
    !master || bytesEqual(master.publicKey, ed25519Identity),
    'the master secret key does not match the Ed25519 identity',
  );

  let tap = files.tapOnion;
  if (!tap) {
    tap = RsaPrivateKey.generate(RSA_KEY_BITS);
    writePrivateFileAtomic(paths.key(KeyFileName.TAP_ONION), encodeRsaPrivateKeyFile(tap));
  }
  let ntor = files.ntorOnion;
  if (!ntor) {
    ntor = generateNtorKeypair();
    writePrivateFileAtomic(
      paths.key(KeyFileName.NTOR_ONION),
      encodeCurve25519KeypairFile(ntor, KeyTag.NTOR_ONION),
    );
  }

  const store = new KeyStore({
    paths,
    opts,
    rsaIdentity,
    ed25519Identity,
    ed25519MasterSecret: master,
    signing,
    ntor,
    ntorPrevious: files.ntorOnionOld,
    tap,
    tapPrevious: files.tapOnionOld,
  });
  if (opts.writeFingerprintFiles) {
    writeFingerprintFile(
      paths,
      DataFileName.FINGERPRINT,
      fingerprintFileLine(opts.nickname, store.fingerprint()),
    );
    writeFingerprintFile(
      paths,
      DataFileName.HASHED_FINGERPRINT,
      fingerprintFileLine(opts.nickname, store.hashedFingerprint()),
    );
    writeFingerprintFile(
      paths,
      DataFileName.FINGERPRINT_ED25519,
      fingerprintFileLine(opts.nickname, store.ed25519IdentityBase64()),
    );
  }
  return store;
}

/**
 * Creates the keys of a new relay. Refuses, naming the file, when any
 * identity key already exists: an existing identity is never overwritten.
 */
export function generateKeys(dataDir: string, options: KeyStoreOptions): KeyStore {
  const paths = new DataDirectoryPaths(dataDir);
  for (const name of IDENTITY_FILES) {
    const path = paths.key(name);
    if (pathExists(path)) {
      throw new KeyStoreError(
        KeyErrorCode.ALREADY_EXISTS,
        path,
        'identity keys already exist in this DataDirectory; refusing to overwrite them',
      );
    }
  }
  return loadOrCreateKeys(dataDir, options);
}

/**
 * Reads the keys of `dataDir` and reports them without creating, renewing or
 * writing anything. Throws KeyStoreError for a missing identity or any
 * damaged file, like loadOrCreateKeys.
 */
export function readKeyStatus(dataDir: string, nowMs: number): KeyStatus {
  const paths = new DataDirectoryPaths(dataDir);
  const files = readKeyFiles(paths, false);
  const identity = resolveIdentity(paths, files);
  const cert = files.signingCert;
  const ntorKey = (k: X25519Keypair | undefined) => (k ? toBase64Unpadded(k.publicKey) : null);
  return {
    rsaFingerprint: rsaFingerprintHex(identity.rsaIdentity.publicKey),
    hashedFingerprint: hashedFingerprintHex(identity.rsaIdentity.publicKey),
    ed25519Identity: ed25519IdentityToBase64(identity.masterPublic),
    signingCertExpiresMs: cert ? cert.expiresMs : null,
    signingCertExpired: cert ? cert.expiresMs < nowMs : null,
    masterSecretKeyPresent: files.masterSecret !== undefined,
    ntorOnionKey: ntorKey(files.ntorOnion),
    previousNtorOnionKey: ntorKey(files.ntorOnionOld),
  };
}
