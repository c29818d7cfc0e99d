/**
 * Inbound bytes during the link handshake: an append-only buffer that yields
 * whole cells, each with its exact wire bytes (the AUTHENTICATE transcripts
 * hash those, tor-spec 4.4.2), and hands back whatever follows the last
 * handshake cell once the handshake is over.
 *
 * The framing starts as 'negotiating' (2-byte circuit IDs, tor-spec 3) and
 * the handshake switches it right after the VERSIONS cell.
 */
import { type CellFraming, type ChannelCell, decodeChannelCell, type FramingOptions } from '@relayd/cells';
import type { DecodeError } from '@relayd/common';

export type HandshakeFrame =
  | { readonly kind: 'cell'; readonly cell: ChannelCell; readonly wire: Uint8Array }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'malformed'; readonly error: DecodeError };

export class HandshakeCellStream {
  private buffer = new Uint8Array(1024);
  private start = 0;
  private end = 0;
  /** Bytes taken out as cells so far. */
  private consumed = 0;
  framing: CellFraming = 'negotiating';

  constructor(private readonly framingOptions: FramingOptions = {}) {}

  /** Bytes of whole cells taken so far. */
  get consumedBytes(): number {
    return this.consumed;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const needed = this.end - this.start + bytes.length;
    if (this.end + bytes.length > this.buffer.length) {
      if (needed <= this.buffer.length / 2) {
        this.buffer.copyWithin(0, this.start, this.end);
      } else {
        let size = this.buffer.length;
        while (size < needed * 2) size *= 2;
        const grown = new Uint8Array(size);
        grown.set(this.buffer.subarray(this.start, this.end), 0);
        this.buffer = grown;
      }
      this.end -= this.start;
      this.start = 0;
    }
    this.buffer.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** Takes the next whole cell, if the buffer holds one. */
  next(): HandshakeFrame {
    const view = this.buffer.subarray(this.start, this.end);
    const frame = decodeChannelCell(view, this.framing, this.framingOptions);
    if (frame.kind === 'incomplete') return { kind: 'incomplete' };
    if (frame.kind === 'malformed') return frame;
    const wire = view.slice(0, frame.bytesConsumed);
    this.start += frame.bytesConsumed;
    this.consumed += frame.bytesConsumed;
    return { kind: 'cell', cell: frame.cell, wire };
  }

  /** A copy of the bytes not yet taken as cells. */
  rest(): Uint8Array {
    return this.buffer.slice(this.start, this.end);
  }
}
