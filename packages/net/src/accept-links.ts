/**
 * The ORPort: accepting TLS connections and running the responder link
 * handshake on each, delivering what completes as an `EstablishedChannel`.
 *
 * Each connection has one deadline (`handshakeTimeoutMs`, default
 * LINK_HANDSHAKE_TIMEOUT_MS = 60 s) from accept to the peer's NETINFO,
 * covering TLS and the cells. A connection that breaks the protocol, stalls
 * or fails is destroyed and reported to `onError`; nothing else is touched.
 * `acceptLinkOnSocket` runs the same thing on a socket that was accepted
 * elsewhere (a connection handed over by the supervisor).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { type IpAddress, parseIpAddress } from '@relayd/cells';
import {
  type Clock,
  describeError,
  InternalError,
  type Logger,
  type Random,
  type Sensitive,
  sensitive,
  silentLogger,
  systemClock,
} from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import type { EstablishedChannel } from '@relayd/engine';
import { LINK_HANDSHAKE_TIMEOUT_MS, LinkResponder, type ResponderOutcome } from '@relayd/link-handshake';
import { isWildcardAddress, normalizeAddressText, socketIpAddress, UNKNOWN_IPV4 } from './addresses.js';
import { runLinkHandshake, socketExporter } from './link-driver.js';
import { type LinkKeyMaterial, type LinkTlsContext, LinkTlsContexts } from './link-tls-context.js';
import { SocketByteTransport, type SocketTransportOptions } from './socket-transport.js';

export interface AcceptLinkOptions {
  /** The TLS identity to present: the rotating contexts (their current one is used) or a fixed context. */
  readonly tls: LinkTlsContexts | LinkTlsContext;
  readonly clock?: Clock;
  readonly random?: Random;
  /** From accept to the peer's NETINFO. Default LINK_HANDSHAKE_TIMEOUT_MS (60 s). */
  readonly handshakeTimeoutMs?: number;
  /** Our public addresses, for the MYADDR field of NETINFO. */
  readonly localAddresses?: readonly string[];
  /** The client's real address when the socket's peer is a proxy (ExtORPort USERADDR). */
  readonly remote?: { readonly address: string; readonly port: number };
  /** The pluggable transport the connection came through (ExtORPort TRANSPORT). */
  readonly transportName?: string;
  readonly transport?: SocketTransportOptions;
}

function parseAddresses(list: readonly string[] | undefined): IpAddress[] {
  const out: IpAddress[] = [];
  for (const text of list ?? []) {
    const address = parseIpAddress(normalizeAddressText(text));
    if (address && !isWildcardAddress(address)) out.push(address);
  }
  return out;
}

/**
 * Runs TLS (server side) and the responder link handshake on an accepted
 * socket. Resolves with the established channel; rejects (and destroys the
 * socket) on a protocol violation, a timeout or a closed connection.
 */
export function acceptLinkOnSocket(socket: Socket, opts: AcceptLinkOptions): Promise<EstablishedChannel> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? secureRandom;
  const context = opts.tls instanceof LinkTlsContexts ? opts.tls.current : opts.tls;
  const deadlineMs = clock.monotonicMs() + (opts.handshakeTimeoutMs ?? LINK_HANDSHAKE_TIMEOUT_MS);
  const remoteAddress = normalizeAddressText(opts.remote?.address ?? socket.remoteAddress ?? '0.0.0.0');
  const remotePort = opts.remote?.port ?? socket.remotePort ?? 0;
  const localAddresses = parseAddresses(opts.localAddresses);

  // Failures of the raw socket surface on the TLS socket; this only keeps them from being unhandled.
  socket.on('error', () => {});
  const tlsSocket = new TLSSocket(socket, {
    isServer: true,
    secureContext: context.secureContext,
    // C tor asks for a client certificate and accepts anything (SSL_VERIFY_PEER, always_accept_verify_cb).
    requestCert: true,
    rejectUnauthorized: false,
  });
  return runLinkHandshake<ResponderOutcome>({
    socket: tlsSocket,
    secureEvent: 'secure',
    clock,
    tlsDeadlineMs: deadlineMs,
    start: () => ({
      machine: new LinkResponder({
        credentials: context.credentials,
        tls: socketExporter(tlsSocket),
        peerAddress: socketIpAddress(remoteAddress) ?? UNKNOWN_IPV4,
        localAddresses,
        clock,
        random,
        timeoutMs: Math.max(0, deadlineMs - clock.monotonicMs()),
      }),
      firstFlight: new Uint8Array(0),
    }),
  }).then((outcome) => ({
    transport: new SocketByteTransport(tlsSocket, opts.transport),
    peer: {
      linkVersion: outcome.linkVersion,
      initiatedLocally: false,
      rsaIdentity: outcome.rsaIdentity,
      ed25519Identity: outcome.ed25519Identity,
      remoteAddress,
      remotePort,
      ...(opts.transportName !== undefined ? { transportName: opts.transportName } : {}),
    },
    leftover: outcome.leftover,
  }));
}

