/**
 * The supervisor's scrape-time metrics from its status: worker processes,
 * balancer, transports, documents, keys; and counters that stay monotonic
 * while the processes and backends they are read from restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CumulativeCounts,
  createMetricsRegistry,
  createSupervisorMetrics,
  type SupervisorStatusView,
} from '../src/index.js';
import { read, value } from './metrics-helpers.js';
import { fixedClock, keyTimes, NOW_MS, proc, supervisorStatus } from './supervisor-fixture.js';

function setup(status: () => SupervisorStatusView, withKeys = true) {
  const registry = createMetricsRegistry({ processMetrics: false });
  const metrics = createSupervisorMetrics(registry, { clock: fixedClock });
  metrics.setSources(withKeys ? { status, keys: keyTimes } : { status });
  return { registry, metrics };
}

describe('CumulativeCounts', () => {
  it('adds what each source added, across restarts and disappearances', () => {
    const counts = new CumulativeCounts<'backend'>(['backend']);
    const w1 = { backend: 'worker 1' };
    const total = (readings: Parameters<typeof counts.update>[0]) =>
      Object.fromEntries(counts.update(readings).map(([l, v]) => [l.backend, v]));
    assert.deepEqual(total([{ key: 'p1', labels: w1, value: 10 }]), { 'worker 1': 10 });
    assert.deepEqual(total([{ key: 'p1', labels: w1, value: 15 }]), { 'worker 1': 15 });
    // p1 replaced by p2 (same label): p2's own count adds on; p1's stays.
    assert.deepEqual(total([{ key: 'p2', labels: w1, value: 4 }]), { 'worker 1': 19 });
    // Two live sources of one series (a replacement and its predecessor).
    assert.deepEqual(
      total([
        { key: 'p2', labels: w1, value: 6 },
        { key: 'p3', labels: w1, value: 1 },
      ]),
      { 'worker 1': 22 },
    );
    // A source restarted under the same key: its lower reading is all new.
    assert.deepEqual(total([{ key: 'p3', labels: w1, value: 0 }]), { 'worker 1': 22 });
    assert.deepEqual(total([{ key: 'p3', labels: w1, value: 2 }]), { 'worker 1': 24 });
    // Nothing live: the total stays.
    assert.deepEqual(total([]), { 'worker 1': 24 });
    // Impossible readings are ignored.
    assert.deepEqual(total([{ key: 'p4', labels: w1, value: Number.NaN }]), { 'worker 1': 24 });
  });
});

describe('supervisor metrics', () => {
  it('reads the worker processes', async () => {
    const { registry } = setup(() => supervisorStatus());
    const json = await read(registry);
    assert.equal(value(json, 'relayd_worker_processes', { state: 'ready' }), 2);
    assert.equal(value(json, 'relayd_worker_processes', { state: 'starting' }), 1);
    assert.equal(value(json, 'relayd_worker_processes', { state: 'draining' }), 1);
    assert.equal(value(json, 'relayd_worker_processes', { state: 'exited' }), 0);
    assert.equal(value(json, 'relayd_worker_healthy', { worker: '1' }), 1);
    assert.equal(value(json, 'relayd_worker_healthy', { worker: '2' }), 1);
    // Slot 2: generation 3 is starting, so two processes replaced its first.
    assert.equal(value(json, 'relayd_worker_restarts_total', { worker: '1' }), 0);
    assert.equal(value(json, 'relayd_worker_restarts_total', { worker: '2' }), 2);
    assert.equal(value(json, 'relayd_worker_deaths_total', { worker: '2' }), 1);
    assert.equal(value(json, 'relayd_connections_handed_off_total'), 72);
  });

  it('reads the balancer: choices, failures, backends, fronts, internal connections, DoS refusals', async () => {
    const { registry } = setup(() => supervisorStatus());
    const json = await read(registry);
    // Handoffs per worker slot (all its processes) and proxy-mode backends share the label.
    assert.equal(value(json, 'relayd_balancer_choices_total', { backend: 'worker 1' }), 40 + 30);
    assert.equal(value(json, 'relayd_balancer_choices_total', { backend: 'worker 2' }), 25);
    assert.equal(value(json, 'relayd_balancer_choices_total', { backend: 'worker 3' }), 7);
    assert.equal(value(json, 'relayd_balancer_choices_total', { backend: 'ctor-a' }), 12);
    const f = 'relayd_balancer_failures_total';
    assert.equal(value(json, f, { backend: 'none', reason: 'no_healthy_worker' }), 2);
    assert.equal(value(json, f, { backend: 'ctor-a', reason: 'connect_failed' }), 3);
    assert.equal(value(json, f, { backend: 'ctor-a', reason: 'health_check_failed' }), 6);
    assert.equal(value(json, f, { backend: 'worker 1', reason: 'connect_failed' }), 1);
    assert.equal(value(json, f, { backend: 'none', reason: 'no_healthy_backend' }), 1);
    assert.equal(value(json, f, { backend: 'none', reason: 'unreachable' }), 1);
    assert.equal(value(json, f, { backend: 'none', reason: 'backend_denied' }), 2);
    assert.equal(value(json, f, { backend: 'none', reason: 'source_ports_exhausted' }), 0);
    assert.equal(value(json, 'relayd_balancer_backend_up', { backend: 'ctor-a' }), 0);
    assert.equal(value(json, 'relayd_balancer_backend_up', { backend: 'worker 1' }), 1);
    assert.equal(value(json, 'relayd_balancer_backend_connections', { backend: 'worker 1' }), 5);
    assert.equal(value(json, 'relayd_front_connections_total', { front: 'ext_or' }), 50);
    assert.equal(value(json, 'relayd_front_connections_total', { front: 'vanilla' }), 20);
    assert.equal(value(json, 'relayd_ext_orport_handshakes_pending'), 3);
    const x = 'relayd_ext_orport_handshake_failures_total';
    assert.equal(value(json, x, { reason: 'client_hash_mismatch' }), 2);
    assert.equal(value(json, x, { reason: 'handshake_timeout' }), 4);
    assert.equal(value(json, 'relayd_internal_connections', { source_address: '127.0.1.1' }), 3);
    assert.equal(value(json, 'relayd_internal_connections', { source_address: '127.0.1.2' }), 2);
    assert.equal(value(json, 'tor_relay_dos_total', { type: 'concurrent_conn_rejected' }), 9);
  });

  it('reads transports, directory documents and key times', async () => {
    const { registry } = setup(() => supervisorStatus());
    const json = await read(registry);
    assert.equal(value(json, 'relayd_pt_process_up', { transport: 'obfs4' }), 1);
    assert.equal(value(json, 'relayd_pt_process_up', { transport: 'webtunnel' }), 0);
    assert.equal(value(json, 'relayd_pt_restarts_total', { transport: 'webtunnel' }), 3);
    const age = 'relayd_directory_document_age_seconds';
    assert.equal(value(json, age, { document: 'consensus' }), 1800);
    assert.equal(value(json, age, { document: 'server_descriptor' }), 3600);
    assert.equal(value(json, 'relayd_directory_consensus_failures'), 1);
    assert.equal(value(json, 'relayd_directory_microdescriptors', { state: 'missing' }), 100);
    assert.equal(value(json, 'relayd_directory_microdescriptors', { state: 'listed' }), 7100);
    assert.equal(
      value(json, 'tor_relay_signing_cert_expiry_timestamp'),
      Math.floor(NOW_MS / 1000) + 2 * 86_400,
    );
    assert.equal(value(json, 'relayd_onion_key_age_seconds'), 86_400);
  });

  it('leaves out what it cannot know: no pool, no balancer, no consensus, no keys', async () => {
    const { registry } = setup(
      () =>
        supervisorStatus({
          pool: undefined,
          balancer: undefined,
          transports: [],
          directory: {
            consensus: undefined,
            consensusFailures: 0,
            microdescriptors: { held: 0, listed: 0, missing: 0 },
          },
        }),
      false,
    );
    const json = await read(registry);
    for (const name of [
      'relayd_worker_processes',
      'relayd_balancer_choices_total',
      'relayd_internal_connections',
      'relayd_pt_process_up',
      'tor_relay_signing_cert_expiry_timestamp',
    ]) {
      assert.equal(json.find((f) => f.name === name)?.values.length ?? 0, 0, `${name} has no series`);
    }
    assert.equal(value(json, 'relayd_directory_document_age_seconds', { document: 'consensus' }), undefined);
    assert.notEqual(
      value(json, 'relayd_directory_document_age_seconds', { document: 'server_descriptor' }),
      undefined,
    );
  });

  it('reads the status once per scrape', async () => {
    let reads = 0;
    const { registry } = setup(() => {
      reads++;
      return supervisorStatus();
    });
    await read(registry);
    assert.equal(reads, 1);
    await read(registry);
    assert.equal(reads, 2);
  });

  it('keeps counters monotonic when a worker process is replaced and a backend re-registered', async () => {
    let status = supervisorStatus();
    const { registry } = setup(() => status);
    await read(registry);
    // Worker 1 died and was replaced (handedOff starts again); ctor-a re-registered (its counts reset).
    const pool = status.pool!;
    const balancer = status.balancer!;
    status = {
      ...status,
      pool: {
        ...pool,
        slots: [{ workerId: 1, current: proc(1, 2, 3), replacement: undefined, deaths: 1 }, pool.slots[1]!],
        draining: [],
      },
      balancer: {
        ...balancer,
        backends: [
          balancer.backends[0]!,
          { ...balancer.backends[1]!, connections: 2, failures: 0, checksFailed: 1 },
        ],
      },
    };
    const json = await read(registry);
    assert.equal(value(json, 'relayd_balancer_choices_total', { backend: 'worker 1' }), 40 + 30 + 3);
    assert.equal(
      value(json, 'relayd_balancer_choices_total', { backend: 'worker 3' }),
      7,
      'a gone process keeps its count',
    );
    assert.equal(value(json, 'relayd_balancer_choices_total', { backend: 'ctor-a' }), 12 + 2);
    const f = 'relayd_balancer_failures_total';
    assert.equal(value(json, f, { backend: 'ctor-a', reason: 'health_check_failed' }), 6 + 1);
    assert.equal(value(json, 'relayd_worker_restarts_total', { worker: '1' }), 1);
    assert.equal(value(json, 'relayd_worker_deaths_total', { worker: '1' }), 1);
  });
});
