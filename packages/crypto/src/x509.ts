/**
 * The X.509 certificates of a relay's link (tor-spec 2, 4.2): the
 * self-signed RSA identity certificate (CERTS type 2) and the TLS link
 * certificate (CERTS type 1, also the certificate TLS itself presents),
 * signed by the identity key.
 *
 * Only the certificate *structure* is built with node-forge. Key generation
 * and the RSA signature over the TBSCertificate are native (node:crypto), and
 * parsing and signature checks of peer certificates go through OpenSSL
 * (`X509Certificate`), as C tor's x509_openssl.c does; node-forge only reads
 * the validity window of a certificate OpenSSL has already accepted.
 *
 * What C tor puts in these certificates (tortls.c
 * `tor_tls_context_init_certificates`, x509_openssl.c
 * `tor_tls_create_certificate`, x509.c `tor_tls_pick_certificate_lifetime`),
 * reproduced here so relayd's link looks like tor's:
 * - X.509 v3, no extensions, sha256WithRSAEncryption, an 8-byte random serial;
 * - subject and issuer are a bare commonName: random "www.<8-20 base32>.net"
 *   for the link certificate, "www.<...>.com" for the identity (issuer) name;
 * - identity certificate lifetime 365 days; link certificate lifetime random
 *   between 5 and 365 days, rounded to a day and half the time one second
 *   short (router.c `router_initialize_tls_context`);
 * - the validity starts on a day boundary some random time in the past, so
 *   that the certificate is part-way through its life.
 * - the link key is a fresh RSA-2048 key (`RSA_LINK_KEY_BITS`); the identity is RSA-1024.
 */
import { X509Certificate as NodeX509Certificate, sign } from 'node:crypto';
import { bytesEqual, type Random } from '@relayd/common';
import forge from 'node-forge';
import { sha256 } from './hash.js';
import { secureRandom } from './random.js';
import { RsaPrivateKey, RsaPublicKey } from './rsa.js';

/** tortls.c RSA_LINK_KEY_BITS. */
export const LINK_KEY_BITS = 2048;
/** tortls.c IDENTITY_CERT_LIFETIME: 365 days, in seconds. */
export const IDENTITY_CERT_LIFETIME_SECONDS = 365 * 24 * 60 * 60;
/** x509_internal.h TOR_X509_PAST_SLOP: how long after notAfter a certificate is still accepted. */
export const X509_PAST_SLOP_MS = 2 * 24 * 60 * 60 * 1000;
/** x509_internal.h TOR_X509_FUTURE_SLOP: how long before notBefore a certificate is already accepted. */
export const X509_FUTURE_SLOP_MS = 30 * 24 * 60 * 60 * 1000;

const DAY_SECONDS = 24 * 60 * 60;
const SHA256_WITH_RSA_OID = forge.pki.oids['sha256WithRSAEncryption']!;
// Present in node-forge (x509.js) but missing from @types/node-forge.
const getTbsCertificate = (
  forge.pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 }
).getTBSCertificate;

export interface X509CertificateOptions {
  /** The key the certificate certifies. */
  readonly subjectKey: RsaPublicKey;
  /** The key that signs it (the subject's own private key for a self-signed certificate). */
  readonly issuerKey: RsaPrivateKey;
  readonly subjectCommonName: string;
  readonly issuerCommonName: string;
  /** Start of validity, milliseconds since the epoch (whole seconds are kept). */
  readonly notBeforeMs: number;
  /** End of validity, milliseconds since the epoch (whole seconds are kept). */
  readonly notAfterMs: number;
  /** The serial number, big-endian unsigned bytes (tor uses 8 random bytes). */
  readonly serialNumber: Uint8Array;
}

/** A parsed, RSA-keyed X.509 certificate. */
export interface X509Info {
  /** The exact DER bytes (as sent in CERTS cells and by TLS). */
  readonly der: Uint8Array;
  /** SHA-256 of `der`: what a type-5 Ed25519 certificate certifies and AUTHENTICATE's SCERT. */
  readonly sha256: Uint8Array;
  readonly subjectPublicKey: RsaPublicKey;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** True iff OpenSSL verifies this certificate's signature under `key`. */
  isSignedBy(key: RsaPublicKey): boolean;
  /**
   * True iff `nowMs` lies in the validity window widened by tor's slop
   * (x509_openssl.c `tor_x509_check_cert_lifetime_internal`).
   */
  isLiveAt(nowMs: number, pastSlopMs?: number, futureSlopMs?: number): boolean;
  /** PEM "CERTIFICATE" block, as node:tls takes it. */
  toPem(): string;
}

function binaryString(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}

