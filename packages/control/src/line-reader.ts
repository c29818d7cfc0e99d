/**
 * Newline framing with a bound: bytes in, complete lines out, and an
 * overflow flag as soon as a line grows past the bound (the bytes beyond it
 * are never buffered). A line may end in "\n" or "\r\n". Pure.
 */

export interface LinesPushed {
  readonly lines: string[];
  /** A line exceeded the bound: the stream cannot be resynchronised; close it. */
  readonly overflow: boolean;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const decoder = new TextDecoder('utf-8');

export class LineReader {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private overflowed = false;

  /** `maxLineBytes`: the longest line accepted, its line ending not counted. */
  constructor(readonly maxLineBytes: number) {}

  get hasOverflowed(): boolean {
    return this.overflowed;
  }

  /** Bytes of an unfinished line held now. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(chunk: Uint8Array): LinesPushed {
    const lines: string[] = [];
    if (this.overflowed) return { lines, overflow: true };
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end < 0) break;
      const line = this.complete(chunk.subarray(start, end));
      if (line === undefined) return { lines, overflow: true };
      lines.push(line);
      start = end + 1;
    }
    const rest = chunk.subarray(start);
    // One byte of slack: a trailing "\r" may turn out to be part of the line ending.
    if (this.pendingBytes + rest.length > this.maxLineBytes + 1) {
      this.markOverflow();
      return { lines, overflow: true };
    }
    if (rest.length > 0) {
      this.pending.push(rest.slice());
      this.pendingBytes += rest.length;
    }
    return { lines, overflow: false };
  }

  /** At end of stream: the unfinished last line, if any (undefined after an overflow). */
  finish(): string | undefined {
    if (this.overflowed || this.pendingBytes === 0) return undefined;
    return this.complete(new Uint8Array(0));
  }

  /** Joins the pending bytes and `tail` into a line; undefined (and overflowed) when it is too long. */
  private complete(tail: Uint8Array): string | undefined {
    let length = this.pendingBytes + tail.length;
    const endsInCr =
      tail.length > 0
        ? tail[tail.length - 1] === CARRIAGE_RETURN
        : this.pending.at(-1)?.at(-1) === CARRIAGE_RETURN;
    if (endsInCr) length--;
    if (length > this.maxLineBytes) {
      this.markOverflow();
      return undefined;
    }
    const line = new Uint8Array(this.pendingBytes + tail.length);
    let at = 0;
    for (const part of this.pending) {
      line.set(part, at);
      at += part.length;
    }
    line.set(tail, at);
    this.pending = [];
    this.pendingBytes = 0;
    return decoder.decode(line.subarray(0, length));
  }

  private markOverflow(): void {
    this.overflowed = true;
    this.pending = [];
    this.pendingBytes = 0;
  }
}
