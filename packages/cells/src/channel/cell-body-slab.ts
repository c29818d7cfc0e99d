/**
 * Memory for cell bodies and relay payloads that outlive the bytes they came
 * from: the bodies a channel hands to the relay engine, which decrypts them
 * in place and queues them on another channel, and the payloads it
 * originates.
 *
 * Allocating one typed array per 509-byte body costs a malloc, a zero fill
 * and a garbage-collector finalisation each, which dominated the relay path.
 * A slab allocator carves bodies out of one larger buffer instead: a body is
 * a view, exclusively its taker's, and slab memory is never handed out twice,
 * so nothing needs returning and no body can alias another. The price is
 * retention: a slab is freed only once every body taken from it is
 * unreferenced, so one long-queued body keeps at most one slab
 * (DEFAULT_SLAB_BYTES) alive.
 */

/** Where bodies come from. `take(n)` returns `n` bytes nobody else holds (contents unspecified). */
export interface CellBodyAllocator {
  take(length: number): Uint8Array;
}

/** One fresh array per body: what decodeChannelCell does, and the reader's default. */
export const freshCellBodies: CellBodyAllocator = {
  take: (length) => new Uint8Array(length),
};

/** Eight 509-byte bodies, each at an 8-byte aligned offset (eight 512-byte strides). */
export const DEFAULT_SLAB_BYTES = 4096;

/** Bodies larger than this get an array of their own (variable-length cells are rare and can be large). */
const LARGEST_SLAB_BODY = 512;

export class CellBodySlab implements CellBodyAllocator {
  private slab: ArrayBuffer | undefined;
  private used = 0;

  constructor(private readonly slabBytes: number = DEFAULT_SLAB_BYTES) {
    if (!Number.isInteger(slabBytes) || slabBytes < LARGEST_SLAB_BODY) {
      throw new RangeError(`slab size must be an integer of at least ${LARGEST_SLAB_BODY}, not ${slabBytes}`);
    }
  }

  take(length: number): Uint8Array {
    if (length > LARGEST_SLAB_BODY) return new Uint8Array(length);
    // Keep every body 8-byte aligned within the slab.
    const stride = (length + 7) & ~7;
    let slab = this.slab;
    if (slab === undefined || this.used + stride > slab.byteLength) {
      slab = new ArrayBuffer(this.slabBytes);
      this.slab = slab;
      this.used = 0;
    }
    // A view made directly (subarray's species lookup costs more than the rest of this method).
    const body = new Uint8Array(slab, this.used, length);
    this.used += stride;
    return body;
  }
}