function bytesOfBinaryString(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/** DER INTEGER content of an unsigned big-endian number: minimal, with a 0x00 when the top bit is set. */
function positiveIntegerContent(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.length === 0 ? new Uint8Array(1) : bytes.subarray(start);
  if (trimmed[0]! & 0x80) {
    const out = new Uint8Array(trimmed.length + 1);
    out.set(trimmed, 1);
    return out;
  }
  return Uint8Array.from(trimmed);
}

function forgePublicKey(key: RsaPublicKey): forge.pki.PublicKey {
  const spki = key.keyObject().export({ format: 'der', type: 'spki' });
  return forge.pki.publicKeyFromAsn1(forge.asn1.fromDer(binaryString(spki)));
}

/**
 * Builds and signs an X.509 v3 certificate (sha256WithRSAEncryption, no
 * extensions, commonName-only names) and returns its DER encoding.
 */
export function createX509Certificate(opts: X509CertificateOptions): Uint8Array {
  const cert = forge.pki.createCertificate();
  cert.version = 2;
  cert.serialNumber = Buffer.from(positiveIntegerContent(opts.serialNumber)).toString('hex');
  cert.validity.notBefore = new Date(Math.floor(opts.notBeforeMs / 1000) * 1000);
  cert.validity.notAfter = new Date(Math.floor(opts.notAfterMs / 1000) * 1000);
  cert.setSubject([{ name: 'commonName', value: opts.subjectCommonName }]);
  cert.setIssuer([{ name: 'commonName', value: opts.issuerCommonName }]);
  cert.publicKey = forgePublicKey(opts.subjectKey);
  cert.siginfo.algorithmOid = SHA256_WITH_RSA_OID;
  cert.signatureOid = SHA256_WITH_RSA_OID;
  cert.signatureParameters = {};

  const tbs = getTbsCertificate(cert);
  const tbsDer = bytesOfBinaryString(forge.asn1.toDer(tbs).getBytes());
  const signature = sign('sha256', tbsDer, opts.issuerKey.keyObject());
  cert.tbsCertificate = tbs;
  cert.signature = binaryString(signature);
  return bytesOfBinaryString(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes());
}

class ParsedX509 implements X509Info {
  readonly sha256: Uint8Array;

  constructor(
    readonly der: Uint8Array,
    private readonly native: NodeX509Certificate,
    readonly subjectPublicKey: RsaPublicKey,
    readonly notBefore: Date,
    readonly notAfter: Date,
  ) {
    this.sha256 = sha256(der);
  }

  isSignedBy(key: RsaPublicKey): boolean {
    try {
      return this.native.verify(key.keyObject());
    } catch {
      return false;
    }
  }

  isLiveAt(nowMs: number, pastSlopMs = X509_PAST_SLOP_MS, futureSlopMs = X509_FUTURE_SLOP_MS): boolean {
    return this.notBefore.getTime() <= nowMs + futureSlopMs && this.notAfter.getTime() >= nowMs - pastSlopMs;
  }

  toPem(): string {
    return x509DerToPem(this.der);
  }
}

/**
 * Parses a DER X.509 certificate with an RSA subject key. Returns undefined
 * for anything else: undecodable bytes, trailing bytes or a non-DER encoding
 * (tor's `tor_x509_cert_decode` refuses those too), or a non-RSA key. Never throws.
 */
export function parseX509Certificate(der: Uint8Array): X509Info | undefined {
  try {
    const native = new NodeX509Certificate(Buffer.from(der));
    // OpenSSL re-encodes what it parsed: a mismatch means trailing bytes or BER.
    if (!bytesEqual(new Uint8Array(native.raw), der)) return undefined;
    const keyObject = native.publicKey;
    if (keyObject.asymmetricKeyType !== 'rsa') return undefined;
    const subjectPublicKey = RsaPublicKey.fromKeyObject(keyObject);
    const parsed = forge.pki.certificateFromAsn1(forge.asn1.fromDer(binaryString(der)), false);
    const { notBefore, notAfter } = parsed.validity;
    if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) return undefined;
    return new ParsedX509(Uint8Array.from(der), native, subjectPublicKey, notBefore, notAfter);
  } catch {
    return undefined;
  }
}

/** Wraps DER certificate bytes in a PEM "CERTIFICATE" block. */
export function x509DerToPem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** A uniform integer in [min, max) from `random`, by rejection sampling. */
function randomIntInRange(random: Random, min: number, max: number): number {
  const span = max - min;
  if (!Number.isInteger(span) || span <= 0 || span > 0x100000000) {
    throw new RangeError(`bad random range [${min}, ${max})`);
  }
  const limit = Math.floor(0x100000000 / span) * span;
  for (;;) {
    const b = random.bytes(4);
    const v = ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
    if (v < limit) return min + (v % span);
  }
}

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A random hostname like C tor's `crypto_random_hostname(8, 20, "www.", suffix)`:
 * "www." + 8 to 20 lowercase base32 characters + suffix.
 */
