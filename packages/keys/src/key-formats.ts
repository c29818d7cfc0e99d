/**
 * Byte formats of the individual key files, exactly as C tor writes them.
 * Pure encode/decode pairs; reading and writing files is key-files.ts.
 *
 * - RSA keys (secret_id_key, secret_onion_key): PEM "RSA PRIVATE KEY"
 *   (PKCS#1 DER, base64 in 64-column lines) followed by ONE NUL byte, because
 *   tor writes the whole buffer of crypto_pk_write_private_key_to_string()
 *   including its terminator (crypto_rsa.c, pem.c).
 * - Ed25519 secret keys: tagged "ed25519v1-secret", 64-byte *expanded* key
 *   (clamped scalar then nonce prefix), tag "type0" for the master identity,
 *   "type4" for the signing key (loadkey.c: the tag is "type<cert type>").
 * - Ed25519 public keys: tagged "ed25519v1-public", 32 bytes, tag "type0".
 * - Curve25519 (ntor) keys: tagged "c25519v1", tag "onion", 32-byte secret
 *   then 32-byte public; tor refuses the file unless they match
 *   (crypto_curve25519.c curve25519_keypair_read_from_file).
 */
import { err, fromBase64, ok, type Result } from '@relayd/common';
import {
  Ed25519SigningKey,
  isValidEd25519Point,
  RsaPrivateKey,
  type X25519Keypair,
  x25519PublicFromSecret,
} from '@relayd/crypto';
import { KeyErrorCode, type KeyFileProblem, problem } from './errors.js';
import { decodeFixedTaggedFile, encodeTaggedFile, TaggedType } from './tagged-file.js';

/** Header tags tor uses. The Ed25519 tag is "type" + the certificate type the key is used with. */
export const KeyTag = {
  ED25519_MASTER: 'type0',
  ED25519_SIGNING: 'type4',
  NTOR_ONION: 'onion',
} as const;

const RSA_PEM_LABEL = 'RSA PRIVATE KEY';
/** tor-spec 0.3: RSA keys are 1024 bits with exponent 65537. */
export const RSA_KEY_BITS = 1024;
const RSA_EXPONENT = 65537n;
export const ED25519_EXPANDED_SECRET_LEN = 64;
export const ED25519_PUBLIC_LEN = 32;
export const CURVE25519_KEY_LEN = 32;

// ---- RSA (PEM) -------------------------------------------------------------

