/**
 * The certificate-chain rules of a CERTS cell (tor-spec 4.2; C tor
 * channeltls.c `channel_tls_process_certs_cell`, torcert.c
 * `or_handshake_certs_check_both`): given the (CertType, bytes) list of a
 * peer's CERTS cell, decide who the peer is, or why it is not believed.
 *
 * Responder chain (what an initiator checks), Ed25519 form:
 *   2 (X.509 RSA-1024 identity, self-signed) --7--> Ed25519 identity
 *   Ed25519 identity --4--> signing key --5--> SHA-256 of the TLS certificate.
 * Responder chain, RSA-only form (no type 4 present; only pre-0.2.7 relays):
 *   2 --signs--> 1 (X.509 link certificate whose key is the TLS key).
 * Initiator chain (what a responder checks before AUTHENTICATE):
 *   2 --7--> Ed25519 identity --4--> signing key --6--> AUTHENTICATE key.
 *
 * As in C tor, once a type 4 certificate is present the Ed25519 chain must
 * verify (no falling back to RSA-only), unknown CertTypes are ignored, and a
 * repeated CertType refuses the whole cell. Unlike C tor, an undecodable
 * certificate in a slot the chain needs is reported as such rather than as
 * missing, and each Ed25519 certificate's own CERT_TYPE must match its slot.
 */
import { bytesEqual, err, ok, type Result } from '@relayd/common';
import { parseX509Certificate, type RsaPublicKey, sha256, type X509Info } from '@relayd/crypto';
import { CertError } from './cert-error.js';
import { type CertsCellEntry, CertsSlot, Ed25519CertType } from './cert-types.js';
import { checkEd25519Cert, type Ed25519Cert, parseEd25519Cert } from './ed25519-cert.js';
import { checkRsaEd25519Crosscert, parseRsaEd25519Crosscert } from './rsa-crosscert.js';
import {
  type CheckedInitiatorCerts,
  makeCheckedInitiatorCerts,
  makeVerifiedResponder,
  type VerifiedResponderIdentity,
} from './verified-identity.js';

/** "The certified key in the ID certificate is a 1024-bit RSA key." (tor-spec 4.2) */
const RSA_IDENTITY_BITS = 1024;
/** x509_openssl.c `tor_tls_cert_is_valid`: other RSA keys must be at least this long. */
const MIN_RSA_LINK_BITS = 1024;

const HIGHEST_SLOT = CertsSlot.RSA_ED25519_CROSSCERT;

/** Sorts the entries into slots 1-7; a repeated slot is an error, other types are ignored. */
function collectSlots(entries: readonly CertsCellEntry[]): Result<Map<number, Uint8Array>, CertError> {
  const slots = new Map<number, Uint8Array>();
  for (const { certType, body } of entries) {
    if (certType < CertsSlot.RSA_LINK || certType > HIGHEST_SLOT) continue;
    if (slots.has(certType)) {
      return err(
        new CertError('DUPLICATE_CERT', `CERTS cell has two certificates of type ${certType}`, { certType }),
      );
    }
    slots.set(certType, body);
  }
  return ok(slots);
}

function need(slots: Map<number, Uint8Array>, certType: number, what: string): Result<Uint8Array, CertError> {
  const body = slots.get(certType);
  return body
    ? ok(body)
    : err(new CertError('MISSING_CERT', `CERTS cell has no ${what} (type ${certType})`, { certType }));
}

/** Re-labels an error of a single-certificate check with the CERTS slot it came from. */
function inSlot<T>(certType: number, result: Result<T, CertError>): Result<T, CertError> {
  if (result.ok) return result;
  return err(
    new CertError(result.error.code, `CERTS type ${certType}: ${result.error.message}`, {
      certType,
      cause: result.error,
    }),
  );
}

function parseX509InSlot(body: Uint8Array, certType: number): Result<X509Info, CertError> {
  const info = parseX509Certificate(body);
  return info
    ? ok(info)
    : err(
        new CertError('UNDECODABLE_CERT', `CERTS type ${certType} is not an RSA X.509 certificate`, {
          certType,
        }),
      );
}

