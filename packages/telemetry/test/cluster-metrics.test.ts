/**
 * Aggregation of the supervisor's registry and three workers' JSON (as it
 * arrives over IPC): sums, the worker label on process metrics and on the
 * per-worker gauges, histograms bucket by bucket, counters kept across a
 * worker's exit, a late worker shown with its previous answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterMetrics,
  createMetricsRegistry,
  createWorkerMetrics,
  type MetricFamilyJson,
  type MetricsJson,
  parseMetricsJson,
  type WorkerMetricsReport,
} from '../src/index.js';
import { read, value, workerStats } from './metrics-helpers.js';

/** A worker's registry JSON after `n` ntor handshakes, `n` queue waits, and stats scaled by `n`. */
async function workerJson(n: number, extra: MetricFamilyJson[] = []): Promise<MetricsJson> {
  const registry = createMetricsRegistry({ processMetrics: false });
  const metrics = createWorkerMetrics(registry);
  metrics.setStatsSource(() =>
    workerStats({ channels: n * 10, circuits: n * 100, bytesReceived: n * 1000, createQueueLength: n }),
  );
  for (let i = 0; i < n; i++) {
    metrics.engine.onionskin('ntor', 'processed');
    metrics.engine.createQueueWait(20 * (i + 1));
    metrics.engine.cellReceived(3);
  }
  metrics.engine.onionskin('fast', 'dropped');
  const json = await read(registry);
  // Through structured clone and the checks, as the supervisor receives it.
  const received = parseMetricsJson(structuredClone([...json, ...extra]));
  assert.ok(received.ok, received.ok ? '' : received.error);
  return received.value;
}

/** A process metric as prom-client writes it, with a value that names its process. */
function fds(count: number): MetricFamilyJson {
  return {
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    type: 'gauge',
    aggregator: 'sum',
    values: [{ value: count, labels: {} }],
  };
}

function startTime(seconds: number): MetricFamilyJson {
  return {
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    type: 'gauge',
    aggregator: 'omit',
    values: [{ value: seconds, labels: {} }],
  };
}

function supervisor() {
  const registry = createMetricsRegistry({ processMetrics: false });
  const cluster = new ClusterMetrics(registry);
  return { registry, cluster };
}

async function aggregateJson(cluster: ClusterMetrics, own: MetricsJson, reports: WorkerMetricsReport[]) {
  const parsed = parseMetricsJson(await cluster.aggregate(own, reports).getMetricsAsJSON());
  assert.ok(parsed.ok);
  return parsed.value;
}

