/**
 * Tor's compact Ed25519 certificates (cert-spec 2.1, C tor torcert.c,
 * ed25519_cert.trunnel): encoding, total parsing, and the checks of one
 * certificate on its own (signature, expiry, critical extensions). Which
 * certificate must be signed by which key is the business of the chain
 * checks (certs-chain.ts) and their callers.
 *
 * Layout (cert-spec 2.1):
 *   VERSION [1] = 01 | CERT_TYPE [1] | EXPIRATION_DATE [4] (hours since the epoch)
 *   CERT_KEY_TYPE [1] | CERTIFIED_KEY [32] | N_EXTENSIONS [1]
 *   N_EXTENSIONS x (ExtLength [2] | ExtType [1] | ExtFlags [1] | ExtData [ExtLength])
 *   SIGNATURE [64]: Ed25519 over all preceding bytes.
 */
import { ByteWriter, bytesEqual, type DecodeError, decodeWith, err, ok, type Result } from '@relayd/common';
import { type Ed25519SigningKey, ed25519Verify } from '@relayd/crypto';
import { CertError } from './cert-error.js';
import {
  CertifiedKeyType,
  Ed25519CertExtensionType,
  Ed25519CertType,
  EXTENSION_FLAG_AFFECTS_VALIDATION,
} from './cert-types.js';

/** VERSION field value (cert-spec 2.1). */
const CERT_VERSION = 0x01;
const KEY_LENGTH = 32;
const SIGNATURE_LENGTH = 64;
const HOUR_MS = 3_600_000;

export interface Ed25519CertExtension {
  readonly type: number;
  readonly flags: number;
  readonly data: Uint8Array;
}

/** A parsed (not yet checked) Ed25519 certificate. */
export interface Ed25519Cert {
  readonly certType: number;
  /** EXPIRATION_DATE: hours since the epoch after which the certificate is invalid. */
  readonly expirationHours: number;
  readonly certifiedKeyType: number;
  /** CERTIFIED_KEY: an Ed25519 key or a SHA-256 digest, 32 bytes. */
  readonly certifiedKey: Uint8Array;
  /** Every extension, in order, including the signed-with-ed25519-key one. */
  readonly extensions: readonly Ed25519CertExtension[];
  /** The key of the signed-with-ed25519-key extension (type 04), if present. */
  readonly signingKey: Uint8Array | undefined;
  readonly signature: Uint8Array;
  /** The whole certificate as encoded (and as signed, less the last 64 bytes). */
  readonly encoded: Uint8Array;
}

export interface CreateEd25519CertOptions {
  readonly certType: number;
  /**
   * CERT_KEY_TYPE. Defaults to SHA256_OF_X509 for SIGNING_V_TLS_CERT
   * certificates and to ED25519 for every other type.
   */
  readonly certifiedKeyType?: number;
  /** 32 bytes. */
  readonly certifiedKey: Uint8Array;
  /** Hours since the epoch; see `expirationHoursAfter`. */
  readonly expirationHours: number;
  readonly signer: Ed25519SigningKey;
  /** Adds the signed-with-ed25519-key extension (C tor CERT_FLAG_INCLUDE_SIGNING_KEY). */
  readonly includeSigningKey: boolean;
  /** Further extensions, written after the signing-key one. */
  readonly extraExtensions?: readonly Ed25519CertExtension[];
}

/**
 * The EXPIRATION_DATE C tor writes for a certificate that must stay valid
 * for `lifetimeSeconds` after `nowMs`: the hour rounded up
 * (torcert.c `CEIL_DIV(now + lifetime, 3600)`).
 */
export function expirationHoursAfter(nowMs: number, lifetimeSeconds: number): number {
  return Math.ceil((Math.floor(nowMs / 1000) + lifetimeSeconds) / 3600);
}

function defaultCertifiedKeyType(certType: number): number {
  return certType === Ed25519CertType.SIGNING_V_TLS_CERT
    ? CertifiedKeyType.SHA256_OF_X509
    : CertifiedKeyType.ED25519;
}

/** Encodes and signs an Ed25519 certificate. Bad arguments are programming errors and throw. */
export function createEd25519Cert(opts: CreateEd25519CertOptions): Uint8Array {
  if (opts.certifiedKey.length !== KEY_LENGTH) {
    throw new RangeError(`certified key must be 32 bytes, got ${opts.certifiedKey.length}`);
  }
  const extensions: Ed25519CertExtension[] = [];
  if (opts.includeSigningKey) {
    extensions.push({
      type: Ed25519CertExtensionType.SIGNED_WITH_ED25519_KEY,
      flags: 0,
      data: opts.signer.publicKey,
    });
  }
  extensions.push(...(opts.extraExtensions ?? []));

  const w = new ByteWriter(256)
    .u8(CERT_VERSION)
    .u8(opts.certType)
    .u32(opts.expirationHours)
    .u8(opts.certifiedKeyType ?? defaultCertifiedKeyType(opts.certType))
    .bytes(opts.certifiedKey)
    .u8(extensions.length);
  for (const ext of extensions) {
    w.u16(ext.data.length).u8(ext.type).u8(ext.flags).bytes(ext.data);
  }
  const body = w.finish();
  const signature = opts.signer.sign(body);
  const out = new Uint8Array(body.length + SIGNATURE_LENGTH);
  out.set(body, 0);
  out.set(signature, body.length);
  return out;
}