function parseEd25519InSlot(body: Uint8Array, certType: number): Result<Ed25519Cert, CertError> {
  const parsed = parseEd25519Cert(body);
  return parsed.ok
    ? parsed
    : err(
        new CertError('UNDECODABLE_CERT', `CERTS type ${certType}: ${parsed.error.message}`, {
          certType,
          cause: parsed.error,
        }),
      );
}

/** tor_tls_cert_is_valid: signed by `signer`, and live give or take tor's slop. */
function checkX509(
  info: X509Info,
  signer: RsaPublicKey,
  nowMs: number,
  certType: number,
): Result<void, CertError> {
  if (!info.isSignedBy(signer)) {
    return err(
      new CertError('BAD_SIGNATURE', `CERTS type ${certType} X.509 certificate is badly signed`, {
        certType,
      }),
    );
  }
  if (!info.isLiveAt(nowMs, Number.POSITIVE_INFINITY)) {
    return err(
      new CertError('NOT_YET_VALID', `CERTS type ${certType} X.509 certificate is not yet valid`, {
        certType,
      }),
    );
  }
  if (!info.isLiveAt(nowMs)) {
    return err(
      new CertError('EXPIRED', `CERTS type ${certType} X.509 certificate has expired`, { certType }),
    );
  }
  return ok(undefined);
}

/** The type 2 certificate: an RSA-1024 key, correctly self-signed, live. */
function checkIdentityCertificate(
  slots: Map<number, Uint8Array>,
  nowMs: number,
): Result<RsaPublicKey, CertError> {
  const certType = CertsSlot.RSA_IDENTITY;
  const body = need(slots, certType, 'RSA identity certificate');
  if (!body.ok) return body;
  const info = parseX509InSlot(body.value, certType);
  if (!info.ok) return info;
  const key = info.value.subjectPublicKey;
  if (key.modulusBits !== RSA_IDENTITY_BITS) {
    return err(
      new CertError(
        'BAD_KEY_SIZE',
        `RSA identity key has ${key.modulusBits} bits, not ${RSA_IDENTITY_BITS}`,
        {
          certType,
        },
      ),
    );
  }
  const checked = checkX509(info.value, key, nowMs, certType);
  return checked.ok ? ok(key) : checked;
}

interface Ed25519Chain {
  readonly ed25519Identity: Uint8Array;
  readonly signingKey: Uint8Array;
  /** The certificate in the third slot (5 or 6), signature and expiry checked. */
  readonly leaf: Ed25519Cert;
}

/**
 * The Ed25519 part of a chain: type 4 (carrying its signer, the identity),
 * the leaf (type 5 or 6) signed by the signing key, and the type 7
 * cross-certificate binding the identity to the RSA key.
 */
function checkEd25519Chain(
  slots: Map<number, Uint8Array>,
  rsaIdentityKey: RsaPublicKey,
  leafSlot: number,
  leafType: number,
  nowMs: number,
): Result<Ed25519Chain, CertError> {
  const signingSlot = CertsSlot.ED25519_SIGNING;
  const signingBody = need(slots, signingSlot, 'Ed25519 signing-key certificate');
  if (!signingBody.ok) return signingBody;
  const signingCert = parseEd25519InSlot(signingBody.value, signingSlot);
  if (!signingCert.ok) return signingCert;
  const ed25519Identity = signingCert.value.signingKey;
  if (!ed25519Identity) {
    return err(
      new CertError(
        'MISSING_SIGNING_KEY',
        'CERTS type 4 does not include the Ed25519 identity that signed it',
        {
          certType: signingSlot,
        },
      ),
    );
  }
  const signingChecked = inSlot(
    signingSlot,
    checkEd25519Cert(signingCert.value, { certType: Ed25519CertType.IDENTITY_V_SIGNING, nowMs }),
  );
  if (!signingChecked.ok) return signingChecked;
  const signingKey = signingCert.value.certifiedKey;

  const leafBody = need(slots, leafSlot, 'Ed25519 leaf certificate');
  if (!leafBody.ok) return leafBody;
  const leaf = parseEd25519InSlot(leafBody.value, leafSlot);
  if (!leaf.ok) return leaf;
  const leafChecked = inSlot(
    leafSlot,
    checkEd25519Cert(leaf.value, { certType: leafType, signingKey, nowMs }),
  );
  if (!leafChecked.ok) return leafChecked;

  const crossSlot = CertsSlot.RSA_ED25519_CROSSCERT;
  const crossBody = need(slots, crossSlot, 'RSA->Ed25519 cross-certificate');
  if (!crossBody.ok) return crossBody;
  const cross = parseRsaEd25519Crosscert(crossBody.value);
  if (!cross.ok) {
    return err(
      new CertError('UNDECODABLE_CERT', `CERTS type 7: ${cross.error.message}`, {
        certType: crossSlot,
        cause: cross.error,
      }),
    );
  }
  if (!bytesEqual(cross.value.ed25519Identity, ed25519Identity)) {
    return err(
      new CertError('KEY_MISMATCH', 'RSA->Ed25519 cross-certificate certifies another Ed25519 identity', {
        certType: crossSlot,
      }),
    );
  }
  const crossChecked = inSlot(crossSlot, checkRsaEd25519Crosscert(cross.value, rsaIdentityKey, nowMs));
  if (!crossChecked.ok) return crossChecked;

  return ok({ ed25519Identity: Uint8Array.from(ed25519Identity), signingKey, leaf: leaf.value });
}

