/**
 * One direction of tor1 relay crypto between the client and one hop: an
 * AES-128-CTR keystream that runs on across cells (tor-spec 0.3) and a
 * running SHA-1 digest seeded with Df or Db (tor-spec 6.1).
 *
 * A layer is used in one of two roles, and the caller picks by method:
 * - the side that originates cells in this direction calls `originate` for
 *   its own cells and `crypt` for cells it only passes on;
 * - the side that receives calls `decryptAndRecognize`.
 * The running digest covers only cells originated at, or recognized by, this
 * hop: a cell that is decrypted but not recognized leaves it untouched,
 * including the 2^-16 case where 'recognized' is zero by accident.
 *
 * All operations work in place on a 509-byte relay payload.
 */
import { AesCtrStream, RunningDigest } from '@relayd/crypto';
import { assertRelayPayload, RELAY_DIGEST_FIELD_LENGTH, RelayHeaderOffset } from './relay-payload.js';

const DIGEST_START = RelayHeaderOffset.digest;
const DIGEST_END = DIGEST_START + RELAY_DIGEST_FIELD_LENGTH;

export class Tor1Layer {
  private readonly cipher: AesCtrStream;
  private digest: RunningDigest;
  private latestDigest: Uint8Array;

  /** `key` is Kf or Kb (16 bytes), `digestSeed` is Df or Db (20 bytes). */
  constructor(key: Uint8Array, digestSeed: Uint8Array) {
    this.cipher = new AesCtrStream(key);
    this.digest = new RunningDigest('sha1', digestSeed);
    this.latestDigest = this.digest.peek();
  }

  /**
   * The full 20-byte running digest after the last cell this layer
   * originated or recognized (SHA-1 of the seed alone before any). This is
   * the value a SENDME v1 carries for that cell (tor-spec 7.3.1).
   */
  get lastDigest(): Uint8Array {
    return this.latestDigest;
  }

  /**
   * Prepares and encrypts a cell this side originates: sets 'Recognized' to
   * zero, feeds the payload (digest field zeroed) to the running digest,
   * writes the digest's first 4 bytes into the field, then encrypts.
   * Returns the 20-byte running digest after this cell (its SENDME tag).
   */
  originate(payload: Uint8Array): Uint8Array {
    assertRelayPayload(payload);
    payload[RelayHeaderOffset.recognized] = 0;
    payload[RelayHeaderOffset.recognized + 1] = 0;
    payload.fill(0, DIGEST_START, DIGEST_END);
    this.digest.update(payload);
    const tag = this.digest.peek();
    for (let i = 0; i < RELAY_DIGEST_FIELD_LENGTH; i++) payload[DIGEST_START + i] = tag[i]!;
    this.latestDigest = tag;
    this.cipher.applyInPlace(payload);
    return tag;
  }

  /**
   * Lets the cipher free keystream it made ahead if this layer carried no
   * cell since the previous call (see AesCtrStream.dropIdleKeystream).
   */
  dropIdleKeystream(): void {
    this.cipher.dropIdleKeystream();
  }

  /** Applies this layer's keystream and nothing else: for cells passed on, not originated or delivered here. */
  crypt(payload: Uint8Array): void {
    assertRelayPayload(payload);
    this.cipher.applyInPlace(payload);
  }

  /**
   * Removes this layer and checks whether the cell is meant for this hop:
   * 'Recognized' is zero and the digest field equals the first 4 bytes of the
   * running digest over the cell with that field zeroed. On success the
   * running digest advances and the 20-byte digest (the cell's SENDME tag)
   * is returned; otherwise the digest state is unchanged and the result is
   * undefined. Either way `payload` holds the decrypted bytes, unchanged
   * otherwise, ready to be passed on.
   */
  decryptAndRecognize(payload: Uint8Array): Uint8Array | undefined {
    this.crypt(payload);
    if (payload[RelayHeaderOffset.recognized] !== 0 || payload[RelayHeaderOffset.recognized + 1] !== 0) {
      return undefined;
    }
    // Digest a copy of the state, and keep it only if the cell proves to be ours. The digest
    // covers the cell with its digest field zeroed: zero it in place and put it back after.
    const d0 = payload[DIGEST_START]!;
    const d1 = payload[DIGEST_START + 1]!;
    const d2 = payload[DIGEST_START + 2]!;
    const d3 = payload[DIGEST_START + 3]!;
    payload.fill(0, DIGEST_START, DIGEST_END);
    const candidate = this.digest.clone();
    candidate.update(payload);
    payload[DIGEST_START] = d0;
    payload[DIGEST_START + 1] = d1;
    payload[DIGEST_START + 2] = d2;
    payload[DIGEST_START + 3] = d3;
    const tag = candidate.peek();
    const difference = (tag[0]! ^ d0) | (tag[1]! ^ d1) | (tag[2]! ^ d2) | (tag[3]! ^ d3);
    if (difference !== 0) return undefined;
    this.digest = candidate;
    this.latestDigest = tag;
    return tag;
  }
}