describe('ClusterMetrics', () => {
  it('sums three workers, labels the per-worker gauges and process metrics, and keeps the supervisor apart', async () => {
    const { cluster } = supervisor();
    const reports: WorkerMetricsReport[] = [
      { workerId: 1, pid: 101, current: true, metrics: await workerJson(1, [fds(11), startTime(1000)]) },
      { workerId: 2, pid: 102, current: true, metrics: await workerJson(2, [fds(12), startTime(2000)]) },
      { workerId: 3, pid: 103, current: true, metrics: await workerJson(3, [fds(13), startTime(3000)]) },
    ];
    const json = await aggregateJson(cluster, [fds(5), startTime(500)], reports);

    assert.equal(value(json, 'tor_relay_load_onionskins_total', { type: 'ntor', action: 'processed' }), 6);
    assert.equal(value(json, 'tor_relay_load_onionskins_total', { type: 'fast', action: 'dropped' }), 3);
    assert.equal(value(json, 'tor_relay_circuits', { state: 'opened' }), 600);
    assert.equal(value(json, 'tor_relay_traffic_bytes_total', { direction: 'read' }), 6000);
    assert.equal(value(json, 'relayd_cells_total', { direction: 'received', command: 'relay' }), 6);
    // Per-worker gauges: one series per worker, no unlabelled sum.
    for (const n of [1, 2, 3]) {
      assert.equal(value(json, 'relayd_channels', { worker: String(n) }), n * 10);
      assert.equal(value(json, 'relayd_create_queue_length', { worker: String(n) }), n);
    }
    assert.equal(value(json, 'relayd_channels'), undefined);
    // Process metrics: one series per process, the supervisor's too, none summed or omitted.
    assert.equal(value(json, 'process_open_fds', { worker: 'supervisor' }), 5);
    assert.equal(value(json, 'process_open_fds', { worker: '2' }), 12);
    assert.equal(value(json, 'process_open_fds'), undefined);
    assert.equal(value(json, 'process_start_time_seconds', { worker: '3' }), 3000);
    assert.equal(value(json, 'process_start_time_seconds', { worker: 'supervisor' }), 500);
    // Histograms add up bucket by bucket: waits of 20, 20+40, 20+40+60 ms.
    const h = 'relayd_create_queue_wait_seconds';
    assert.equal(value(json, h, {}, `${h}_count`), 6);
    assert.ok(Math.abs(value(json, h, {}, `${h}_sum`)! - 0.2) < 1e-9);
    assert.equal(value(json, h, { le: 0.025 }, `${h}_bucket`), 3);
    assert.equal(value(json, h, { le: 0.05 }, `${h}_bucket`), 5);
    assert.equal(value(json, h, { le: 0.1 }, `${h}_bucket`), 6);
  });

  it('keeps the counts of a worker that exited, drops its gauges', async () => {
    const { cluster } = supervisor();
    const w1 = await workerJson(1);
    const w2 = await workerJson(2);
    const w3 = await workerJson(3);
    const live = (ids: Array<[number, number, MetricsJson]>): WorkerMetricsReport[] =>
      ids.map(([workerId, pid, metrics]) => ({ workerId, pid, current: true, metrics }));
    const ntor = { type: 'ntor', action: 'processed' };

    let json = await aggregateJson(
      cluster,
      [],
      live([
        [1, 101, w1],
        [2, 102, w2],
        [3, 103, w3],
      ]),
    );
    assert.equal(value(json, 'tor_relay_load_onionskins_total', ntor), 6);

    // Worker 2's process died; its replacement has counted one handshake so far.
    const replacement = await workerJson(1);
    json = await aggregateJson(
      cluster,
      [],
      live([
        [1, 101, w1],
        [2, 202, replacement],
        [3, 103, w3],
      ]),
    );
    assert.equal(value(json, 'tor_relay_load_onionskins_total', ntor), 1 + 2 + 1 + 3, 'never goes down');
    assert.equal(
      value(json, 'relayd_create_queue_wait_seconds', {}, 'relayd_create_queue_wait_seconds_count'),
      7,
    );
    assert.equal(
      value(json, 'tor_relay_circuits', { state: 'opened' }),
      100 + 100 + 300,
      'gauges are the live ones',
    );
    assert.equal(
      value(json, 'relayd_channels', { worker: '2' }),
      10,
      "the slot shows its new process's gauge",
    );

    // Worker 3 stops answering for a scrape: its last answer stands in.
    json = await aggregateJson(
      cluster,
      [],
      [
        { workerId: 1, pid: 101, current: true, metrics: w1 },
        { workerId: 2, pid: 202, current: true, metrics: replacement },
        { workerId: 3, pid: 103, current: true, metrics: undefined },
      ],
    );
    assert.equal(value(json, 'tor_relay_load_onionskins_total', ntor), 7);
    assert.equal(value(json, 'relayd_channels', { worker: '3' }), 30);
  });

  it('does not bring back a retired process whose late answer arrives from an overlapping scrape', async () => {
    const { cluster } = supervisor();
    const w1 = await workerJson(1);
    const w2 = await workerJson(2);
    const ntor = { type: 'ntor', action: 'processed' };
    const both: WorkerMetricsReport[] = [
      { workerId: 1, pid: 101, current: true, metrics: w1 },
      { workerId: 2, pid: 102, current: true, metrics: w2 },
    ];
    await aggregateJson(cluster, [], both);
    // Worker 2 exits; a scrape started before that lands afterwards, then a normal one.
    await aggregateJson(cluster, [], [both[0]!]);
    let json = await aggregateJson(cluster, [], both);
    assert.equal(value(json, 'tor_relay_load_onionskins_total', ntor), 3);
    json = await aggregateJson(cluster, [], [both[0]!]);
    assert.equal(value(json, 'tor_relay_load_onionskins_total', ntor), 3, 'retired once, not twice');
  });

  it('shows one process per slot in the process metrics while a replacement starts', async () => {
    const { cluster } = supervisor();
    const json = await aggregateJson(
      cluster,
      [],
      [
        { workerId: 1, pid: 101, current: true, metrics: await workerJson(2, [fds(40)]) },
        { workerId: 1, pid: 111, current: false, metrics: await workerJson(1, [fds(9)]) },
      ],
    );
    assert.equal(value(json, 'process_open_fds', { worker: '1' }), 40);
    // Everything else counts both processes: the slot's channels are the old one's plus the new one's.
    assert.equal(value(json, 'relayd_channels', { worker: '1' }), 30);
    assert.equal(value(json, 'tor_relay_load_onionskins_total', { type: 'ntor', action: 'processed' }), 3);
  });

  it('collects: asks the workers, counts late ones, times the scrape, returns the text exposition', async () => {
    const { cluster } = supervisor();
    const w1 = await workerJson(1);
    const text1 = await cluster.collect(async () => [{ workerId: 1, pid: 1, current: true, metrics: w1 }]);
    assert.match(text1, /^tor_relay_load_onionskins_total\{type="ntor",action="processed"\} 1$/m);
    assert.match(
      text1,
      /^relayd_metrics_scrape_duration_seconds_count 0$/m,
      'a scrape is seen from the next on',
    );
    const text2 = await cluster.collect(async () => [
      { workerId: 1, pid: 1, current: true, metrics: undefined },
    ]);
    assert.match(text2, /^relayd_metrics_scrape_duration_seconds_count 1$/m);
    assert.match(text2, /^relayd_metrics_worker_timeouts_total 1$/m);
    assert.match(text2, /^tor_relay_load_onionskins_total\{type="ntor",action="processed"\} 1$/m);
    assert.match(text2, /^# TYPE relayd_channels gauge$/m);
  });
});
