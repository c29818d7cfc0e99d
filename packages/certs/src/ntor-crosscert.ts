/**
 * The ntor onion key cross-certificate of a server descriptor
 * (`ntor-onion-key-crosscert SIGNBIT`, dir-spec; C tor routerkeys.c
 * `make_ntor_onion_key_crosscert`): an Ed25519 certificate of type 0A that
 * certifies the relay's Ed25519 identity, signed by the Ed25519 key derived
 * from the Curve25519 ntor onion key. It proves the relay holds the onion
 * secret. C tor includes no signed-with-ed25519-key extension; a verifier
 * rebuilds the signing key from the published onion key and the sign bit.
 */
import { bytesEqual, err, type Result } from '@relayd/common';
import { ed25519FromX25519, ed25519PublicFromX25519Public } from '@relayd/crypto';
import { CertError } from './cert-error.js';
import { CertifiedKeyType, Ed25519CertType } from './cert-types.js';
import { checkEd25519Cert, createEd25519Cert, type Ed25519Cert } from './ed25519-cert.js';

export interface CreateNtorOnionKeyCrosscertOptions {
  /** The Curve25519 ntor onion secret key, 32 bytes. */
  readonly ntorOnionSecret: Uint8Array;
  /** The relay's Ed25519 identity (master) public key, 32 bytes. */
  readonly ed25519Identity: Uint8Array;
  /** Hours since the epoch. */
  readonly expirationHours: number;
}

/** Creates the cross-certificate and the sign bit the descriptor publishes next to it. */
export function createNtorOnionKeyCrosscert(opts: CreateNtorOnionKeyCrosscertOptions): {
  cert: Uint8Array;
  signBit: 0 | 1;
} {
  const { signingKey, signBit } = ed25519FromX25519(opts.ntorOnionSecret);
  const cert = createEd25519Cert({
    certType: Ed25519CertType.NTOR_CC_IDENTITY,
    certifiedKeyType: CertifiedKeyType.ED25519,
    certifiedKey: opts.ed25519Identity,
    expirationHours: opts.expirationHours,
    signer: signingKey,
    includeSigningKey: false,
  });
  return { cert, signBit };
}

export interface CheckNtorOnionKeyCrosscertOptions {
  /** The Curve25519 ntor onion public key the descriptor publishes. */
  readonly ntorOnionKey: Uint8Array;
  readonly signBit: 0 | 1;
  /** The Ed25519 identity the certificate must certify. */
  readonly ed25519Identity: Uint8Array;
  readonly nowMs: number;
}

/** Checks a parsed ntor onion key cross-certificate against the descriptor's keys. */
export function checkNtorOnionKeyCrosscert(
  cert: Ed25519Cert,
  opts: CheckNtorOnionKeyCrosscertOptions,
): Result<void, CertError> {
  if (opts.ntorOnionKey.length !== 32) {
    return err(new CertError('KEY_MISMATCH', `ntor onion key of ${opts.ntorOnionKey.length} bytes`));
  }
  if (!bytesEqual(cert.certifiedKey, opts.ed25519Identity)) {
    return err(new CertError('KEY_MISMATCH', 'ntor onion key cross-certificate certifies another identity'));
  }
  return checkEd25519Cert(cert, {
    certType: Ed25519CertType.NTOR_CC_IDENTITY,
    signingKey: ed25519PublicFromX25519Public(opts.ntorOnionKey, opts.signBit),
    nowMs: opts.nowMs,
  });
}
