/**
 * Outgoing channels for EXTEND2: TLS to the next relay, the initiator link
 * handshake, and the check that the relay proved exactly the identities the
 * EXTEND2 named (C tor connection_or.c `connection_or_client_learned_peer_id`).
 *
 * Addresses are tried one after another, IPv4 first; each attempt has a
 * connect deadline (TCP + TLS, default 10 s) and then the link handshake
 * deadline (default LINK_HANDSHAKE_TIMEOUT_MS). A relay that proves another
 * identity is refused at once: a wrong identity at one address says nothing
 * good about the others. Which addresses may be dialled (private ranges,
 * ports) is the engine's policy, not this module's.
 *
 * A bridge does not authenticate as an initiator (C tor: `public_server_mode()`
 * is false for bridges). `authenticate` makes the provider play a relay
 * (CERTS + AUTHENTICATE), for load generation against real relays.
 */
import { connect, type TLSSocket } from 'node:tls';
import { parseIpAddress } from '@relayd/cells';
import { type Clock, type Logger, type Random, sensitive, silentLogger, systemClock } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import type { ChannelProvider, EstablishedChannel, ExtendTarget } from '@relayd/engine';
import {
  checkPeerIdentity,
  type InitiatorCredentials,
  type InitiatorOutcome,
  LINK_HANDSHAKE_TIMEOUT_MS,
  LinkHandshakeError,
  LinkInitiator,
} from '@relayd/link-handshake';
import { normalizeAddressText, UNKNOWN_IPV4 } from './addresses.js';
import { runLinkHandshake, socketExporter } from './link-driver.js';
import { linkClientTlsOptions } from './link-tls-context.js';
import { NetError } from './net-error.js';
import { SocketByteTransport, type SocketTransportOptions } from './socket-transport.js';

/** TCP connect plus TLS, per address. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface TlsChannelProviderOptions {
  readonly clock?: Clock;
  readonly random?: Random;
  /** TCP connect plus TLS handshake, per address. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** The link handshake after TLS. Default LINK_HANDSHAKE_TIMEOUT_MS. */
  readonly handshakeTimeoutMs?: number;
  /** Source address to bind outgoing connections to (spreading over 127.x, or a chosen interface). */
  readonly localAddress?: string;
  /** Authenticate as a relay: returns the credentials to use now. Never set for a bridge. */
  readonly authenticate?: () => InitiatorCredentials;
  readonly transport?: SocketTransportOptions;
  readonly logger?: Logger;
}

export class TlsChannelProvider implements ChannelProvider {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly open = new Set<TLSSocket>();
  private shutDown = false;

  constructor(private readonly opts: TlsChannelProviderOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? secureRandom;
    this.logger = opts.logger ?? silentLogger;
  }

  /**
   * Opens a channel to `target`. Resolves once the responder proved the
   * target's RSA identity (and its Ed25519 identity, when the target names
   * one); rejects with IDENTITY_MISMATCH, a LinkHandshakeError, or a
   * NetError (CONNECT_FAILED, CONNECT_TIMEOUT, HANDSHAKE_TIMEOUT, ...).
   */
  async openChannel(target: ExtendTarget): Promise<EstablishedChannel> {
    const addresses = [...target.addresses].sort(
      (a, b) => Number(a.address.includes(':')) - Number(b.address.includes(':')),
    );
    if (addresses.length === 0) throw new NetError('NO_ADDRESS', 'the extend target has no address');
    let lastError: Error | undefined;
    for (const { address, port } of addresses) {
      if (this.shutDown) throw new NetError('SHUT_DOWN', 'the channel provider was closed');
      try {
        return await this.openAt(address, port, target);
      } catch (error) {
        lastError = error as Error;
        if (error instanceof LinkHandshakeError) throw error;
        this.logger.debug(
          { err: lastError.message, peer: sensitive(address) },
          'outgoing link attempt failed',
        );
      }
    }
    if (lastError instanceof NetError && addresses.length === 1) throw lastError;
    throw new NetError('CONNECT_FAILED', `no address of the target could be reached: ${lastError?.message}`, {
      cause: lastError,
    });
  }

  /** Aborts connections still being set up; channels already handed out are not touched. */
  close(): void {
    this.shutDown = true;
    for (const socket of this.open) socket.destroy();
  }

  private async openAt(host: string, port: number, target: ExtendTarget): Promise<EstablishedChannel> {
    const start = this.clock.monotonicMs();
    const connectDeadline = start + (this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    const credentials = this.opts.authenticate?.();
    const socket = connect({
      host,
      port,
      ...linkClientTlsOptions(this.random),
      ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
    });
    socket.setNoDelay(true);
    this.open.add(socket);
    try {
      const outcome = await runLinkHandshake<InitiatorOutcome>({
        socket,
        secureEvent: 'secureConnect',
        clock: this.clock,
        tlsDeadlineMs: connectDeadline,
        start: () => this.startInitiator(socket, host, target, credentials),
      });
      // The handshake already refused a wrong identity at CERTS time; this is the final word.
      const identity = checkPeerIdentity(outcome, target);
      if (!identity.ok) {
        socket.destroy();
        throw identity.error;
      }
      return {
        transport: new SocketByteTransport(socket, this.opts.transport),
        peer: {
          linkVersion: outcome.linkVersion,
          initiatedLocally: true,
          rsaIdentity: outcome.rsaIdentity,
          ed25519Identity: outcome.ed25519Identity,
          remoteAddress: normalizeAddressText(host),
          remotePort: port,
        },
        leftover: outcome.leftover,
      };
    } finally {
      this.open.delete(socket);
    }
  }

  private startInitiator(
    socket: TLSSocket,
    host: string,
    target: ExtendTarget,
    credentials: InitiatorCredentials | undefined,
  ) {
    const raw = socket.getPeerCertificate(true)?.raw;
    if (!raw || raw.length === 0)
      throw new NetError('NO_PEER_CERTIFICATE', 'the relay presented no TLS certificate');
    const machine = new LinkInitiator({
      peerTlsCertificate: new Uint8Array(raw),
      peerAddress: parseIpAddress(normalizeAddressText(host)) ?? UNKNOWN_IPV4,
      clock: this.clock,
      random: this.random,
      timeoutMs: this.opts.handshakeTimeoutMs ?? LINK_HANDSHAKE_TIMEOUT_MS,
      expectedPeer: target,
      ...(credentials ? { authenticate: { credentials, tls: socketExporter(socket) } } : {}),
    });
    return { machine, firstFlight: machine.start() };
  }
}
