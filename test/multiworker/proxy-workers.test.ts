/**
 * `BalancerMode proxy` with relayd's own workers as the backends: relayd
 * with `Workers 2` and a managed obfs4proxy. The supervisor's balancer
 * listens on the ORPort and the Extended ORPort; each worker opens an
 * Extended ORPort of its own on 127.0.2.N with a cookie the supervisor made
 * for it, and the balancer proxies every connection to the least-loaded
 * healthy worker, from spread 127.0.1.x source addresses, passing the
 * client's USERADDR and TRANSPORT on:
 *
 *   tor client ─obfs4─▶ obfs4proxy ─ExtORPort─▶ supervisor (SAFE_COOKIE, OKAY)
 *     ─TCP from 127.0.1.x─▶ worker N's Extended ORPort 127.0.2.N (SAFE_COOKIE, USERADDR, TRANSPORT)
 *       ─▶ TLS + link handshake in the worker
 *
 * Two tor clients knowing only the obfs4 bridge line bootstrap and download
 * the payload intact; workers.json shows each worker's backend port and the
 * clients counted under obfs4; the kernel's socket table shows the
 * balancer's hops arriving at the workers from 127.0.1.x.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
  connectionsOn,
  listenersOn,
  readState,
  until,
} from './helpers.js';

const WORKERS = 2;
const CLIENTS = 2;
const BOOTSTRAP_TIMEOUT_MS = 150_000;
const DOWNLOAD_TIMEOUT_MS = 120_000;

describe(`relayd in BalancerMode proxy over its ${WORKERS} workers, behind obfs4proxy`, {
  timeout: 480_000,
}, () => {
  let network: TestNetwork | undefined;
  let relayd: RelaydBridgeNode;
  const clients: ClientNode[] = [];
  const children = new Set<number>();

  const rememberChildren = () => {
    for (const c of childProcesses(relayd.pid)) children.add(c.pid);
  };

  before(async () => {
    network = await startNetwork();
    relayd = await startRelaydBridge(network, {
      workers: WORKERS,
      balancerMode: 'proxy',
      transports: [{ name: 'obfs4', path: OBFS4PROXY }],
    });
    rememberChildren();
  });

  after(async () => {
    await network?.close();
    for (const pid of children) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('every worker listens on an Extended ORPort of its own; the ORPort and the ExtORPort are the supervisor’s', () => {
    const state = readState(relayd);
    assert.equal(state.workers.length, WORKERS);
    for (const w of state.workers) {
      assert.ok(
        w.extOrBackendPort !== null && w.extOrBackendPort > 0,
        `worker ${w.workerId} has a backend port`,
      );
      assert.deepEqual(listenersOn(w.extOrBackendPort!), [
        { local: `127.0.2.${w.workerId}:${w.extOrBackendPort}`, pids: [w.pid] },
      ]);
    }
    // The vanilla ORPort is accepted by the supervisor (the balancer), not by a worker.
    assert.deepEqual(listenersOn(relayd.orPort), [
      { local: `${relayd.address}:${relayd.orPort}`, pids: [relayd.pid] },
    ]);
    // So is the Extended ORPort obfs4proxy forwards to (127.0.0.1:auto: no ExtORPort line was given).
    const supervisorListeners = execFileSync('ss', ['-tlnpH'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(`pid=${relayd.pid},`) && l.includes(' 127.0.0.1:'));
    assert.equal(supervisorListeners.length, 1, supervisorListeners.join('\n'));
  });

  it(`${CLIENTS} tor clients over obfs4 bootstrap and download through the balancer's proxy to the workers`, async (t: TestContext) => {
    const net = network!;
    const started = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        net.startClient({
          bridgeLines: [relayd.transportBridgeLine('obfs4')],
          extraTorrc: OBFS4_CLIENT_TORRC,
        }),
      ),
    );
    clients.push(...started);
    await bootstrapAndDownload(
      t,
      clients,
      net.payload,
      { bootstrapMs: BOOTSTRAP_TIMEOUT_MS, downloadMs: DOWNLOAD_TIMEOUT_MS },
      () => `${net.describe()}\n${clients[0]?.describeLogs() ?? ''}`,
    );
    // The clients' channels are proxied connections into the workers' backends, from 127.0.1.x.
    const state = readState(relayd);
    const hops = state.workers.flatMap((w) =>
      connectionsOn(w.extOrBackendPort!).filter(
        (r) => r.local.endsWith(`:${w.extOrBackendPort}`) && r.pid === w.pid,
      ),
    );
    t.diagnostic(`balancer → worker hops: ${hops.map((h) => `${h.peer} → ${h.local}`).join(', ')}`);
    assert.ok(hops.length >= CLIENTS, `${hops.length} proxied connections open for ${CLIENTS} clients`);
    for (const hop of hops) {
      assert.match(hop.peer, /^127\.0\.1\.\d+:\d+$/, 'from the balancer’s spread source addresses');
      assert.match(hop.local, /^127\.0\.2\.\d+:\d+$/, 'to a worker’s own backend address');
    }
    // Each worker counts what it served by transport; together they served the clients over obfs4.
    const counted = await until(
      'the workers to report the obfs4 clients',
      () => {
        const s = readState(relayd);
        const links = s.totals.connectionsByTransport.pluggable['obfs4']?.linksAccepted ?? 0;
        return links >= CLIENTS ? s : undefined;
      },
      20_000,
    );
    for (const w of counted.workers) {
      t.diagnostic(
        `worker ${w.workerId} (pid ${w.pid}, backend ${w.extOrBackendPort}): ${JSON.stringify(w.stats?.connectionsByTransport)}`,
      );
      assert.deepEqual(w.stats?.connectionsByTransport.vanilla, { connections: 0, linksAccepted: 0 });
      assert.equal(w.handedOff, 0, 'proxy mode hands no socket over');
    }
  });

  it('SIGTERM stops relayd, its workers and obfs4proxy', async () => {
    rememberChildren();
    const status = await relayd.stop(20_000);
    assert.deepEqual(status, { code: 0, signal: null });
    for (const pid of children) assert.equal(isPidAlive(pid), false, `child pid ${pid} exited`);
  });
});
