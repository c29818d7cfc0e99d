/**
 * The ed25519_signing_cert file: the type-4 Ed25519 certificate by which the
 * master identity key certifies the medium-term signing key, stored as a
 * tagged file "== ed25519v1-cert: type4 ==" (loadkey.c ed_key_init_from_file)
 * and always made with the signed-with-ed25519-key extension
 * (INIT_ED_KEY_INCLUDE_SIGNING_KEY_IN_CERT in routerkeys.c), so the master
 * public key can be recovered from it. The certificate encoding itself is
 * @relayd/certs'.
 */

import {
  checkEd25519Cert,
  createEd25519Cert,
  type Ed25519Cert,
  Ed25519CertType,
  ed25519CertExpiresAtMs,
  expirationHoursAfter,
  parseEd25519Cert,
} from '@relayd/certs';
import { err, ok, type Result } from '@relayd/common';
import type { Ed25519SigningKey } from '@relayd/crypto';
import { KeyErrorCode, type KeyFileProblem, problem } from './errors.js';
import { KeyTag } from './key-formats.js';
import { decodeTaggedFile, encodeTaggedFile, TaggedType } from './tagged-file.js';

/** tor reads at most this many certificate bytes (loadkey.c: uint8_t certbuf[256]). */
export const MAX_CERT_FILE_BODY = 256;

/** A parsed signing certificate and the facts the key store uses. */
export interface SigningCert {
  readonly cert: Ed25519Cert;
  readonly encoded: Uint8Array;
  /** The signing key it certifies. */
  readonly certifiedKey: Uint8Array;
  /** The master identity key from the signed-with-ed25519-key extension. */
  readonly signedWithKey: Uint8Array | undefined;
  /** When it stops being valid (ms since the epoch). */
  readonly expiresMs: number;
}

function fromCert(cert: Ed25519Cert): SigningCert {
  return {
    cert,
    encoded: cert.encoded,
    certifiedKey: cert.certifiedKey,
    signedWithKey: cert.signingKey,
    expiresMs: ed25519CertExpiresAtMs(cert),
  };
}

export function decodeSigningCertFile(bytes: Uint8Array): Result<SigningCert, KeyFileProblem> {
  const decoded = decodeTaggedFile(bytes, TaggedType.ED25519_CERT);
  if (!decoded.ok) return decoded;
  const { tag, body } = decoded.value;
  if (tag !== KeyTag.ED25519_SIGNING) {
    return err(
      problem(KeyErrorCode.BAD_HEADER, `header tag is "${tag}", expected "${KeyTag.ED25519_SIGNING}"`),
    );
  }
  if (body.length === 0)
    return err(problem(KeyErrorCode.TRUNCATED, 'truncated: no certificate after the header'));
  if (body.length > MAX_CERT_FILE_BODY) {
    return err(
      problem(
        KeyErrorCode.BAD_LENGTH,
        `wrong length: ${body.length} certificate bytes, tor reads at most ${MAX_CERT_FILE_BODY}`,
      ),
    );
  }
  const parsed = parseEd25519Cert(body);
  if (!parsed.ok) {
    return err(
      problem(
        parsed.error.failure === 'incomplete' ? KeyErrorCode.TRUNCATED : KeyErrorCode.MALFORMED,
        parsed.error.message,
      ),
    );
  }
  if (parsed.value.certType !== Ed25519CertType.IDENTITY_V_SIGNING) {
    return err(
      problem(
        KeyErrorCode.MALFORMED,
        `certificate type is ${parsed.value.certType}, expected ${Ed25519CertType.IDENTITY_V_SIGNING} (identity → signing key)`,
      ),
    );
  }
  return ok(fromCert(parsed.value));
}

export function encodeSigningCertFile(cert: SigningCert): Uint8Array {
  return encodeTaggedFile(TaggedType.ED25519_CERT, KeyTag.ED25519_SIGNING, cert.encoded);
}

/**
 * Makes the certificate of a new signing key, valid for `lifetimeMs` after
 * `nowMs` rounded up to the hour as tor does.
 */
export function createSigningCert(
  master: Ed25519SigningKey,
  signingPublic: Uint8Array,
  nowMs: number,
  lifetimeMs: number,
): SigningCert {
  const encoded = createEd25519Cert({
    certType: Ed25519CertType.IDENTITY_V_SIGNING,
    certifiedKey: signingPublic,
    expirationHours: expirationHoursAfter(nowMs, Math.floor(lifetimeMs / 1000)),
    signer: master,
    includeSigningKey: true,
  });
  const parsed = parseEd25519Cert(encoded);
  if (!parsed.ok) throw parsed.error;
  return fromCert(parsed.value);
}

/**
 * Checks that `masterPublic` signed the certificate and that it carries no
 * unknown critical extension. Expiry is not judged here: renewing an
 * expiring certificate is the signing-key policy's decision.
 */
export function checkSigningCertSignature(
  cert: SigningCert,
  masterPublic: Uint8Array,
): KeyFileProblem | undefined {
  // Judged at the instant the certificate expires, when it is still valid, so
  // only the signature, type and extensions can fail.
  const checked = checkEd25519Cert(cert.cert, {
    signingKey: masterPublic,
    nowMs: cert.expiresMs,
    certType: Ed25519CertType.IDENTITY_V_SIGNING,
  });
  if (checked.ok || checked.error.code === 'EXPIRED') return undefined;
  return problem(
    checked.error.code === 'KEY_MISMATCH' ? KeyErrorCode.MISMATCH : KeyErrorCode.MALFORMED,
    checked.error.message,
  );
}
