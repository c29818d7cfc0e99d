/**
 * The worker pool on fake time with fake worker processes: start, choice
 * of the least-loaded healthy worker, health from heartbeats, replacement
 * of dead workers with exponential backoff, rolling restart, resize, stop,
 * and the messages each worker receives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RelaydConfig } from '@relayd/config';
import { IPC_PROTOCOL_VERSION } from '@relayd/ipc';
import type { WorkerKeySnapshot } from '@relayd/keys';
import {
  type ExtOrBackendPlan,
  restartDelayMs,
  WorkerPool,
  type WorkerPoolOptions,
  workerStateDocument,
} from '../src/index.js';
import { FakeSocket, FakeSpawner, FakeTime, type LogLine, recordingLogger, settle } from './fake-workers.js';

const KEYS = { version: 1, marker: 'keys-1' } as unknown as WorkerKeySnapshot;
const CONFIG = { workers: 3, marker: 'config-1' } as unknown as RelaydConfig;
const DIRECTORY = {
  consensus: undefined,
  certificates: new Uint8Array(0),
  microdescriptors: new Uint8Array(0),
  serverDescriptor: undefined,
  extraInfo: undefined,
};

function makePool(
  workers: number,
  options: Partial<WorkerPoolOptions> = {},
  extOrBackends?: ExtOrBackendPlan,
) {
  const time = new FakeTime();
  const spawner = new FakeSpawner(time);
  const lines: LogLine[] = [];
  let changes = 0;
  // Health limits out of the way unless a test is about them: most tests do not send heartbeats.
  const pool = new WorkerPool(
    { workers, unhealthyAfterMs: 1e9, killUnresponsiveAfterMs: 1e9, ...options },
    {
      spawn: spawner.spawn,
      startData: () => ({ keys: KEYS, config: CONFIG, publicAddresses: ['192.0.2.1'], directory: DIRECTORY }),
      logger: recordingLogger(lines),
      clock: time,
      scheduler: time,
      onChange: () => {
        changes++;
      },
      ...(extOrBackends ? { extOrBackends } : {}),
    },
  );
  return { time, spawner, pool, lines, changes: () => changes };
}

async function started(
  workers: number,
  options: Partial<WorkerPoolOptions> = {},
  extOrBackends?: ExtOrBackendPlan,
) {
  const made = makePool(workers, options, extOrBackends);
  const starting = made.pool.start();
  await made.time.advance(10);
  await starting;
  return made;
}

function handOffMany(pool: WorkerPool, n: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const result = pool.handOff(new FakeSocket().asSocket());
    assert.ok(result.ok);
    ids.push(result.workerId);
  }
  return ids;
}

describe('WorkerPool', () => {
  it('starts every worker with its start data and resolves once all are ready', async () => {
    const { time, spawner, pool } = makePool(3);
    let done = false;
    const starting = pool.start().then(() => {
      done = true;
    });
    await settle();
    assert.equal(spawner.processes.length, 3);
    assert.equal(done, false, 'not before the workers are ready');
    for (const [i, proc] of spawner.processes.entries()) {
      assert.deepEqual(proc.kinds(), ['start']);
      const start = proc.sent[0]!.message;
      assert.ok(start.kind === 'start');
      assert.equal(start.workerId, i + 1);
      assert.equal(start.heartbeatIntervalMs, 5_000);
      assert.equal(start.keys, KEYS);
      assert.equal(start.config, CONFIG);
      assert.deepEqual(start.publicAddresses, ['192.0.2.1']);
    }
    await time.advance(10);
    await starting;
    assert.equal(done, true);
    assert.deepEqual(
      pool.status().slots.map((s) => [s.workerId, s.current?.state, s.current?.healthy]),
      [
        [1, 'ready', true],
        [2, 'ready', true],
        [3, 'ready', true],
      ],
    );
  });

  it('rejects and leaves nothing running when a worker dies before it is ready', async () => {
    const { time, spawner, pool } = makePool(2);
    spawner.autoReady = false;
    const starting = pool.start();
    await settle();
    spawner.processes[0]!.ready();
    spawner.processes[1]!.die(1, null);
    const rejected = assert.rejects(starting, /worker 2 did not start \(exit status 1\)/);
    // The survivor is told to stop and exits.
    await settle();
    assert.deepEqual(spawner.processes[0]!.kinds(), ['start', 'stop']);
    spawner.processes[0]!.die(0, null);
    await time.advance(10);
    await rejected;
    await time.advance(60_000);
    assert.equal(spawner.processes.length, 2, 'no replacement after a failed start');
  });

  it('a worker that never gets ready is killed after the start timeout', async () => {
    const { time, spawner, pool } = makePool(1, { startTimeoutMs: 20_000 });
    spawner.autoReady = false;
    const starting = pool.start();
    const rejected = assert.rejects(starting, /worker 1 did not start \(signal SIGKILL\)/);
    await time.advance(25_000);
    assert.deepEqual(spawner.processes[0]!.kills, ['SIGKILL']);
    await rejected;
  });

  it('hands each connection to the least-loaded worker, ties round-robin', async () => {
    const { spawner, pool } = await started(3);
    // Equal (zero) load: connections spread evenly, counting those in flight.
    assert.deepEqual(handOffMany(pool, 6), [1, 2, 3, 1, 2, 3]);
    // Worker 2 reports many channels: the next connections go to 1 and 3.
    spawner.latest(1).heartbeat({ channels: 2, connectionsReceived: 2 });
    spawner.latest(2).heartbeat({ channels: 10, connectionsReceived: 2 });
    spawner.latest(3).heartbeat({ channels: 2, connectionsReceived: 2 });
    const next = handOffMany(pool, 4);
    assert.ok(!next.includes(2), `worker 2 is the busiest: ${next}`);
    assert.deepEqual(next.sort(), [1, 1, 3, 3]);
    assert.equal(pool.pick()?.workerId, 1);
  });

  it('sends the handoff with the socket and its metadata', async () => {
    const { spawner, pool } = await started(1);
    const socket = new FakeSocket();
    const leftover = new Uint8Array([0x16, 3, 1]);
    const result = pool.handOff(socket.asSocket(), {
      clientAddress: { address: '198.51.100.7', port: 4444 },
      transportName: 'obfs4',
      leftover,
    });
    assert.ok(result.ok);
    assert.deepEqual(
      { ok: result.ok, workerId: result.workerId, pid: result.pid },
      { ok: true, workerId: 1, pid: spawner.latest(1).pid },
    );
    assert.ok(result.closed instanceof Promise);
    const sent = spawner.latest(1).sent.at(-1)!;
    assert.equal(sent.socket, socket.asSocket());
    assert.deepEqual(sent.message, {
      v: IPC_PROTOCOL_VERSION,
      kind: 'handoff',
      meta: { clientAddress: { address: '198.51.100.7', port: 4444 }, transportName: 'obfs4', leftover },
      connectionId: 1,
    });
    assert.equal(socket.destroyed, false);
    assert.equal(pool.status().slots[0]!.current?.handedOff, 1);
  });

  it('settles a handoff once the worker reports the connection ended, or exits', async () => {
    const { spawner, pool, time } = await started(2);
    const settled: number[] = [];
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const result = pool.handOff(new FakeSocket().asSocket());
      assert.ok(result.ok && result.closed);
      const sent = spawner.latest(result.workerId).sent.at(-1)!.message;
      assert.ok(sent.kind === 'handoff' && sent.connectionId !== undefined);
      ids.push(sent.connectionId);
      void result.closed.then(() => settled.push(sent.connectionId!));
    }
    assert.deepEqual(ids, [1, 2, 3, 4], 'every handoff has its own id');
    assert.equal(pool.status().slots[0]!.current?.openConnections, 2);
    // Worker 1 holds 1 and 3; worker 2 holds 2 and 4. Worker 1 reports 3 (and an id it never had).
    spawner.latest(1).closed([3, 99]);
    await settle();
    assert.deepEqual(settled, [3]);
    assert.equal(pool.status().slots[0]!.current?.openConnections, 1);
    // Worker 2 reporting 1 (worker 1's) changes nothing.
    spawner.latest(2).closed([1]);
    await settle();
    assert.deepEqual(settled, [3]);
    // Worker 1 dies: what it held is gone with it.
    spawner.latest(1).die(null, 'SIGKILL');
    await settle();
    assert.deepEqual(settled.sort(), [1, 3]);
    const stopping = pool.stop();
    await time.advance(25_000);
    await stopping;
    assert.deepEqual(settled.sort(), [1, 2, 3, 4]);
  });

  it('gives each new worker process an Extended ORPort backend and lists the ready, healthy ones', async () => {
    let cookies = 0;
    const plan: ExtOrBackendPlan = {
      address: (workerId) => `127.0.2.${workerId}`,
      cookie: () => new Uint8Array(32).fill(++cookies),
    };
    const { spawner, pool, time } = await started(2, { unhealthyAfterMs: 15_000 }, plan);
    const start = spawner.latest(2).sent[0]!.message;
    assert.ok(start.kind === 'start');
    assert.deepEqual(start.extOrBackend, { host: '127.0.2.2', cookie: new Uint8Array(32).fill(2) });
    const listed = pool.extOrBackends();
    assert.deepEqual(
      listed.map((b) => [b.workerId, b.host, b.port, b.cookie[0], b.generation]),
      [
        [1, '127.0.2.1', 40_000 + spawner.latest(1).pid, 1, 1],
        [2, '127.0.2.2', 40_000 + spawner.latest(2).pid, 2, 1],
      ],
    );
    assert.equal(pool.status().slots[1]!.current?.extOrBackendPort, 40_000 + spawner.latest(2).pid);
    // A restarted slot gets a new process with a new cookie; the old one is no longer listed once it drains.
    const restarting = pool.restartWorker(1);
    await time.advance(10);
    assert.ok(await restarting);
    const again = pool.extOrBackends().find((b) => b.workerId === 1)!;
    assert.equal(again.generation, 2);
    assert.equal(again.cookie[0], 3);
    assert.equal(again.pid, spawner.latest(1).pid);
    // A worker that stops answering is not listed; it is again once it answers.
    for (let i = 0; i < 4; i++) {
      spawner.latest(1).heartbeat();
      await time.advance(5_000);
    }
    assert.deepEqual(
      pool.extOrBackends().map((b) => b.workerId),
      [1],
    );
    spawner.latest(2).heartbeat();
    await time.advance(1);
    assert.deepEqual(
      pool.extOrBackends().map((b) => b.workerId),
      [1, 2],
    );
    // Without a plan, nothing is listed and no start data asks for a backend.
    const plain = await started(1);
    assert.deepEqual(plain.pool.extOrBackends(), []);
    const plainStart = plain.spawner.latest(1).sent[0]!.message;
    assert.ok(plainStart.kind === 'start' && plainStart.extOrBackend === undefined);
  });

  it('a connection no worker can take is closed and counted', async () => {
    const { spawner, pool, lines } = await started(1);
    spawner.latest(1).die(null, 'SIGKILL');
    const socket = new FakeSocket();
    assert.deepEqual(pool.handOff(socket.asSocket()), { ok: false, reason: 'no-healthy-worker' });
    assert.equal(socket.destroyed, true);
    assert.equal(pool.status().refused, 1);
    assert.ok(lines.some((l) => l.level === 'warn' && /no healthy worker/.test(l.message)));
    assert.equal(
      spawner.latest(1).sent.filter((s) => s.message.kind === 'handoff').length,
      0,
      'nothing is sent to a dead worker',
    );
  });

  it('a worker that misses its heartbeats gets no new connections, then is killed and replaced', async () => {
    const { time, spawner, pool, lines } = await started(2, {
      heartbeatIntervalMs: 5_000,
      unhealthyAfterMs: 15_000,
      killUnresponsiveAfterMs: 30_000,
    });
    const silent = spawner.latest(1);
    const alive = spawner.latest(2);
    // Worker 2 keeps beating; worker 1 goes quiet.
    for (let t = 0; t < 4; t++) {
      await time.advance(5_000);
      alive.heartbeat();
    }
    assert.equal(pool.status().slots[0]!.current?.healthy, false);
    assert.ok(lines.some((l) => l.level === 'warn' && /worker 1 .* missed its heartbeats/.test(l.message)));
    assert.deepEqual(handOffMany(pool, 3), [2, 2, 2]);
    // It answers again: eligible again.
    silent.heartbeat();
    assert.equal(pool.status().slots[0]!.current?.healthy, true);
    assert.equal(pool.pick()?.workerId, 1);
    // Silent for longer than the kill limit: SIGKILL, then a new process in its slot.
    for (let t = 0; t < 7; t++) {
      await time.advance(5_000);
      alive.heartbeat();
    }
    assert.deepEqual(silent.kills, ['SIGKILL']);
    await time.advance(1_000 + 10);
    const replacement = spawner.latest(1);
    assert.notEqual(replacement.pid, silent.pid);
    assert.equal(pool.status().slots[0]!.current?.pid, replacement.pid);
    assert.equal(pool.status().slots[0]!.current?.state, 'ready');
    assert.deepEqual(alive.kills, [], 'the other worker was not touched');
  });

  it('replaces a dead worker alone, with exponential backoff capped at the maximum, reset once stable', async () => {
    const backoff = { initialMs: 1_000, maxMs: 8_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => restartDelayMs(n, backoff)),
      [1_000, 2_000, 4_000, 8_000, 8_000, 8_000],
    );
    const { time, spawner, pool } = await started(2, { restartBackoff: backoff, stableAfterMs: 60_000 });
    const other = spawner.latest(2);
    const delays: number[] = [];
    for (let death = 0; death < 5; death++) {
      const before = spawner.latest(1);
      before.die(null, 'SIGKILL');
      await settle();
      const due = pool.status().slots[0]!.restartDueMs! - time.now;
      delays.push(due);
      await time.advance(due - 1);
      assert.equal(spawner.latest(1), before, 'not replaced before its time');
      await time.advance(1);
      assert.notEqual(spawner.latest(1), before, 'replaced at its time');
      await time.advance(10);
      assert.equal(pool.status().slots[0]!.current?.state, 'ready');
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 8_000]);
    assert.equal(pool.status().slots[0]!.deaths, 5);
    assert.equal(other.exited, false);
    assert.deepEqual(other.kills, []);
    // Up for a minute (heartbeats seen after that): the next death starts from 1 s again.
    await time.advance(60_000);
    spawner.latest(1).heartbeat();
    spawner.latest(1).die(1, null);
    await settle();
    assert.equal(pool.status().slots[0]!.restartDueMs! - time.now, 1_000);
  });

  it('never sends a new connection to a worker that is starting', async () => {
    const { time, spawner, pool } = await started(2);
    spawner.autoReady = false;
    spawner.latest(1).die(null, 'SIGSEGV');
    await time.advance(1_000);
    assert.equal(pool.status().slots[0]!.current?.state, 'starting');
    assert.deepEqual(handOffMany(pool, 3), [2, 2, 2]);
    spawner.latest(1).ready();
    assert.equal(pool.pick()?.workerId, 1);
  });

  it('restarts a worker by starting the new one first, then draining the old one', async () => {
    const { time, spawner, pool } = await started(2, { drainTimeoutMs: 120_000 });
    const old = spawner.latest(1);
    spawner.autoReady = false;
    const restarting = pool.restartWorker(1);
    await settle();
    const next = spawner.latest(1);
    assert.notEqual(next, old);
    assert.deepEqual(next.kinds(), ['start']);
    // Until the new one is ready the old one serves.
    assert.ok(handOffMany(pool, 2).includes(1));
    assert.equal(pool.status().slots[0]!.replacement?.pid, next.pid);
    next.ready();
    assert.equal(await restarting, true);
    assert.equal(old.sent.at(-1)!.message.kind, 'drain');
    assert.deepEqual(old.sent.at(-1)!.message, {
      v: IPC_PROTOCOL_VERSION,
      kind: 'drain',
      timeoutMs: 120_000,
    });
    assert.equal(pool.status().slots[0]!.current?.pid, next.pid);
    assert.deepEqual(
      pool.status().draining.map((d) => d.pid),
      [old.pid],
    );
    // New connections go to the new process only.
    const handedBefore = old.sent.filter((s) => s.message.kind === 'handoff').length;
    handOffMany(pool, 4);
    assert.equal(old.sent.filter((s) => s.message.kind === 'handoff').length, handedBefore);
    // Keys still reach the draining process: it serves its clients until it exits.
    pool.updateKeys(KEYS);
    assert.equal(old.sent.at(-1)!.message.kind, 'keys');
    // Its exit is expected: no replacement.
    old.die(0, null);
    await time.advance(60_000);
    assert.equal(spawner.of(1).length, 1);
    assert.equal(pool.status().draining.length, 0);
  });

  it("drains a worker on request and starts the slot's next process once it has exited", async () => {
    const { time, spawner, pool } = await started(2, { drainTimeoutMs: 90_000 });
    const old = spawner.latest(1);
    assert.deepEqual(await pool.drainWorker(1), { pid: old.pid });
    assert.deepEqual(old.sent.at(-1)!.message, { v: IPC_PROTOCOL_VERSION, kind: 'drain', timeoutMs: 90_000 });
    // While it drains, new connections go to the other slot and nothing new starts in its slot.
    assert.deepEqual(new Set(handOffMany(pool, 3)), new Set([2]));
    await time.advance(10);
    assert.equal(spawner.of(1).length, 1);
    old.die(0, null);
    await time.advance(10);
    await time.advance(10);
    const next = spawner.latest(1);
    assert.notEqual(next.pid, old.pid);
    const slot = pool.status().slots[0]!;
    assert.equal(slot.current?.pid, next.pid);
    assert.equal(slot.current?.state, 'ready');
    assert.equal(slot.deaths, 0, 'a drain is not a death');
    // Once ready it takes connections again; a slot that does not exist drains nothing.
    assert.ok(handOffMany(pool, 4).includes(1));
    assert.deepEqual(await pool.drainWorker(7), { pid: undefined });
  });

  it('kills a draining worker that outlives its drain deadline', async () => {
    const { time, spawner, pool } = await started(1, { drainTimeoutMs: 30_000, stopTimeoutMs: 10_000 });
    const old = spawner.latest(1);
    const restarting = pool.restartWorker(1);
    await time.advance(10);
    assert.equal(await restarting, true);
    await time.advance(35_000);
    assert.deepEqual(old.kills, []);
    await time.advance(10_000);
    assert.deepEqual(old.kills, ['SIGKILL']);
  });

  it('keeps the old worker when its replacement fails to start', async () => {
    const { time, spawner, pool } = await started(1);
    const old = spawner.latest(1);
    spawner.autoReady = false;
    const restarting = pool.restartWorker(1);
    await settle();
    spawner.latest(1).die(1, null);
    assert.equal(await restarting, false);
    assert.equal(pool.status().slots[0]!.current?.pid, old.pid);
    assert.equal(old.kinds().includes('drain'), false);
    await time.advance(60_000);
    assert.equal(spawner.processes.length, 2, 'a failed replacement is not itself replaced');
  });

  it('rolls through every worker one at a time', async () => {
    const { time, spawner, pool } = await started(3);
    const first = [1, 2, 3].map((id) => spawner.latest(id).pid);
    const rolling = pool.rollingRestart();
    // One replacement at a time: never two slots starting a new process at once.
    let maxReplacements = 0;
    let served = true;
    for (let i = 0; i < 10; i++) {
      await settle();
      const slots = pool.status().slots;
      maxReplacements = Math.max(maxReplacements, slots.filter((s) => s.replacement).length);
      served &&= slots.every((s) => s.current?.state === 'ready');
      await time.advance(10);
      for (const p of spawner.processes) if (p.kinds().at(-1) === 'drain') p.die(0, null);
    }
    assert.deepEqual(await rolling, { restarted: 3, failed: 0 });
    const now = [1, 2, 3].map((id) => spawner.latest(id).pid);
    for (let i = 0; i < 3; i++) assert.notEqual(now[i], first[i]);
    assert.equal(maxReplacements, 1);
    assert.ok(served, 'every slot had a ready worker throughout');
  });

  it('grows and shrinks', async () => {
    const { time, spawner, pool } = await started(2);
    pool.resize(4);
    await time.advance(10);
    assert.equal(pool.size, 4);
    assert.deepEqual(
      pool.status().slots.map((s) => s.current?.state),
      ['ready', 'ready', 'ready', 'ready'],
    );
    const third = spawner.latest(3);
    pool.resize(2);
    assert.equal(pool.size, 2);
    assert.equal(third.kinds().at(-1), 'drain');
    assert.deepEqual(handOffMany(pool, 4).sort(), [1, 1, 2, 2]);
    third.die(0, null);
    await time.advance(60_000);
    assert.equal(spawner.of(3).length, 0, 'a retired slot is not refilled');
  });

  it('stops every worker, killing those that do not exit in time', async () => {
    const { time, spawner, pool } = await started(2, { stopTimeoutMs: 10_000 });
    const [a, b] = [spawner.latest(1), spawner.latest(2)];
    const stopping = pool.stop();
    await settle();
    assert.equal(a.kinds().at(-1), 'stop');
    assert.equal(b.kinds().at(-1), 'stop');
    a.die(0, null);
    await time.advance(10_000);
    assert.deepEqual(a.kills, []);
    assert.deepEqual(b.kills, ['SIGKILL']);
    await time.advance(10);
    await stopping;
    const socket = new FakeSocket();
    assert.deepEqual(pool.handOff(socket.asSocket()), { ok: false, reason: 'stopping' });
    assert.equal(socket.destroyed, true);
    await time.advance(60_000);
    assert.equal(spawner.processes.length, 2, 'nothing is replaced after stop');
  });

  it('drains every worker and resolves once all have exited', async () => {
    const { time, spawner, pool } = await started(2);
    let drained = false;
    const draining = pool.drain(5_000).then(() => {
      drained = true;
    });
    await settle();
    for (const id of [1, 2])
      assert.deepEqual(spawner.latest(id).sent.at(-1)!.message, {
        v: IPC_PROTOCOL_VERSION,
        kind: 'drain',
        timeoutMs: 5_000,
      });
    spawner.latest(1).die(0, null);
    await settle();
    assert.equal(drained, false);
    spawner.latest(2).die(0, null);
    await time.advance(10);
    await draining;
    assert.equal(drained, true);
  });

  it('broadcasts keys, directory snapshots and configuration; new workers start from the latest', async () => {
    const { spawner, pool } = await started(2);
    pool.updateKeys(KEYS);
    pool.updateDirectory(DIRECTORY);
    pool.reconfigure(CONFIG);
    for (const id of [1, 2])
      assert.deepEqual(spawner.latest(id).kinds().slice(1), ['keys', 'directory', 'reconfigure']);
  });

  it('ignores malformed messages from a worker, with a warning', async () => {
    const { spawner, pool, lines } = await started(1);
    for (const junk of [
      null,
      42,
      'ready',
      { v: IPC_PROTOCOL_VERSION, kind: 'ready' },
      { v: 9, kind: 'heartbeat' },
      { v: IPC_PROTOCOL_VERSION, kind: 'heartbeat', stats: {} },
    ]) {
      spawner.latest(1).reply(junk);
    }
    assert.equal(
      lines.filter((l) => l.level === 'warn' && /malformed message from worker 1/.test(l.message)).length,
      6,
    );
    assert.equal(pool.status().slots[0]!.current?.state, 'ready');
  });

  it('a spawn that throws is treated as a death and retried', async () => {
    const { time, spawner, pool } = await started(1);
    spawner.failNextSpawn = true;
    spawner.latest(1).die(null, 'SIGKILL');
    await time.advance(1_000);
    await time.advance(1);
    assert.equal(pool.status().slots[0]!.deaths, 2, 'the failed spawn counts as a death');
    await time.advance(2_000 + 10);
    assert.equal(pool.status().slots[0]!.current?.state, 'ready');
  });

  it('describes itself for workers.json', async () => {
    const { time, spawner, pool } = await started(2);
    spawner.latest(1).heartbeat({ circuits: 3, connectionsReceived: 1 });
    spawner.latest(2).heartbeat({ circuits: 4, connectionsReceived: 2 });
    spawner.latest(2).die(null, 'SIGKILL');
    const doc = workerStateDocument(pool.status(), time);
    assert.equal(doc.version, 1);
    assert.deepEqual(
      doc.workers.map((w) => [w.workerId, w.pid, w.state, w.deaths]),
      [
        [1, spawner.latest(1).pid, 'ready', 0],
        [2, spawner.latest(2).pid, 'exited', 1],
      ],
    );
    assert.equal(doc.workers[1]!.restartDue, new Date(time.now + 1_000).toISOString());
    assert.deepEqual(doc.workers[1]!.exit, { code: null, signal: 'SIGKILL' });
    assert.equal(doc.totals.workers, 1, 'only serving workers count in the totals');
    assert.equal(doc.totals.circuits, 3);
  });
});
