/**
 * The metrics relayd shares with C tor's MetricsPort (tor:
 * src/feature/relay/relay_metrics.c), declared once for every process that
 * exposes them. Names, label names and label values are C tor's, so
 * dashboards and alerts written for a C tor bridge carry over, with two
 * deliberate differences where C tor breaks Prometheus's naming rules
 * (and `promtool check metrics` refuses the name):
 *
 *   - C tor's `tor_relay_traffic_bytes` is a counter without the `_total`
 *     suffix counters must have: relayd exposes `tor_relay_traffic_bytes_total`.
 *   - C tor's `tor_relay_circuits_total{state="opened"}` is declared a gauge
 *     (the number of circuits open now) under a counter's name: relayd
 *     exposes the gauge as `tor_relay_circuits{state="opened"}`.
 *
 * Where relayd knows more than C tor reports, it adds label values rather
 * than families: onionskins also have action="failed" (a handshake that
 * did not verify) and type="unknown" (a CREATE2 handshake type relayd does
 * not serve).
 */
import type { MetricDefinition } from './metric-creator.js';

/** C tor's onionskin `type` values (relay_metrics.c `handshake_type_to_str`), plus relayd's "unknown". */
export const ONIONSKIN_TYPE_LABELS = ['tap', 'fast', 'ntor', 'ntor_v3', 'unknown'] as const;
export type OnionskinTypeLabel = (typeof ONIONSKIN_TYPE_LABELS)[number];
/** C tor's `action` values, plus relayd's "failed". */
export const ONIONSKIN_ACTION_LABELS = ['processed', 'dropped', 'failed'] as const;
export type OnionskinActionLabel = (typeof ONIONSKIN_ACTION_LABELS)[number];

export const CONNECTION_DIRECTIONS = ['initiated', 'received'] as const;
export type ConnectionDirection = (typeof CONNECTION_DIRECTIONS)[number];
export const ADDRESS_FAMILIES = ['ipv4', 'ipv6'] as const;
export type AddressFamilyLabel = (typeof ADDRESS_FAMILIES)[number];
/** relay_metrics.c `conn_type_to_string(CONN_TYPE_OR)`: a channel is an OR connection. */
export const OR_CONNECTION_TYPE = 'OR';

/**
 * C tor's `tor_relay_dos_total{type}` values that relayd measures:
 * - `concurrent_conn_rejected`: connections refused because their client
 *   address held the most connections allowed (C tor's
 *   DoSConnectionMaxConcurrentCount; relayd's per-address limit on the front);
 * - `circuit_killed_max_cell`: circuits closed because too many cells were
 *   queued on them (C tor's max queued cells per circuit).
 */
export const DOS_TYPE_LABELS = ['concurrent_conn_rejected', 'circuit_killed_max_cell'] as const;
export type DosTypeLabel = (typeof DOS_TYPE_LABELS)[number];

export const TOR_RELAY_METRICS = {
  onionskins: {
    name: 'tor_relay_load_onionskins_total',
    help: 'Total number of onionskins handled',
    labelNames: ['type', 'action'],
  },
  connectionsTotal: {
    name: 'tor_relay_connections_total',
    help: 'Total number of created/rejected connections',
    labelNames: ['type', 'direction', 'state', 'family'],
  },
  connections: {
    name: 'tor_relay_connections',
    help: 'Total number of opened connections',
    labelNames: ['type', 'direction', 'state', 'family'],
  },
  circuits: {
    name: 'tor_relay_circuits',
    help: 'Number of circuits open now (C tor: tor_relay_circuits_total, a gauge)',
    labelNames: ['state'],
  },
  trafficBytes: {
    name: 'tor_relay_traffic_bytes_total',
    help: 'Traffic related counters (C tor: tor_relay_traffic_bytes)',
    labelNames: ['direction'],
  },
  dos: {
    name: 'tor_relay_dos_total',
    help: 'Denial of Service defenses related counters',
    labelNames: ['type'],
  },
  signingCertExpiry: {
    name: 'tor_relay_signing_cert_expiry_timestamp',
    help: 'Timestamp at which the current online keys will expire',
    labelNames: [],
  },
} as const satisfies Record<string, MetricDefinition<string>>;
