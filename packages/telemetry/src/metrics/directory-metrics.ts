/**
 * The directory cache's metrics: prom-client behind dir-cache's sink
 * interfaces. A worker's `DirCacheService` answers BEGIN_DIR requests
 * (`DirectoryServiceMetrics`, in the worker's registry); the supervisor's
 * `DirectoryFetcher` keeps the documents current
 * (`DirectoryFetcherMetrics`, in the supervisor's registry). What the
 * documents are now (ages, counts) is read from the fetcher's status at
 * scrape time, by the supervisor's metrics.
 */
import type {
  DirectoryFetcherMetrics,
  DirectoryFetchKind,
  DirectoryFetchOutcome,
  DirectoryResourceLabel,
  DirectoryServiceMetrics,
} from '@relayd/dir-cache';
import type { Counter } from 'prom-client';
import { counter, labelValue, type MetricDefinition, type MetricsRegistry } from './metric-creator.js';

export const DIRECTORY_METRICS = {
  responses: {
    name: 'relayd_directory_responses_total',
    help: 'Directory responses to BEGIN_DIR requests, by resource, HTTP status and content encoding ("none" unless 200)',
    labelNames: ['resource', 'status', 'encoding'],
  },
  responseBytes: {
    name: 'relayd_directory_response_bytes_total',
    help: 'Bytes of directory responses to BEGIN_DIR requests (headers included), by resource',
    labelNames: ['resource'],
  },
  fetches: {
    name: 'relayd_directory_fetches_total',
    help: 'Directory documents fetched from the authorities, by kind and outcome',
    labelNames: ['kind', 'outcome'],
  },
  fetchBytes: {
    name: 'relayd_directory_fetch_bytes_total',
    help: 'Bytes of directory response bodies received from the authorities, by kind',
    labelNames: ['kind'],
  },
} as const satisfies Record<string, MetricDefinition<string>>;

const FETCH_KINDS: readonly DirectoryFetchKind[] = ['consensus', 'certificates', 'microdescriptors'];
const FETCH_OUTCOMES: readonly DirectoryFetchOutcome[] = [
  'ok',
  'not-modified',
  'http-error',
  'failed',
  'rejected',
];

/** Hand to `DirCacheService` as `metrics`. */
export class DirectoryServiceMetricsSink implements DirectoryServiceMetrics {
  private readonly responses: Counter<'resource' | 'status' | 'encoding'>;
  private readonly bytes: Counter<'resource'>;

  constructor(registry: MetricsRegistry) {
    this.responses = counter(registry, DIRECTORY_METRICS.responses);
    this.bytes = counter(registry, DIRECTORY_METRICS.responseBytes);
  }

  response(
    resource: DirectoryResourceLabel,
    status: number,
    encoding: string | undefined,
    bytes: number,
  ): void {
    const label = labelValue(resource);
    this.responses.inc({ resource: label, status: String(status), encoding: encoding ?? 'none' });
    if (Number.isFinite(bytes) && bytes > 0) this.bytes.inc({ resource: label }, bytes);
  }
}

/** Hand to `DirectoryFetcher` as `metrics`. */
export class DirectoryFetcherMetricsSink implements DirectoryFetcherMetrics {
  private readonly fetches: Counter<'kind' | 'outcome'>;
  private readonly bytes: Counter<'kind'>;

  constructor(registry: MetricsRegistry) {
    this.fetches = counter(registry, DIRECTORY_METRICS.fetches);
    this.bytes = counter(registry, DIRECTORY_METRICS.fetchBytes);
    for (const kind of FETCH_KINDS) {
      this.bytes.inc({ kind }, 0);
      for (const outcome of FETCH_OUTCOMES) this.fetches.inc({ kind, outcome: labelValue(outcome) }, 0);
    }
  }

  fetch(kind: DirectoryFetchKind, outcome: DirectoryFetchOutcome, bytes: number): void {
    this.fetches.inc({ kind, outcome: labelValue(outcome) });
    if (Number.isFinite(bytes) && bytes > 0) this.bytes.inc({ kind }, bytes);
  }
}
