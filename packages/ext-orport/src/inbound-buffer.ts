/**
 * Bytes received and not yet consumed by an Extended ORPort state machine:
 * append what the socket gave, take fixed-size fields or frames off the
 * front, and hand back whatever follows the last byte the protocol owns.
 */
import { decodeExtOrFrame, type ExtOrFrameResult, type ExtOrFramingOptions } from './frame.js';

export class InboundBuffer {
  private buffer = new Uint8Array(128);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const held = this.end - this.start;
    if (this.end + bytes.length > this.buffer.length) {
      if (held + bytes.length <= this.buffer.length) {
        this.buffer.copyWithin(0, this.start, this.end);
      } else {
        let size = this.buffer.length;
        while (size < held + bytes.length) size *= 2;
        const grown = new Uint8Array(size);
        grown.set(this.buffer.subarray(this.start, this.end), 0);
        this.buffer = grown;
      }
      this.start = 0;
      this.end = held;
    }
    this.buffer.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** Takes `n` bytes (a copy), or undefined if fewer are held. */
  take(n: number): Uint8Array | undefined {
    if (this.end - this.start < n) return undefined;
    const out = this.buffer.slice(this.start, this.start + n);
    this.start += n;
    return out;
  }

  /** Takes one frame off the front if a whole one is held. */
  takeFrame(options: ExtOrFramingOptions): ExtOrFrameResult {
    const result = decodeExtOrFrame(this.buffer.subarray(this.start, this.end), options);
    if (result.kind === 'frame') this.start += result.bytesConsumed;
    return result;
  }

  /** Takes everything held (a copy). */
  takeRest(): Uint8Array {
    const out = this.buffer.slice(this.start, this.end);
    this.start = this.end;
    return out;
  }
}
