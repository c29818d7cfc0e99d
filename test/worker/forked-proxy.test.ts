/**
 * BalancerMode proxy with real forked worker processes, in this process's
 * supervisor: the balancer accepts the ORPort itself and proxies every
 * connection to a worker's own Extended ORPort (127.0.2.N, a cookie per
 * process), talked to by a small Tor client over real TLS:
 *
 * - each worker's backend is registered as "worker N" at the port the
 *   worker reported, and passes the balancer's health checks;
 * - link handshakes through the balancer complete with the bridge's
 *   identity, spread over both workers (least connections), and the
 *   workers count them as vanilla connections;
 * - a worker killed with SIGKILL: its backend is withdrawn, the
 *   replacement registered with its own port, the other worker's channel
 *   keeps working, and new connections complete;
 * - stop ends every worker process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Supervisor } from '@relayd/supervisor';
import { isPidAlive } from '@relayd/testnet';
import { startForkedSupervisor } from '../support/forked-supervisor.js';
import { LinkClient, type RelayTarget } from '../support/link-client.js';
import { pollFor } from '../support/poll.js';

const WAIT_MS = 20_000;

function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  return pollFor(what, WAIT_MS, probe, () => '', 50);
}

describe('BalancerMode proxy over forked worker processes', { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-forked-proxy-'));
  const dataDir = join(root, 'data');
  const clients: LinkClient[] = [];
  let supervisor: Supervisor;
  let target: RelayTarget;
  const workerPids = new Set<number>();

  const slots = () => supervisor.status().pool!.slots;
  const backends = () => supervisor.status().balancer!.backends;
  const rememberPids = () => {
    for (const s of slots()) if (s.current?.pid) workerPids.add(s.current.pid);
  };

  async function client(): Promise<LinkClient> {
    const c = await LinkClient.open(target);
    clients.push(c);
    return c;
  }

  before(async () => {
    ({ supervisor, target } = await startForkedSupervisor({
      dataDir,
      nickname: 'forkedProxy',
      torrc: ['Workers 2', 'BalancerMode proxy', 'BalancerHealthCheckInterval 1 second'],
      pool: { heartbeatIntervalMs: 300, restartBackoff: { initialMs: 200, maxMs: 1_000 } },
    }));
    rememberPids();
  });

  after(async () => {
    for (const c of clients) c.close();
    await supervisor?.stop();
    for (const pid of workerPids) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('registers each worker’s Extended ORPort as a backend; the ORPort is the balancer’s', async () => {
    const status = supervisor.status();
    assert.equal(status.balancer?.mode, 'proxy');
    assert.equal(status.balancer!.fronts.find((f) => f.front === 'vanilla')?.port, status.endpoint.orPort);
    const healthy = await until('both backends to pass a health check', () => {
      const list = backends();
      return list.length === 2 && list.every((b) => b.healthy && b.checksPassed >= 1) ? list : undefined;
    });
    for (const slot of slots()) {
      const backend = healthy.find((b) => b.id === `worker ${slot.workerId}`);
      assert.ok(backend, `worker ${slot.workerId} is a backend`);
      assert.equal(backend.host, `127.0.2.${slot.workerId}`);
      assert.equal(backend.port, slot.current?.extOrBackendPort);
    }
  });

  it('link handshakes through the balancer complete with the bridge identity, spread over both workers', async () => {
    for (let i = 0; i < 4; i++) {
      const c = await client();
      assert.equal(c.linkVersion, 5);
      assert.ok('crypto' in (await c.createFast()));
    }
    assert.deepEqual(
      backends().map((b) => b.connections),
      [2, 2],
    );
    const stats = await until('the workers to count the links', () => {
      const s = supervisor.status().workers;
      return s.length === 2 && s.every((w) => w.connectionsByTransport.vanilla.linksAccepted >= 2)
        ? s
        : undefined;
    });
    for (const w of stats) assert.deepEqual(w.connectionsByTransport.pluggable, {});
    // Proxied, not handed over: the pool gave no socket to any worker.
    assert.deepEqual(
      slots().map((s) => s.current?.handedOff),
      [0, 0],
    );
  });

  it('a killed worker’s backend is withdrawn and its replacement registered; the other worker’s channel works on', async () => {
    const victim = slots()[0]!.current!;
    const survivor = slots()[1]!.current!;
    const oldPort = victim.extOrBackendPort;
    const earlier = [...clients];
    process.kill(victim.pid!, 'SIGKILL');
    const replacement = await until('worker 1 to be replaced and registered again', () => {
      const slot = slots()[0]!;
      const backend = backends().find((b) => b.id === 'worker 1');
      return slot.current?.state === 'ready' &&
        slot.current.pid !== victim.pid &&
        backend !== undefined &&
        backend.port === slot.current.extOrBackendPort
        ? slot.current
        : undefined;
    });
    rememberPids();
    assert.notEqual(replacement.extOrBackendPort, oldPort);
    assert.equal(slots()[1]!.current?.pid, survivor.pid, 'worker 2 was not touched');
    // The two channels on the surviving worker still carry circuits; the two on the killed one are gone.
    const outcomes = await Promise.allSettled(earlier.map((c) => c.createFast(5_000)));
    assert.deepEqual(outcomes.map((o) => o.status).sort(), [
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    // New connections complete (on either worker).
    const fresh = await client();
    assert.ok('crypto' in (await fresh.createFast()));
  });

  it('stop ends every worker process', async () => {
    rememberPids();
    for (const c of clients.splice(0)) c.close();
    await supervisor.stop();
    for (const pid of workerPids) assert.equal(isPidAlive(pid), false, `worker pid ${pid} exited`);
  });
});