/**
 * Verifies a responder's CERTS cell (tor-spec 4.2, "To authenticate the
 * responder"): the initiator's side. `peerTlsCertificate` is the DER
 * certificate the responder presented in the TLS handshake. Returns the
 * proven identity, with `ed25519Identity` undefined when the responder used
 * the RSA-only form.
 */
export function checkResponderCerts(
  entries: readonly CertsCellEntry[],
  peerTlsCertificate: Uint8Array,
  nowMs: number,
): Result<VerifiedResponderIdentity, CertError> {
  const slots = collectSlots(entries);
  if (!slots.ok) return slots;
  const rsaIdentityKey = checkIdentityCertificate(slots.value, nowMs);
  if (!rsaIdentityKey.ok) return rsaIdentityKey;

  if (slots.value.has(CertsSlot.ED25519_SIGNING)) {
    const chain = checkEd25519Chain(
      slots.value,
      rsaIdentityKey.value,
      CertsSlot.ED25519_LINK,
      Ed25519CertType.SIGNING_V_TLS_CERT,
      nowMs,
    );
    if (!chain.ok) return chain;
    // "The certified key in the Signing->Link certificate matches the SHA256
    // digest of the certificate that was used to authenticate the TLS connection."
    if (!bytesEqual(chain.value.leaf.certifiedKey, sha256(peerTlsCertificate))) {
      return err(
        new CertError(
          'KEY_MISMATCH',
          'CERTS type 5 does not certify the TLS certificate of this connection',
          {
            certType: CertsSlot.ED25519_LINK,
          },
        ),
      );
    }
    return ok(makeVerifiedResponder(rsaIdentityKey.value, chain.value.ed25519Identity));
  }

  // RSA-only form: the type 1 link certificate must carry the TLS key and be signed by the identity.
  const linkSlot = CertsSlot.RSA_LINK;
  const linkBody = need(slots.value, linkSlot, 'RSA link certificate');
  if (!linkBody.ok) return linkBody;
  const link = parseX509InSlot(linkBody.value, linkSlot);
  if (!link.ok) return link;
  const tls = parseX509Certificate(peerTlsCertificate);
  if (!tls || !bytesEqual(tls.subjectPublicKey.der, link.value.subjectPublicKey.der)) {
    return err(
      new CertError('KEY_MISMATCH', 'CERTS type 1 does not certify the TLS key of this connection', {
        certType: linkSlot,
      }),
    );
  }
  if (link.value.subjectPublicKey.modulusBits < MIN_RSA_LINK_BITS) {
    return err(
      new CertError('BAD_KEY_SIZE', 'RSA link key is shorter than 1024 bits', { certType: linkSlot }),
    );
  }
  const linkChecked = checkX509(link.value, rsaIdentityKey.value, nowMs, linkSlot);
  if (!linkChecked.ok) return linkChecked;
  return ok(makeVerifiedResponder(rsaIdentityKey.value, undefined));
}

/**
 * Checks an initiator's CERTS cell (tor-spec 4.2, "To authenticate the
 * initiator as having a given Ed25519,RSA identity key combination"): the
 * responder's side, before its AUTHENTICATE cell. RSA-only initiators
 * (AUTH0001, which needs the TLS master secret) are not supported.
 */
