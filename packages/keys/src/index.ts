export { KeyErrorCode, type KeyFileProblem, KeyStoreError } from './errors.js';
export {
  checkNickname,
  DEFAULT_NICKNAME,
  ed25519IdentityToBase64,
  fingerprintFileLine,
  groupFingerprint,
  hashedFingerprintHex,
  isLegalNickname,
  rsaFingerprintHex,
} from './fingerprint.js';
export {
  DataDirectoryPaths,
  DataFileName,
  IDENTITY_FILES,
  KeyFileName,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
} from './key-files.js';
export {
  decodeCurve25519KeypairFile,
  decodeEd25519PublicKeyFile,
  decodeEd25519SecretKeyFile,
  decodeRsaPrivateKeyFile,
  encodeCurve25519KeypairFile,
  encodeEd25519PublicKeyFile,
  encodeEd25519SecretKeyFile,
  encodeRsaPrivateKeyFile,
  KeyTag,
} from './key-formats.js';
export {
  generateKeys,
  type KeyStatus,
  KeyStore,
  type KeyStoreOptions,
  loadOrCreateKeys,
  readKeyStatus,
  type SigningKeyPair,
} from './key-store.js';
export { decodeSigningCertFile, encodeSigningCertFile, type SigningCert } from './signing-cert.js';
export {
  DEFAULT_OFFLINE_EXPIRY_WARNING_MS,
  DEFAULT_SIGNING_KEY_LIFETIME_MS,
  DEFAULT_SIGNING_KEY_SLOP_MS,
  decideSigningKey,
  type SigningKeyDecision,
} from './signing-policy.js';
export {
  decodeTaggedFile,
  encodeTaggedFile,
  TAGGED_HEADER_LEN,
  type TaggedContents,
  TaggedType,
} from './tagged-file.js';
export {
  WORKER_KEY_SNAPSHOT_VERSION,
  type WorkerKeySnapshot,
  type WorkerKeys,
  type WorkerNtorKey,
  workerKeysFromSnapshot,
} from './worker-snapshot.js';
