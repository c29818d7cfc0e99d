import { DecodeError } from './bytes-error.js';
import { err, ok, type Result } from './result.js';

/**
 * A cursor over a Uint8Array that reads big-endian integers and slices.
 *
 * Every take checks bounds first and throws a DecodeError naming the object
 * being read; `decodeWith` turns those throws into a Result at the API edge,
 * so callers of public decoders never see an exception for bad input.
 * Slices are views (`subarray`): copy what you keep beyond the input's life.
 */
export class ByteReader {
  private readonly bytes: Uint8Array;
  private offset: number;
  private readonly end: number;
  readonly object: string;

  constructor(bytes: Uint8Array, object = 'input') {
    this.bytes = bytes;
    this.offset = 0;
    this.end = bytes.length;
    this.object = object;
  }

  /** Bytes not yet consumed. */
  get remaining(): number {
    return this.end - this.offset;
  }

  /** Bytes consumed so far. */
  get consumed(): number {
    return this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.remaining < n) {
      throw new DecodeError(
        'incomplete',
        this.object,
        `truncated ${what}: need ${n} bytes, have ${this.remaining}`,
      );
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 2;
    return (b[o]! << 8) | b[o + 1]!;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 4;
    return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
  }

  u64(what = 'u64'): bigint {
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Takes `n` bytes as a view into the input. */
  take(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** Takes everything left. */
  rest(): Uint8Array {
    return this.take(this.remaining, 'rest');
  }

  skip(n: number, what = 'bytes'): void {
    this.need(n, what);
    this.offset += n;
  }

  /** Reads a u8 length, then hands a reader over exactly that many bytes to `fn`, which must consume them all. */
  nested8<T>(what: string, fn: (r: ByteReader) => T): T {
    const len = this.u8(`${what} length`);
    return this.nestedN(len, what, fn);
  }

  /** Reads a u16 length, then hands a reader over exactly that many bytes to `fn`, which must consume them all. */
  nested16<T>(what: string, fn: (r: ByteReader) => T): T {
    const len = this.u16(`${what} length`);
    return this.nestedN(len, what, fn);
  }

  private nestedN<T>(len: number, what: string, fn: (r: ByteReader) => T): T {
    const inner = new ByteReader(this.take(len, what), `${this.object}: ${what}`);
    const value = fn(inner);
    inner.expectExhausted();
    return value;
  }

  /** Throws a malformed error unless every byte was consumed. */
  expectExhausted(): void {
    if (this.remaining !== 0) {
      throw new DecodeError('malformed', this.object, `${this.remaining} unexpected trailing bytes`);
    }
  }

  /** Throws a malformed error about this object. */
  fail(detail: string): never {
    throw new DecodeError('malformed', this.object, detail);
  }
}

/**
 * Runs a decoder over `bytes` and returns a Result. DecodeErrors become `err`;
 * any other exception is a bug in the decoder and is rethrown.
 */
export function decodeWith<T>(
  bytes: Uint8Array,
  object: string,
  decode: (r: ByteReader) => T,
): Result<T, DecodeError> {
  try {
    return ok(decode(new ByteReader(bytes, object)));
  } catch (e) {
    if (e instanceof DecodeError) return err(e);
    throw e;
  }
}
