/**
 * The boundary between the engine and the code that establishes channels.
 *
 * A channel reaches the engine only after its link handshake (VERSIONS,
 * CERTS, AUTH_CHALLENGE, NETINFO) has completed: the socket-owning package
 * runs the handshake and then hands over the transport, what it learned about
 * the peer, and any bytes it read past the handshake.
 */
import type { ByteTransport } from '@relayd/common';

/** What the link handshake established about the other end of a channel. */
export interface ChannelPeer {
  /** Negotiated link protocol version (3, 4 or 5). Circuit IDs are 4 bytes from 4 on. */
  readonly linkVersion: number;
  /** True when we opened the connection (to extend a circuit); false when the peer connected to us. */
  readonly initiatedLocally: boolean;
  /**
   * The peer's RSA identity digest (20 bytes), when proven: always for channels
   * we initiated; for accepted channels only if the peer authenticated.
   */
  readonly rsaIdentity: Uint8Array | undefined;
  /** The peer's Ed25519 identity (32 bytes), when proven. */
  readonly ed25519Identity: Uint8Array | undefined;
  /** The peer's IP address as text (sensitive: never log it unscrubbed). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** For channels that came through a pluggable transport: the transport name from the ExtORPort. */
  readonly transportName?: string | undefined;
}

/** A channel whose link handshake is complete, ready to be adopted by the engine. */
export interface EstablishedChannel {
  readonly transport: ByteTransport;
  readonly peer: ChannelPeer;
  /** Bytes received after the handshake's last cell, to be processed first. */
  readonly leftover: Uint8Array;
}

/** Where an EXTEND2 asks us to go. */
export interface ExtendTarget {
  /** Addresses from the link specifiers, IPv4 first; at least one. */
  readonly addresses: ReadonlyArray<{ readonly address: string; readonly port: number }>;
  /** RSA identity digest from the legacy-id link specifier (20 bytes). */
  readonly rsaIdentity: Uint8Array;
  /** Ed25519 identity, when the EXTEND2 named one (32 bytes). */
  readonly ed25519Identity: Uint8Array | undefined;
}

/**
 * Opens authenticated outgoing channels for EXTEND2. Implemented by the
 * socket-owning package: TLS connect, initiator link handshake, and a check
 * that the responder proved exactly the identities in `target` (otherwise the
 * promise rejects). The engine itself reuses open channels to the same
 * identity, so the provider is only asked when none is usable.
 */
export interface ChannelProvider {
  openChannel(target: ExtendTarget): Promise<EstablishedChannel>;
}
