/**
 * One exposition for the whole bridge: the supervisor's registry plus every
 * worker process's, merged with prom-client's `AggregatorRegistry.aggregate`
 * (by each family's aggregator: a sum unless declared otherwise).
 *
 * What gets a `worker` label instead of being summed:
 *   - the process metrics (`process_*`, `nodejs_*`): one series per process,
 *     `worker="N"` for a worker slot's serving process and
 *     `worker="supervisor"` for the supervisor; a replacement still starting
 *     or a predecessor draining is left out of them (a process's start time or
 *     event-loop lag do not add up);
 *   - the few worker gauges in PER_WORKER_METRIC_NAMES, summed per slot.
 *
 * Counters stay counters across worker restarts. A worker process that
 * exits takes its registry with it; summed as they are, the totals would go
 * down and Prometheus would take that for a reset. So the last answer of a
 * process that is gone is kept as "retired" counts (counters, histograms,
 * summaries' sums and counts) and added to every later aggregate. A process
 * that is alive but did not answer in time is shown with its last answer.
 */
import { type Clock, systemClock } from '@relayd/common';
import { AggregatorRegistry, type Counter, type Histogram, Registry } from 'prom-client';
import {
  counter,
  type HistogramDefinition,
  histogram,
  type MetricDefinition,
  type MetricsRegistry,
} from './metric-creator.js';
import {
  type MetricFamilyJson,
  type MetricSampleJson,
  type MetricsJson,
  readMetricsJson,
} from './metrics-json.js';
import { PER_WORKER_METRIC_NAMES } from './worker-metrics.js';

/** The content type of the text exposition format (0.0.4) served at `/metrics`. */
export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

/** The `worker` label value of the supervisor's own process metrics. */
export const SUPERVISOR_WORKER_LABEL = 'supervisor';

/** One live worker process at scrape time. */
export interface WorkerMetricsReport {
  readonly workerId: number;
  /** Identifies the process; a replacement in the same slot is a new process. */
  readonly pid: number;
  /** True for the slot's serving process; false for a replacement being started or a draining predecessor. */
  readonly current: boolean;
  /** Its registry (`readMetricsJson`), or undefined if it did not answer in time. */
  readonly metrics: MetricsJson | undefined;
}

/**
 * Scrape durations: an aggregated scrape asks every worker over IPC, a few
 * milliseconds each; seconds mean a worker is slow to answer.
 */
export const SCRAPE_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const CLUSTER_METRICS = {
  scrapeDuration: {
    name: 'relayd_metrics_scrape_duration_seconds',
    help: 'Time taken to collect and aggregate the metrics of the supervisor and every worker for one scrape',
    labelNames: [],
    buckets: SCRAPE_DURATION_BUCKETS,
  },
  workerTimeouts: {
    name: 'relayd_metrics_worker_timeouts_total',
    help: 'Scrapes in which a worker did not send its metrics in time (its previous answer was used)',
    labelNames: [],
  },
} as const satisfies Record<string, MetricDefinition<string> | HistogramDefinition<string>>;

/** Retired processes remembered; far more than can exit between two overlapping scrapes. */
const MAX_REMEMBERED_GONE = 1024;

/** prom-client's Node.js process metrics: about one process each. */
export function isProcessMetric(name: string): boolean {
  return name.startsWith('process_') || name.startsWith('nodejs_');
}

function labelledFamily(family: MetricFamilyJson, worker: string): MetricFamilyJson {
  return {
    name: family.name,
    help: family.help,
    type: family.type,
    // The series are distinct per worker now: nothing left to average or omit.
    aggregator: 'sum',
    values: family.values.map((v) => ({ ...v, labels: { ...v.labels, worker } })),
  };
}

function sampleKey(sample: MetricSampleJson): string {
  const names = Object.keys(sample.labels).sort();
  return JSON.stringify([sample.metricName ?? '', ...names.map((n) => [n, sample.labels[n]])]);
}

/** Samples of a family that only ever grow while their process lives. */
function cumulativeSamples(family: MetricFamilyJson): readonly MetricSampleJson[] {
  switch (family.type) {
    case 'counter':
    case 'histogram':
      return family.values;
    case 'summary':
      return family.values.filter(
        (v) => v.metricName === `${family.name}_sum` || v.metricName === `${family.name}_count`,
      );
    case 'gauge':
      return [];
  }
}

interface RetiredFamily {
  readonly help: string;
  readonly type: MetricFamilyJson['type'];
  readonly samples: Map<string, MetricSampleJson>;
}

interface ProcessSnapshot {
  readonly workerId: number;
  readonly metrics: MetricsJson;
}

