export { AesCtrStream, MAX_KEYSTREAM_AHEAD } from './cipher.js';
export {
  Ed25519SigningKey,
  ed25519PublicFromExpanded,
  ed25519SignExpanded,
  ed25519Verify,
  expandEd25519Seed,
  isValidEd25519Point,
} from './ed25519.js';
export {
  clampX25519Secret,
  ed25519FromX25519,
  ed25519PublicFromX25519Public,
} from './ed25519-from-x25519.js';
export {
  hmacSha256,
  RunningDigest,
  type RunningDigestAlgorithm,
  sha1,
  sha3_256,
  sha256,
  sha512,
  shake256,
} from './hash.js';
export { hkdfSha256, kdfTor } from './kdf.js';
export { randomBytesOf, secureRandom } from './random.js';
export { RsaPrivateKey, RsaPublicKey } from './rsa.js';
export {
  createRelayTlsCertificates,
  createX509Certificate,
  IDENTITY_CERT_LIFETIME_SECONDS,
  LINK_KEY_BITS,
  parseX509Certificate,
  pickCertificateValidity,
  pickLinkCertificateLifetime,
  type RelayTlsCertificates,
  type RelayTlsCertificatesOptions,
  randomTlsHostname,
  X509_FUTURE_SLOP_MS,
  X509_PAST_SLOP_MS,
  type X509CertificateOptions,
  type X509Info,
  x509DerToPem,
} from './x509.js';
export { generateX25519, type X25519Keypair, x25519PublicFromSecret, x25519SharedSecret } from './x25519.js';