/**
 * Parses an Ed25519 certificate. Total: any input gives a certificate or a
 * DecodeError. Refused as malformed, like C tor's `tor_cert_parse`: a version
 * other than 1, a truncated extension, a signed-with-ed25519-key extension
 * whose data is not 32 bytes or that appears twice, and trailing bytes.
 * Unknown extensions, even critical ones, parse; `checkEd25519Cert` refuses
 * the critical ones.
 */
export function parseEd25519Cert(bytes: Uint8Array): Result<Ed25519Cert, DecodeError> {
  return decodeWith(bytes, 'Ed25519 certificate', (r) => {
    const version = r.u8('version');
    if (version !== CERT_VERSION) r.fail(`unrecognized version ${version}`);
    const certType = r.u8('cert type');
    const expirationHours = r.u32('expiration date');
    const certifiedKeyType = r.u8('certified key type');
    const certifiedKey = r.take(KEY_LENGTH, 'certified key').slice();
    const count = r.u8('number of extensions');
    const extensions: Ed25519CertExtension[] = [];
    let signingKey: Uint8Array | undefined;
    for (let i = 0; i < count; i++) {
      const length = r.u16('extension length');
      const type = r.u8('extension type');
      const flags = r.u8('extension flags');
      const data = r.take(length, 'extension data').slice();
      if (type === Ed25519CertExtensionType.SIGNED_WITH_ED25519_KEY) {
        if (length !== KEY_LENGTH) r.fail(`signed-with-ed25519-key extension of ${length} bytes`);
        if (signingKey) r.fail('two signed-with-ed25519-key extensions');
        signingKey = data;
      }
      extensions.push({ type, flags, data });
    }
    const signature = r.take(SIGNATURE_LENGTH, 'signature').slice();
    r.expectExhausted();
    return {
      certType,
      expirationHours,
      certifiedKeyType,
      certifiedKey,
      extensions,
      signingKey,
      signature,
      encoded: Uint8Array.from(bytes),
    };
  });
}

/** The time (ms since the epoch) after which the certificate is expired. */
export function ed25519CertExpiresAtMs(cert: Pick<Ed25519Cert, 'expirationHours'>): number {
  return cert.expirationHours * HOUR_MS;
}

export interface CheckEd25519CertOptions {
  /**
   * The key that must have signed the certificate. When absent, the key of
   * the signed-with-ed25519-key extension is used. When both are present
   * they must agree (cert-spec 2.2.1: the extension "MUST match").
   */
  readonly signingKey?: Uint8Array;
  /** The current time; the certificate is expired once this passes EXPIRATION_DATE. */
  readonly nowMs: number;
  /** When given, the certificate's CERT_TYPE must be this. */
  readonly certType?: number;
}

/**
 * Checks one certificate: its type (when asked), that it has no unknown
 * critical extension, that it is signed by the right key, and that it has
 * not expired. The signature is checked before the expiry, so a forged
 * certificate reports BAD_SIGNATURE whatever its date.
 */
export function checkEd25519Cert(cert: Ed25519Cert, opts: CheckEd25519CertOptions): Result<void, CertError> {
  if (opts.certType !== undefined && cert.certType !== opts.certType) {
    return err(
      new CertError('WRONG_TYPE', `Ed25519 certificate has type ${cert.certType}, expected ${opts.certType}`),
    );
  }
  for (const ext of cert.extensions) {
    if (ext.type === Ed25519CertExtensionType.SIGNED_WITH_ED25519_KEY) continue;
    if (ext.flags & EXTENSION_FLAG_AFFECTS_VALIDATION) {
      return err(
        new CertError(
          'UNKNOWN_CRITICAL_EXTENSION',
          `Ed25519 certificate has unknown extension ${ext.type} flagged as affecting validation`,
        ),
      );
    }
  }
  const key = opts.signingKey ?? cert.signingKey;
  if (!key) {
    return err(new CertError('MISSING_SIGNING_KEY', 'Ed25519 certificate names no signing key'));
  }
  if (opts.signingKey && cert.signingKey && !bytesEqual(opts.signingKey, cert.signingKey)) {
    return err(new CertError('KEY_MISMATCH', 'Ed25519 certificate names a different signing key'));
  }
  const signedLength = cert.encoded.length - SIGNATURE_LENGTH;
  if (!ed25519Verify(key, cert.encoded.subarray(0, signedLength), cert.signature)) {
    return err(
      new CertError('BAD_SIGNATURE', `Ed25519 certificate of type ${cert.certType} is badly signed`),
    );
  }
  if (Math.floor(opts.nowMs / 1000) > cert.expirationHours * 3600) {
    return err(
      new CertError(
        'EXPIRED',
        `Ed25519 certificate of type ${cert.certType} expired at ${new Date(ed25519CertExpiresAtMs(cert)).toISOString()}`,
      ),
    );
  }
  return ok(undefined);
}
