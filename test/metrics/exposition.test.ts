/**
 * The bridge's whole exposition as a scrape would see it: a supervisor
 * registry and three worker registries with realistic values (every sink
 * driven, process metrics on), the workers' JSON passed through structured
 * cloning and the IPC checks, aggregated, and served over the MetricsPort.
 * `promtool check metrics` must accept the text with no lint problem, both
 * built directly and as scraped over HTTP, also after a worker was
 * replaced. promtool is required: the test fails when it is missing.
 *
 * The real types of the packages that will feed these metrics fit the
 * views telemetry declares (checked by the compiler below), so the wiring
 * passes `supervisor.status()`, `handle.stats()` and the sinks as they are.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { BalancerStats } from '@relayd/balancer';
import { ChannelCommand, DestroyReason } from '@relayd/cells';
import type { ByteTransport, TransportHandlers } from '@relayd/common';
import type {
  DirectoryFetcherMetrics,
  DirectoryFetcherStatus,
  DirectoryServiceMetrics,
} from '@relayd/dir-cache';
import type { ChannelProvider, EngineMetrics } from '@relayd/engine';
import type { WorkerStatsReport } from '@relayd/ipc';
import type { KeyStore } from '@relayd/keys';
import { type MetricsHttpServer, startMetricsHttpServer, type TlsChannelProvider } from '@relayd/net';
import type { SupervisorStatus, WorkerPoolStatus } from '@relayd/supervisor';
import {
  type BalancerView,
  ClusterMetrics,
  createMetricsRegistry,
  createSupervisorMetrics,
  createWorkerMetrics,
  type DirectoryStatusView,
  type KeyTimesView,
  METRICS_CONTENT_TYPE,
  type MetricsJson,
  metricsPortAccess,
  parseMetricsJson,
  readMetricsJson,
  type SupervisorStatusView,
  type TransportView,
  type WorkerMetrics,
  type WorkerMetricsReport,
  type WorkerPoolView,
  type WorkerStatsView,
} from '@relayd/telemetry';
import type { ServerTransportState } from '@relayd/transports';
import { get, promtoolCheckMetrics } from './helpers.js';

// ---- Compile-time: the real types are metric sources and sinks as they are.
export const fits = {
  status: (s: SupervisorStatus): SupervisorStatusView => s,
  pool: (s: WorkerPoolStatus): WorkerPoolView => s,
  balancer: (s: BalancerStats): BalancerView => s,
  transports: (s: readonly ServerTransportState[]): readonly TransportView[] => s,
  directory: (s: DirectoryFetcherStatus): DirectoryStatusView => s,
  workerStats: (s: WorkerStatsReport): WorkerStatsView => s,
  keys: (k: KeyStore): KeyTimesView => ({
    signingCertExpiresMs: k.signingCertExpiresMs,
    onionKeyCreatedMs: k.ntorOnionKeyWrittenAtMs(),
  }),
  engine: (m: WorkerMetrics): EngineMetrics => m.engine,
  directoryService: (m: WorkerMetrics): DirectoryServiceMetrics => m.directoryService,
  directoryFetcher: (m: ReturnType<typeof createSupervisorMetrics>): DirectoryFetcherMetrics =>
    m.directoryFetcher,
  provider: (m: WorkerMetrics, p: TlsChannelProvider): ChannelProvider => m.channels.trackProvider(p),
};

const NOW = Date.now();

class QuietTransport implements ByteTransport {
  handlers: TransportHandlers | undefined;
  readonly bufferedBytes = 0;
  write(): boolean {
    return true;
  }
  close(): void {}
  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }
}

/** A worker that has served for a while: `scale` sets how busy. */
async function busyWorker(scale: number): Promise<MetricsJson> {
  const registry = createMetricsRegistry({ processMetrics: true });
  const metrics = createWorkerMetrics(registry);
  metrics.setStatsSource(() => ({
    channels: 40 * scale,
    circuits: 310 * scale,
    createQueueLength: scale - 1,
    directoryStreams: scale,
    pendingChannelOpens: 2,
    pendingHandshakes: 3 * scale,
    linkHandshakesFailed: 17 * scale,
    connectionsByTransport: {
      vanilla: { connections: 400 * scale, linksAccepted: 380 * scale },
      pluggable: {
        obfs4: { connections: 900 * scale, linksAccepted: 870 * scale },
        webtunnel: { connections: 12, linksAccepted: 12 },
      },
    },
    bytesReceived: 81_000_000 * scale,
    bytesSent: 2_400_000_000 * scale,
  }));
  const e = metrics.engine;
  for (let i = 0; i < 120 * scale; i++) {
    e.onionskin(i % 4 === 0 ? 'fast' : i % 4 === 1 ? 'ntor_v3' : 'ntor', 'processed');
    e.circuitOpened(i % 4 === 0 ? 'fast' : 'ntor');
    e.createQueueWait((i % 7) * 3.5);
  }
  e.onionskin('ntor', 'dropped');
  e.onionskin('unknown', 'failed');
  for (let i = 0; i < 30 * scale; i++)
    e.circuitClosed(i % 3 === 0 ? DestroyReason.FINISHED : DestroyReason.CHANNEL_CLOSED);
  for (let i = 0; i < 5000 * scale; i++) {
    e.cellReceived(ChannelCommand.RELAY);
    e.cellSent(ChannelCommand.RELAY);
  }
  e.cellReceived(ChannelCommand.VERSIONS);
  e.cellReceived(ChannelCommand.NETINFO);
  e.cellReceived(ChannelCommand.PADDING_NEGOTIATE);
  e.paddingNegotiate();
  e.channelOpened(false);
  e.channelOpened(true);
  e.channelClosed('idle');
  e.extend('new-channel');
  e.extend('failed');
  e.directoryStream('served');
  e.protocolViolation('unknown-circuit');
  e.protocolViolation('circuit-queue-full');
  const peer = (remoteAddress: string, initiatedLocally: boolean) => ({
    transport: new QuietTransport(),
    peer: {
      linkVersion: 5,
      initiatedLocally,
      rsaIdentity: undefined,
      ed25519Identity: undefined,
      remoteAddress,
      remotePort: 443,
    },
    leftover: new Uint8Array(0),
  });
  metrics.channels.track(peer('192.0.2.10', false));
  metrics.channels.track(peer('2001:db8::10', false));
  metrics.channels.track(peer('198.51.100.7', true));
  metrics.directoryService.response('consensus', 200, 'deflate', 1_200_000);
  metrics.directoryService.response('microdescriptors', 200, 'deflate', 400_000);
  metrics.directoryService.response('server-descriptor', 404, undefined, 80);
  const received = parseMetricsJson(structuredClone(await readMetricsJson(registry)));
  assert.ok(received.ok, received.ok ? '' : received.error);
  return received.value;
}

