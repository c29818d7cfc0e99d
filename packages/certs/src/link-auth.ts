/**
 * Link authentication: what an AUTH_CHALLENGE offers (tor-spec 4.3) and the
 * AUTHENTICATE authenticator of method 3, "Ed25519-SHA256-RFC5705"
 * (tor-spec 4.4.2; C tor relay_handshake.c
 * `connection_or_compute_authenticate_cell_body`, channeltls.c
 * `channel_tls_process_authenticate_cell`). The cell framing (AuthType,
 * AuthLen) belongs to the cell codec; this module owns the Authentication
 * field. Everything that depends on the TLS session (transcript digests,
 * the link certificate digest, the RFC 5705 exporter output) comes in as
 * bytes, so both building and checking are pure.
 *
 * Authentication field of AUTH0003:
 *   TYPE "AUTH0003" [8] | CID [32] | SID [32] | CID_ED [32] | SID_ED [32]
 *   SLOG [32] | CLOG [32] | SCERT [32] | TLSSECRETS [32] | RAND [24] | SIG [64]
 * SIG is an Ed25519 signature, by the initiator's AUTHENTICATE key (CERTS
 * type 6), of every byte before it.
 */
import { ByteWriter, constantTimeEqual, err, ok, type Random, type Result, utf8 } from '@relayd/common';
import { type Ed25519SigningKey, ed25519Verify, type RsaPublicKey, sha256 } from '@relayd/crypto';
import { CertError } from './cert-error.js';
import {
  type CheckedInitiatorCerts,
  makeVerifiedInitiator,
  type VerifiedInitiatorIdentity,
} from './verified-identity.js';

/** AuthType / AUTH_CHALLENGE method numbers (tor-spec 4.4). There is no method 2 in use. */
export const LinkAuthMethod = {
  /** AUTH0001: RSA signature, HMAC of the TLS master secret. Needs the TLS master secret: unsupported. */
  RSA_SHA256_TLSSECRET: 1,
  /** AUTH0003: Ed25519 signature, RFC 5705 exporter. */
  ED25519_SHA256_RFC5705: 3,
} as const;

/** The methods relayd can check, and so offers in its AUTH_CHALLENGE. */
export const SUPPORTED_LINK_AUTH_METHODS: readonly number[] = [LinkAuthMethod.ED25519_SHA256_RFC5705];

/** AUTH_CHALLENGE challenge length (tor-spec 4.3). */
export const AUTH_CHALLENGE_BYTES = 32;

/** RFC 5705 exporter label for TLSSECRETS (tor-spec 4.4.2). */
export const AUTH0003_EXPORTER_LABEL = 'EXPORTER FOR TOR TLS CLIENT BINDING AUTH0003';
/** RFC 5705 exporter output length. */
export const AUTH0003_EXPORTER_LENGTH = 32;
/** RAND length. */
export const AUTH0003_NONCE_BYTES = 24;
/** Bytes covered by the signature: TYPE through RAND. */
export const AUTH0003_SIGNED_BYTES = 8 + 8 * 32 + AUTH0003_NONCE_BYTES;
/** Length of the whole Authentication field (AuthLen) that C tor sends and accepts. */
export const AUTH0003_BYTES = AUTH0003_SIGNED_BYTES + 64;

const AUTH0003_TYPE = utf8('AUTH0003');
/** TYPE through TLSSECRETS: the part a responder can recompute exactly. */
const FIXED_BYTES = AUTH0003_SIGNED_BYTES - AUTH0003_NONCE_BYTES;
const ZERO_IDENTITY = new Uint8Array(32);

/** The content of an AUTH_CHALLENGE cell. */
export interface AuthChallenge {
  readonly challenge: Uint8Array;
  readonly methods: readonly number[];
}

/** A responder's AUTH_CHALLENGE: a fresh random challenge and the methods relayd can check. */
export function createAuthChallenge(random: Random): AuthChallenge {
  return { challenge: random.bytes(AUTH_CHALLENGE_BYTES), methods: [...SUPPORTED_LINK_AUTH_METHODS] };
}

