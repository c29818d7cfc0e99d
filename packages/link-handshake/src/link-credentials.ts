/**
 * What this relay proves about itself in a link handshake: the contents of
 * its CERTS cell as responder (types 1, 2, 4, 5, 7) or as an authenticating
 * initiator (types 2, 4, 6, 7, and optionally 3), built from key material.
 *
 * The certificates that depend on the TLS link certificate (types 1 and 5)
 * are per TLS context: a relay rotates its TLS key every two hours
 * (C tor MAX_SSL_KEY_LIFETIME_INTERNAL), and a connection must be answered
 * with the credentials of the context its TLS handshake used, or the peer's
 * type 5 check fails. Lifetimes follow C tor (routerkeys.c):
 * - type 5 (signing key -> TLS certificate digest): TestingLinkCertLifetime, 2 days;
 * - type 6 (signing key -> AUTHENTICATE key): TestingAuthKeyLifetime, 2 days;
 * - type 7 (RSA -> Ed25519 cross-certificate): 6 months (`load_ed_keys`).
 */
import {
  type CertsCellEntry,
  createEd25519Cert,
  createRsaEd25519Crosscert,
  Ed25519CertType,
  ed25519CertExpiresAtMs,
  expirationHoursAfter,
  initiatorCertsEntries,
  parseEd25519Cert,
  responderCertsEntries,
} from '@relayd/certs';
import { bytesEqual, InternalError } from '@relayd/common';
import {
  type Ed25519SigningKey,
  parseX509Certificate,
  type RsaPrivateKey,
  type RsaPublicKey,
  sha256,
} from '@relayd/crypto';

/** C tor TestingLinkCertLifetime: lifetime of the type 5 certificate. */
export const TLS_LINK_CERT_LIFETIME_SECONDS = 2 * 24 * 60 * 60;
/** C tor TestingAuthKeyLifetime: lifetime of the AUTHENTICATE key and its type 6 certificate. */
export const AUTH_KEY_CERT_LIFETIME_SECONDS = 2 * 24 * 60 * 60;
/** C tor load_ed_keys: the RSA->Ed25519 cross-certificate is made for six months. */
export const RSA_ED25519_CROSSCERT_LIFETIME_SECONDS = 6 * 30 * 24 * 60 * 60;

/** The long-lived key material both roles start from. */
export interface RelayLinkKeys {
  /** RSA-1024 identity: its SHA-1 digest is the fingerprint. */
  readonly rsaIdentity: RsaPrivateKey;
  /** Ed25519 master identity public key (32 bytes). */
  readonly ed25519Identity: Uint8Array;
  /** The medium-term Ed25519 signing key. */
  readonly signingKey: Ed25519SigningKey;
  /** The type 4 certificate (identity -> signing key, with the signed-with-key extension). */
  readonly signingCert: Uint8Array;
  /** DER of the self-signed X.509 RSA identity certificate (type 2). */
  readonly identityCertificate: Uint8Array;
}

/** A responder's proof of identity for connections that used one TLS context. */
export interface ResponderCredentials {
  /** The CERTS cell entries, in C tor's order (1, 2, 4, 5, 7). */
  readonly certs: readonly CertsCellEntry[];
  /** DER of the TLS link certificate these credentials belong to (AUTHENTICATE's SCERT). */
  readonly tlsCertificate: Uint8Array;
  readonly rsaIdentityKey: RsaPublicKey;
  readonly ed25519Identity: Uint8Array;
  /** The earliest expiry of anything in `certs`: renew before this. */
  readonly expiresMs: number;
}

/** An authenticating initiator's proof of identity. */
export interface InitiatorCredentials {
  /** The CERTS cell entries, in C tor's order (3 if given, 2, 4, 6, 7). */
  readonly certs: readonly CertsCellEntry[];
  readonly rsaIdentityKey: RsaPublicKey;
  readonly ed25519Identity: Uint8Array;
  /** The key certified by the type 6 certificate; signs AUTHENTICATE. */
  readonly authenticationKey: Ed25519SigningKey;
  readonly expiresMs: number;
}

function checkKeys(keys: RelayLinkKeys): number {
  if (keys.ed25519Identity.length !== 32) throw new InternalError('Ed25519 identity must be 32 bytes');
  const signing = parseEd25519Cert(keys.signingCert);
  if (!signing.ok || signing.value.certType !== Ed25519CertType.IDENTITY_V_SIGNING) {
    throw new InternalError('the signing certificate is not a type 4 Ed25519 certificate');
  }
  if (!bytesEqual(signing.value.certifiedKey, keys.signingKey.publicKey)) {
    throw new InternalError('the signing certificate certifies another key than the signing key');
  }
  if (!signing.value.signingKey || !bytesEqual(signing.value.signingKey, keys.ed25519Identity)) {
    throw new InternalError('the signing certificate was not made by the Ed25519 identity');
  }
  const identity = parseX509Certificate(keys.identityCertificate);
  if (!identity || !bytesEqual(identity.subjectPublicKey.der, keys.rsaIdentity.publicKey.der)) {
    throw new InternalError('the identity certificate does not certify the RSA identity key');
  }
  return Math.min(ed25519CertExpiresAtMs(signing.value), identity.notAfter.getTime());
}

