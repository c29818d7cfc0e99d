/**
 * Everything a worker process exposes, in its own registry: the engine's
 * and the directory service's sinks, its channels as C tor's connection
 * metrics, and the worker's statistics (the heartbeat's numbers) read at
 * scrape time. The supervisor reads the registry over IPC
 * (`readMetricsJson`) and aggregates the workers (ClusterMetrics).
 *
 *   const registry = createMetricsRegistry({ processMetrics: true });
 *   const metrics = createWorkerMetrics(registry);
 *   // engine: metrics.engine; DirCacheService: metrics.directoryService;
 *   // channels: metrics.channels.track(…) / trackProvider(…);
 *   metrics.setStatsSource(() => handle.stats());
 */
import { ChannelConnectionMetrics } from './channel-metrics.js';
import { DirectoryServiceMetricsSink } from './directory-metrics.js';
import { EngineMetricsSink } from './engine-metrics.js';
import {
  type LabelledValue,
  type MetricDefinition,
  type MetricsRegistry,
  scrapedCounter,
  scrapedGauge,
} from './metric-creator.js';
import { TOR_RELAY_METRICS } from './tor-relay-metrics.js';

/** One kind of connection's counts (@relayd/ipc `TransportCounts`). */
export interface TransportCountsView {
  readonly connections: number;
  readonly linksAccepted: number;
}

/**
 * What the worker metrics read at scrape time: the fields of @relayd/ipc's
 * `WorkerStatsReport` they use, so `handle.stats()` is a source as it is.
 */
export interface WorkerStatsView {
  readonly channels: number;
  readonly circuits: number;
  readonly createQueueLength: number;
  readonly directoryStreams: number;
  readonly pendingChannelOpens: number;
  readonly pendingHandshakes: number;
  readonly linkHandshakesFailed: number;
  readonly connectionsByTransport: {
    readonly vanilla: TransportCountsView;
    readonly pluggable: Readonly<Record<string, TransportCountsView>>;
  };
  readonly bytesReceived: number;
  readonly bytesSent: number;
}

/** The `transport` label of connections that came through no pluggable transport. */
export const VANILLA_TRANSPORT = 'vanilla';

export const WORKER_METRICS = {
  channels: {
    name: 'relayd_channels',
    help: 'Channels open now (clients and those opened for EXTEND2)',
    labelNames: [],
  },
  createQueueLength: {
    name: 'relayd_create_queue_length',
    help: 'Circuit extension handshakes waiting in the create queue',
    labelNames: [],
  },
  directoryStreams: {
    name: 'relayd_directory_streams',
    help: 'BEGIN_DIR streams open now',
    labelNames: [],
  },
  extendChannelsPending: {
    name: 'relayd_extend_channels_pending',
    help: 'Channels being opened for EXTEND2',
    labelNames: [],
  },
  linkHandshakesPending: {
    name: 'relayd_link_handshakes_pending',
    help: 'Connections in their TLS or link handshake',
    labelNames: [],
  },
  connectionsReceived: {
    name: 'relayd_connections_received_total',
    help: 'Client connections a worker received, by the pluggable transport they came through ("vanilla": none)',
    labelNames: ['transport'],
  },
  linkHandshakesCompleted: {
    name: 'relayd_link_handshakes_completed_total',
    help: 'Client connections whose link handshake completed, by pluggable transport ("vanilla": none)',
    labelNames: ['transport'],
  },
  linkHandshakesFailed: {
    name: 'relayd_link_handshakes_failed_total',
    help: 'Client connections that failed before their link handshake completed',
    labelNames: [],
  },
} as const satisfies Record<string, MetricDefinition<string>>;

/**
 * The worker gauges that carry a `worker` label once aggregated: how the
 * load spreads over the workers is what they are for. Every other worker
 * family is summed over the workers.
 */
export const PER_WORKER_METRIC_NAMES: ReadonlySet<string> = new Set([
  WORKER_METRICS.channels.name,
  WORKER_METRICS.createQueueLength.name,
]);

function one(read: () => number | undefined): () => Iterable<LabelledValue<never>> {
  return () => {
    const value = read();
    return value === undefined ? [] : [[{}, value]];
  };
}

export function createWorkerMetrics(registry: MetricsRegistry) {
  let source: (() => WorkerStatsView) | undefined;
  // One reading per scrape: the registry runs every collect callback in the
  // same turn, so the first one reads the stats and the rest share them.
  let snapshot: WorkerStatsView | undefined;
  const stats = (): WorkerStatsView | undefined => {
    if (snapshot === undefined && source !== undefined) {
      snapshot = source();
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };
  const field = (pick: (s: WorkerStatsView) => number) =>
    one(() => {
      const s = stats();
      return s ? pick(s) : undefined;
    });

  const engine = new EngineMetricsSink(registry);
  const directoryService = new DirectoryServiceMetricsSink(registry);
  const channels = new ChannelConnectionMetrics(registry);

  scrapedGauge(
    registry,
    WORKER_METRICS.channels,
    field((s) => s.channels),
  );
  scrapedGauge(
    registry,
    WORKER_METRICS.createQueueLength,
    field((s) => s.createQueueLength),
  );
  scrapedGauge(
    registry,
    WORKER_METRICS.directoryStreams,
    field((s) => s.directoryStreams),
  );
  scrapedGauge(
    registry,
    WORKER_METRICS.extendChannelsPending,
    field((s) => s.pendingChannelOpens),
  );
  scrapedGauge(
    registry,
    WORKER_METRICS.linkHandshakesPending,
    field((s) => s.pendingHandshakes),
  );
  scrapedGauge(registry, TOR_RELAY_METRICS.circuits, () => {
    const s = stats();
    return s ? [[{ state: 'opened' }, s.circuits]] : [];
  });
  scrapedCounter(registry, TOR_RELAY_METRICS.trafficBytes, () => {
    const s = stats();
    return s
      ? [
          [{ direction: 'read' }, s.bytesReceived],
          [{ direction: 'written' }, s.bytesSent],
        ]
      : [];
  });
  const byTransport = (pick: (c: TransportCountsView) => number) => () => {
    const s = stats();
    if (!s) return [];
    const { vanilla, pluggable } = s.connectionsByTransport;
    const out: LabelledValue<'transport'>[] = [[{ transport: VANILLA_TRANSPORT }, pick(vanilla)]];
    for (const [name, counts] of Object.entries(pluggable)) out.push([{ transport: name }, pick(counts)]);
    return out;
  };
  scrapedCounter(
    registry,
    WORKER_METRICS.connectionsReceived,
    byTransport((c) => c.connections),
  );
  scrapedCounter(
    registry,
    WORKER_METRICS.linkHandshakesCompleted,
    byTransport((c) => c.linksAccepted),
  );
  scrapedCounter(
    registry,
    WORKER_METRICS.linkHandshakesFailed,
    field((s) => s.linkHandshakesFailed),
  );

  return {
    /** The engine's `metrics` (EngineMetrics); also takes `createQueueWait`. */
    engine,
    /** `DirCacheService`'s `metrics`. */
    directoryService,
    /** Counts channels: `track(channel)` before adopting a client's, `trackProvider(provider)` for EXTEND2's. */
    channels,
    /** Where the scraped values come from: the worker's `stats()`. */
    setStatsSource(read: () => WorkerStatsView): void {
      source = read;
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
