/**
 * CERTS cell body (tor-spec 4.2): a list of (certificate type, bytes).
 *
 * This is only the container. Parsing X.509 and Ed25519 certificates and
 * checking the rules of 4.2 (one of each type, signatures, expiry) belong to
 * the certificate and link-handshake code.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { InternalError } from '@relayd/common';

/** CertType values of a CERTS cell (tor-spec 4.2). */
export const CertsCellCertType = {
  /** Link key certificate certified by RSA1024 identity (X.509). */
  RSA_LINK: 1,
  /** RSA1024 identity certificate, self-signed (X.509). */
  RSA_IDENTITY: 2,
  /** RSA1024 AUTHENTICATE cell link certificate, signed with RSA1024 key (X.509). */
  RSA_AUTHENTICATE: 3,
  /** Ed25519 signing key, signed with identity key (cert-spec). */
  ED25519_SIGNING: 4,
  /** TLS link certificate, signed with ed25519 signing key (cert-spec). */
  ED25519_LINK: 5,
  /** Ed25519 AUTHENTICATE cell key, signed with ed25519 signing key (cert-spec). */
  ED25519_AUTHENTICATE: 6,
  /** Ed25519 identity, signed with RSA identity (cert-spec, RSA cross-certificate format). */
  RSA_ED25519_CROSSCERT: 7,
} as const;

export interface CertsCellEntry {
  readonly certType: number;
  /** The certificate exactly as sent. */
  readonly body: Uint8Array;
}

export interface CertsMessage {
  readonly type: 'certs';
  /** In the order sent; duplicates are kept so the verifier can reject them. */
  readonly certs: readonly CertsCellEntry[];
}

export function readCerts(r: ByteReader): CertsMessage {
  const n = r.u8('number of certs');
  const certs: CertsCellEntry[] = [];
  for (let i = 0; i < n; i++) {
    const certType = r.u8('cert type');
    const length = r.u16('cert length');
    certs.push({ certType, body: r.take(length, 'certificate').slice() });
  }
  // "Any extra octets at the end of a CERTS cell MUST be ignored."
  return { type: 'certs', certs };
}

export function writeCerts(w: ByteWriter, message: CertsMessage): void {
  if (message.certs.length > 0xff) throw new InternalError(`too many certificates: ${message.certs.length}`);
  w.u8(message.certs.length);
  for (const cert of message.certs) {
    w.u8(cert.certType);
    w.nested16((inner) => inner.bytes(cert.body));
  }
}
