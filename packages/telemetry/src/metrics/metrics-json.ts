/**
 * A registry's metrics as plain data: what prom-client's
 * `Registry.getMetricsAsJSON()` produces, typed as it really is at run time
 * (prom-client declares `type` as a numeric enum; the values are strings),
 * and checked. This is what a worker process sends its supervisor over the
 * IPC channel, so `parseMetricsJson` validates everything it is given: the
 * supervisor aggregates only well-formed families, and a worker that sends
 * garbage gets a clear error instead of breaking the scrape.
 */
import { err, InternalError, ok, type Result } from '@relayd/common';
import type { Registry } from 'prom-client';

export const METRIC_TYPES = ['counter', 'gauge', 'histogram', 'summary'] as const;
export type MetricTypeName = (typeof METRIC_TYPES)[number];

/** prom-client's cross-registry aggregation methods (metricAggregators.js). */
export const METRIC_AGGREGATORS = ['sum', 'first', 'min', 'max', 'average', 'omit'] as const;
export type MetricAggregator = (typeof METRIC_AGGREGATORS)[number];

/** One sample: a histogram's samples name their series (`x_bucket`, `x_sum`, `x_count`). */
export interface MetricSampleJson {
  readonly value: number;
  /** prom-client writes a bucket's `le` as a number; every other label value is a string. */
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

export interface MetricFamilyJson {
  readonly name: string;
  readonly help: string;
  readonly type: MetricTypeName;
  readonly aggregator: MetricAggregator;
  readonly values: readonly MetricSampleJson[];
}

/** A whole registry, family by family. */
export type MetricsJson = readonly MetricFamilyJson[];

/**
 * Bounds on what a worker may send. A worker exposes a few hundred samples;
 * these leave two orders of magnitude of room and still cap the memory one
 * scrape can make the supervisor spend.
 */
export const MAX_METRIC_FAMILIES = 2_000;
export const MAX_METRIC_SAMPLES = 100_000;
export const MAX_LABELS_PER_SAMPLE = 16;
export const MAX_METRIC_NAME_LENGTH = 200;
export const MAX_HELP_LENGTH = 2_000;
export const MAX_LABEL_VALUE_LENGTH = 1_000;

// Prometheus data model: metric and label names.
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const TYPE_SET: ReadonlySet<string> = new Set(METRIC_TYPES);
const AGGREGATOR_SET: ReadonlySet<string> = new Set(METRIC_AGGREGATORS);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMetricName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_METRIC_NAME_LENGTH && METRIC_NAME.test(value);
}

function parseLabels(value: unknown, where: string): Result<Record<string, string | number>, string> {
  if (!isRecord(value)) return err(`${where}: labels is not an object`);
  const names = Object.keys(value);
  if (names.length > MAX_LABELS_PER_SAMPLE) return err(`${where}: more than ${MAX_LABELS_PER_SAMPLE} labels`);
  const out: Record<string, string | number> = {};
  for (const name of names) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) return err(`${where}: bad label name "${name}"`);
    const labelValue = value[name];
    if (typeof labelValue === 'string') {
      if (labelValue.length > MAX_LABEL_VALUE_LENGTH) return err(`${where}: label ${name} is too long`);
    } else if (typeof labelValue !== 'number') {
      return err(`${where}: label ${name} is neither a string nor a number`);
    }
    // Define rather than assign: a label named "__proto__" is refused above, but stay safe anyway.
    Object.defineProperty(out, name, {
      value: labelValue,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return ok(out);
}

/**
 * Checks and copies a registry's JSON (as received over IPC, or from
 * `getMetricsAsJSON`). Sample values may be any number, NaN and ±Infinity
 * included (the exposition format has them); everything else must be
 * exactly the shape above.
 */
export function parseMetricsJson(value: unknown): Result<MetricsJson, string> {
  if (!Array.isArray(value)) return err('metrics: not an array');
  if (value.length > MAX_METRIC_FAMILIES) return err(`metrics: more than ${MAX_METRIC_FAMILIES} families`);
  const families: MetricFamilyJson[] = [];
  const seen = new Set<string>();
  let samples = 0;
  for (const [index, raw] of value.entries()) {
    const where = `metrics[${index}]`;
    if (!isRecord(raw)) return err(`${where}: not an object`);
    const { name, help, type, aggregator, values } = raw;
    if (!isMetricName(name)) return err(`${where}: bad metric name`);
    if (seen.has(name)) return err(`${where}: ${name} appears twice`);
    seen.add(name);
    if (typeof help !== 'string' || help.length > MAX_HELP_LENGTH) return err(`${name}: bad help text`);
    if (typeof type !== 'string' || !TYPE_SET.has(type)) return err(`${name}: bad type`);
    // prom-client leaves `aggregator` out of metrics built without one; it then means "sum".
    const method = aggregator === undefined ? 'sum' : aggregator;
    if (typeof method !== 'string' || !AGGREGATOR_SET.has(method)) return err(`${name}: bad aggregator`);
    if (!Array.isArray(values)) return err(`${name}: values is not an array`);
    samples += values.length;
    if (samples > MAX_METRIC_SAMPLES) return err(`metrics: more than ${MAX_METRIC_SAMPLES} samples`);
    const parsedValues: MetricSampleJson[] = [];
    for (const [i, sample] of values.entries()) {
      const at = `${name}.values[${i}]`;
      if (!isRecord(sample)) return err(`${at}: not an object`);
      if (typeof sample.value !== 'number') return err(`${at}: value is not a number`);
      const labels = parseLabels(sample.labels ?? {}, at);
      if (!labels.ok) return labels;
      if (sample.metricName !== undefined) {
        if (!isMetricName(sample.metricName) || !sample.metricName.startsWith(name)) {
          return err(`${at}: bad series name`);
        }
        parsedValues.push({ value: sample.value, labels: labels.value, metricName: sample.metricName });
      } else {
        parsedValues.push({ value: sample.value, labels: labels.value });
      }
    }
    families.push({
      name,
      help,
      type: type as MetricTypeName,
      aggregator: method as MetricAggregator,
      values: parsedValues,
    });
  }
  return ok(families);
}

/**
 * A registry's metrics as checked plain data (runs every collect callback).
 * This is what a worker answers its supervisor's metrics request with.
 * Throws only on a bug: prom-client's own output always passes the checks.
 */
export async function readMetricsJson(registry: Registry): Promise<MetricsJson> {
  const parsed = parseMetricsJson(await registry.getMetricsAsJSON());
  if (!parsed.ok)
    throw new InternalError(`the registry's own metrics do not pass the checks: ${parsed.error}`);
  return parsed.value;
}
