/**
 * relayd with `Workers 3` as the bridge of real tor clients on the private
 * network of real C tor relays: one supervisor process holding the ORPort,
 * three forked worker processes serving the connections it hands over.
 *
 * - six tor clients bootstrap through relayd at once and download the
 *   payload intact, and DataDirectory/workers.json shows that every worker
 *   served clients (connections, link handshakes, ntor onionskins) and the
 *   heartbeat log lines name every worker;
 * - while the six download again (paced, so the transfers are in flight),
 *   one worker process is killed with SIGKILL (its PID from workers.json):
 *   every client whose channel is on another worker (which process holds
 *   which connection is read from the kernel's socket table with `ss`)
 *   completes its download intact, the dead worker is replaced (a new PID,
 *   ready) without touching the others, and a new client bootstraps and
 *   downloads afterwards;
 * - the MetricsPort serves one exposition for the whole bridge that
 *   `promtool check metrics` accepts: the clients' onionskins, connections
 *   and bytes summed over the workers, process metrics per worker, and
 *   counters that do not go down when a worker is replaced;
 * - SIGTERM stops relayd and every worker process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  type ClientNode,
  isPidAlive,
  type RelaydBridgeNode,
  startNetwork,
  startRelaydBridge,
  type TestNetwork,
} from '@relayd/testnet';
import { exposedSamples, get, promtoolCheckMetrics, sumOf } from '../metrics/helpers.js';
import {
  bootstrapAndDownload,
  pacedDownload,
  readNoticeLog,
  readState,
  replacementOf,
  until,
  workersOfClients,
} from './helpers.js';

const WORKERS = 3;
const CLIENTS = 6;
const PAYLOAD_BYTES = 8 * 1024 * 1024;
const BOOTSTRAP_TIMEOUT_MS = 120_000;
const DOWNLOAD_TIMEOUT_MS = 180_000;
/** Paced downloads (bytes per second per client) keep six transfers in flight long enough to kill a worker mid-way. */
const PACED_BYTES_PER_SECOND = 1_000_000;

