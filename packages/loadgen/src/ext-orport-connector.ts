/**
 * The pluggable-transport path to the bridge, for load: each connection
 * goes to the bridge's Extended ORPort the way a transport server
 * (obfs4proxy, snowflake-server) reaches it, then carries an ordinary link.
 *
 *   TCP connect to the ExtORPort (from a spread source address)
 *   SAFE_COOKIE authentication with the bridge's cookie (ext-orport-spec 2.1)
 *   USERADDR (a distinct client address per connection) and TRANSPORT, DONE
 *   OKAY ─▶ TLS over the same socket ─▶ initiator link handshake ─▶ channel
 *
 * The connect and the exchange are @relayd/net's `dialExtOrPort`; this
 * module owns what is the load generator's: which source address and
 * USERADDR each connection gets, TLS and the link handshake over the
 * socket it hands back, one deadline over all of it, and the errors the
 * load generator counts. A DENY, a failed authentication or bytes from the
 * bridge between OKAY and our TLS ClientHello (the link starts with the
 * client speaking) fail that connection, which the load generator counts
 * by error code.
 */
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { parseIpAddress } from '@relayd/cells';
import { type Clock, type Random, systemClock } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import type { EstablishedChannel } from '@relayd/engine';
import { type AddressPort, ExtOrClient, parseAddressPort } from '@relayd/ext-orport';
import {
  checkPeerIdentity,
  type InitiatorOutcome,
  LINK_HANDSHAKE_TIMEOUT_MS,
  LinkInitiator,
} from '@relayd/link-handshake';
import {
  type DialExtOrOptions,
  dialExtOrPort,
  type ExtOrDialResult,
  linkClientTlsOptions,
  NetError,
  normalizeAddressText,
  runLinkHandshake,
  SocketByteTransport,
  type TcpSocket,
} from '@relayd/net';
import type { LinkConnector } from './connector.js';
import { LoadgenError } from './errors.js';

/** The transport name sent in TRANSPORT unless another is given: a C identifier naming the load itself. */
export const DEFAULT_LOAD_TRANSPORT_NAME = 'loadgen';

