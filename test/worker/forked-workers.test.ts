/**
 * The supervisor (in this process) with real forked worker processes
 * (ForkedWorkerLauncher) on a loopback ORPort, talked to by a small Tor
 * client over real TLS:
 *
 * - connections are handed to the workers evenly, each worker runs TLS and
 *   the link handshake with the bridge's identity and counts them;
 * - a worker serves BEGIN_DIR from the directory snapshot the supervisor
 *   pushed (the bridge's own descriptor);
 * - a connection read by an acceptor before the handover (what the
 *   Extended ORPort front does) completes its handshake from the leftover
 *   bytes;
 * - a coordinated onion-key rotation reaches every worker: new key and
 *   previous key both complete ntor everywhere;
 * - a worker killed with SIGKILL is replaced while the other worker's
 *   channel keeps working;
 * - stop ends every worker process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toBase64Unpadded, utf8 } from '@relayd/common';
import { listenTcp, stopReading, type TcpListener } from '@relayd/net';
import { parseServerDescriptor } from '@relayd/netdoc';
import { type Supervisor, WORKER_STATE_FILE, type WorkerStateDocument } from '@relayd/supervisor';
import { isPidAlive } from '@relayd/testnet';
import { startForkedSupervisor } from '../support/forked-supervisor.js';
import { LinkClient, type RelayTarget } from '../support/link-client.js';
import { pollFor } from '../support/poll.js';

const DAY = 86_400_000;
const WAIT_MS = 15_000;

function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  return pollFor(what, WAIT_MS, probe, () => '', 50);
}

describe('forked worker processes behind the supervisor', { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-forked-'));
  const dataDir = join(root, 'data');
  const clients: LinkClient[] = [];
  let offsetMs = 0;
  const clock = { nowMs: () => Date.now() + offsetMs, monotonicMs: () => performance.now() };
  let supervisor: Supervisor;
  let target: RelayTarget;
  let front: TcpListener | undefined;
  const workerPids = new Set<number>();

  const workers = () => supervisor.status().pool!.slots;
  const handedOff = () => workers().map((s) => s.current?.handedOff ?? 0);
  const rememberPids = () => {
    for (const s of workers()) if (s.current?.pid) workerPids.add(s.current.pid);
  };

  before(async () => {
    ({ supervisor, target } = await startForkedSupervisor({
      dataDir,
      nickname: 'forkedTest',
      torrc: ['Workers 2', `Log notice file ${join(root, 'notice.log')}`],
      clock,
      pool: { heartbeatIntervalMs: 300 },
    }));
    rememberPids();
  });

  after(async () => {
    for (const c of clients) c.close();
    await front?.close();
    await supervisor?.stop();
    // Whatever happened above, no worker process outlives the test.
    for (const pid of workerPids) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  /** Closes every client and waits until the workers report no channel: equal load again. */
  async function closeAll(): Promise<void> {
    for (const c of clients.splice(0)) c.close();
    await until('the workers to report no channels', () => {
      const s = supervisor.status().workers;
      return s.length === 2 &&
        s.every((w) => w.channels === 0 && w.connectionsReceived === handedOffBy(w.workerId))
        ? true
        : undefined;
    });
  }

  function handedOffBy(workerId: number): number {
    return workers().find((s) => s.workerId === workerId)?.current?.handedOff ?? -1;
  }

  async function client(to: RelayTarget = target): Promise<LinkClient> {
    const c = await LinkClient.open(to);
    clients.push(c);
    return c;
  }

  it('runs two worker processes and writes them to workers.json', () => {
    const status = supervisor.status();
    assert.equal(status.workerKind, 'forked');
    assert.equal(status.pool!.slots.length, 2);
    for (const slot of status.pool!.slots) {
      assert.equal(slot.current?.state, 'ready');
      assert.ok(slot.current!.pid! > 0 && slot.current!.pid !== process.pid);
      assert.ok(isPidAlive(slot.current!.pid!));
    }
    const doc = JSON.parse(readFileSync(join(dataDir, WORKER_STATE_FILE), 'utf8')) as WorkerStateDocument;
    assert.equal(doc.supervisorPid, process.pid);
    assert.deepEqual(
      doc.workers.map((w) => [w.workerId, w.pid, w.state]),
      status.pool!.slots.map((s) => [s.workerId, s.current!.pid, 'ready']),
    );
  });

  it('hands connections to the workers evenly; each worker proves the bridge identity', async () => {
    const before = handedOff();
    for (let i = 0; i < 4; i++) {
      const c = await client();
      assert.equal(c.linkVersion, 5);
      assert.ok('crypto' in (await c.createFast()));
    }
    const after = handedOff();
    assert.deepEqual(
      after.map((n, i) => n - before[i]!),
      [2, 2],
    );
    // The workers' own counters, from their heartbeats.
    const stats = await until('heartbeats counting the links', () => {
      const s = supervisor.status().workers;
      return s.length === 2 && s.every((w) => w.linksAccepted >= 2 && w.onionskins.fast.processed >= 2)
        ? s
        : undefined;
    });
    for (const w of stats) {
      assert.ok(w.bytesReceived > 0 && w.bytesSent > 0, `worker ${w.workerId} counts bytes`);
      assert.ok(w.circuits >= 2);
    }
  });

  it('serves the supervisor’s own descriptor over BEGIN_DIR from a worker’s copy', async () => {
    const c = await client();
    const response = Buffer.from(await c.fetchDirectory('/tor/server/authority')).toString('latin1');
    assert.match(response, /^HTTP\/1\.0 200 OK/);
    assert.equal(
      response.slice(response.indexOf('\r\n\r\n') + 4),
      supervisor.currentDocuments.serverDescriptor,
    );
  });

  it('completes the handshake of a connection handed over with bytes already read from it', async () => {
    const handed: string[] = [];
    front = await listenTcp({
      host: '127.0.0.1',
      port: 0,
      onConnection: (socket) => {
        // What an Extended ORPort front does: it reads, then passes the socket on with what it read.
        socket.once('readable', async () => {
          const leftover = await stopReading(socket);
          handed.push(`${leftover.length}`);
          const result = supervisor.handoff.handOff(socket, {
            leftover,
            clientAddress: { address: '198.51.100.9', port: 5555 },
            transportName: 'obfs4',
          });
          assert.ok(result.ok);
        });
      },
    });
    const c = await client({ ...target, port: front.port });
    assert.equal(c.linkVersion, 5);
    assert.ok('crypto' in (await c.createFast()));
    assert.equal(handed.length, 1);
    assert.ok(Number(handed[0]) > 0, 'some of the ClientHello was read before the handover');
  });

  it('rotates the onion keys of every worker at once; the previous key stays valid', async () => {
    const oldKey = parseServerDescriptor(utf8(supervisor.currentDocuments.serverDescriptor));
    assert.ok(oldKey.ok);
    await closeAll();
    offsetMs = 29 * DAY;
    await supervisor.maintain();
    const newDoc = parseServerDescriptor(utf8(supervisor.currentDocuments.serverDescriptor));
    assert.ok(newDoc.ok);
    assert.notEqual(toBase64Unpadded(newDoc.value.ntorOnionKey), toBase64Unpadded(oldKey.value.ntorOnionKey));
    const before = handedOff();
    for (let i = 0; i < 4; i++) {
      const c = await client();
      for (const key of [newDoc.value.ntorOnionKey, oldKey.value.ntorOnionKey]) {
        const created = await c.createNtor({ rsaIdentity: target.rsaIdentity, ntorOnionKey: key });
        assert.ok('crypto' in created, 'CREATED2 verified');
      }
    }
    const after = handedOff();
    assert.ok(
      after.every((n, i) => n > before[i]!),
      'both workers were tried',
    );
    // Both workers serve the new descriptor once the snapshot arrives (within DIRECTORY_PUSH_DELAY_MS).
    await closeAll();
    const served = async (c: LinkClient) => {
      const response = Buffer.from(await c.fetchDirectory('/tor/server/authority')).toString('latin1');
      return response.slice(response.indexOf('\r\n\r\n') + 4);
    };
    const [a, b] = [await client(), await client()];
    const deadline = Date.now() + 5_000;
    let bodies = [await served(a), await served(b)];
    while (
      bodies.some((body) => body !== supervisor.currentDocuments.serverDescriptor) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
      bodies = [await served(a), await served(b)];
    }
    assert.deepEqual(bodies, [
      supervisor.currentDocuments.serverDescriptor,
      supervisor.currentDocuments.serverDescriptor,
    ]);
  });

  it('replaces a worker killed with SIGKILL; the other worker’s channels go on', async () => {
    await closeAll();
    rememberPids();
    const [victimSlot, otherSlot] = workers();
    const victimPid = victimSlot!.current!.pid!;
    // One fresh channel per worker (connections alternate between equally loaded workers).
    const fresh: LinkClient[] = [];
    const before = handedOff();
    while (fresh.length < 4) fresh.push(await client());
    assert.deepEqual(
      handedOff().map((n, i) => n - before[i]!),
      [2, 2],
    );
    process.kill(victimPid, 'SIGKILL');
    await until('the killed worker to be noticed', () =>
      workers()[0]!.current?.pid !== victimPid || workers()[0]!.current?.state === 'exited'
        ? true
        : undefined,
    );
    // Channels on the killed worker close; those on the other one still build circuits.
    await Promise.race([Promise.any(fresh.map((c) => c.closed)), new Promise((r) => setTimeout(r, 5_000))]);
    let working = 0;
    for (const c of fresh) {
      const outcome = await c.createFast(3_000).then(
        () => true,
        () => false,
      );
      if (outcome) working++;
    }
    assert.equal(working, 2, 'the two channels on the surviving worker still work');
    assert.equal(otherSlot!.current!.pid, workers()[1]!.current!.pid, 'the other worker was not touched');
    const replacement = await until('a new worker in the slot', () => {
      const slot = workers()[0]!;
      return slot.current?.state === 'ready' && slot.current.pid !== victimPid ? slot.current : undefined;
    });
    rememberPids();
    assert.equal(isPidAlive(victimPid), false);
    assert.equal(workers()[0]!.deaths, 1);
    // New connections reach the replacement: it is the least loaded (the other still holds two channels).
    const again = handedOff();
    for (let i = 0; i < 2; i++) assert.ok('crypto' in (await (await client()).createFast()));
    assert.deepEqual(
      handedOff().map((n, i) => n - again[i]!),
      [2, 0],
    );
    assert.equal(replacement.generation, 2);
  });

  it('a reload grows and shrinks the pool, and restarts the workers one by one for a worker setting', async () => {
    await closeAll();
    const config = supervisor.currentConfig;
    const grown = await supervisor.reload({ ...config, workers: 3 });
    assert.deepEqual(grown.applied, ['workers']);
    await until('three ready workers', () =>
      workers().length === 3 && workers().every((s) => s.current?.state === 'ready') ? true : undefined,
    );
    rememberPids();
    const before = workers().map((s) => s.current!.pid!);
    const shrunk = await supervisor.reload({
      ...supervisor.currentConfig,
      workers: 2,
      extendAllowPrivateAddresses: !config.extendAllowPrivateAddresses,
    });
    assert.deepEqual([...shrunk.applied].sort(), ['extendAllowPrivateAddresses', 'workers']);
    assert.equal(shrunk.restartedWorkers, true);
    assert.deepEqual(shrunk.needsRestart, []);
    rememberPids();
    const after = workers().map((s) => s.current!.pid!);
    assert.equal(after.length, 2);
    assert.ok(
      after.every((pid) => !before.includes(pid)),
      'both remaining slots run new processes',
    );
    await until('the retired and replaced processes to exit', () =>
      before.every((pid) => !isPidAlive(pid)) ? true : undefined,
    );
    assert.ok('crypto' in (await (await client()).createFast()));
  });

  it('stop ends every worker process', async () => {
    rememberPids();
    await supervisor.stop();
    for (const pid of workerPids) assert.equal(isPidAlive(pid), false, `worker pid ${pid} exited`);
    const doc = JSON.parse(readFileSync(join(dataDir, WORKER_STATE_FILE), 'utf8')) as WorkerStateDocument;
    assert.ok(doc.workers.every((w) => w.state === 'exited'));
  });
});