function crosscert(keys: RelayLinkKeys, nowMs: number): { cert: Uint8Array; expiresMs: number } {
  const expirationHours = expirationHoursAfter(nowMs, RSA_ED25519_CROSSCERT_LIFETIME_SECONDS);
  return {
    cert: createRsaEd25519Crosscert({
      ed25519Identity: keys.ed25519Identity,
      expirationHours,
      rsaIdentity: keys.rsaIdentity,
    }),
    expiresMs: expirationHours * 3_600_000,
  };
}

export interface ResponderCredentialsOptions extends RelayLinkKeys {
  /** DER of the TLS link certificate (signed by the RSA identity): type 1, and what type 5 certifies. */
  readonly linkCertificate: Uint8Array;
  readonly nowMs: number;
}

/**
 * Builds a responder's CERTS contents for one TLS link certificate: type 1
 * is the certificate itself, type 5 certifies its SHA-256 digest with the
 * signing key, type 7 is a fresh RSA->Ed25519 cross-certificate. Pure apart
 * from the signatures; a key set that does not fit together is a caller bug
 * (InternalError).
 */
export function buildResponderCredentials(opts: ResponderCredentialsOptions): ResponderCredentials {
  const keysExpireMs = checkKeys(opts);
  const link = parseX509Certificate(opts.linkCertificate);
  if (!link?.isSignedBy(opts.rsaIdentity.publicKey)) {
    throw new InternalError('the TLS link certificate is not signed by the RSA identity');
  }
  const linkExpirationHours = expirationHoursAfter(opts.nowMs, TLS_LINK_CERT_LIFETIME_SECONDS);
  const tlsLinkCertificate = createEd25519Cert({
    certType: Ed25519CertType.SIGNING_V_TLS_CERT,
    certifiedKey: sha256(opts.linkCertificate),
    expirationHours: linkExpirationHours,
    signer: opts.signingKey,
    // C tor makes the type 5 certificate without the signing-key extension.
    includeSigningKey: false,
  });
  const cross = crosscert(opts, opts.nowMs);
  return Object.freeze({
    certs: Object.freeze(
      responderCertsEntries({
        rsaLinkCertificate: opts.linkCertificate,
        rsaIdentityCertificate: opts.identityCertificate,
        signingKeyCertificate: opts.signingCert,
        tlsLinkCertificate,
        rsaEd25519Crosscert: cross.cert,
      }),
    ),
    tlsCertificate: Uint8Array.from(opts.linkCertificate),
    rsaIdentityKey: opts.rsaIdentity.publicKey,
    ed25519Identity: Uint8Array.from(opts.ed25519Identity),
    expiresMs: Math.min(
      keysExpireMs,
      link.notAfter.getTime(),
      linkExpirationHours * 3_600_000,
      cross.expiresMs,
    ),
  });
}

export interface InitiatorCredentialsOptions extends RelayLinkKeys {
  /** The AUTHENTICATE key (C tor makes a fresh one every two days). */
  readonly authenticationKey: Ed25519SigningKey;
  /** DER X.509 RSA AUTHENTICATE certificate (type 3). C tor sends one; Ed25519-capable peers ignore it. */
  readonly rsaAuthenticateCertificate?: Uint8Array;
  readonly nowMs: number;
}

/** Builds an authenticating initiator's CERTS contents (tor-spec 4.2, 4.4.2). */
export function buildInitiatorCredentials(opts: InitiatorCredentialsOptions): InitiatorCredentials {
  const keysExpireMs = checkKeys(opts);
  const authExpirationHours = expirationHoursAfter(opts.nowMs, AUTH_KEY_CERT_LIFETIME_SECONDS);
  const authenticateKeyCertificate = createEd25519Cert({
    certType: Ed25519CertType.SIGNING_V_LINK_AUTH,
    certifiedKey: opts.authenticationKey.publicKey,
    expirationHours: authExpirationHours,
    signer: opts.signingKey,
    includeSigningKey: false,
  });
  const cross = crosscert(opts, opts.nowMs);
  const certs = initiatorCertsEntries({
    ...(opts.rsaAuthenticateCertificate
      ? { rsaAuthenticateCertificate: opts.rsaAuthenticateCertificate }
      : {}),
    rsaIdentityCertificate: opts.identityCertificate,
    signingKeyCertificate: opts.signingCert,
    authenticateKeyCertificate,
    rsaEd25519Crosscert: cross.cert,
  });
  return Object.freeze({
    certs: Object.freeze(certs),
    rsaIdentityKey: opts.rsaIdentity.publicKey,
    ed25519Identity: Uint8Array.from(opts.ed25519Identity),
    authenticationKey: opts.authenticationKey,
    expiresMs: Math.min(keysExpireMs, authExpirationHours * 3_600_000, cross.expiresMs),
  });
}
