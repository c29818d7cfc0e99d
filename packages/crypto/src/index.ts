export { AesCtrStream } from './cipher.js';
export {
  Ed25519SigningKey,
  ed25519PublicFromExpanded,
  ed25519SignExpanded,
  ed25519Verify,
  expandEd25519Seed,
  isValidEd25519Point,
} from './ed25519.js';
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
export { generateX25519, type X25519Keypair, x25519PublicFromSecret, x25519SharedSecret } from './x25519.js';