export function randomTlsHostname(suffix: string, random: Random = secureRandom): string {
  const length = randomIntInRange(random, 8, 21);
  const bytes = random.bytes(length);
  let label = '';
  for (const b of bytes) label += BASE32_ALPHABET[b & 31];
  return `www.${label}${suffix}`;
}

/**
 * The lifetime C tor picks for its link certificate when SSLKeyLifetime is
 * unset: 5 to 365 days, rounded down to a day, and half the time one second
 * less (router.c `router_initialize_tls_context`). In seconds.
 */
export function pickLinkCertificateLifetime(random: Random = secureRandom): number {
  let lifetime = randomIntInRange(random, 5 * DAY_SECONDS, 365 * DAY_SECONDS);
  lifetime -= lifetime % DAY_SECONDS;
  if (randomIntInRange(random, 0, 2) === 1) lifetime--;
  return lifetime;
}

/**
 * C tor's `tor_tls_pick_certificate_lifetime`: a validity window of
 * `lifetimeSeconds` that starts on a day boundary chosen so that the
 * certificate is already part-way through its life, with at least a day left.
 */
export function pickCertificateValidity(
  nowMs: number,
  lifetimeSeconds: number,
  random: Random = secureRandom,
): { notBeforeMs: number; notAfterMs: number } {
  const now = Math.floor(nowMs / 1000);
  const minRealLifetime = DAY_SECONDS;
  const startGranularity = DAY_SECONDS;
  const earliestStart =
    lifetimeSeconds <= minRealLifetime + startGranularity
      ? now - 1
      : now + minRealLifetime + startGranularity - lifetimeSeconds;
  // crypto_rand_time_range(min, max) is uniform in [min, max).
  let start = earliestStart + randomIntInRange(random, 0, now - earliestStart);
  start -= start % startGranularity;
  return { notBeforeMs: start * 1000, notAfterMs: (start + lifetimeSeconds) * 1000 };
}

/** The X.509 side of a relay's TLS credentials. */
export interface RelayTlsCertificates {
  /** The short-term TLS key (RSA-2048 unless one was supplied). */
  readonly linkKey: RsaPrivateKey;
  /** DER of the link certificate: TLS presents it, CERTS carries it as type 1. */
  readonly linkCertificate: Uint8Array;
  /** DER of the self-signed identity certificate: CERTS type 2. */
  readonly identityCertificate: Uint8Array;
}

export interface RelayTlsCertificatesOptions {
  /** The relay's RSA-1024 identity key. */
  readonly identityKey: RsaPrivateKey;
  readonly nowMs: number;
  readonly random?: Random;
  /** A link key to certify; a fresh RSA-2048 key is generated (natively) when absent. */
  readonly linkKey?: RsaPrivateKey;
  /** Link certificate lifetime in seconds; C tor's random choice when absent. */
  readonly linkLifetimeSeconds?: number;
}

/**
 * Creates the link and identity certificates the way C tor's
 * `tor_tls_context_init_certificates` does (see the module header).
 */
export function createRelayTlsCertificates(opts: RelayTlsCertificatesOptions): RelayTlsCertificates {
  const random = opts.random ?? secureRandom;
  const linkKey = opts.linkKey ?? RsaPrivateKey.generate(LINK_KEY_BITS);
  const linkName = randomTlsHostname('.net', random);
  const identityName = randomTlsHostname('.com', random);
  const linkLifetime = opts.linkLifetimeSeconds ?? pickLinkCertificateLifetime(random);

  const linkValidity = pickCertificateValidity(opts.nowMs, linkLifetime, random);
  const linkCertificate = createX509Certificate({
    subjectKey: linkKey.publicKey,
    issuerKey: opts.identityKey,
    subjectCommonName: linkName,
    issuerCommonName: identityName,
    ...linkValidity,
    serialNumber: random.bytes(8),
  });

  const identityValidity = pickCertificateValidity(opts.nowMs, IDENTITY_CERT_LIFETIME_SECONDS, random);
  const identityCertificate = createX509Certificate({
    subjectKey: opts.identityKey.publicKey,
    issuerKey: opts.identityKey,
    subjectCommonName: identityName,
    issuerCommonName: identityName,
    ...identityValidity,
    serialNumber: random.bytes(8),
  });

  return { linkKey, linkCertificate, identityCertificate };
}
