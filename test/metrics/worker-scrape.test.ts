/**
 * Two real workers (in this process, on loopback ORPorts) wired to
 * telemetry the way a worker process is: the engine's sink
 * (`engineMetrics: metrics.engine`), the directory service's sink, and the
 * worker's stats as the scrape-time source, each worker with its own
 * registry. A client builds CREATE_FAST and ntor circuits and fetches a
 * directory document; the supervisor side reads each registry as JSON
 * (structured-cloned and checked, as over IPC), aggregates, and serves the
 * MetricsPort. The scrape shows exactly what the clients did, summed over
 * the workers, and passes `promtool check metrics`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig, parsePolicyLine, type RelaydConfig } from '@relayd/config';
import { DirCacheService, DirectoryStore, v3AuthorityIdentities } from '@relayd/dir-cache';
import { generateKeys, type KeyStore } from '@relayd/keys';
import { type MetricsHttpServer, startMetricsHttpServer } from '@relayd/net';
import {
  ClusterMetrics,
  createMetricsRegistry,
  createWorkerMetrics,
  METRICS_CONTENT_TYPE,
  type MetricsRegistry,
  metricsPortAccess,
  parseMetricsJson,
  readMetricsJson,
  type WorkerMetricsReport,
} from '@relayd/telemetry';
import { startWorker, WORKER_START_DATA_VERSION, type WorkerHandle } from '@relayd/worker';
import { LinkClient, type RelayTarget } from '../support/link-client.js';
import { get, promtoolCheckMetrics } from './helpers.js';

function configFor(dataDir: string): RelaydConfig {
  const parsed = parseConfig(
    `DataDirectory ${dataDir}\nNickname metricsTest\nContactInfo ops@example.org\nORPort 127.0.0.1:auto\n`,
  );
  assert.ok(parsed.ok);
  return parsed.value.config;
}

/** The sample line of `name{labels}` in a text exposition, as a number. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

interface RunningWorker {
  readonly workerId: number;
  readonly handle: WorkerHandle;
  readonly registry: MetricsRegistry;
  readonly target: RelayTarget;
}

describe('a scrape of two wired workers', { timeout: 90_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-metrics-'));
  let store: KeyStore;
  const workers: RunningWorker[] = [];
  const clients: LinkClient[] = [];
  let server: MetricsHttpServer | undefined;

  before(async () => {
    store = generateKeys(join(root, 'data'), { nowMs: Date.now(), nickname: 'metricsTest' });
    const config = configFor(store.dataDir);
    for (const workerId of [1, 2]) {
      const registry = createMetricsRegistry({ processMetrics: false });
      const metrics = createWorkerMetrics(registry);
      const directoryService = new DirCacheService(
        { ownAddresses: ['127.0.0.1'] },
        {
          store: new DirectoryStore({ authorities: v3AuthorityIdentities(config.dirAuthorities) }),
          clock: { nowMs: () => Date.now(), monotonicMs: () => performance.now() },
          metrics: metrics.directoryService,
        },
      );
      const handle = await startWorker(
        {
          version: WORKER_START_DATA_VERSION,
          workerId,
          keys: store.workerSnapshot(),
          config,
          publicAddresses: ['127.0.0.1'],
        },
        { directoryService, engineMetrics: metrics.engine },
      );
      metrics.setStatsSource(() => handle.stats());
      workers.push({
        workerId,
        handle,
        registry,
        target: {
          address: '127.0.0.1',
          port: handle.listeners[0]!.port,
          rsaIdentity: store.rsaIdentity.publicKey.fingerprint(),
          ed25519Identity: store.ed25519Identity,
        },
      });
    }
    const own = createMetricsRegistry({ processMetrics: true });
    const cluster = new ClusterMetrics(own);
    const allowOnlyThisHost = parsePolicyLine('accept 127.0.0.1');
    assert.ok(allowOnlyThisHost.ok);
    server = await startMetricsHttpServer({
      host: '127.0.0.1',
      port: 0,
      isAllowed: metricsPortAccess(allowOnlyThisHost.value.rules),
      contentType: METRICS_CONTENT_TYPE,
      collect: () =>
        cluster.collect(async () =>
          Promise.all(
            workers.map(async (w): Promise<WorkerMetricsReport> => {
              // What crosses the IPC channel: plain data, checked on arrival.
              const received = parseMetricsJson(structuredClone(await readMetricsJson(w.registry)));
              assert.ok(received.ok);
              return {
                workerId: w.workerId,
                pid: process.pid * 10 + w.workerId,
                current: true,
                metrics: received.value,
              };
            }),
          ),
        ),
    });
  });

  after(async () => {
    for (const c of clients) c.close();
    await server?.close();
    await Promise.all(workers.map((w) => w.handle.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  it('counts what the clients did, summed over the workers, and passes promtool', async () => {
    const [w1, w2] = workers;
    const c1 = await LinkClient.open(w1!.target);
    const c2 = await LinkClient.open(w2!.target);
    clients.push(c1, c2);
    const ntorKey = { rsaIdentity: w1!.target.rsaIdentity, ntorOnionKey: store.ntorOnionKey.publicKey };
    await c1.createFast();
    assert.ok('crypto' in (await c1.createNtor(ntorKey)));
    assert.ok('crypto' in (await c2.createNtor(ntorKey)));
    assert.ok('crypto' in (await c2.createNtor(ntorKey)));
    const answer = new TextDecoder().decode(
      await c2.fetchDirectory('/tor/status-vote/current/consensus-microdesc'),
    );
    assert.match(answer, /^HTTP\/1\.0 503 /, 'no consensus held yet');

    const scrape = await get(server!.port, '/metrics', { localAddress: '127.0.0.1' });
    assert.equal(scrape.status, 200);
    assert.equal(scrape.headers['content-type'], METRICS_CONTENT_TYPE);
    const text = scrape.body;

    const onionskins = (type: string, action: string) =>
      sample(text, `tor_relay_load_onionskins_total{type="${type}",action="${action}"}`);
    assert.equal(onionskins('fast', 'processed'), 2, 'one CREATE_FAST, and one for the directory fetch');
    assert.equal(onionskins('ntor', 'processed'), 3);
    assert.equal(onionskins('ntor', 'dropped'), 0);
    assert.equal(sample(text, 'relayd_circuits_created_total{type="ntor"}'), 3);
    assert.equal(sample(text, 'relayd_cells_total{direction="received",command="create2"}'), 3);
    assert.equal(sample(text, 'relayd_cells_total{direction="sent",command="created2"}'), 3);
    assert.equal(sample(text, 'relayd_cells_total{direction="received",command="create_fast"}'), 2);
    assert.equal(sample(text, 'relayd_channels_opened_total{direction="received"}'), 2);
    assert.equal(sample(text, 'tor_relay_circuits{state="opened"}'), 5);
    assert.equal(sample(text, 'relayd_channels{worker="1"}'), 1);
    assert.equal(sample(text, 'relayd_channels{worker="2"}'), 1);
    assert.equal(sample(text, 'relayd_link_handshakes_completed_total{transport="vanilla"}'), 2);
    assert.equal(
      sample(text, 'relayd_directory_responses_total{resource="consensus",status="503",encoding="none"}'),
      1,
    );
    assert.equal(sample(text, 'relayd_directory_streams_ended_total{outcome="served"}'), 1);
    // The worker's byte counts cover connections handed over by a supervisor; these came to its own listener.
    assert.equal(sample(text, 'tor_relay_traffic_bytes_total{direction="read"}'), 0);
    assert.equal(sample(text, 'tor_relay_traffic_bytes_total{direction="written"}'), 0);
    assert.ok((sample(text, 'process_open_fds{worker="supervisor"}') ?? 0) > 0);

    const check = promtoolCheckMetrics(text);
    assert.equal(check.output, '');
    assert.equal(check.status, 0);

    // The policy accepts 127.0.0.1 only: another loopback address is refused.
    const refused = await get(server!.port, '/metrics', { localAddress: '127.0.0.2' });
    assert.equal(refused.status, 403);
  });
});
