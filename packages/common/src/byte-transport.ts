/**
 * A bidirectional byte pipe, as the relay engine sees a connection.
 *
 * The socket-owning package implements it over TLS (or a handed-over
 * socket); tests implement it in memory. The engine never touches sockets.
 */

/** What a transport delivers to whoever attached to it. */
export interface TransportHandlers {
  /** Bytes arrived from the peer, in order. */
  data(bytes: Uint8Array): void;
  /** The connection is gone (peer closed, error, or our own close()). Called once. */
  closed(error?: Error): void;
  /** The outbound buffer fell below its low-water mark after write() returned false. */
  drained(): void;
}

export interface ByteTransport {
  /**
   * Queues bytes for the peer. Returns false when the outbound buffer is above
   * its high-water mark: the caller should stop producing until drained().
   */
  write(bytes: Uint8Array): boolean;
  /** Flushes what is queued, then closes. Idempotent. */
  close(): void;
  /** Bytes queued and not yet handed to the kernel. */
  readonly bufferedBytes: number;
  /** Starts delivering inbound bytes and events. Called exactly once; bytes received before are held. */
  attach(handlers: TransportHandlers): void;
}
