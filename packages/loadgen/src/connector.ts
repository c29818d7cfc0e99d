/**
 * How the load generator reaches the bridge: a `LinkConnector` turns a
 * relay address into an established channel (TLS and the initiator link
 * handshake done, the bridge's identities proven). The default opens TLS to
 * the ORPort with @relayd/net's TlsChannelProvider, spreading connections
 * over the given source addresses.
 *
 * This is the seam for other paths to the same link. An Extended ORPort
 * connector (the path through a pluggable transport's front end) dials the
 * ExtORPort with net's `dialExtOrPort` (SAFE_COOKIE authentication,
 * USERADDR/TRANSPORT before DONE), then runs TLS and the link handshake over
 * that same socket (net's `runLinkHandshake` with `linkClientTlsOptions`),
 * and resolves with the channel exactly as this one does. In-memory tests
 * pass a connector that hands over one end of a transport pair.
 */
import type { Clock, Logger, Random } from '@relayd/common';
import type { EstablishedChannel } from '@relayd/engine';
import { TlsChannelProvider } from '@relayd/net';
import type { RelayAddress } from './target.js';

/**
 * Opens connection number `index` (0-based) to `target`. Resolves once the
 * link handshake is done and the peer proved `target.rsaIdentity` (and
 * `target.ed25519Identity`, when given); rejects otherwise.
 */
export type LinkConnector = (target: RelayAddress, index: number) => Promise<EstablishedChannel>;

export interface TlsLinkConnectorOptions {
  /** TCP + TLS per connection (ms). */
  readonly connectTimeoutMs?: number;
  /** The link handshake after TLS (ms). */
  readonly handshakeTimeoutMs?: number;
  /** Bind connection i to sourceAddresses[i mod n]; empty or absent: the system picks. */
  readonly sourceAddresses?: readonly string[];
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
}

/** The plain ORPort path: TLS, then the link handshake as an unauthenticated initiator (a client). */
export function tlsLinkConnector(options: TlsLinkConnectorOptions = {}): LinkConnector {
  const sources = options.sourceAddresses ?? [];
  const common = {
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  };
  const providers =
    sources.length === 0
      ? [new TlsChannelProvider(common)]
      : sources.map((localAddress) => new TlsChannelProvider({ ...common, localAddress }));
  return (target, index) => {
    const provider = providers[index % providers.length]!;
    return provider.openChannel({
      addresses: [{ address: target.address, port: target.port }],
      rsaIdentity: target.rsaIdentity,
      ed25519Identity: target.ed25519Identity,
    });
  };
}
