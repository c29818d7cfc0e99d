/**
 * Reading metrics back in tests: a registry's families as checked JSON,
 * one family, and one sample's value by its labels.
 */
import assert from 'node:assert/strict';
import {
  type MetricFamilyJson,
  type MetricsJson,
  type MetricsRegistry,
  readMetricsJson,
  type WorkerStatsView,
} from '../src/index.js';

export async function read(registry: MetricsRegistry): Promise<MetricsJson> {
  return readMetricsJson(registry);
}

export function family(json: MetricsJson, name: string): MetricFamilyJson {
  const found = json.find((f) => f.name === name);
  assert.ok(found, `family ${name} is exposed`);
  return found;
}

/** The value of the one sample of `name` whose labels are exactly `labels` (and `metricName` if given). */
export function value(
  json: MetricsJson,
  name: string,
  labels: Record<string, string | number> = {},
  metricName?: string,
): number | undefined {
  const f = json.find((x) => x.name === name);
  if (!f) return undefined;
  const wanted = Object.keys(labels).sort();
  const hits = f.values.filter((v) => {
    if (metricName !== undefined && v.metricName !== metricName) return false;
    const have = Object.keys(v.labels).sort();
    return (
      have.length === wanted.length &&
      have.every((k, i) => k === wanted[i] && String(v.labels[k]) === String(labels[k]))
    );
  });
  assert.ok(hits.length <= 1, `at most one sample of ${name} ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

/** Label names of a family's samples, `le` and `quantile` left out. */
export function labelNamesOf(f: MetricFamilyJson): string[] {
  const names = new Set<string>();
  for (const v of f.values) for (const k of Object.keys(v.labels)) names.add(k);
  names.delete('le');
  names.delete('quantile');
  return [...names].sort();
}

export function workerStats(overrides: Partial<WorkerStatsView> = {}): WorkerStatsView {
  return {
    channels: 12,
    circuits: 40,
    createQueueLength: 3,
    directoryStreams: 2,
    pendingChannelOpens: 1,
    pendingHandshakes: 4,
    linkHandshakesFailed: 7,
    connectionsByTransport: {
      vanilla: { connections: 30, linksAccepted: 25 },
      pluggable: { obfs4: { connections: 10, linksAccepted: 9 } },
    },
    bytesReceived: 123_456,
    bytesSent: 654_321,
    ...overrides,
  };
}
