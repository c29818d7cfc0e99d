/**
 * The layout of the key block that a circuit extension handshake hands to
 * tor1 relay crypto (tor-spec 5.2.2, the same for ntor, ntor v3 and, after
 * its KH, CREATE_FAST):
 *
 *   offset  0  Df  seeds the forward running digest   20 bytes
 *   offset 20  Db  seeds the backward running digest  20 bytes
 *   offset 40  Kf  forward AES-128-CTR key            16 bytes
 *   offset 56  Kb  backward AES-128-CTR key           16 bytes
 *   offset 72  KH  nonce (onion services only)        20 bytes, optional here
 *
 * "Forward" is away from the circuit's origin (client → exit), "backward"
 * is towards it.
 */

/** Df | Db | Kf | Kb | KH, as @relayd/handshakes produces it. */
export const TOR1_KEY_MATERIAL_LENGTH = 92;
/** Df | Db | Kf | Kb: all tor1 itself uses (C tor's CPATH_KEY_MATERIAL_LEN). */
export const TOR1_KEY_MATERIAL_MIN_LENGTH = 72;

const DIGEST_SEED_LENGTH = 20;
const CIPHER_KEY_LENGTH = 16;

export interface Tor1Keys {
  readonly forwardDigestSeed: Uint8Array;
  readonly backwardDigestSeed: Uint8Array;
  readonly forwardKey: Uint8Array;
  readonly backwardKey: Uint8Array;
  /** KH, present when 92 bytes were given. */
  readonly nonce: Uint8Array | undefined;
}

/** Splits a 72- or 92-byte key block. Any other length is a bug in the caller and throws. */
export function splitTor1KeyMaterial(keyMaterial: Uint8Array): Tor1Keys {
  if (
    keyMaterial.length !== TOR1_KEY_MATERIAL_LENGTH &&
    keyMaterial.length !== TOR1_KEY_MATERIAL_MIN_LENGTH
  ) {
    throw new RangeError(
      `tor1 key material must be ${TOR1_KEY_MATERIAL_MIN_LENGTH} or ${TOR1_KEY_MATERIAL_LENGTH} bytes, got ${keyMaterial.length}`,
    );
  }
  const keysEnd = 2 * DIGEST_SEED_LENGTH + 2 * CIPHER_KEY_LENGTH;
  return {
    forwardDigestSeed: keyMaterial.slice(0, DIGEST_SEED_LENGTH),
    backwardDigestSeed: keyMaterial.slice(DIGEST_SEED_LENGTH, 2 * DIGEST_SEED_LENGTH),
    forwardKey: keyMaterial.slice(2 * DIGEST_SEED_LENGTH, 2 * DIGEST_SEED_LENGTH + CIPHER_KEY_LENGTH),
    backwardKey: keyMaterial.slice(2 * DIGEST_SEED_LENGTH + CIPHER_KEY_LENGTH, keysEnd),
    nonce: keyMaterial.length === TOR1_KEY_MATERIAL_LENGTH ? keyMaterial.slice(keysEnd) : undefined,
  };
}
