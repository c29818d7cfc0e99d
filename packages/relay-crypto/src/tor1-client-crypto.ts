/**
 * The circuit origin's tor1 crypto: one forward and one backward layer per
 * hop, hop 0 being the first relay. Used by tests and the load generator to
 * speak to relays as a client does.
 *
 *   originateForward(payload, hop): digest with hop's Df, then encrypt with
 *     Kf of hop, hop-1, ..., 0 (tor-spec 5.5.2.1)
 *   decryptBackward(payload): decrypt with Kb of hop 0, 1, ... until one
 *     recognizes the cell (tor-spec 5.5.4)
 */

import { splitTor1KeyMaterial } from './tor1-key-material.js';
import { Tor1Layer } from './tor1-layer.js';

interface ClientHop {
  readonly forward: Tor1Layer;
  readonly backward: Tor1Layer;
}

/** Which hop sent a backward cell, and that cell's 20-byte SENDME tag. */
export interface RecognizedBackwardCell {
  readonly hop: number;
  readonly sendmeTag: Uint8Array;
}

export class Tor1ClientCrypto {
  private readonly hops: ClientHop[] = [];

  /** Appends the next hop, from its handshake's key material (Df|Db|Kf|Kb[|KH], 72 or 92 bytes). */
  addHop(keyMaterial: Uint8Array): void {
    const keys = splitTor1KeyMaterial(keyMaterial);
    this.hops.push({
      forward: new Tor1Layer(keys.forwardKey, keys.forwardDigestSeed),
      backward: new Tor1Layer(keys.backwardKey, keys.backwardDigestSeed),
    });
  }

  get hopCount(): number {
    return this.hops.length;
  }

  /** Sets the digest for `hop` and onion-encrypts the payload in place. Returns its 20-byte SENDME tag. */
  originateForward(payload: Uint8Array, hop: number): Uint8Array {
    const target = this.hops[hop];
    if (!target) throw new RangeError(`no hop ${hop} on a circuit of ${this.hops.length}`);
    const tag = target.forward.originate(payload);
    for (let i = hop - 1; i >= 0; i--) this.hops[i]!.forward.crypt(payload);
    return tag;
  }

  /**
   * Peels layers off a backward payload, in place, until a hop recognizes
   * it. Returns undefined if none does: the circuit must then be closed.
   */
  decryptBackward(payload: Uint8Array): RecognizedBackwardCell | undefined {
    for (let hop = 0; hop < this.hops.length; hop++) {
      const sendmeTag = this.hops[hop]!.backward.decryptAndRecognize(payload);
      if (sendmeTag) return { hop, sendmeTag };
    }
    return undefined;
  }

  /** The running forward digest for `hop` after the last cell originated to it (for SENDME v1). */
  lastForwardDigest(hop: number): Uint8Array {
    const target = this.hops[hop];
    if (!target) throw new RangeError(`no hop ${hop} on a circuit of ${this.hops.length}`);
    return target.forward.lastDigest;
  }

  /** The running backward digest for `hop` after the last cell recognized from it (for SENDME v1). */
  lastBackwardDigest(hop: number): Uint8Array {
    const target = this.hops[hop];
    if (!target) throw new RangeError(`no hop ${hop} on a circuit of ${this.hops.length}`);
    return target.backward.lastDigest;
  }
}
