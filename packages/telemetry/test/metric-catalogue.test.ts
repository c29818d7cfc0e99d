/**
 * Every metric relayd exposes, by name, type and label names, in the
 * registry of the process that exposes it; Prometheus's naming rules
 * (counters end in _total, nothing else does, units in the name); and C
 * tor's label values where relayd shares C tor's metric.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterMetrics,
  createMetricsRegistry,
  createSupervisorMetrics,
  createWorkerMetrics,
  isProcessMetric,
  type MetricsJson,
} from '../src/index.js';
import { family, labelNamesOf, read, value, workerStats } from './metrics-helpers.js';
import { fixedClock, keyTimes, supervisorStatus } from './supervisor-fixture.js';

type Expected = Record<string, readonly [type: string, labels: readonly string[]]>;

const WORKER_FAMILIES: Expected = {
  tor_relay_load_onionskins_total: ['counter', ['action', 'type']],
  tor_relay_connections_total: ['counter', ['direction', 'family', 'state', 'type']],
  tor_relay_connections: ['gauge', ['direction', 'family', 'state', 'type']],
  tor_relay_circuits: ['gauge', ['state']],
  tor_relay_traffic_bytes_total: ['counter', ['direction']],
  tor_relay_dos_total: ['counter', ['type']],
  relayd_circuits_created_total: ['counter', ['type']],
  relayd_circuits_closed_total: ['counter', ['reason']],
  relayd_cells_total: ['counter', ['command', 'direction']],
  relayd_channels_opened_total: ['counter', ['direction']],
  relayd_channels_closed_total: ['counter', ['cause']],
  relayd_padding_negotiate_total: ['counter', []],
  relayd_extend_total: ['counter', ['outcome']],
  relayd_directory_streams_ended_total: ['counter', ['outcome']],
  relayd_protocol_violations_total: ['counter', ['what']],
  relayd_create_queue_wait_seconds: ['histogram', []],
  relayd_directory_responses_total: ['counter', ['encoding', 'resource', 'status']],
  relayd_directory_response_bytes_total: ['counter', ['resource']],
  relayd_channels: ['gauge', []],
  relayd_create_queue_length: ['gauge', []],
  relayd_directory_streams: ['gauge', []],
  relayd_extend_channels_pending: ['gauge', []],
  relayd_link_handshakes_pending: ['gauge', []],
  relayd_connections_received_total: ['counter', ['transport']],
  relayd_link_handshakes_completed_total: ['counter', ['transport']],
  relayd_link_handshakes_failed_total: ['counter', []],
};

const SUPERVISOR_FAMILIES: Expected = {
  relayd_directory_fetches_total: ['counter', ['kind', 'outcome']],
  relayd_directory_fetch_bytes_total: ['counter', ['kind']],
  relayd_worker_processes: ['gauge', ['state']],
  relayd_worker_healthy: ['gauge', ['worker']],
  relayd_worker_restarts_total: ['counter', ['worker']],
  relayd_worker_deaths_total: ['counter', ['worker']],
  relayd_connections_handed_off_total: ['counter', []],
  relayd_balancer_choices_total: ['counter', ['backend']],
  relayd_balancer_failures_total: ['counter', ['backend', 'reason']],
  relayd_balancer_backend_up: ['gauge', ['backend']],
  relayd_balancer_backend_connections: ['gauge', ['backend']],
  relayd_front_connections_total: ['counter', ['front']],
  relayd_ext_orport_handshakes_pending: ['gauge', []],
  relayd_ext_orport_handshake_failures_total: ['counter', ['reason']],
  relayd_internal_connections: ['gauge', ['source_address']],
  tor_relay_dos_total: ['counter', ['type']],
  relayd_pt_process_up: ['gauge', ['transport']],
  relayd_pt_restarts_total: ['counter', ['transport']],
  relayd_directory_document_age_seconds: ['gauge', ['document']],
  relayd_directory_consensus_failures: ['gauge', []],
  relayd_directory_microdescriptors: ['gauge', ['state']],
  tor_relay_signing_cert_expiry_timestamp: ['gauge', []],
  relayd_onion_key_age_seconds: ['gauge', []],
  relayd_metrics_scrape_duration_seconds: ['histogram', []],
  relayd_metrics_worker_timeouts_total: ['counter', []],
};

/** A worker registry in which every family has at least one sample. */
async function workerJson(): Promise<MetricsJson> {
  const registry = createMetricsRegistry({ processMetrics: false });
  const metrics = createWorkerMetrics(registry);
  metrics.setStatsSource(() => workerStats());
  const e = metrics.engine;
  e.onionskin('ntor', 'processed');
  e.circuitOpened('ntor');
  e.circuitClosed(9);
  e.cellReceived(3);
  e.paddingNegotiate();
  e.protocolViolation('zero-circ-id');
  e.createQueueWait(3);
  metrics.directoryService.response('consensus', 200, 'deflate', 1000);
  return read(registry);
}