export function checkInitiatorCerts(
  entries: readonly CertsCellEntry[],
  nowMs: number,
): Result<CheckedInitiatorCerts, CertError> {
  const slots = collectSlots(entries);
  if (!slots.ok) return slots;
  if (!slots.value.has(CertsSlot.ED25519_SIGNING)) {
    return err(
      new CertError(
        'MISSING_CERT',
        'CERTS cell has no Ed25519 signing-key certificate (type 4); RSA-only initiator authentication is not supported',
        { certType: CertsSlot.ED25519_SIGNING },
      ),
    );
  }
  const rsaIdentityKey = checkIdentityCertificate(slots.value, nowMs);
  if (!rsaIdentityKey.ok) return rsaIdentityKey;
  const chain = checkEd25519Chain(
    slots.value,
    rsaIdentityKey.value,
    CertsSlot.ED25519_AUTHENTICATE,
    Ed25519CertType.SIGNING_V_LINK_AUTH,
    nowMs,
  );
  if (!chain.ok) return chain;
  return ok(
    makeCheckedInitiatorCerts(
      rsaIdentityKey.value,
      chain.value.ed25519Identity,
      Uint8Array.from(chain.value.leaf.certifiedKey),
    ),
  );
}

export interface ResponderCertsOptions {
  /** DER X.509 link certificate (the one TLS presents), signed by the RSA identity: type 1. */
  readonly rsaLinkCertificate: Uint8Array;
  /** DER X.509 self-signed RSA identity certificate: type 2. */
  readonly rsaIdentityCertificate: Uint8Array;
  /** Ed25519 identity -> signing key certificate, with the signing-key extension: type 4. */
  readonly signingKeyCertificate: Uint8Array;
  /** Ed25519 signing key -> SHA-256 of the TLS certificate: type 5. */
  readonly tlsLinkCertificate: Uint8Array;
  /** RSA->Ed25519 cross-certificate: type 7. */
  readonly rsaEd25519Crosscert: Uint8Array;
}

/** The entries of a responder's CERTS cell, in C tor's order (1, 2, 4, 5, 7). */
export function responderCertsEntries(opts: ResponderCertsOptions): CertsCellEntry[] {
  return [
    { certType: CertsSlot.RSA_LINK, body: opts.rsaLinkCertificate },
    { certType: CertsSlot.RSA_IDENTITY, body: opts.rsaIdentityCertificate },
    { certType: CertsSlot.ED25519_SIGNING, body: opts.signingKeyCertificate },
    { certType: CertsSlot.ED25519_LINK, body: opts.tlsLinkCertificate },
    { certType: CertsSlot.RSA_ED25519_CROSSCERT, body: opts.rsaEd25519Crosscert },
  ];
}

export interface InitiatorCertsOptions {
  /** DER X.509 RSA AUTHENTICATE certificate (type 3); C tor still sends one, Ed25519 peers ignore it. */
  readonly rsaAuthenticateCertificate?: Uint8Array;
  readonly rsaIdentityCertificate: Uint8Array;
  readonly signingKeyCertificate: Uint8Array;
  /** Ed25519 signing key -> AUTHENTICATE key: type 6. */
  readonly authenticateKeyCertificate: Uint8Array;
  readonly rsaEd25519Crosscert: Uint8Array;
}

/** The entries of an authenticating initiator's CERTS cell, in C tor's order (3, 2, 4, 6, 7). */
export function initiatorCertsEntries(opts: InitiatorCertsOptions): CertsCellEntry[] {
  const entries: CertsCellEntry[] = [];
  if (opts.rsaAuthenticateCertificate) {
    entries.push({ certType: CertsSlot.RSA_AUTHENTICATE, body: opts.rsaAuthenticateCertificate });
  }
  entries.push(
    { certType: CertsSlot.RSA_IDENTITY, body: opts.rsaIdentityCertificate },
    { certType: CertsSlot.ED25519_SIGNING, body: opts.signingKeyCertificate },
    { certType: CertsSlot.ED25519_AUTHENTICATE, body: opts.authenticateKeyCertificate },
    { certType: CertsSlot.RSA_ED25519_CROSSCERT, body: opts.rsaEd25519Crosscert },
  );
  return entries;
}
