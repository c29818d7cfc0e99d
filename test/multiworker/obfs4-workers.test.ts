/**
 * Many workers, one bridge, reached over obfs4: relayd with `Workers 3`,
 * `BalancerMode handoff` and a managed obfs4proxy
 * (`ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy` with its
 * `ServerTransportListenAddr`), as the bridge of real tor clients on the
 * private network of real C tor relays:
 *
 *   tor client ─(its obfs4proxy)─obfs4─▶ relayd's obfs4proxy ─ExtORPort─▶ supervisor front
 *     (SAFE_COOKIE, USERADDR, TRANSPORT) ─socket + leftover bytes─▶ worker 1…3 (TLS, link, circuits)
 *
 * - relayd publishes the `Bridge obfs4 …` line (bridge-lines.txt) and the
 *   `transport obfs4 …` line in its extra-info, with the same cert;
 *   python3-stem validates the descriptor and extra-info (signatures) and
 *   reads the transport;
 * - six tor clients knowing only that obfs4 line bootstrap and download the
 *   payload intact; every worker served some of them, all through obfs4
 *   (connections by transport in workers.json and the heartbeat lines; none
 *   came in vanilla, so obfs4proxy used the Extended ORPort);
 * - while the six download again (paced), one worker is killed with
 *   SIGKILL: every download but those of the clients the killed worker held
 *   (its open connections in workers.json) completes intact, the worker is
 *   replaced alone, and a new obfs4 client bootstraps and downloads;
 * - SIGTERM stops relayd, its workers and obfs4proxy.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  type ClientNode,
  isPidAlive,
  type RelaydBridgeNode,
  startNetwork,
  startRelaydBridge,
  type TestNetwork,
} from '@relayd/testnet';
import { OBFS4_CLIENT_TORRC, OBFS4PROXY } from '../support/managed-pt.js';
import {
  bootstrapAndDownload,
  childProcesses,
  pacedDownload,
  readNoticeLog,
  readState,
  replacementOf,
  stemAvailable,
  stemRead,
  until,
} from './helpers.js';

const WORKERS = 3;
const CLIENTS = 6;
const PAYLOAD_BYTES = 8 * 1024 * 1024;
const BOOTSTRAP_TIMEOUT_MS = 150_000;
const DOWNLOAD_TIMEOUT_MS = 180_000;
/** Paced downloads keep six transfers in flight long enough to kill a worker mid-way. */
const PACED_BYTES_PER_SECOND = 800_000;