function realisticStatus(): SupervisorStatusView {
  const proc = (workerId: number, generation: number, handedOff: number, state = 'ready') => ({
    workerId,
    generation,
    state,
    healthy: state === 'ready',
    handedOff,
  });
  return {
    descriptorPublished: Math.floor(NOW / 1000) - 5400,
    pool: {
      slots: [
        { workerId: 1, current: proc(1, 1, 1300), replacement: undefined, deaths: 0 },
        { workerId: 2, current: proc(2, 2, 2100), replacement: undefined, deaths: 1 },
        { workerId: 3, current: proc(3, 1, 3900), replacement: undefined, deaths: 0 },
      ],
      draining: [],
      handedOff: 7300,
      refused: 4,
    },
    directory: {
      consensus: { ageSeconds: 2400 },
      consensusFailures: 0,
      microdescriptors: { held: 8012, listed: 8030, missing: 18 },
    },
    balancer: {
      fronts: [
        {
          front: 'ext-or',
          connections: 5800,
          pending: 2,
          deniedNoBackend: 0,
          failed: { CLIENT_HASH_MISMATCH: 3, HANDSHAKE_TIMEOUT: 41 },
        },
      ],
      backends: [],
      proxy: undefined,
      addressLimitRefusals: 12,
    },
    transports: [
      { name: 'obfs4', status: 'running', restarts: 0 },
      { name: 'webtunnel', status: 'running', restarts: 2 },
    ],
  };
}