export interface ExtOrPortConnectorOptions {
  /** The bridge's Extended ORPort. */
  readonly extOrPort: { readonly address: string; readonly port: number };
  /** The 32-byte CookieString from the bridge's ExtORPort cookie file (`decodeCookieFile`). */
  readonly cookie: Uint8Array;
  /** TRANSPORT for every connection; default DEFAULT_LOAD_TRANSPORT_NAME. */
  readonly transportName?: string;
  /**
   * USERADDR for connection `index`; default `loadgenClientAddress` (a
   * distinct documentation-range address per connection, so per-address
   * policies see many clients, as behind a real transport).
   */
  readonly clientAddress?: (index: number) => AddressPort | undefined;
  /** TCP connect, the ExtORPort exchange and TLS, per connection (ms). Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** The link handshake after TLS (ms). Default LINK_HANDSHAKE_TIMEOUT_MS. */
  readonly handshakeTimeoutMs?: number;
  /** Bind connection i to sourceAddresses[i mod n]; empty or absent: the system picks. */
  readonly sourceAddresses?: readonly string[];
  readonly clock?: Clock;
  readonly random?: Random;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * USERADDR for connection `index`: 198.18.0.0/15 (RFC 2544 benchmarking
 * range), one address per connection for the first 131,072, port 1024 up.
 */
export function loadgenClientAddress(index: number): AddressPort {
  const n = index % 131_072;
  const text = `198.${18 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}:${1024 + (index % 60_000)}`;
  const parsed = parseAddressPort(text);
  if (!parsed.ok) throw new LoadgenError('BAD_OPTION', `bad client address ${text}`);
  return parsed.value;
}

/** Connections through the bridge's Extended ORPort, as a pluggable transport opens them. */
export function extOrPortLinkConnector(options: ExtOrPortConnectorOptions): LinkConnector {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? secureRandom;
  const sources = options.sourceAddresses ?? [];
  const clientAddress = options.clientAddress ?? loadgenClientAddress;
  const transportName = options.transportName ?? DEFAULT_LOAD_TRANSPORT_NAME;
  // Fail at once on a cookie or name the client refuses, not once per connection.
  new ExtOrClient({ cookie: options.cookie, random, transportName });

  return async (target, index) => {
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadlineMs = clock.monotonicMs() + connectTimeoutMs;
    const localAddress = sources.length > 0 ? sources[index % sources.length] : undefined;
    const address = clientAddress(index);
    const socket = await dialBridge({
      host: options.extOrPort.address,
      port: options.extOrPort.port,
      ...(localAddress ? { localAddress } : {}),
      cookie: options.cookie,
      random,
      transportName,
      ...(address ? { clientAddress: address } : {}),
      deadlineMs: connectTimeoutMs,
    });
    const tlsSocket = tlsConnect({ socket, ...linkClientTlsOptions(random) });
    const host = options.extOrPort.address;
    const outcome = await runLinkHandshake<InitiatorOutcome>({
      socket: tlsSocket,
      secureEvent: 'secureConnect',
      clock,
      tlsDeadlineMs: deadlineMs,
      start: () => {
        const raw = tlsSocket.getPeerCertificate(true)?.raw;
        if (!raw || raw.length === 0) {
          throw new NetError('NO_PEER_CERTIFICATE', 'the bridge presented no TLS certificate');
        }
        const machine = new LinkInitiator({
          peerTlsCertificate: new Uint8Array(raw),
          peerAddress: parseIpAddress(normalizeAddressText(host)) ?? {
            family: 'ipv4',
            bytes: new Uint8Array(4),
          },
          clock,
          random,
          timeoutMs: options.handshakeTimeoutMs ?? LINK_HANDSHAKE_TIMEOUT_MS,
          expectedPeer: target,
        });
        return { machine, firstFlight: machine.start() };
      },
    });
    const identity = checkPeerIdentity(outcome, target);
    if (!identity.ok) {
      tlsSocket.destroy();
      throw identity.error;
    }
    return channelFrom(tlsSocket, outcome, host, options.extOrPort.port);
  };
}

function channelFrom(
  socket: TLSSocket,
  outcome: InitiatorOutcome,
  host: string,
  port: number,
): EstablishedChannel {
  return {
    transport: new SocketByteTransport(socket),
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
}

/**
 * The Extended ORPort up to OKAY, as the load generator counts it: a DENY
 * is NO_CONNECTION, and the exchange running out of time is CONNECT_TIMEOUT
 * like TCP or TLS running out of it (the connect timeout covers all three;
 * HANDSHAKE_TIMEOUT stays the link handshake's). Resolves with a socket
 * that is not reading and that nothing has been read from beyond OKAY.
 */
async function dialBridge(dial: DialExtOrOptions): Promise<TcpSocket> {
  let result: ExtOrDialResult;
  try {
    result = await dialExtOrPort(dial);
  } catch (error) {
    if (error instanceof NetError && error.code === 'HANDSHAKE_TIMEOUT') {
      throw new NetError('CONNECT_TIMEOUT', error.message, { cause: error });
    }
    throw error;
  }
  switch (result.status) {
    case 'accepted':
      if (result.leftover.length > 0) {
        result.socket.destroy();
        throw new LoadgenError(
          'NO_CONNECTION',
          `the bridge sent ${result.leftover.length} bytes after OKAY, before the client's TLS hello`,
        );
      }
      return result.socket;
    case 'denied':
      throw new LoadgenError('NO_CONNECTION', 'the Extended ORPort answered DENY');
    case 'authenticated':
      // Only an authOnly dial stops here, and this one never is.
      throw new NetError(
        'CLOSED_DURING_HANDSHAKE',
        'the Extended ORPort exchange stopped after authentication',
      );
  }
}
