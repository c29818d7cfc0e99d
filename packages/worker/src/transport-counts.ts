/**
 * A worker's connections counted by the pluggable transport they came
 * through: what the Extended ORPort's TRANSPORT said (carried to the worker
 * in the handoff metadata, or by the balancer's USERADDR/TRANSPORT in proxy
 * mode), or `vanilla` when nothing named a transport. Each entry counts the
 * connections received and those whose link handshake completed, for the
 * heartbeat statistics (@relayd/ipc `ConnectionsByTransport`).
 *
 * At most MAX_TRACKED_TRANSPORTS names are kept apart; connections of any
 * further name go under OTHER_TRANSPORTS, so a transport that invents names
 * cannot grow the statistics without bound.
 */
import {
  type ConnectionsByTransport,
  MAX_TRACKED_TRANSPORTS,
  OTHER_TRANSPORTS,
  type TransportCounts,
} from '@relayd/ipc';

interface MutableCounts {
  connections: number;
  linksAccepted: number;
}

export class TransportConnectionCounts {
  private readonly vanilla: MutableCounts = { connections: 0, linksAccepted: 0 };
  // A Map: any C identifier is a transport name, "__proto__" included.
  private readonly pluggable = new Map<string, MutableCounts>();

  /** A connection arrived through `transportName` (undefined: no transport). */
  connection(transportName: string | undefined): void {
    this.entry(transportName).connections++;
  }

  /** A connection that came through `transportName` completed its link handshake. */
  linkAccepted(transportName: string | undefined): void {
    this.entry(transportName).linksAccepted++;
  }

  /** A copy, transport names in the order they were first seen. */
  snapshot(): ConnectionsByTransport {
    const copy = (c: MutableCounts): TransportCounts => ({
      connections: c.connections,
      linksAccepted: c.linksAccepted,
    });
    return {
      vanilla: copy(this.vanilla),
      pluggable: Object.fromEntries([...this.pluggable.entries()].map(([name, c]) => [name, copy(c)])),
    };
  }

  private entry(transportName: string | undefined): MutableCounts {
    if (transportName === undefined) return this.vanilla;
    const known = this.pluggable.get(transportName);
    if (known) return known;
    const tracked = this.pluggable.size - (this.pluggable.has(OTHER_TRANSPORTS) ? 1 : 0);
    const name = tracked < MAX_TRACKED_TRANSPORTS ? transportName : OTHER_TRANSPORTS;
    let counts = this.pluggable.get(name);
    if (!counts) {
      counts = { connections: 0, linksAccepted: 0 };
      this.pluggable.set(name, counts);
    }
    return counts;
  }
}
