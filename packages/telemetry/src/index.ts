/**
 * @relayd/telemetry: the process-level implementations of the service and
 * sink interfaces the lower packages declare. The pino-backed Logger with
 * tor's levels, the config's `Log` destinations and SafeLogging; and the
 * prom-client metrics: a registry per process, each component's metrics
 * declared in one place (C tor's MetricsPort names where they mean the
 * same), the sinks the engine and the directory cache report to, the
 * supervisor's scrape-time view of its workers, balancer, transports,
 * documents and keys, the cross-worker aggregation, and the MetricsPortPolicy.
 * The only package that imports pino and prom-client.
 */
export { DEFAULT_LOG_LEVEL, LOG_LEVEL_NAMES, LOG_LEVELS, type LogLevelName } from './levels.js';
export {
  createLogger,
  type LogDestinationSetting,
  type LogSinkSetting,
  type LogStream,
  openDefaultDestination,
  type RelaydLogger,
  type TelemetryLoggerOptions,
} from './logger.js';
export { addressFamily, ChannelConnectionMetrics } from './metrics/channel-metrics.js';
export {
  CLUSTER_METRICS,
  ClusterMetrics,
  isProcessMetric,
  METRICS_CONTENT_TYPE,
  SCRAPE_DURATION_BUCKETS,
  SUPERVISOR_WORKER_LABEL,
  type WorkerMetricsReport,
} from './metrics/cluster-metrics.js';
export { CumulativeCounts, type CumulativeReading } from './metrics/cumulative-counts.js';
export {
  DIRECTORY_METRICS,
  DirectoryFetcherMetricsSink,
  DirectoryServiceMetricsSink,
} from './metrics/directory-metrics.js';
export { CREATE_QUEUE_WAIT_BUCKETS, ENGINE_METRICS, EngineMetricsSink } from './metrics/engine-metrics.js';
export {
  addProcessMetrics,
  createMetricsRegistry,
  type HistogramDefinition,
  type LabelledValue,
  type LabelSet,
  labelValue,
  type MetricDefinition,
  type MetricsRegistry,
  type MetricsRegistryOptions,
} from './metrics/metric-creator.js';
export {
  MAX_METRIC_FAMILIES,
  MAX_METRIC_SAMPLES,
  METRIC_AGGREGATORS,
  METRIC_TYPES,
  type MetricAggregator,
  type MetricFamilyJson,
  type MetricSampleJson,
  type MetricsJson,
  type MetricTypeName,
  parseMetricsJson,
  readMetricsJson,
} from './metrics/metrics-json.js';
export {
  DEFAULT_METRICS_PORT_POLICY,
  metricsPortAccess,
  metricsPortPolicyAllows,
  peerIpAddress,
} from './metrics/metrics-port-policy.js';
export {
  type BackendView,
  type BalancerView,
  createSupervisorMetrics,
  type DirectoryStatusView,
  type FrontView,
  type KeyTimesView,
  NO_BACKEND,
  type ProxyView,
  SUPERVISOR_METRICS,
  type SupervisorMetrics,
  type SupervisorMetricsSources,
  type SupervisorStatusView,
  type TransportView,
  WORKER_STATES,
  type WorkerPoolView,
  type WorkerProcessView,
  workerBackendLabel,
} from './metrics/supervisor-metrics.js';
export {
  ADDRESS_FAMILIES,
  CONNECTION_DIRECTIONS,
  DOS_TYPE_LABELS,
  ONIONSKIN_ACTION_LABELS,
  ONIONSKIN_TYPE_LABELS,
  OR_CONNECTION_TYPE,
  TOR_RELAY_METRICS,
} from './metrics/tor-relay-metrics.js';
export {
  createWorkerMetrics,
  PER_WORKER_METRIC_NAMES,
  type TransportCountsView,
  VANILLA_TRANSPORT,
  WORKER_METRICS,
  type WorkerMetrics,
  type WorkerStatsView,
} from './metrics/worker-metrics.js';
export { applySafeLogging, type SafeLoggingMode, SCRUBBED } from './safe-logging.js';
