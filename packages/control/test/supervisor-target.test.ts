import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '@relayd/common';
import type { DirectoryFetcherStatus } from '@relayd/dir-cache';
import { emptyOnionskinStats, type WorkerStatsReport } from '@relayd/ipc';
import {
  type ControlClientError,
  ControlError,
  controlCall,
  controlTargetFromSupervisor,
  type ReloadReport,
  type SupervisorControlSource,
  type SupervisorStatusView,
  startControlServer,
  type WorkerPoolView,
  type WorkerProcessView,
} from '../src/index.js';

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const MONO = 500_000;

function stats(workerId: number): WorkerStatsReport {
  return {
    workerId,
    pid: 7000 + workerId,
    uptimeMs: 100_000,
    channels: 3,
    circuits: 4,
    createQueueLength: 1,
    directoryStreams: 0,
    pendingChannelOpens: 0,
    pendingHandshakes: 0,
    linksAccepted: 5,
    linkHandshakesFailed: 0,
    connectionsReceived: 6,
    connectionsByTransport: { vanilla: { connections: 6, linksAccepted: 5 }, pluggable: {} },
    onionskins: emptyOnionskinStats(),
    cellsReceived: 1,
    cellsSent: 1,
    bytesReceived: 100,
    bytesSent: 200,
  };
}

function proc(workerId: number, pid: number, over: Partial<WorkerProcessView> = {}): WorkerProcessView {
  return {
    workerId,
    generation: 1,
    pid,
    state: 'ready',
    healthy: true,
    startedAtMs: MONO - 100_000,
    lastHeartbeatMs: MONO - 1_000,
    openConnections: 2,
    stats: stats(workerId),
    ...over,
  };
}

const DIRECTORY: DirectoryFetcherStatus = {
  running: true,
  consensus: undefined,
  nextConsensusFetchAtMs: undefined,
  consensusFailures: 0,
  certificates: 0,
  microdescriptors: { held: 0, listed: 0, missing: 0 },
  lastConsensusSuccessAtMs: undefined,
  lastError: undefined,
};

/** A supervisor with two worker slots; restart replaces a slot's PID, drain reports it. */
class FakeSupervisor implements SupervisorControlSource {
  readonly version = '0.1.0';
  readonly startedAtMs = NOW - 3_600_000;
  readonly ed25519Identity = 'ZmFrZWVkMjU1MTlpZGVudGl0eWZvcnRoZXRlc3RzMDA';
  readonly clock = { nowMs: () => NOW, monotonicMs: () => MONO };
  currentConfig = {
    onionKeyRotation: 'coordinated' as 'coordinated' | 'frozen',
    workers: 2,
    safeLogging: 'none' as const,
  };
  forked = true;
  restartSucceeds = true;
  rotations = 0;
  pids = new Map([
    [1, 7001],
    [2, 7002],
  ]);
  addresses: Map<string, number> | undefined = new Map([['192.0.2.7', 3]]);

  poolView(): WorkerPoolView {
    return {
      slots: [...this.pids].map(([id, pid]) => ({
        workerId: id,
        current: proc(id, pid),
        replacement: undefined,
        deaths: 0,
      })),
      draining: [
        proc(3, 7003, { state: 'draining', healthy: false }),
        proc(4, 7004, { state: 'exited', healthy: false }),
      ],
      handedOff: 12,
      refused: 0,
    };
  }

  get pool() {
    if (!this.forked) return undefined;
    return {
      status: () => this.poolView(),
      restartWorker: async (id: number) => {
        if (!this.restartSucceeds) return false;
        this.pids.set(id, 8000 + id);
        return true;
      },
      drainWorker: async (id: number) => ({ pid: this.pids.get(id) }),
    };
  }

  status(): SupervisorStatusView {
    return {
      fingerprint: 'AB'.repeat(20),
      nickname: 'fakeSupervisor',
      endpoint: { ipv4: '198.51.100.2', orPort: 443 },
      workerKind: this.forked ? 'forked' : 'in-process',
      workers: this.forked ? [stats(1), stats(2)] : [stats(1)],
      pool: this.forked ? this.poolView() : undefined,
      directory: DIRECTORY,
      transports: [],
    };
  }

  bridgeLineSet() {
    return {
      lines: [`Bridge 198.51.100.2:443 ${'AB'.repeat(20)}`],
      skipped: [{ transport: 'obfs4', reason: 'no public address' }],
    };
  }

  async rotateOnionKeysNow() {
    this.rotations++;
    return {
      rotatedAtMs: NOW,
      ntorOnionKey: 'bmV3',
      previousNtorOnionKey: 'b2xk',
      workersUpdated: 2,
      descriptorPublishedSeconds: NOW / 1000,
    };
  }

  clientAddresses() {
    return this.addresses;
  }
}