export class ClusterMetrics {
  private readonly snapshots = new Map<string, ProcessSnapshot>();
  /**
   * Processes already retired, oldest first: a late answer from one of them
   * (two scrapes overlapping while it exited) must not bring it back, or
   * its counts would be retired twice.
   */
  private readonly gone = new Set<string>();
  private readonly retired = new Map<string, RetiredFamily>();
  private readonly scrapeDuration: Histogram<never>;
  private readonly workerTimeouts: Counter<never>;
  private readonly clock: Clock;

  /** `own` is the supervisor's registry; the scrape's own metrics are declared on it. */
  constructor(
    private readonly own: MetricsRegistry,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.scrapeDuration = histogram(own, CLUSTER_METRICS.scrapeDuration);
    this.workerTimeouts = counter(own, CLUSTER_METRICS.workerTimeouts);
  }

  /**
   * One scrape: asks `workers` for every live worker process's metrics
   * (the caller bounds the wait and reports a late process with
   * `metrics: undefined`), reads the supervisor's registry, and returns the
   * aggregated text exposition. Times itself into
   * `relayd_metrics_scrape_duration_seconds` (seen from the next scrape on).
   */
  async collect(workers: () => Promise<readonly WorkerMetricsReport[]>): Promise<string> {
    const started = this.clock.monotonicMs();
    try {
      const reports = await workers();
      // Before reading our own registry: this scrape's late workers count in it.
      this.absorb(reports);
      const own = await readMetricsJson(this.own);
      return await this.merge(own, reports).metrics();
    } finally {
      this.scrapeDuration.observe(Math.max(0, this.clock.monotonicMs() - started) / 1000);
    }
  }

  /**
   * Merges the supervisor's metrics and the workers' into one registry.
   * `reports` lists every worker process alive now: a process listed before
   * and missing now has exited, and its counts are kept as retired.
   */
  aggregate(own: MetricsJson, reports: readonly WorkerMetricsReport[]): Registry {
    this.absorb(reports);
    return this.merge(own, reports);
  }

  /** Remembers each process's answer, retires the processes that are gone, counts the late ones. */
  private absorb(reports: readonly WorkerMetricsReport[]): void {
    const live = new Set<string>();
    for (const report of reports) {
      const key = `${report.workerId}:${report.pid}`;
      if (this.gone.has(key)) continue;
      live.add(key);
      if (report.metrics !== undefined) {
        this.snapshots.set(key, { workerId: report.workerId, metrics: report.metrics });
      } else {
        this.workerTimeouts.inc();
      }
    }
    for (const [key, snapshot] of [...this.snapshots]) {
      if (live.has(key)) continue;
      this.retire(snapshot.metrics);
      this.snapshots.delete(key);
      this.gone.add(key);
      if (this.gone.size > MAX_REMEMBERED_GONE) this.gone.delete(this.gone.values().next().value as string);
    }
  }

  private merge(own: MetricsJson, reports: readonly WorkerMetricsReport[]): Registry {
    const inputs: MetricFamilyJson[][] = [
      own.map((f) => (isProcessMetric(f.name) ? labelledFamily(f, SUPERVISOR_WORKER_LABEL) : f)),
    ];
    const labelledSlots = new Set<number>();
    for (const report of reports) {
      const snapshot = this.snapshots.get(`${report.workerId}:${report.pid}`);
      if (!snapshot) continue; // never answered, or already retired
      const worker = String(report.workerId);
      // The first process listed as current speaks for its slot's process metrics.
      const speaksForSlot = report.current && !labelledSlots.has(report.workerId);
      if (speaksForSlot) labelledSlots.add(report.workerId);
      const families: MetricFamilyJson[] = [];
      for (const family of snapshot.metrics) {
        if (isProcessMetric(family.name)) {
          if (speaksForSlot) families.push(labelledFamily(family, worker));
        } else if (PER_WORKER_METRIC_NAMES.has(family.name)) {
          families.push(labelledFamily(family, worker));
        } else {
          families.push(family);
        }
      }
      inputs.push(families);
    }
    inputs.push(this.retiredFamilies());
    return AggregatorRegistry.aggregate(inputs);
  }

  private retire(metrics: MetricsJson): void {
    for (const family of metrics) {
      if (isProcessMetric(family.name)) continue;
      const samples = cumulativeSamples(family);
      if (samples.length === 0) continue;
      let retired = this.retired.get(family.name);
      if (!retired) {
        retired = { help: family.help, type: family.type, samples: new Map() };
        this.retired.set(family.name, retired);
      }
      for (const sample of samples) {
        const key = sampleKey(sample);
        const before = retired.samples.get(key);
        retired.samples.set(key, { ...sample, value: (before?.value ?? 0) + sample.value });
      }
    }
  }

  private retiredFamilies(): MetricFamilyJson[] {
    return [...this.retired].map(([name, family]) => ({
      name,
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      values: [...family.samples.values()],
    }));
  }
}
