/**
 * `ByteTransport` over a node:net socket (a TLSSocket in production, a plain
 * socket in tests): the only place channel bytes meet a socket.
 *
 * - Output: `write` queues on the socket and returns false once the queue
 *   reaches the high-water mark; `drained()` follows when it has emptied
 *   (node's 'drain'). The mark is never below the socket's own, so every
 *   false is followed by a 'drain'.
 * - Input before `attach`: held, and reading pauses once `maxHeldInputBytes`
 *   are waiting, so a channel nobody has adopted yet cannot grow memory.
 *   Held bytes are delivered after `attach` returns (in a microtask), so the
 *   caller can process the handshake's leftover bytes first.
 * - Read flow control beyond the interface: `pauseReading`/`resumeReading`.
 * - `close()` flushes then ends (TLS close_notify, FIN), and destroys the
 *   socket if the peer has not let us finish within `closeTimeoutMs`.
 *   Idempotent. `closed` is delivered exactly once, after any held data.
 */
import type { Socket } from 'node:net';
import type { ByteTransport, TransportHandlers } from '@relayd/common';

export interface SocketTransportOptions {
  /** write() returns false once this many bytes are queued (raised to the socket's own mark). Default 64 KiB. */
  readonly writeHighWaterMark?: number;
  /** Reading pauses while this many received bytes wait for attach(). Default 256 KiB. */
  readonly maxHeldInputBytes?: number;
  /** After close(), how long the peer has to take our last bytes before the socket is destroyed. Default 10 s. */
  readonly closeTimeoutMs?: number;
}

export const DEFAULT_WRITE_HIGH_WATER_MARK = 64 * 1024;
export const DEFAULT_MAX_HELD_INPUT_BYTES = 256 * 1024;
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

export class SocketByteTransport implements ByteTransport {
  private handlers: TransportHandlers | undefined;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private closing = false;
  private closedDelivered = false;
  /** Set when the socket has closed, with its error if it failed. */
  private closeEvent: { error: Error | undefined } | undefined;
  private socketError: Error | undefined;
  private needDrain = false;
  private pausedByConsumer = false;
  private pausedForHeld = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly highWaterMark: number;
  private readonly maxHeld: number;
  private readonly closeTimeoutMs: number;

  constructor(
    private readonly socket: Socket,
    opts: SocketTransportOptions = {},
  ) {
    this.highWaterMark = Math.max(
      opts.writeHighWaterMark ?? DEFAULT_WRITE_HIGH_WATER_MARK,
      socket.writableHighWaterMark,
    );
    this.maxHeld = opts.maxHeldInputBytes ?? DEFAULT_MAX_HELD_INPUT_BYTES;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (error: Error) => {
      this.socketError ??= error;
    });
    socket.on('close', () => this.onClose());
    if (socket.destroyed) {
      queueMicrotask(() => this.onClose());
    } else {
      socket.resume();
    }
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /** The peer's address as the socket reports it (sensitive). */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closing || this.closeEvent || this.socket.destroyed) return false;
    this.socket.write(bytes);
    if (this.socket.writableLength >= this.highWaterMark) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  close(): void {
    if (this.closing || this.closeEvent) return;
    this.closing = true;
    if (this.socket.destroyed) return;
    this.socket.end();
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.closeTimeoutMs);
    this.closeTimer.unref();
  }

  /** Closes at once, discarding what is queued (a protocol violation, a timeout). */
  destroy(error?: Error): void {
    if (error) this.socketError ??= error;
    this.closing = true;
    this.socket.destroy();
  }

  attach(handlers: TransportHandlers): void {
    if (this.handlers) throw new Error('bug: ByteTransport.attach called twice');
    this.handlers = handlers;
    queueMicrotask(() => this.flushHeld());
  }

  /** Stops reading from the socket until `resumeReading()` (the consumer is behind). */
  pauseReading(): void {
    this.pausedByConsumer = true;
    this.socket.pause();
  }

  resumeReading(): void {
    this.pausedByConsumer = false;
    if (!this.pausedForHeld && !this.closeEvent) this.socket.resume();
  }

  private onData(chunk: Buffer): void {
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.handlers && this.held.length === 0) {
      this.handlers.data(bytes);
      return;
    }
    this.held.push(bytes);
    this.heldBytes += bytes.length;
    if (this.heldBytes >= this.maxHeld && !this.pausedForHeld) {
      this.pausedForHeld = true;
      this.socket.pause();
    }
  }

  private flushHeld(): void {
    const handlers = this.handlers!;
    while (this.held.length > 0) {
      const next = this.held.shift()!;
      this.heldBytes -= next.length;
      handlers.data(next);
    }
    if (this.pausedForHeld) {
      this.pausedForHeld = false;
      if (!this.pausedByConsumer && !this.closeEvent) this.socket.resume();
    }
    if (this.closeEvent) this.deliverClosed();
  }

  private onDrain(): void {
    if (!this.needDrain) return;
    this.needDrain = false;
    if (this.handlers && !this.closeEvent) this.handlers.drained();
  }

  private onClose(): void {
    if (this.closeEvent) return;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeEvent = { error: this.socketError };
    if (this.handlers && this.held.length === 0) this.deliverClosed();
  }

  private deliverClosed(): void {
    if (this.closedDelivered) return;
    this.closedDelivered = true;
    this.handlers!.closed(this.closeEvent?.error);
  }
}
