/**
 * Number tables of the certificate formats: Ed25519 certificate types,
 * certified key types and extensions (cert-spec A.1, A.2, A.4). The CertType
 * slots of a CERTS cell (tor-spec 4.2) are the cell format's table, re-exported.
 */

/** CERT_TYPE of an Ed25519 certificate (cert-spec A.1). Types 0-3 and 7 are reserved for X.509 / RSA formats. */
export const Ed25519CertType = {
  /** [04] Ed25519 signing key, signed with the identity key (CERTS type 4). */
  IDENTITY_V_SIGNING: 0x04,
  /** [05] SHA-256 of the TLS link certificate, signed with the signing key (CERTS type 5). */
  SIGNING_V_TLS_CERT: 0x05,
  /** [06] Ed25519 AUTHENTICATE key, signed with the signing key (CERTS type 6). */
  SIGNING_V_LINK_AUTH: 0x06,
  /** [08] Onion service short-term descriptor signing key, signed with the blinded key. */
  HS_V2_DESC_SIGNING: 0x08,
  /** [09] Onion service intro point authentication key, cross-certifying the descriptor signing key. */
  HS_IP_V_SIGNING: 0x09,
  /** [0A] ntor onion key cross-certifying the Ed25519 identity (descriptor `ntor-onion-key-crosscert`). */
  NTOR_CC_IDENTITY: 0x0a,
  /** [0B] Onion service ntor-extra encryption key, cross-certifying the descriptor signing key. */
  HS_IP_CC_SIGNING: 0x0b,
} as const;

/**
 * CERT_KEY_TYPE: what CERTIFIED_KEY holds (cert-spec A.4; C tor torcert.h
 * SIGNED_KEY_TYPE_*). Tor before 0.4.5.1-alpha wrote 01 for every type,
 * so readers infer the real type from CERT_TYPE and accept 01 anywhere.
 */
export const CertifiedKeyType = {
  /** [01] An Ed25519 public key. */
  ED25519: 0x01,
  /** [02] SHA-256 of an RSA key (not currently used). */
  SHA256_OF_RSA: 0x02,
  /** [03] SHA-256 of a DER X.509 certificate (used with certificate type 5). */
  SHA256_OF_X509: 0x03,
} as const;

/** Extension types (cert-spec A.2). */
export const Ed25519CertExtensionType = {
  /** [04] signed-with-ed25519-key: the 32-byte key that signed the certificate (cert-spec 2.2.1). */
  SIGNED_WITH_ED25519_KEY: 0x04,
} as const;

/** ExtFlags bit: "clients must not accept the certificate as valid unless they understand the extension" (cert-spec 2.1). */
export const EXTENSION_FLAG_AFFECTS_VALIDATION = 0x01;

/**
 * The CertType slots of a CERTS cell (tor-spec 4.2) that the chain checks
 * read: the cell's own table, which @relayd/cells owns with the cell format.
 */
export { CertsCellCertType as CertsSlot, type CertsCellEntry } from '@relayd/cells';
