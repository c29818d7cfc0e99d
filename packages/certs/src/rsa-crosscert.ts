/**
 * The RSA->Ed25519 cross-certificate (cert-spec 2.3; CERTS type 7; C tor
 * torcert.c `tor_make_rsa_ed25519_crosscert`, `rsa_ed25519_crosscert_check`):
 * the relay's RSA identity key vouches for its Ed25519 identity.
 *
 * Layout: ED25519_KEY [32] | EXPIRATION_DATE [4] (hours) | SIGLEN [1] | SIGNATURE [SIGLEN].
 * The signature is tor's RSA signature (PKCS#1 v1.5 padding, no DigestInfo)
 * of SHA-256("Tor TLS RSA/Ed25519 cross-certificate" || ED25519_KEY || EXPIRATION_DATE).
 */
import { bytesEqual, type DecodeError, decodeWith, err, ok, type Result, utf8 } from '@relayd/common';
import { type RsaPrivateKey, type RsaPublicKey, sha256 } from '@relayd/crypto';
import { CertError } from './cert-error.js';

/** The personalisation prefix of the signed digest (cert-spec 2.3). */
export const RSA_ED25519_CROSSCERT_PREFIX = utf8('Tor TLS RSA/Ed25519 cross-certificate');

/** Bytes covered by the signature: the key and the expiration date. */
const SIGNED_LENGTH = 32 + 4;

export interface RsaEd25519Crosscert {
  /** The Ed25519 identity the RSA key vouches for. */
  readonly ed25519Identity: Uint8Array;
  /** Hours since the epoch after which the cross-certificate is invalid. */
  readonly expirationHours: number;
  readonly signature: Uint8Array;
  /** The whole certificate as encoded. */
  readonly encoded: Uint8Array;
}

function signedDigest(signedPart: Uint8Array): Uint8Array {
  return sha256(RSA_ED25519_CROSSCERT_PREFIX, signedPart);
}

export interface CreateRsaEd25519CrosscertOptions {
  /** 32 bytes. */
  readonly ed25519Identity: Uint8Array;
  /** Hours since the epoch. C tor uses `ceil(expires / 3600)`. */
  readonly expirationHours: number;
  /** The relay's RSA-1024 identity key. */
  readonly rsaIdentity: RsaPrivateKey;
}

/** Encodes and signs an RSA->Ed25519 cross-certificate. */
export function createRsaEd25519Crosscert(opts: CreateRsaEd25519CrosscertOptions): Uint8Array {
  if (opts.ed25519Identity.length !== 32) {
    throw new RangeError(`ed25519 identity must be 32 bytes, got ${opts.ed25519Identity.length}`);
  }
  const signedPart = new Uint8Array(SIGNED_LENGTH);
  signedPart.set(opts.ed25519Identity, 0);
  new DataView(signedPart.buffer).setUint32(32, opts.expirationHours);
  const signature = opts.rsaIdentity.signDigest(signedDigest(signedPart));
  if (signature.length > 0xff)
    throw new RangeError(`RSA signature of ${signature.length} bytes does not fit SIGLEN`);
  const out = new Uint8Array(SIGNED_LENGTH + 1 + signature.length);
  out.set(signedPart, 0);
  out[SIGNED_LENGTH] = signature.length;
  out.set(signature, SIGNED_LENGTH + 1);
  return out;
}

/** Parses a cross-certificate. Total; trailing bytes are malformed (C tor refuses "overlong" ones). */
export function parseRsaEd25519Crosscert(bytes: Uint8Array): Result<RsaEd25519Crosscert, DecodeError> {
  return decodeWith(bytes, 'RSA->Ed25519 cross-certificate', (r) => {
    const ed25519Identity = r.take(32, 'ed25519 key').slice();
    const expirationHours = r.u32('expiration date');
    const signature = r.take(r.u8('signature length'), 'signature').slice();
    r.expectExhausted();
    return { ed25519Identity, expirationHours, signature, encoded: Uint8Array.from(bytes) };
  });
}

/**
 * Checks that `rsaIdentity` signed the cross-certificate and that it has not
 * expired. Which Ed25519 key it certifies is the caller's to compare
 * (`cert.ed25519Identity`). Like C tor, the signed data may be longer than
 * the digest; its first 32 bytes must be the digest.
 */
export function checkRsaEd25519Crosscert(
  cert: RsaEd25519Crosscert,
  rsaIdentity: RsaPublicKey,
  nowMs: number,
): Result<void, CertError> {
  const certType = 7;
  const recovered = rsaIdentity.recoverSignedDigest(cert.signature);
  const digest = signedDigest(cert.encoded.subarray(0, SIGNED_LENGTH));
  if (!recovered || recovered.length < digest.length || !bytesEqual(recovered.subarray(0, 32), digest)) {
    return err(
      new CertError('BAD_SIGNATURE', 'RSA->Ed25519 cross-certificate is not signed by the RSA identity', {
        certType,
      }),
    );
  }
  if (cert.expirationHours * 3600 < Math.floor(nowMs / 1000)) {
    return err(new CertError('EXPIRED', 'RSA->Ed25519 cross-certificate has expired', { certType }));
  }
  return ok(undefined);
}