export interface AcceptLinksOptions extends Omit<AcceptLinkOptions, 'tls' | 'remote' | 'transportName'> {
  /** Address to listen on ("0.0.0.0", "::", "127.0.0.1", ...). */
  readonly host: string;
  /** Port to listen on; 0 picks a free one (see `LinkListener.port`). */
  readonly port: number;
  /** The relay's keys; a LinkTlsContexts is made from them and rotated every two hours. */
  readonly keys?: LinkKeyMaterial;
  /** Or bring the contexts (then their rotation is the caller's). Exactly one of keys and tls. */
  readonly tls?: LinkTlsContexts;
  /** A channel whose handshake completed. Ownership of its transport passes to the callee. */
  onChannel(channel: EstablishedChannel): void;
  /** A connection that failed before its channel was established (already closed). */
  onError?(error: Error, info: { readonly remoteAddress: Sensitive<string> }): void;
  readonly logger?: Logger;
  /** Accepting stops above this many connections still in their handshake. Default 4096. */
  readonly maxPendingHandshakes?: number;
}

/** A listening ORPort. */
export interface LinkListener {
  readonly host: string;
  readonly port: number;
  /** The TLS contexts new connections are answered with. */
  readonly tls: LinkTlsContexts;
  /** Connections in their handshake right now. */
  readonly pendingHandshakes: number;
  /** Stops accepting and aborts connections still in their handshake; established channels are not touched. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_PENDING_HANDSHAKES = 4096;
const REFUSAL_WARNING_INTERVAL_MS = 60_000;

/** Listens on an ORPort and runs the responder handshake on every connection. */
export async function acceptLinks(opts: AcceptLinksOptions): Promise<LinkListener> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  let tls: LinkTlsContexts;
  if (opts.tls) {
    tls = opts.tls;
  } else if (opts.keys) {
    tls = new LinkTlsContexts(opts.keys, { clock, logger, ...(opts.random ? { random: opts.random } : {}) });
    tls.startRotation();
  } else {
    throw new InternalError('acceptLinks needs keys or tls contexts');
  }
  const ownsRotation = !opts.tls;
  const maxPending = opts.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES;
  const pending = new Set<Socket>();
  const localAddresses = opts.localAddresses ?? [opts.host];
  // Refusals are logged at most once a minute, with a count: a flood must not flood the log.
  let refused = 0;
  let lastRefusalWarningMs = Number.NEGATIVE_INFINITY;

  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (pending.size >= maxPending) {
      socket.destroy();
      refused++;
      const now = clock.monotonicMs();
      if (now - lastRefusalWarningMs >= REFUSAL_WARNING_INTERVAL_MS) {
        lastRefusalWarningMs = now;
        logger.warn(
          { pending: pending.size, refused },
          'too many link handshakes in progress; refusing connections',
        );
        refused = 0;
      }
      return;
    }
    pending.add(socket);
    const address = normalizeAddressText(socket.remoteAddress ?? '');
    acceptLinkOnSocket(socket, { ...opts, tls, localAddresses }).then(
      (channel) => {
        pending.delete(socket);
        try {
          opts.onChannel(channel);
        } catch (error) {
          // The callee's bug must not escape as an unhandled rejection: drop this channel only.
          logger.error({ err: describeError(error) }, 'bug: onChannel threw; closing the channel');
          channel.transport.close();
        }
      },
      (error: Error) => {
        pending.delete(socket);
        logger.debug({ err: error.message, peer: sensitive(address) }, 'link handshake failed');
        try {
          opts.onError?.(error, { remoteAddress: sensitive(address) });
        } catch (callbackError) {
          logger.error({ err: describeError(callbackError) }, 'bug: onError threw');
        }
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if (ownsRotation) tls.stopRotation();
    throw error;
  }
  server.on('error', (error) => logger.error({ err: error.message }, 'ORPort listener error'));
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : opts.port;

  return {
    host: opts.host,
    port,
    tls,
    get pendingHandshakes() {
      return pending.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ownsRotation) tls.stopRotation();
        for (const socket of pending) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
