/**
 * The metrics registry of a process, and the typed way relayd declares a
 * metric on it. A metric is declared once, as a `MetricDefinition` constant
 * (name, help, label names as a literal tuple), so the label names are
 * checked by the compiler wherever the metric is used and two processes
 * that both expose a family (the supervisor and the workers) describe it
 * identically — which cross-worker aggregation relies on.
 *
 * Values that already exist elsewhere (a worker's circuit count, a
 * backend's connection total) are not mirrored on every change: a
 * "scraped" metric reads them in its collect callback, which prom-client
 * runs when the registry is read.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** A process's registry. Only this package constructs one; others pass it around. */
export type MetricsRegistry = Registry;

/** Every label of a metric, each with its value. */
export type LabelSet<L extends string> = { readonly [K in L]: string };

export interface MetricDefinition<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}

export interface HistogramDefinition<L extends string> extends MetricDefinition<L> {
  /** Upper bounds, ascending. */
  readonly buckets: readonly number[];
}

/** One value of a scraped metric. */
export type LabelledValue<L extends string> = readonly [labels: LabelSet<L>, value: number];

export interface MetricsRegistryOptions {
  /**
   * Register prom-client's Node.js process metrics (`process_open_fds`,
   * `process_resident_memory_bytes`, CPU seconds, heap, event loop lag, GC
   * durations). Once per process: an in-process worker's registry leaves them out.
   */
  readonly processMetrics: boolean;
}

/**
 * prom-client's totals of `nodejs_active_handles`, `_requests` and
 * `_resources` are gauges named like counters (`promtool check metrics`
 * refuses them) and only repeat the sum of the by-type gauges they come with.
 */
const MISNAMED_PROCESS_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** A new, empty registry (never prom-client's global one). */
export function createMetricsRegistry(options: MetricsRegistryOptions): MetricsRegistry {
  const registry = new Registry();
  if (options.processMetrics) addProcessMetrics(registry);
  return registry;
}

/**
 * Adds this process's metrics (CPU, memory, file descriptors, event loop,
 * GC) to `registry`. Once per process; they cost a little all the time
 * (an event-loop delay monitor, a GC observer), so only where they are read.
 */
export function addProcessMetrics(registry: MetricsRegistry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_PROCESS_METRICS) registry.removeSingleMetric(name);
}

export function counter<L extends string>(registry: MetricsRegistry, def: MetricDefinition<L>): Counter<L> {
  return new Counter<L>({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    registers: [registry],
  });
}

export function gauge<L extends string>(registry: MetricsRegistry, def: MetricDefinition<L>): Gauge<L> {
  return new Gauge<L>({ name: def.name, help: def.help, labelNames: def.labelNames, registers: [registry] });
}

export function histogram<L extends string>(
  registry: MetricsRegistry,
  def: HistogramDefinition<L>,
): Histogram<L> {
  return new Histogram<L>({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    buckets: [...def.buckets],
    registers: [registry],
  });
}

/**
 * A counter whose values are read at scrape time: `read` returns every
 * series with its running total. The source must never go backwards
 * (see CumulativeCounts for sources that restart).
 */
export function scrapedCounter<L extends string>(
  registry: MetricsRegistry,
  def: MetricDefinition<L>,
  read: () => Iterable<LabelledValue<L>>,
): Counter<L> {
  return new Counter<L>({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    registers: [registry],
    collect() {
      this.reset();
      let any = false;
      for (const [labels, value] of read()) {
        // A counter cannot go negative or be NaN; a source that says so is skipped rather than trusted.
        if (Number.isFinite(value) && value >= 0) {
          this.inc(labels, value);
          any = true;
        }
      }
      // reset() leaves a label-less metric at 0: with nothing to report, show no series rather than a false 0.
      if (!any && def.labelNames.length === 0) this.remove({});
    },
  });
}

/** A gauge whose values are read at scrape time; series `read` leaves out disappear. */
export function scrapedGauge<L extends string>(
  registry: MetricsRegistry,
  def: MetricDefinition<L>,
  read: () => Iterable<LabelledValue<L>>,
): Gauge<L> {
  return new Gauge<L>({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    registers: [registry],
    collect() {
      this.reset();
      let any = false;
      for (const [labels, value] of read()) {
        this.set(labels, value);
        any = true;
      }
      if (!any && def.labelNames.length === 0) this.remove({});
    },
  });
}

/** A label value in Prometheus habit, lower case with underscores: "request-too-large" → "request_too_large". */
export function labelValue(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
}

/** Sets every combination of `labels` to zero, so each series exists before its first event (as C tor's are). */
export function zeroSeries<L extends string>(metric: Counter<L>, combinations: Iterable<LabelSet<L>>): void {
  for (const labels of combinations) metric.inc(labels, 0);
}