describe(`relayd with Workers ${WORKERS} behind a managed obfs4proxy (handoff)`, { timeout: 720_000 }, () => {
  let network: TestNetwork | undefined;
  let relayd: RelaydBridgeNode;
  let obfs4Line = '';
  const clients: ClientNode[] = [];
  /** Worker and transport processes seen, killed by PID in `after` if they outlive relayd. */
  const children = new Set<number>();

  const rememberChildren = () => {
    for (const w of readState(relayd).workers) if (w.pid) children.add(w.pid);
    for (const c of childProcesses(relayd.pid)) children.add(c.pid);
  };
  const diagnostics = () =>
    [network?.describe() ?? '', ...clients.slice(0, 2).map((c) => c.describeLogs())].join('\n');

  before(async () => {
    network = await startNetwork({ payloadBytes: PAYLOAD_BYTES });
    relayd = await startRelaydBridge(network, {
      workers: WORKERS,
      balancerMode: 'handoff',
      transports: [{ name: 'obfs4', path: OBFS4PROXY }],
    });
    obfs4Line = relayd.transportBridgeLine('obfs4');
    rememberChildren();
  });

  after(async () => {
    // relayd and every tor process by PID, then whatever of relayd's children outlived it.
    await network?.close();
    for (const pid of children) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('runs the workers and obfs4proxy as its children, and publishes the obfs4 line in bridge-lines.txt and the extra-info', (t: TestContext) => {
    const kids = childProcesses(relayd.pid);
    const state = readState(relayd);
    assert.equal(state.workers.length, WORKERS);
    for (const w of state.workers)
      assert.ok(
        kids.some((k) => k.pid === w.pid),
        `worker ${w.workerId} runs`,
      );
    assert.equal(kids.filter((k) => k.command === 'obfs4proxy').length, 1, JSON.stringify(kids));

    const [transport] = relayd.transports;
    const lines = readFileSync(join(relayd.dataDir, 'bridge-lines.txt'), 'latin1').trim().split('\n');
    assert.deepEqual(lines, [relayd.bridgeLine, obfs4Line]);
    const where = `${transport!.address}:${transport!.port}`;
    const line = new RegExp(
      `^Bridge obfs4 ${where.replace(/\./g, '\\.')} ${relayd.fingerprint} cert=(\\S+) iat-mode=0$`,
    );
    const cert = line.exec(obfs4Line)?.[1];
    assert.ok(cert, obfs4Line);
    const extraInfo = readFileSync(join(relayd.dataDir, 'extra-info'), 'latin1');
    assert.ok(
      extraInfo.split('\n').includes(`transport obfs4 ${where} cert=${cert},iat-mode=0`),
      `the extra-info has the transport line:\n${extraInfo}`,
    );
    t.diagnostic(obfs4Line);
  });

  it('python3-stem validates the descriptor and the extra-info and reads the obfs4 transport', {
    skip: !stemAvailable() && 'python3-stem is not installed',
  }, () => {
    const view = stemRead(relayd);
    assert.equal(view.descriptor_error, undefined);
    assert.equal(view.extra_info_error, undefined);
    assert.equal(view.descriptor?.fingerprint, relayd.fingerprint);
    assert.equal(view.extra_info?.fingerprint, relayd.fingerprint);
    assert.equal(
      view.descriptor?.extra_info_digest,
      view.extra_info?.digest,
      'the descriptor names this extra-info',
    );
    const [transport] = relayd.transports;
    const cert = /cert=(\S+)/.exec(obfs4Line)![1]!;
    assert.deepEqual(view.extra_info?.transports, {
      // stem splits the arguments at spaces; C tor (and relayd) separate them with commas.
      obfs4: [transport!.address, transport!.port, [`cert=${cert},iat-mode=0`]],
    });
  });

  it(`${CLIENTS} tor clients over obfs4 bootstrap and download intact; every worker served them, all through obfs4`, async (t: TestContext) => {
    const net = network!;
    const started = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        net.startClient({ bridgeLines: [obfs4Line], extraTorrc: OBFS4_CLIENT_TORRC }),
      ),
    );
    clients.push(...started);
    assert.equal(net.payload.sizeBytes, PAYLOAD_BYTES);
    await bootstrapAndDownload(
      t,
      clients,
      net.payload,
      { bootstrapMs: BOOTSTRAP_TIMEOUT_MS, downloadMs: DOWNLOAD_TIMEOUT_MS },
      diagnostics,
    );
    // Heartbeats (every 5 s) reach workers.json within a second.
    const state = await until(
      'every worker to report obfs4 clients in workers.json',
      () => {
        const s = readState(relayd);
        return s.workers.every(
          (w) =>
            w.stats !== null &&
            (w.stats.connectionsByTransport.pluggable['obfs4']?.linksAccepted ?? 0) >= 1 &&
            w.stats.onionskins.ntor.processed >= 1 &&
            w.stats.bytesSent > 0,
        )
          ? s
          : undefined;
      },
      20_000,
    );
    for (const w of state.workers) {
      const byTransport = w.stats!.connectionsByTransport;
      t.diagnostic(
        `worker ${w.workerId} (pid ${w.pid}): ${w.handedOff} handed off, ${w.openConnections} open, ` +
          `obfs4 ${JSON.stringify(byTransport.pluggable['obfs4'])}, vanilla ${JSON.stringify(byTransport.vanilla)}, ` +
          `ntor ${w.stats!.onionskins.ntor.processed}, ${(w.stats!.bytesSent / 1e6).toFixed(1)} MB sent`,
      );
      // obfs4proxy reached relayd through the Extended ORPort only: nothing came in vanilla.
      assert.deepEqual(byTransport.vanilla, { connections: 0, linksAccepted: 0 });
      assert.deepEqual(Object.keys(byTransport.pluggable), ['obfs4']);
      assert.ok(w.openConnections >= 1, `worker ${w.workerId} holds a client connection`);
    }
    const obfs4Total = state.totals.connectionsByTransport.pluggable['obfs4']!;
    assert.ok(obfs4Total.linksAccepted >= CLIENTS, JSON.stringify(obfs4Total));
    assert.equal(state.refused, 0);

    // The heartbeat lines (every 30 s under TestingTorNetwork) carry the per-transport counts.
    const heartbeat = await until(
      'heartbeat lines with obfs4 counts for every worker',
      () => {
        const lines = readNoticeLog(relayd);
        const served = new Set(
          lines
            .filter(
              (l) =>
                l.heartbeat === 'worker' &&
                (l.connectionsByTransport?.pluggable['obfs4']?.connections ?? 0) > 0,
            )
            .map((l) => l.workerId),
        );
        return served.size === WORKERS ? lines : undefined;
      },
      45_000,
    );
    const total = heartbeat.filter((l) => l.heartbeat === 'total').at(-1)!;
    assert.match(total.msg, /Connections by transport: vanilla 0, obfs4 \d+\./);
    t.diagnostic(total.msg);
  });

  it('a worker killed with SIGKILL mid-download: the other workers’ downloads complete, it is replaced, a new obfs4 client bootstraps', async (t: TestContext) => {
    const net = network!;
    rememberChildren();
    const downloads = clients.map((c) =>
      pacedDownload(c, net.payload.url, PACED_BYTES_PER_SECOND, DOWNLOAD_TIMEOUT_MS),
    );
    await until(
      'every paced download to be under way',
      () => (downloads.every((d) => d.received() >= 512 * 1024) ? true : undefined),
      90_000,
    );
    const before = readState(relayd);
    const victim = before.workers.reduce((a, b) => (b.openConnections > a.openConnections ? b : a));
    const victimPid = victim.pid!;
    // Every client holds one connection to the bridge; those of the victim are what it may lose.
    const victimClients = victim.openConnections;
    const open = before.workers.map((w) => w.openConnections);
    t.diagnostic(
      `open connections per worker: ${open.join(', ')}; killing worker ${victim.workerId} (pid ${victimPid}); ` +
        `received so far: ${downloads.map((d) => d.received()).join(', ')}`,
    );
    assert.equal(
      open.reduce((a, b) => a + b, 0),
      CLIENTS,
      'one open connection per client, spread over the workers',
    );
    assert.ok(victimClients >= 1 && victimClients < CLIENTS);
    process.kill(victimPid, 'SIGKILL');

    const results = await Promise.all(downloads.map((d) => d.done));
    const completed = results.filter((r) => r.ok);
    for (const [i, r] of results.entries()) t.diagnostic(`${clients[i]!.nickname}: ${JSON.stringify(r)}`);
    for (const r of completed) {
      assert.deepEqual(r, { ok: true, sha256Hex: net.payload.sha256Hex, bytes: PAYLOAD_BYTES });
    }
    // Exactly the clients on the other workers finish: theirs are untouched, the victim's lost their circuits.
    assert.equal(
      completed.length,
      CLIENTS - victimClients,
      `${completed.length} downloads completed; the killed worker held ${victimClients} of ${CLIENTS} clients`,
    );

    // The slot gets a new process; the other workers are the same processes as before.
    const replaced = await replacementOf(relayd, victim.workerId, victimPid, 30_000);
    rememberChildren();
    assert.equal(isPidAlive(victimPid), false);
    assert.equal(replaced.generation, 2);
    assert.equal(replaced.deaths, 1);
    const now = readState(relayd);
    for (const w of before.workers.filter((x) => x.workerId !== victim.workerId)) {
      const same = now.workers.find((x) => x.workerId === w.workerId)!;
      assert.equal(same.pid, w.pid, `worker ${w.workerId} was not touched`);
      assert.equal(same.generation, 1);
    }
    assert.ok(relayd.process.running, 'the supervisor runs on');
    assert.equal(
      childProcesses(relayd.pid).filter((k) => k.command === 'obfs4proxy').length,
      1,
      'obfs4proxy was not touched',
    );
    t.diagnostic(`worker ${victim.workerId} replaced: pid ${victimPid} → ${replaced.pid}`);

    // A new obfs4 client bootstraps afterwards and downloads intact.
    const late = await net.startClient({ bridgeLines: [obfs4Line], extraTorrc: OBFS4_CLIENT_TORRC });
    clients.push(late);
    try {
      await late.waitForBootstrap(BOOTSTRAP_TIMEOUT_MS);
      const download = await late.download(net.payload.url, DOWNLOAD_TIMEOUT_MS);
      assert.equal(download.sha256Hex, net.payload.sha256Hex);
    } catch (error) {
      assert.fail(`${(error as Error).message}\n${late.describeLogs()}`);
    }
  });

  it('SIGTERM stops relayd, every worker and obfs4proxy', async () => {
    rememberChildren();
    const status = await relayd.stop(20_000);
    assert.deepEqual(status, { code: 0, signal: null });
    for (const pid of children) assert.equal(isPidAlive(pid), false, `child pid ${pid} exited`);
    assert.match(readNoticeLog(relayd).at(-1)!.msg, /relayd stopped/);
  });
});
