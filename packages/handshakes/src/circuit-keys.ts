/**
 * The key material a finished handshake hands to relay cell crypto.
 *
 * Every handshake here produces a key stream whose first 92 bytes are the
 * tor1 relay-crypto key block, in the order tor-spec 5.2.2 gives for ntor:
 *
 *   offset  0  Df  forward digest seed   20 bytes
 *   offset 20  Db  backward digest seed  20 bytes
 *   offset 40  Kf  forward AES-128 key   16 bytes
 *   offset 56  Kb  backward AES-128 key  16 bytes
 *   offset 72  KH  nonce                 20 bytes (onion-service use; unused by tor1 itself)
 *
 * ntor takes it from HKDF-SHA256, ntor v3 from SHAKE-256 after the 32-byte
 * reply-message key, and CREATE_FAST from KDF-TOR after the 20-byte KH that
 * its reply carries (C tor and Arti both skip that KH the same way).
 */
import { InternalError } from '@relayd/common';

/** Length of the tor1 key block Df|Db|Kf|Kb|KH (tor-spec 5.2.2). */
export const TOR1_KEY_MATERIAL_LENGTH = 92;

/** The shared secrets of one finished handshake. */
export interface CircuitKeys {
  /** The first 92 bytes of the key stream: Df|Db|Kf|Kb|KH, ready for tor1 relay crypto. */
  readonly keyMaterial: Uint8Array;
  /**
   * Returns the first `length` bytes of the handshake's key stream (the first
   * 92 are `keyMaterial`). Asking beyond the KDF's limit is a bug and throws.
   */
  expand(length: number): Uint8Array;
}

/**
 * A key stream that can be read to any length up to `maxLength`. Each KDF here
 * yields output whose prefixes do not depend on the requested length, so a
 * longer request may simply recompute and keep the longer output.
 */
class PrefixKeyStream implements CircuitKeys {
  private computed: Uint8Array;
  readonly keyMaterial: Uint8Array;

  constructor(
    private readonly kdf: (length: number) => Uint8Array,
    private readonly maxLength: number,
  ) {
    this.computed = kdf(TOR1_KEY_MATERIAL_LENGTH);
    this.keyMaterial = this.computed;
  }

  expand(length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > this.maxLength) {
      throw new InternalError(`key stream length ${length} outside 0..${this.maxLength}`);
    }
    if (length > this.computed.length) this.computed = this.kdf(length);
    return this.computed.slice(0, length);
  }
}

/** Wraps a prefix-stable KDF `(length) => bytes` as CircuitKeys. */
export function circuitKeysFrom(kdf: (length: number) => Uint8Array, maxLength: number): CircuitKeys {
  return new PrefixKeyStream(kdf, maxLength);
}