const RELOADED: ReloadReport = {
  accepted: true,
  errors: [],
  warnings: [],
  applied: ['logs'],
  restartedWorkers: false,
  needsRestart: [],
};

function target(sup = new FakeSupervisor()) {
  return {
    sup,
    t: controlTargetFromSupervisor(sup, {
      reload: async () => RELOADED,
      usageOf: () => ({ cpuSeconds: 2, rssBytes: 4096 }),
    }),
  };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ControlError, String(error));
    return `${error.code}: ${error.message}`;
  }
  assert.fail('expected a ControlError');
}

describe('the control target of a supervisor', () => {
  it('status: identity, live workers, directory, totals', async () => {
    const { t } = target();
    const s = await t.status();
    assert.equal(s.uptimeSeconds, 3600);
    assert.equal(s.startedAt, '2026-03-01T11:00:00.000Z');
    assert.equal(s.address, '198.51.100.2:443');
    assert.equal(s.pid, process.pid);
    assert.deepEqual(s.workers, { mode: 'forked', configured: 2, running: 3, healthy: 2 });
    assert.equal(s.directory.freshness, 'none');
    assert.deepEqual([s.totals.circuits, s.totals.connections], [8, 12]);
    assert.deepEqual(s.bridgeLines, [`Bridge 198.51.100.2:443 ${'AB'.repeat(20)}`]);
  });

  it('restart and drain: processes only, existing slots only, failures reported', async () => {
    const { t, sup } = target();
    assert.deepEqual(await t.restartWorker(2), {
      workerId: 2,
      action: 'restart',
      pid: 8002,
      previousPid: 7002,
      message: 'worker 2 restarted: pid 8002 serves, pid 7002 drains',
    });
    assert.equal((await t.drainWorker(1)).pid, 7001);
    assert.equal(await refusal(t.restartWorker(5)), 'no-such-worker: there is no worker 5 (workers: 1, 2)');
    sup.restartSucceeds = false;
    assert.equal(
      await refusal(t.restartWorker(1)),
      'failed: worker 1: the new process did not start; the old one (pid 7001) keeps serving',
    );
    sup.forked = false;
    assert.match(await refusal(t.drainWorker(1)), /^unavailable: the workers run inside the supervisor/);
    const inProcess = await t.workers();
    assert.equal(inProcess.mode, 'in-process');
    assert.deepEqual(
      inProcess.workers.map((w) => [w.workerId, w.role, w.pid, w.uptimeSeconds]),
      [[1, 'serving', 7001, 100]],
    );
  });

  it('rotates onion keys unless frozen without force', async () => {
    const { t, sup } = target();
    assert.equal((await t.rotateOnionKeys({ force: false })).descriptorPublished, '2026-03-01T12:00:00.000Z');
    sup.currentConfig = { ...sup.currentConfig, onionKeyRotation: 'frozen' };
    assert.match(await refusal(t.rotateOnionKeys({ force: false })), /^refused: OnionKeyRotation is frozen/);
    await t.rotateOnionKeys({ force: true });
    assert.equal(sup.rotations, 2);
  });

  it('answers relayctl through the real socket, SafeLogging applied by the dispatcher', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relayd-supervisor-target-'));
    chmodSync(dir, 0o700);
    const { t, sup } = target();
    const server = await startControlServer(
      { path: join(dir, 'control.sock'), mode: 0o600, group: null },
      t,
      {
        logger: silentLogger,
      },
    );
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const path = server.path;
    const workers = await controlCall({ path }, 'workers');
    assert.deepEqual(
      workers.workers.map((w) => [w.workerId, w.role, w.pid, w.cpuSeconds]),
      [
        [1, 'serving', 7001, 2],
        [2, 'serving', 7002, 2],
        [3, 'draining', 7003, 2],
        [4, 'draining', 7004, null],
      ],
    );
    assert.deepEqual((await controlCall({ path }, 'circuits')).total, {
      total: 12,
      awaitingHandshake: 3,
      open: 9,
    });
    assert.deepEqual((await controlCall({ path }, 'connections')).clientAddresses, [
      { address: '192.0.2.7', connections: 3 },
    ]);
    sup.currentConfig = { ...sup.currentConfig, safeLogging: 'all' as never };
    const hidden = await controlCall({ path }, 'connections');
    assert.deepEqual([hidden.clientAddresses, hidden.clientAddressCount], [null, 1]);
    assert.deepEqual(await controlCall({ path }, 'reload'), RELOADED);
    assert.deepEqual((await controlCall({ path }, 'bridge-lines')).skipped, [
      { transport: 'obfs4', reason: 'no public address' },
    ]);
    await assert.rejects(
      controlCall({ path }, 'workers.drain', { worker: 9 }),
      (e: ControlClientError) => e.remoteCode === 'no-such-worker',
    );
  });
});
