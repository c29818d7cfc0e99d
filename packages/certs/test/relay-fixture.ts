/**
 * A complete relay key set and its CERTS cells, built with the package's own
 * create functions, for chain and AUTHENTICATE tests.
 */
import {
  createRelayTlsCertificates,
  createX509Certificate,
  Ed25519SigningKey,
  RsaPrivateKey,
  sha256,
} from '@relayd/crypto';
import {
  type CertsCellEntry,
  createEd25519Cert,
  createRsaEd25519Crosscert,
  Ed25519CertType,
  expirationHoursAfter,
  initiatorCertsEntries,
  responderCertsEntries,
} from '../src/index.js';

export const NOW_MS = Date.UTC(2026, 10, 21, 12, 30);

export interface RelayFixture {
  readonly rsaIdentity: RsaPrivateKey;
  readonly edIdentity: Ed25519SigningKey;
  readonly edSigning: Ed25519SigningKey;
  readonly edAuth: Ed25519SigningKey;
  readonly linkKey: RsaPrivateKey;
  /** DER of the TLS certificate (also CERTS type 1). */
  readonly tlsCertificate: Uint8Array;
  readonly identityCertificate: Uint8Array;
  readonly signingKeyCert: Uint8Array;
  readonly tlsLinkCert: Uint8Array;
  readonly authKeyCert: Uint8Array;
  readonly crosscert: Uint8Array;
  readonly responderCerts: CertsCellEntry[];
  readonly initiatorCerts: CertsCellEntry[];
}

let seedCounter = 10;

export function makeRelay(opts: { linkKey?: RsaPrivateKey; rsaIdentity?: RsaPrivateKey } = {}): RelayFixture {
  const rsaIdentity = opts.rsaIdentity ?? RsaPrivateKey.generate(1024);
  const edIdentity = Ed25519SigningKey.fromSeed(new Uint8Array(32).fill(seedCounter++));
  const edSigning = Ed25519SigningKey.fromSeed(new Uint8Array(32).fill(seedCounter++));
  const edAuth = Ed25519SigningKey.fromSeed(new Uint8Array(32).fill(seedCounter++));
  const linkKey = opts.linkKey ?? RsaPrivateKey.generate(1024);
  const tls = createRelayTlsCertificates({ identityKey: rsaIdentity, linkKey, nowMs: NOW_MS });
  const month = expirationHoursAfter(NOW_MS, 30 * 86400);
  const signingKeyCert = createEd25519Cert({
    certType: Ed25519CertType.IDENTITY_V_SIGNING,
    certifiedKey: edSigning.publicKey,
    expirationHours: month,
    signer: edIdentity,
    includeSigningKey: true,
  });
  const tlsLinkCert = createEd25519Cert({
    certType: Ed25519CertType.SIGNING_V_TLS_CERT,
    certifiedKey: sha256(tls.linkCertificate),
    expirationHours: expirationHoursAfter(NOW_MS, 2 * 86400),
    signer: edSigning,
    includeSigningKey: false,
  });
  const authKeyCert = createEd25519Cert({
    certType: Ed25519CertType.SIGNING_V_LINK_AUTH,
    certifiedKey: edAuth.publicKey,
    expirationHours: expirationHoursAfter(NOW_MS, 2 * 86400),
    signer: edSigning,
    includeSigningKey: false,
  });
  const crosscert = createRsaEd25519Crosscert({
    ed25519Identity: edIdentity.publicKey,
    expirationHours: expirationHoursAfter(NOW_MS, 365 * 86400),
    rsaIdentity,
  });
  return {
    rsaIdentity,
    edIdentity,
    edSigning,
    edAuth,
    linkKey,
    tlsCertificate: tls.linkCertificate,
    identityCertificate: tls.identityCertificate,
    signingKeyCert,
    tlsLinkCert,
    authKeyCert,
    crosscert,
    responderCerts: responderCertsEntries({
      rsaLinkCertificate: tls.linkCertificate,
      rsaIdentityCertificate: tls.identityCertificate,
      signingKeyCertificate: signingKeyCert,
      tlsLinkCertificate: tlsLinkCert,
      rsaEd25519Crosscert: crosscert,
    }),
    initiatorCerts: initiatorCertsEntries({
      rsaIdentityCertificate: tls.identityCertificate,
      signingKeyCertificate: signingKeyCert,
      authenticateKeyCertificate: authKeyCert,
      rsaEd25519Crosscert: crosscert,
    }),
  };
}

/** Replaces (or removes, with `body` undefined) the entry of one CertType. */
export function withCert(
  entries: readonly CertsCellEntry[],
  certType: number,
  body: Uint8Array | undefined,
): CertsCellEntry[] {
  const out = entries.filter((e) => e.certType !== certType);
  if (body) out.push({ certType, body });
  return out;
}

/** An X.509 certificate with explicit validity, for expiry tests. */
export function x509With(opts: {
  subject: RsaPrivateKey;
  issuer: RsaPrivateKey;
  notBeforeMs: number;
  notAfterMs: number;
}): Uint8Array {
  return createX509Certificate({
    subjectKey: opts.subject.publicKey,
    issuerKey: opts.issuer,
    subjectCommonName: 'www.example.net',
    issuerCommonName: 'www.example.com',
    notBeforeMs: opts.notBeforeMs,
    notAfterMs: opts.notAfterMs,
    serialNumber: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
  });
}