async function supervisorJson(): Promise<MetricsJson> {
  const registry = createMetricsRegistry({ processMetrics: false });
  const metrics = createSupervisorMetrics(registry, { clock: fixedClock });
  new ClusterMetrics(registry);
  metrics.setSources({ status: () => supervisorStatus(), keys: keyTimes });
  return read(registry);
}

function checkFamilies(json: MetricsJson, expected: Expected): void {
  const exposed = json.map((f) => f.name).filter((n) => !isProcessMetric(n));
  assert.deepEqual(exposed.sort(), Object.keys(expected).sort(), 'exactly the documented families');
  for (const [name, [type, labels]] of Object.entries(expected)) {
    const f = family(json, name);
    assert.equal(f.type, type, `${name} is a ${type}`);
    assert.ok(f.values.length > 0, `${name} has samples`);
    assert.deepEqual(labelNamesOf(f), [...labels].sort(), `${name} labels`);
    assert.ok(f.help.length > 10, `${name} has help text`);
  }
}

function checkNaming(json: MetricsJson): void {
  for (const f of json) {
    if (f.type === 'counter') assert.match(f.name, /_total$/, `counter ${f.name} ends in _total`);
    else assert.doesNotMatch(f.name, /_total$/, `${f.type} ${f.name} does not end in _total`);
    assert.match(f.name, /^(tor_relay|relayd|process|nodejs)_[a-z0-9_]+$/);
    if (f.type === 'histogram') assert.match(f.name, /_seconds$/, `histogram ${f.name} is in seconds`);
  }
}

describe('metric catalogue', () => {
  it('a worker exposes exactly its families, each with its type and label names', async () => {
    const json = await workerJson();
    checkFamilies(json, WORKER_FAMILIES);
    checkNaming(json);
  });

  it('the supervisor exposes exactly its families, each with its type and label names', async () => {
    const json = await supervisorJson();
    checkFamilies(json, SUPERVISOR_FAMILIES);
    checkNaming(json);
  });

  it('process metrics come from prom-client, with process_open_fds and no misnamed gauges', async () => {
    const json = await read(createMetricsRegistry({ processMetrics: true }));
    const fds = family(json, 'process_open_fds');
    assert.equal(fds.type, 'gauge');
    assert.ok((fds.values[0]?.value ?? 0) > 0, 'this process has open file descriptors');
    assert.equal(family(json, 'process_cpu_seconds_total').type, 'counter');
    assert.equal(family(json, 'process_resident_memory_bytes').type, 'gauge');
    checkNaming(json);
    assert.ok(json.every((f) => isProcessMetric(f.name)));
  });

  it("uses C tor's label values for the metrics it shares with C tor", async () => {
    const json = await workerJson();
    const onionskins = family(json, 'tor_relay_load_onionskins_total');
    for (const type of ['tap', 'fast', 'ntor', 'ntor_v3']) {
      for (const action of ['processed', 'dropped']) {
        assert.notEqual(value(json, onionskins.name, { type, action }), undefined, `${type}/${action}`);
      }
    }
    for (const name of ['tor_relay_connections_total', 'tor_relay_connections']) {
      const state = name.endsWith('_total') ? 'created' : 'opened';
      for (const direction of ['initiated', 'received']) {
        for (const fam of ['ipv4', 'ipv6']) {
          assert.equal(value(json, name, { type: 'OR', direction, state, family: fam }), 0);
        }
      }
    }
    assert.equal(value(json, 'tor_relay_circuits', { state: 'opened' }), 40);
    assert.equal(value(json, 'tor_relay_traffic_bytes_total', { direction: 'read' }), 123_456);
    assert.equal(value(json, 'tor_relay_traffic_bytes_total', { direction: 'written' }), 654_321);
    assert.equal(value(json, 'tor_relay_dos_total', { type: 'circuit_killed_max_cell' }), 0);
    const sup = await supervisorJson();
    assert.equal(value(sup, 'tor_relay_dos_total', { type: 'concurrent_conn_rejected' }), 9);
  });
});