export function isSupportedLinkAuthMethod(method: number): boolean {
  return SUPPORTED_LINK_AUTH_METHODS.includes(method);
}

/**
 * The method an initiator uses to answer an AUTH_CHALLENGE, or undefined when
 * none offered is usable (then it does not authenticate, and just sends
 * NETINFO). Higher method numbers are better (relay_handshake.c
 * `authchallenge_type_is_better`).
 */
export function selectLinkAuthMethod(offered: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const method of offered) {
    if (isSupportedLinkAuthMethod(method) && (best === undefined || method > best)) best = method;
  }
  return best;
}

/**
 * The RFC 5705 exporter context for TLSSECRETS: CID, the SHA-256 of the
 * initiator's DER RSA identity key. tor-spec 4.4.2 says "the initiator's
 * Ed25519 identity key", but C tor (and Arti) pass CID, and interoperation
 * is what counts.
 */
export function auth0003ExporterContext(initiatorRsaIdentity: RsaPublicKey): Uint8Array {
  return sha256(initiatorRsaIdentity.der);
}

/** The TLS- and transcript-dependent inputs, as both sides compute them. */
export interface Auth0003Transcript {
  /** SLOG: SHA-256 of every byte the responder sent, through its AUTH_CHALLENGE cell. */
  readonly responderLogDigest: Uint8Array;
  /** CLOG: SHA-256 of every byte the initiator sent before its AUTHENTICATE cell. */
  readonly initiatorLogDigest: Uint8Array;
  /** SCERT: SHA-256 of the responder's DER TLS link certificate. */
  readonly responderTlsCertificateDigest: Uint8Array;
  /**
   * TLSSECRETS: the TLS session's RFC 5705 exporter output, with label
   * AUTH0003_EXPORTER_LABEL, context `auth0003ExporterContext(...)`, length 32.
   */
  readonly tlsExporterOutput: Uint8Array;
}

interface FixedFields extends Auth0003Transcript {
  readonly initiatorRsaIdentity: RsaPublicKey;
  readonly responderRsaIdentity: RsaPublicKey;
  readonly initiatorEd25519Identity: Uint8Array;
  readonly responderEd25519Identity: Uint8Array | undefined;
}

function check32(value: Uint8Array, what: string): void {
  if (value.length !== 32) throw new RangeError(`${what} must be 32 bytes, got ${value.length}`);
}

/** TYPE through TLSSECRETS. */
function encodeFixedPart(fields: FixedFields): Uint8Array {
  const responderEd = fields.responderEd25519Identity ?? ZERO_IDENTITY;
  check32(fields.initiatorEd25519Identity, 'CID_ED');
  check32(responderEd, 'SID_ED');
  check32(fields.responderLogDigest, 'SLOG');
  check32(fields.initiatorLogDigest, 'CLOG');
  check32(fields.responderTlsCertificateDigest, 'SCERT');
  check32(fields.tlsExporterOutput, 'TLSSECRETS');
  return new ByteWriter(FIXED_BYTES)
    .bytes(AUTH0003_TYPE)
    .bytes(sha256(fields.initiatorRsaIdentity.der))
    .bytes(sha256(fields.responderRsaIdentity.der))
    .bytes(fields.initiatorEd25519Identity)
    .bytes(responderEd)
    .bytes(fields.responderLogDigest)
    .bytes(fields.initiatorLogDigest)
    .bytes(fields.responderTlsCertificateDigest)
    .bytes(fields.tlsExporterOutput)
    .finish();
}

export interface CreateAuth0003Options extends Auth0003Transcript {
  /** CID is SHA-256 of this key's DER. */
  readonly initiatorRsaIdentity: RsaPublicKey;
  /** SID is SHA-256 of this key's DER (from the responder's verified CERTS). */
  readonly responderRsaIdentity: RsaPublicKey;
  /** CID_ED. */
  readonly initiatorEd25519Identity: Uint8Array;
  /** SID_ED; all-zero when the responder has none. */
  readonly responderEd25519Identity: Uint8Array | undefined;
  /** RAND: 24 fresh random bytes. */
  readonly nonce: Uint8Array;
  /** The initiator's Ed25519 AUTHENTICATE key (the key certified by its CERTS type 6). */
  readonly authenticationKey: Ed25519SigningKey;
}

