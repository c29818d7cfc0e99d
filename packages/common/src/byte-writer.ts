import { InternalError } from './errors.js';

/**
 * An append-only big-endian byte builder that grows as needed.
 * Encoders are given trusted values, so out-of-range values are bugs (InternalError).
 */
export class ByteWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private checkRange(value: number, max: number, what: string): void {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new InternalError(`${what} out of range: ${value}`);
    }
  }

  u8(value: number): this {
    this.checkRange(value, 0xff, 'u8');
    this.reserve(1);
    this.buf[this.len++] = value;
    return this;
  }

  u16(value: number): this {
    this.checkRange(value, 0xffff, 'u16');
    this.reserve(2);
    this.buf[this.len++] = value >>> 8;
    this.buf[this.len++] = value & 0xff;
    return this;
  }

  u32(value: number): this {
    this.checkRange(value, 0xffffffff, 'u32');
    this.reserve(4);
    this.buf[this.len++] = value >>> 24;
    this.buf[this.len++] = (value >>> 16) & 0xff;
    this.buf[this.len++] = (value >>> 8) & 0xff;
    this.buf[this.len++] = value & 0xff;
    return this;
  }

  u64(value: bigint): this {
    if (value < 0n || value > 0xffffffffffffffffn) throw new InternalError(`u64 out of range: ${value}`);
    this.u32(Number(value >> 32n));
    return this.u32(Number(value & 0xffffffffn));
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  zeros(n: number): this {
    this.reserve(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  /** Writes a u8 length, then whatever `fn` writes, back-filling the length. */
  nested8(fn: (w: ByteWriter) => void): this {
    return this.nested(1, 0xff, fn);
  }

  /** Writes a u16 length, then whatever `fn` writes, back-filling the length. */
  nested16(fn: (w: ByteWriter) => void): this {
    return this.nested(2, 0xffff, fn);
  }

  private nested(width: 1 | 2, max: number, fn: (w: ByteWriter) => void): this {
    const at = this.len;
    this.zeros(width);
    fn(this);
    const n = this.len - at - width;
    if (n > max) throw new InternalError(`nested body too long: ${n} > ${max}`);
    if (width === 1) this.buf[at] = n;
    else {
      this.buf[at] = n >>> 8;
      this.buf[at + 1] = n & 0xff;
    }
    return this;
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