/** PEM "RSA PRIVATE KEY" plus the trailing NUL tor writes: byte-identical to tor's files. */
export function encodeRsaPrivateKeyFile(key: RsaPrivateKey): Uint8Array {
  const b64 = Buffer.from(key.toDer()).toString('base64');
  let text = `-----BEGIN ${RSA_PEM_LABEL}-----\n`;
  for (let i = 0; i < b64.length; i += 64) text += `${b64.slice(i, i + 64)}\n`;
  text += `-----END ${RSA_PEM_LABEL}-----\n\0`;
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

/**
 * Decodes an RSA private key file. Accepts what tor's pem_decode accepts
 * (leading whitespace, anything after the END line such as tor's NUL) and
 * then insists on a 1024-bit key with exponent 65537.
 */
export function decodeRsaPrivateKeyFile(bytes: Uint8Array): Result<RsaPrivateKey, KeyFileProblem> {
  const text = Buffer.from(bytes).toString('latin1');
  if (text.replace(/[\s\0]+/g, '').length === 0) return err(problem(KeyErrorCode.TRUNCATED, 'file is empty'));
  const begin = `-----BEGIN ${RSA_PEM_LABEL}-----`;
  const start = text.length - text.trimStart().length;
  if (!text.startsWith(begin, start)) {
    const other = /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(text.slice(start));
    return err(
      problem(
        KeyErrorCode.BAD_HEADER,
        other
          ? `PEM block is "${other[1]}", expected "${RSA_PEM_LABEL}"`
          : `not a PEM "${RSA_PEM_LABEL}" file (no "${begin}" line)`,
      ),
    );
  }
  const afterBegin = text.slice(start + begin.length);
  const eol = /^[ \t\r]*\n/.exec(afterBegin);
  if (!eol) return err(problem(KeyErrorCode.BAD_HEADER, `junk after "${begin}"`));
  const body = afterBegin.slice(eol[0].length);
  const endAt = `\n${body}`.indexOf(`\n-----END ${RSA_PEM_LABEL}-----`);
  if (endAt < 0) {
    return err(problem(KeyErrorCode.TRUNCATED, `truncated: no "-----END ${RSA_PEM_LABEL}-----" line`));
  }
  const b64 = body.slice(0, Math.max(0, endAt - 1));
  const der = /^[A-Za-z0-9+/=\s]*$/.test(b64) ? fromBase64(b64) : undefined;
  if (!der || der.length === 0) {
    return err(problem(KeyErrorCode.MALFORMED, 'PEM body is not valid base64'));
  }
  const key = RsaPrivateKey.fromDer(der);
  if (!key) return err(problem(KeyErrorCode.MALFORMED, 'PEM body is not a PKCS#1 RSA private key'));
  if (key.modulusBits !== RSA_KEY_BITS || key.publicKey.exponent !== RSA_EXPONENT) {
    return err(
      problem(
        KeyErrorCode.MALFORMED,
        `RSA key is ${key.modulusBits} bits with exponent ${key.publicKey.exponent}; tor keys are ${RSA_KEY_BITS} bits with exponent ${RSA_EXPONENT}`,
      ),
    );
  }
  return ok(key);
}

// ---- Ed25519 ---------------------------------------------------------------

export function encodeEd25519SecretKeyFile(key: Ed25519SigningKey, tag: string): Uint8Array {
  return encodeTaggedFile(TaggedType.ED25519_SECRET, tag, key.expandedSecret);
}

export function decodeEd25519SecretKeyFile(
  bytes: Uint8Array,
  tag: string,
): Result<Ed25519SigningKey, KeyFileProblem> {
  const body = decodeFixedTaggedFile(bytes, TaggedType.ED25519_SECRET, tag, ED25519_EXPANDED_SECRET_LEN);
  if (!body.ok) return body;
  return ok(Ed25519SigningKey.fromExpanded(body.value));
}

export function encodeEd25519PublicKeyFile(publicKey: Uint8Array, tag: string): Uint8Array {
  return encodeTaggedFile(TaggedType.ED25519_PUBLIC, tag, publicKey);
}

export function decodeEd25519PublicKeyFile(
  bytes: Uint8Array,
  tag: string,
): Result<Uint8Array, KeyFileProblem> {
  const body = decodeFixedTaggedFile(bytes, TaggedType.ED25519_PUBLIC, tag, ED25519_PUBLIC_LEN);
  if (!body.ok) return body;
  if (!isValidEd25519Point(body.value)) {
    return err(problem(KeyErrorCode.MALFORMED, 'the 32 key bytes are not an Ed25519 public key'));
  }
  return ok(body.value);
}

// ---- Curve25519 (ntor onion keys) -----------------------------------------

export function encodeCurve25519KeypairFile(keypair: X25519Keypair, tag: string): Uint8Array {
  const body = new Uint8Array(2 * CURVE25519_KEY_LEN);
  body.set(keypair.secretKey, 0);
  body.set(keypair.publicKey, CURVE25519_KEY_LEN);
  return encodeTaggedFile(TaggedType.CURVE25519_KEYPAIR, tag, body);
}

export function decodeCurve25519KeypairFile(
  bytes: Uint8Array,
  tag: string,
): Result<X25519Keypair, KeyFileProblem> {
  const body = decodeFixedTaggedFile(bytes, TaggedType.CURVE25519_KEYPAIR, tag, 2 * CURVE25519_KEY_LEN);
  if (!body.ok) return body;
  const secretKey = body.value.slice(0, CURVE25519_KEY_LEN);
  const publicKey = body.value.slice(CURVE25519_KEY_LEN);
  const derived = x25519PublicFromSecret(secretKey);
  if (!derived.every((b, i) => b === publicKey[i])) {
    return err(problem(KeyErrorCode.MISMATCH, 'the stored public key does not match the secret key'));
  }
  return ok({ secretKey, publicKey });
}

/**
 * Clamps a Curve25519 secret the way tor's curve25519_secret_key_generate
 * does before storing it, so our files carry the same bit pattern as tor's.
 */
export function clampCurve25519Secret(secret: Uint8Array): Uint8Array {
  const out = Uint8Array.from(secret);
  out[0]! &= 248;
  out[31]! &= 127;
  out[31]! |= 64;
  return out;
}
