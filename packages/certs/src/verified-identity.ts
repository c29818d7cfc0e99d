/**
 * The "checked" types of the link handshake. Each can only be obtained by
 * passing the corresponding check, so code that holds one knows the check
 * ran: the constructors are private and the factories below are not
 * exported from the package (src/index.ts leaves them out).
 */
import type { RsaPublicKey } from '@relayd/crypto';

// Assigned by the static blocks below, which run when this module loads; declared
// first so that the bindings exist (no temporal dead zone) when they do.
export let makeVerifiedResponder: (
  rsaIdentityKey: RsaPublicKey,
  ed25519Identity: Uint8Array | undefined,
) => VerifiedResponderIdentity;
export let makeCheckedInitiatorCerts: (
  rsaIdentityKey: RsaPublicKey,
  ed25519Identity: Uint8Array,
  authenticationKey: Uint8Array,
) => CheckedInitiatorCerts;
export let makeVerifiedInitiator: (certs: CheckedInitiatorCerts) => VerifiedInitiatorIdentity;

/** A responder whose CERTS chain verified against the TLS certificate it presented (tor-spec 4.2). */
export class VerifiedResponderIdentity {
  private constructor(
    /** SHA-1 of the DER RSA identity key: the relay fingerprint (20 bytes). */
    readonly rsaIdentity: Uint8Array,
    readonly rsaIdentityKey: RsaPublicKey,
    /**
     * The Ed25519 identity (32 bytes), or undefined when the responder
     * proved only an RSA identity (no Ed25519 certificates in its CERTS).
     * A caller that expects an Ed25519 identity must refuse undefined.
     */
    readonly ed25519Identity: Uint8Array | undefined,
  ) {}

  static {
    makeVerifiedResponder = (rsaIdentityKey, ed25519Identity) =>
      new VerifiedResponderIdentity(rsaIdentityKey.fingerprint(), rsaIdentityKey, ed25519Identity);
  }
}

/**
 * An initiator's CERTS chain (types 2, 4, 6, 7) that verified. Not yet an
 * authenticated peer: the AUTHENTICATE cell must still be checked with
 * `checkEd25519Authenticator`, which consumes this.
 */
export class CheckedInitiatorCerts {
  private constructor(
    /** SHA-1 of the DER RSA identity key (20 bytes). */
    readonly rsaIdentity: Uint8Array,
    readonly rsaIdentityKey: RsaPublicKey,
    /** 32 bytes. */
    readonly ed25519Identity: Uint8Array,
    /** The Ed25519 AUTHENTICATE key certified by the type 6 certificate (32 bytes). */
    readonly authenticationKey: Uint8Array,
  ) {}

  static {
    makeCheckedInitiatorCerts = (rsaIdentityKey, ed25519Identity, authenticationKey) =>
      new CheckedInitiatorCerts(
        rsaIdentityKey.fingerprint(),
        rsaIdentityKey,
        ed25519Identity,
        authenticationKey,
      );
  }
}

/** An initiator that proved its RSA and Ed25519 identities with CERTS + AUTHENTICATE (tor-spec 4.4.2). */
export class VerifiedInitiatorIdentity {
  private constructor(
    /** SHA-1 of the DER RSA identity key (20 bytes). */
    readonly rsaIdentity: Uint8Array,
    readonly rsaIdentityKey: RsaPublicKey,
    /** 32 bytes. */
    readonly ed25519Identity: Uint8Array,
  ) {}

  static {
    makeVerifiedInitiator = (certs) =>
      new VerifiedInitiatorIdentity(certs.rsaIdentity, certs.rsaIdentityKey, certs.ed25519Identity);
  }
}
