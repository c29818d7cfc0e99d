/**
 * Channel cell framing over a byte stream: the transport's chunks go in as
 * they arrive, whole cells come out, in order (tor-spec 3).
 *
 * decodeChannelCell frames one cell at the front of one buffer; a channel
 * receiving a stream would have to join every partial cell with the next
 * chunk, copying the whole chunk each time. The reader instead frames cells
 * in place in the chunk it was given, at an offset, and copies only the
 * bytes of a cell split across two chunks into a small buffer of its own
 * (one cell long; longer only while a large variable-length cell is being
 * gathered). The only other copy is each cell's body, into memory from the
 * body allocator, so a body can be kept and modified in place without
 * touching the caller's chunk.
 *
 * Ownership: the reader reads a pushed chunk until its last byte is framed
 * or gathered and never writes to it; the caller must not modify a chunk
 * while cells remain in it (until `next()` returned undefined). Bodies
 * belong to whoever takes the cell.
 */
import { type DecodeError, InternalError } from '@relayd/common';
import { type CellBodyAllocator, freshCellBodies } from './cell-body-slab.js';
import {
  CELL_BODY_LENGTH,
  type CellFraming,
  type ChannelCell,
  cellBodyOffset,
  cellLengthAt,
  circIdLength,
  type FramingOptions,
  MALFORMED_LENGTH,
  oversizedCellError,
  readCircId,
  variableBodyLimit,
} from './channel-cell.js';

export interface ChannelCellReaderOptions extends FramingOptions {
  /** Where cell bodies are copied to. Default: a fresh array per body. */
  readonly bodies?: CellBodyAllocator;
}

const EMPTY = new Uint8Array(0);

export class ChannelCellReader {
  private readonly idLen: 2 | 4;
  private readonly limit: number;
  private readonly bodies: CellBodyAllocator;
  /** The usual size of `partial`: one fixed-length cell. */
  private readonly partialCapacity: number;
  /** The start of a cell split across chunks (owned by the reader and reused). */
  private partial: Uint8Array;
  private partialLength = 0;
  /** The chunk being framed (the caller's bytes, read in place, never written). */
  private chunk: Uint8Array = EMPTY;
  private chunkAt = 0;
  private failure: DecodeError | undefined;

  /** Throws InternalError for an invalid framing or `maxVariableBodyLength` (a caller bug). */
  constructor(framing: CellFraming, options: ChannelCellReaderOptions = {}) {
    this.idLen = circIdLength(framing);
    this.limit = variableBodyLimit(options);
    this.bodies = options.bodies ?? freshCellBodies;
    this.partialCapacity = this.idLen + 1 + CELL_BODY_LENGTH;
    this.partial = new Uint8Array(this.partialCapacity);
  }

  /**
   * Set once the stream can never frame a valid cell (a variable-length cell
   * over the limit); `next()` then returns nothing more and the channel must
   * be closed.
   */
  get error(): DecodeError | undefined {
    return this.failure;
  }

  /** Bytes received and not yet handed out as cells. */
  get bufferedBytes(): number {
    return this.partialLength + this.chunk.length - this.chunkAt;
  }

  /** Adds the next bytes of the stream. Cells still unread in an earlier chunk come first. */
  push(chunk: Uint8Array): void {
    if (this.failure || chunk.length === 0) return;
    if (this.chunkAt < this.chunk.length) this.gather(this.chunk.length - this.chunkAt);
    this.chunk = chunk;
    this.chunkAt = 0;
  }

  /** The next whole cell, or undefined when the bytes so far hold no more (or the stream failed). */
  next(): ChannelCell | undefined {
    if (this.failure) return undefined;
    if (this.partialLength > 0) return this.nextFromPartial();
    const chunk = this.chunk;
    const at = this.chunkAt;
    const length = cellLengthAt(chunk, at, chunk.length, this.idLen, this.limit);
    if (length === MALFORMED_LENGTH) return this.fail(chunk, at);
    if (length > 0 && at + length <= chunk.length) {
      this.chunkAt = at + length;
      return this.cellAt(chunk, at, length);
    }
    // Only part of a cell is left: keep it, and let go of the chunk.
    this.gather(chunk.length - at);
    return undefined;
  }

  /** Completes the cell started in `partial` from the current chunk. */
  private nextFromPartial(): ChannelCell | undefined {
    for (;;) {
      const length = cellLengthAt(this.partial, 0, this.partialLength, this.idLen, this.limit);
      if (length === MALFORMED_LENGTH) return this.fail(this.partial, 0);
      const needed = length > 0 ? length : -length;
      if (length > 0 && this.partialLength >= needed) {
        const cell = this.cellAt(this.partial, 0, length);
        // More than one cell is here only after a push() that came before the last chunk was read out.
        const rest = this.partialLength - length;
        if (rest > 0) this.partial.copyWithin(0, length, this.partialLength);
        this.partialLength = rest;
        if (this.partial.length > this.partialCapacity && rest <= this.partialCapacity) {
          // A large variable-length cell grew the buffer: do not keep that much per channel.
          const small = new Uint8Array(this.partialCapacity);
          small.set(this.partial.subarray(0, rest));
          this.partial = small;
        }
        return cell;
      }
      const available = this.chunk.length - this.chunkAt;
      if (available === 0) {
        this.chunk = EMPTY;
        this.chunkAt = 0;
        return undefined;
      }
      this.gather(Math.min(needed - this.partialLength, available));
    }
  }

  /** Moves `count` bytes from the chunk to the end of `partial`. */
  private gather(count: number): void {
    const end = this.partialLength + count;
    if (end > this.partial.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.partial.length));
      grown.set(this.partial.subarray(0, this.partialLength));
      this.partial = grown;
    }
    this.partial.set(this.chunk.subarray(this.chunkAt, this.chunkAt + count), this.partialLength);
    this.partialLength = end;
    this.chunkAt += count;
    if (this.chunkAt === this.chunk.length) {
      this.chunk = EMPTY;
      this.chunkAt = 0;
    }
  }

  private cellAt(bytes: Uint8Array, at: number, length: number): ChannelCell {
    const command = bytes[at + this.idLen]!;
    const bodyAt = at + cellBodyOffset(command, this.idLen);
    const end = at + length;
    const body = this.bodies.take(end - bodyAt);
    if (body.length !== end - bodyAt) {
      throw new InternalError(`body allocator returned ${body.length} bytes, not ${end - bodyAt}`);
    }
    body.set(new Uint8Array(bytes.buffer, bytes.byteOffset + bodyAt, end - bodyAt));
    return { circId: readCircId(bytes, at, this.idLen), command, body };
  }

  private fail(bytes: Uint8Array, at: number): undefined {
    this.failure = oversizedCellError(bytes, at, this.idLen, this.limit);
    this.chunk = EMPTY;
    this.chunkAt = 0;
    this.partialLength = 0;
    return undefined;
  }
}