/**
 * Builds the Authentication field of an AUTHENTICATE cell of method 3
 * (AuthType ED25519_SHA256_RFC5705, AuthLen AUTH0003_BYTES).
 */
export function createEd25519Authenticator(opts: CreateAuth0003Options): Uint8Array {
  if (opts.nonce.length !== AUTH0003_NONCE_BYTES) {
    throw new RangeError(`RAND must be ${AUTH0003_NONCE_BYTES} bytes, got ${opts.nonce.length}`);
  }
  const signed = new Uint8Array(AUTH0003_SIGNED_BYTES);
  signed.set(encodeFixedPart(opts), 0);
  signed.set(opts.nonce, FIXED_BYTES);
  const out = new Uint8Array(AUTH0003_BYTES);
  out.set(signed, 0);
  out.set(opts.authenticationKey.sign(signed), AUTH0003_SIGNED_BYTES);
  return out;
}

export interface CheckAuth0003Options extends Auth0003Transcript {
  /** The initiator's CERTS, already checked; supplies CID, CID_ED and the signature key. */
  readonly initiatorCerts: CheckedInitiatorCerts;
  /** This responder's RSA identity (SID). */
  readonly responderRsaIdentity: RsaPublicKey;
  /** This responder's Ed25519 identity (SID_ED). */
  readonly responderEd25519Identity: Uint8Array | undefined;
}

/**
 * Checks the Authentication field of an AUTHENTICATE cell whose AuthType was
 * 3: every field from TYPE through TLSSECRETS must equal what this responder
 * computes, and SIG must verify under the initiator's certified
 * AUTHENTICATE key. Like C tor, the field must be exactly AUTH0003_BYTES
 * long. Returns the initiator's proven identity.
 */
export function checkEd25519Authenticator(
  authentication: Uint8Array,
  opts: CheckAuth0003Options,
): Result<VerifiedInitiatorIdentity, CertError> {
  if (authentication.length !== AUTH0003_BYTES) {
    return err(
      new CertError(
        'AUTHENTICATE_MISMATCH',
        `AUTH0003 authenticator is ${authentication.length} bytes, expected ${AUTH0003_BYTES}`,
      ),
    );
  }
  const certs = opts.initiatorCerts;
  // Wrong-length inputs here are the caller's own values (a bug), so encodeFixedPart may throw.
  const expected = encodeFixedPart({
    ...opts,
    initiatorRsaIdentity: certs.rsaIdentityKey,
    initiatorEd25519Identity: certs.ed25519Identity,
  });
  if (!constantTimeEqual(authentication.subarray(0, FIXED_BYTES), expected)) {
    return err(
      new CertError(
        'AUTHENTICATE_MISMATCH',
        'a field of the AUTHENTICATE cell does not match this handshake',
      ),
    );
  }
  const signed = authentication.subarray(0, AUTH0003_SIGNED_BYTES);
  const signature = authentication.subarray(AUTH0003_SIGNED_BYTES);
  if (!ed25519Verify(certs.authenticationKey, signed, signature)) {
    return err(
      new CertError('BAD_SIGNATURE', 'AUTHENTICATE signature does not verify under the certified key'),
    );
  }
  return ok(makeVerifiedInitiator(certs));
}

/**
 * Checks an AUTHENTICATE cell as decoded by the cell codec: refuses methods
 * other than 3 (UNSUPPORTED_AUTH_METHOD), then `checkEd25519Authenticator`.
 */
export function checkAuthenticate(
  authType: number,
  authentication: Uint8Array,
  opts: CheckAuth0003Options,
): Result<VerifiedInitiatorIdentity, CertError> {
  if (authType !== LinkAuthMethod.ED25519_SHA256_RFC5705) {
    return err(new CertError('UNSUPPORTED_AUTH_METHOD', `AUTHENTICATE method ${authType} is not supported`));
  }
  return checkEd25519Authenticator(authentication, opts);
}
