/**
 * C tor's connection metrics for a worker's channels:
 * `tor_relay_connections_total{type="OR",direction,state="created",family}`
 * and the gauge `tor_relay_connections{type="OR",direction,state="opened",family}`.
 *
 * A channel is counted when its link handshake has completed and it is
 * handed to the engine (received: a client's; initiated: one opened for
 * EXTEND2), by the address family of the peer; it stays in the gauge until
 * its transport reports the connection gone. The engine's own sink says
 * neither the family nor which channel closed, so the count is taken on
 * the `EstablishedChannel` itself: `track` wraps its transport to see the
 * close, `trackProvider` does it for every channel a provider opens.
 */
import type { ByteTransport, TransportHandlers } from '@relayd/common';
import type { ChannelProvider, EstablishedChannel, ExtendTarget } from '@relayd/engine';
import type { Counter, Gauge } from 'prom-client';
import { counter, gauge, type MetricsRegistry } from './metric-creator.js';
import {
  ADDRESS_FAMILIES,
  type AddressFamilyLabel,
  CONNECTION_DIRECTIONS,
  type ConnectionDirection,
  OR_CONNECTION_TYPE,
  TOR_RELAY_METRICS,
} from './tor-relay-metrics.js';

/** The family of an address as text; IPv4-mapped IPv6 ("::ffff:192.0.2.1") counts as IPv4. */
export function addressFamily(address: string): AddressFamilyLabel {
  if (!address.includes(':')) return 'ipv4';
  return /^(\[)?::ffff:\d{1,3}(\.\d{1,3}){3}(\])?$/i.test(address) ? 'ipv4' : 'ipv6';
}

/** Passes everything through and reports, once, that the connection is gone. */
class ClosingWatchedTransport implements ByteTransport {
  private attached = false;
  private reported = false;

  constructor(
    private readonly inner: ByteTransport,
    private readonly onGone: () => void,
  ) {}

  get bufferedBytes(): number {
    return this.inner.bufferedBytes;
  }

  write(bytes: Uint8Array): boolean {
    return this.inner.write(bytes);
  }

  close(): void {
    // Closed before anyone attached (a refused channel): no close event will ever be delivered.
    if (!this.attached) this.gone();
    this.inner.close();
  }

  attach(handlers: TransportHandlers): void {
    this.attached = true;
    this.inner.attach({
      data: (bytes) => handlers.data(bytes),
      drained: () => handlers.drained(),
      closed: (error) => {
        this.gone();
        handlers.closed(error);
      },
    });
  }

  private gone(): void {
    if (this.reported) return;
    this.reported = true;
    this.onGone();
  }
}

export class ChannelConnectionMetrics {
  private readonly created: Counter<'type' | 'direction' | 'state' | 'family'>;
  private readonly open: Gauge<'type' | 'direction' | 'state' | 'family'>;

  constructor(registry: MetricsRegistry) {
    this.created = counter(registry, TOR_RELAY_METRICS.connectionsTotal);
    this.open = gauge(registry, TOR_RELAY_METRICS.connections);
    // Every series from the start, as C tor shows them, labels in C tor's order.
    for (const direction of CONNECTION_DIRECTIONS) {
      for (const family of ADDRESS_FAMILIES) {
        this.created.inc({ type: OR_CONNECTION_TYPE, direction, state: 'created', family }, 0);
        this.open.set({ type: OR_CONNECTION_TYPE, direction, state: 'opened', family }, 0);
      }
    }
  }

  /** Counts a channel about to be adopted; adopt the channel returned (its transport is watched). */
  track(channel: EstablishedChannel): EstablishedChannel {
    const direction: ConnectionDirection = channel.peer.initiatedLocally ? 'initiated' : 'received';
    const family = addressFamily(channel.peer.remoteAddress);
    this.created.inc({ type: OR_CONNECTION_TYPE, direction, state: 'created', family });
    const opened = { type: OR_CONNECTION_TYPE, direction, state: 'opened', family };
    this.open.inc(opened);
    return {
      peer: channel.peer,
      leftover: channel.leftover,
      transport: new ClosingWatchedTransport(channel.transport, () => this.open.dec(opened)),
    };
  }

  /** A provider whose every channel is tracked; give it to the engine instead of `provider`. */
  trackProvider(provider: ChannelProvider): ChannelProvider {
    return {
      openChannel: async (target: ExtendTarget) => this.track(await provider.openChannel(target)),
    };
  }
}
