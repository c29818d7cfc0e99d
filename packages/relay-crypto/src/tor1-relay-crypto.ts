/**
 * A relay's tor1 crypto for one circuit: the hop's forward and backward
 * layers, with the three things a relay does to a relay cell payload.
 *
 *   cell from the client side  →  decryptForward     (tor-spec 5.5.2.2)
 *       recognized: deliver here; otherwise pass the decrypted payload on
 *   cell this relay sends back →  originateBackward  (tor-spec 6.1, 5.5.3.1)
 *   cell from the next hop     →  encryptBackward    (tor-spec 5.5.3.1)
 *
 * It never sees the circuit, only payloads; what to do with a cell is the
 * engine's business.
 */

import { splitTor1KeyMaterial } from './tor1-key-material.js';
import { Tor1Layer } from './tor1-layer.js';

export class Tor1RelayCrypto {
  /** Kf/Df: cells travelling away from the client. */
  readonly forward: Tor1Layer;
  /** Kb/Db: cells travelling towards the client. */
  readonly backward: Tor1Layer;
  /** KH, when the key block carried it. */
  readonly nonce: Uint8Array | undefined;

  private constructor(forward: Tor1Layer, backward: Tor1Layer, nonce: Uint8Array | undefined) {
    this.forward = forward;
    this.backward = backward;
    this.nonce = nonce;
  }

  /** Builds a relay's crypto from a handshake's key material (Df|Db|Kf|Kb[|KH], 72 or 92 bytes). */
  static fromKeyMaterial(keyMaterial: Uint8Array): Tor1RelayCrypto {
    const keys = splitTor1KeyMaterial(keyMaterial);
    return new Tor1RelayCrypto(
      new Tor1Layer(keys.forwardKey, keys.forwardDigestSeed),
      new Tor1Layer(keys.backwardKey, keys.backwardDigestSeed),
      keys.nonce,
    );
  }

  /**
   * Decrypts, in place, a payload that arrived from the client side. Returns
   * the cell's 20-byte SENDME tag if it is recognized (addressed to this
   * hop), or undefined if it must be passed on, as is, to the next hop.
   */
  decryptForward(payload: Uint8Array): Uint8Array | undefined {
    return this.forward.decryptAndRecognize(payload);
  }

  /**
   * Sets the digest of, and encrypts in place, a cell this relay sends to the
   * client. Returns its 20-byte SENDME tag.
   */
  originateBackward(payload: Uint8Array): Uint8Array {
    return this.backward.originate(payload);
  }

  /** Adds this hop's layer, in place, to a payload that came from the next hop and goes towards the client. */
  encryptBackward(payload: Uint8Array): void {
    this.backward.crypt(payload);
  }

  /** Call periodically: frees the keystream either direction made ahead if it was idle since the last call. */
  dropIdleKeystreams(): void {
    this.forward.dropIdleKeystream();
    this.backward.dropIdleKeystream();
  }

  /** The running forward digest after the last cell recognized here (for SENDME v1). */
  get lastForwardDigest(): Uint8Array {
    return this.forward.lastDigest;
  }

  /** The running backward digest after the last cell originated here (for SENDME v1). */
  get lastBackwardDigest(): Uint8Array {
    return this.backward.lastDigest;
  }
}