describe(`relayd with Workers ${WORKERS}: one bridge, several processes`, { timeout: 600_000 }, () => {
  let network: TestNetwork | undefined;
  let relayd: RelaydBridgeNode;
  let clients: ClientNode[] = [];
  const workerPids = new Set<number>();
  let metricsPort = 0;
  /** One live scrape, checked by promtool. */
  const scrape = async () => {
    const answer = await get(metricsPort, '/metrics');
    assert.equal(answer.status, 200, answer.body);
    const check = promtoolCheckMetrics(answer.body);
    assert.equal(check.status, 0, `promtool check metrics:\n${check.output}`);
    assert.equal(check.output, '', 'no lint problem');
    return exposedSamples(answer.body);
  };
  let scrapedOnionskins = 0;

  const rememberWorkers = () => {
    for (const w of readState(relayd).workers) if (w.pid) workerPids.add(w.pid);
  };

  before(async () => {
    network = await startNetwork({ payloadBytes: PAYLOAD_BYTES });
    metricsPort = await network.allocatePort('127.0.0.1');
    relayd = await startRelaydBridge(network, {
      extraTorrc: [`Workers ${WORKERS}`, `MetricsPort 127.0.0.1:${metricsPort}`],
    });
    rememberWorkers();
  });

  after(async () => {
    // relayd and every tor process, by PID; then any worker that outlived its supervisor.
    await network?.close();
    for (const pid of workerPids) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  it(`runs ${WORKERS} worker processes beside the supervisor`, () => {
    const state = readState(relayd);
    assert.equal(state.supervisorPid, relayd.pid);
    assert.equal(state.workers.length, WORKERS);
    const pids = state.workers.map((w) => w.pid!);
    assert.equal(new Set(pids).size, WORKERS);
    for (const w of state.workers) {
      assert.equal(w.state, 'ready');
      assert.ok(w.pid !== relayd.pid && isPidAlive(w.pid!), `worker ${w.workerId} (pid ${w.pid}) runs`);
    }
  });

  it(`${CLIENTS} tor clients bootstrap and download intact; every worker served clients`, async (t: TestContext) => {
    const net = network!;
    clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => net.startClient({ bridgeLines: [relayd.bridgeLine] })),
    );
    assert.equal(net.payload.sizeBytes, PAYLOAD_BYTES);
    await bootstrapAndDownload(
      t,
      clients,
      net.payload,
      { bootstrapMs: BOOTSTRAP_TIMEOUT_MS, downloadMs: DOWNLOAD_TIMEOUT_MS },
      () => net.describe(),
    );
    // The workers' heartbeats (every 5 s) reach workers.json within a second.
    const state = await until(
      'every worker to report served clients in workers.json',
      () => {
        const s = readState(relayd);
        return s.workers.every(
          (w) =>
            w.handedOff >= 1 &&
            w.stats !== null &&
            w.stats.linksAccepted >= 1 &&
            w.stats.onionskins.ntor.processed >= 1 &&
            w.stats.bytesSent > 0,
        )
          ? s
          : undefined;
      },
      20_000,
    );
    for (const w of state.workers) {
      t.diagnostic(
        `worker ${w.workerId} (pid ${w.pid}): ${w.handedOff} connections, ${w.stats!.linksAccepted} links, ` +
          `ntor ${w.stats!.onionskins.ntor.processed}, fast ${w.stats!.onionskins.fast.processed}, ` +
          `${(w.stats!.bytesSent / 1e6).toFixed(1)} MB sent`,
      );
    }
    assert.ok(state.handedOff >= CLIENTS);
    assert.equal(state.refused, 0);
    // Each client's connection went to one of the workers, and all three took some.
    const byClient = workersOfClients(relayd, clients);
    const used = new Set([...byClient.values()].flatMap((s) => [...s]));
    assert.deepEqual([...used].sort(), state.workers.map((w) => w.pid!).sort());

    // The heartbeat lines (every 30 s under TestingTorNetwork) name every worker.
    const heartbeat = await until(
      'heartbeat lines for every worker in the notice log',
      () => {
        const lines = readNoticeLog(relayd);
        const workers = new Set(lines.filter((l) => l.heartbeat === 'worker').map((l) => l.workerId));
        return workers.size === WORKERS && lines.some((l) => l.heartbeat === 'total') ? lines : undefined;
      },
      45_000,
    );
    t.diagnostic(heartbeat.filter((l) => l.heartbeat === 'total').at(-1)!.msg);
  });

  it('the MetricsPort: one exposition for the bridge, accepted by promtool, with what the clients did', async () => {
    const samples = await scrape();
    const state = readState(relayd);
    // Onionskins, summed over the workers' registries: at least what the heartbeats reported.
    const ntor = sumOf(samples, 'tor_relay_load_onionskins_total', { type: 'ntor', action: 'processed' });
    const reported = state.workers.reduce((n, w) => n + (w.stats?.onionskins.ntor.processed ?? 0), 0);
    assert.ok(ntor >= reported && ntor >= CLIENTS, `ntor processed ${ntor}, heartbeats ${reported}`);
    scrapedOnionskins = ntor;
    // Every answered create waited in a create queue first.
    assert.ok(sumOf(samples, 'relayd_create_queue_wait_seconds_count') >= ntor);
    // The clients' channels, as C tor names connections; each client's stays open.
    const received = sumOf(samples, 'tor_relay_connections', { direction: 'received', state: 'opened' });
    assert.ok(received >= CLIENTS, `received connections open: ${received}`);
    assert.ok(
      sumOf(samples, 'tor_relay_connections_total', { direction: 'received', state: 'created' }) >= CLIENTS,
    );
    // Every client downloaded the payload through the bridge.
    assert.ok(
      sumOf(samples, 'tor_relay_traffic_bytes_total', { direction: 'written' }) > CLIENTS * PAYLOAD_BYTES,
    );
    // Process metrics: one series per worker slot and one for the supervisor.
    const rss = samples.filter((s) => s.name === 'process_resident_memory_bytes');
    assert.deepEqual(rss.map((s) => s.labels.worker).sort(), ['1', '2', '3', 'supervisor']);
    assert.ok(rss.every((s) => s.value > 0));
    // The supervisor's own: its worker processes, keys and directory.
    assert.equal(sumOf(samples, 'relayd_worker_processes', { state: 'ready' }), WORKERS);
    assert.ok(sumOf(samples, 'tor_relay_signing_cert_expiry_timestamp') > Date.now() / 1000);
    assert.equal(sumOf(samples, 'relayd_metrics_worker_timeouts_total'), 0);
  });

  it('a worker killed with SIGKILL mid-download: downloads on the other workers complete, the worker is replaced, a new client bootstraps', async (t: TestContext) => {
    const net = network!;
    rememberWorkers();
    const before = readState(relayd);
    const downloads = clients.map((c) =>
      pacedDownload(c, net.payload.url, PACED_BYTES_PER_SECOND, DOWNLOAD_TIMEOUT_MS),
    );
    // Wait until every transfer is under way, then see which worker holds which client.
    await until(
      'every paced download to be under way',
      () => (downloads.every((d) => d.received() >= 512 * 1024) ? true : undefined),
      60_000,
    );
    const byClient = workersOfClients(relayd, clients);
    const victim = before.workers[0]!;
    const victimPid = victim.pid!;
    const onVictim = clients.filter((c) => byClient.get(c)!.has(victimPid));
    const elsewhere = clients.filter((c) => !byClient.get(c)!.has(victimPid) && byClient.get(c)!.size > 0);
    t.diagnostic(
      `killing worker ${victim.workerId} (pid ${victimPid}); its clients: ${onVictim.map((c) => c.nickname).join(', ')}; ` +
        `received so far: ${downloads.map((d) => d.received()).join(', ')}`,
    );
    assert.ok(onVictim.length >= 1, 'the killed worker was serving a client');
    assert.ok(elsewhere.length >= 1, 'other workers were serving clients');
    process.kill(victimPid, 'SIGKILL');

    const results = await Promise.all(downloads.map((d) => d.done));
    for (const client of elsewhere) {
      const result = results[clients.indexOf(client)]!;
      assert.deepEqual(
        result,
        { ok: true, sha256Hex: net.payload.sha256Hex, bytes: PAYLOAD_BYTES },
        `${client.nickname} (on another worker) completed its download`,
      );
    }
    for (const client of onVictim) {
      t.diagnostic(
        `${client.nickname} (on the killed worker): ${JSON.stringify(results[clients.indexOf(client)])}`,
      );
    }

    // The slot gets a new process; the other workers are the same processes as before.
    const replaced = await replacementOf(relayd, victim.workerId, victimPid, 30_000);
    rememberWorkers();
    assert.equal(isPidAlive(victimPid), false);
    assert.ok(isPidAlive(replaced.pid!));
    assert.equal(replaced.generation, 2);
    assert.equal(replaced.deaths, 1);
    const now = readState(relayd);
    for (const w of before.workers.slice(1)) {
      const same = now.workers.find((x) => x.workerId === w.workerId)!;
      assert.equal(same.pid, w.pid, `worker ${w.workerId} was not touched`);
      assert.equal(same.generation, 1);
    }
    assert.ok(relayd.process.running, 'the supervisor runs on');
    t.diagnostic(`worker ${victim.workerId} replaced: pid ${victimPid} → ${replaced.pid}`);

    // A new client bootstraps afterwards and downloads intact.
    const late = await net.startClient({ bridgeLines: [relayd.bridgeLine] });
    clients.push(late);
    await late.waitForBootstrap(BOOTSTRAP_TIMEOUT_MS);
    const download = await late.download(net.payload.url, DOWNLOAD_TIMEOUT_MS);
    assert.equal(download.sha256Hex, net.payload.sha256Hex);
    // It went to the replacement: the least loaded worker.
    const lateWorkers = workersOfClients(relayd, [late]).get(late)!;
    t.diagnostic(`the new client is served by pid ${[...lateWorkers].join(', ')}`);
  });

  it('after a worker was replaced, the counters have not gone down', async () => {
    const samples = await scrape();
    const ntor = sumOf(samples, 'tor_relay_load_onionskins_total', { type: 'ntor', action: 'processed' });
    assert.ok(
      ntor >= scrapedOnionskins,
      `ntor processed ${ntor} after the replacement, ${scrapedOnionskins} before`,
    );
    assert.ok(sumOf(samples, 'relayd_worker_deaths_total') >= 1, 'the SIGKILLed worker is counted');
  });

  it('SIGTERM stops relayd and every worker process', async () => {
    rememberWorkers();
    const status = await relayd.stop(20_000);
    assert.deepEqual(status, { code: 0, signal: null });
    for (const pid of workerPids) assert.equal(isPidAlive(pid), false, `worker pid ${pid} exited`);
    assert.match(readNoticeLog(relayd).at(-1)!.msg, /relayd stopped/);
  });
});