const keys = (): KeyTimesView => ({
  signingCertExpiresMs: NOW + 20 * 86_400_000,
  onionKeyCreatedMs: NOW - 3 * 86_400_000,
});

describe('the aggregated exposition', { timeout: 60_000 }, () => {
  const servers: MetricsHttpServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('passes promtool check metrics, built and scraped over HTTP, before and after a worker is replaced', async () => {
    const own = createMetricsRegistry({ processMetrics: true });
    const supervisorMetrics = createSupervisorMetrics(own);
    supervisorMetrics.setSources({ status: realisticStatus, keys });
    supervisorMetrics.directoryFetcher.fetch('consensus', 'ok', 2_900_000);
    supervisorMetrics.directoryFetcher.fetch('microdescriptors', 'ok', 3_100_000);
    supervisorMetrics.directoryFetcher.fetch('certificates', 'not-modified', 0);
    const cluster = new ClusterMetrics(own);

    let reports: WorkerMetricsReport[] = [
      { workerId: 1, pid: 4250, current: true, metrics: await busyWorker(1) },
      { workerId: 2, pid: 4251, current: true, metrics: await busyWorker(2) },
      { workerId: 3, pid: 4252, current: true, metrics: await busyWorker(3) },
    ];
    const collect = () => cluster.collect(async () => reports);

    const built = await collect();
    const check = promtoolCheckMetrics(built);
    assert.equal(check.output, '', 'no lint problems');
    assert.equal(check.status, 0);
    assert.match(built, /^tor_relay_load_onionskins_total\{type="ntor",action="processed"\} 360$/m);
    assert.match(built, /^process_open_fds\{worker="2"\} \d+$/m);
    assert.match(built, /^process_open_fds\{worker="supervisor"\} \d+$/m);
    assert.match(built, /^relayd_channels\{worker="3"\} 120$/m);
    assert.match(built, /^tor_relay_circuits\{state="opened"\} 1860$/m);
    assert.match(built, /^tor_relay_dos_total\{type="concurrent_conn_rejected"\} 12$/m);
    assert.match(built, /^tor_relay_dos_total\{type="circuit_killed_max_cell"\} 3$/m);

    const server = await startMetricsHttpServer({
      host: '127.0.0.1',
      port: 0,
      isAllowed: metricsPortAccess([]),
      collect,
      contentType: METRICS_CONTENT_TYPE,
    });
    servers.push(server);
    const scraped = await get(server.port, '/metrics');
    assert.equal(scraped.status, 200);
    const live = promtoolCheckMetrics(scraped.body);
    assert.equal(live.output, '');
    assert.equal(live.status, 0);
    assert.match(scraped.body, /^relayd_metrics_scrape_duration_seconds_count [1-9]\d*$/m);

    // Worker 2 is replaced: its counts stay in the totals, and the text still passes.
    reports = [
      reports[0]!,
      { workerId: 2, pid: 4300, current: true, metrics: await busyWorker(1) },
      reports[2]!,
    ];
    const after = await get(server.port, '/metrics');
    assert.equal(promtoolCheckMetrics(after.body).status, 0);
    assert.match(after.body, /^tor_relay_load_onionskins_total\{type="ntor",action="processed"\} 420$/m);
  });

  it('fails promtool on a broken exposition (the check can fail)', () => {
    const bad = '# TYPE tor_relay_traffic_bytes counter\ntor_relay_traffic_bytes{direction="read"} 1\n';
    const result = promtoolCheckMetrics(bad);
    assert.notEqual(result.status, 0);
    assert.match(result.output, /counter metrics should have "_total" suffix/);
  });
});
