import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DirectoryFetcherStatus } from '@relayd/dir-cache';
import { emptyConnectionsByTransport, emptyOnionskinStats, type WorkerStatsReport } from '@relayd/ipc';
import {
  circuitCounts,
  circuitsReport,
  connectionsReport,
  directoryReport,
  inProcessPoolView,
  parseProcStat,
  parseProcStatusRss,
  readProcessUsage,
  totalsReport,
  transportReport,
  type WorkerPoolView,
  type WorkerProcessView,
  workersReport,
} from '../src/index.js';

function stats(workerId: number, over: Partial<WorkerStatsReport> = {}): WorkerStatsReport {
  return {
    workerId,
    pid: 4000 + workerId,
    uptimeMs: 60_000,
    channels: 5,
    circuits: 10,
    createQueueLength: 3,
    directoryStreams: 0,
    pendingChannelOpens: 0,
    pendingHandshakes: 1,
    linksAccepted: 7,
    linkHandshakesFailed: 1,
    connectionsReceived: 8,
    connectionsByTransport: {
      vanilla: { connections: 3, linksAccepted: 2 },
      pluggable: { obfs4: { connections: 5, linksAccepted: 5 } },
    },
    onionskins: { ...emptyOnionskinStats(), ntor: { processed: 9, failed: 1, dropped: 0 } },
    cellsReceived: 100,
    cellsSent: 200,
    bytesReceived: 1000,
    bytesSent: 5000,
    ...over,
  };
}

function process(workerId: number, over: Partial<WorkerProcessView> = {}): WorkerProcessView {
  return {
    workerId,
    generation: 1,
    pid: 4000 + workerId,
    state: 'ready',
    healthy: true,
    startedAtMs: 1_000,
    lastHeartbeatMs: 60_000,
    openConnections: 4,
    stats: stats(workerId),
    ...over,
  };
}

const CLOCKS = { nowMs: Date.UTC(2026, 2, 1, 12, 0, 0), monotonicMs: 61_000 };

describe('control reports', () => {
  it('totals sum the serving workers', () => {
    const t = totalsReport([stats(1), stats(2, { circuits: 1, bytesSent: 1 })]);
    assert.deepEqual(
      { ...t, onionskins: t.onionskins.ntor },
      {
        connections: 16,
        channels: 10,
        circuits: 11,
        bytesReceived: 2000,
        bytesSent: 5001,
        onionskins: { processed: 18, failed: 2, dropped: 0 },
      },
    );
    assert.equal(totalsReport([]).circuits, 0);
  });

  it('directory freshness follows the consensus times', () => {
    const status: DirectoryFetcherStatus = {
      running: true,
      consensus: {
        validAfter: 1_000_000,
        freshUntil: 1_003_600,
        validUntil: 1_010_800,
        ageSeconds: 10,
        obtainedAtMs: 1_000_010_000,
        routers: 12,
        goodSignatures: 3,
      },
      nextConsensusFetchAtMs: 1_003_700_000,
      consensusFailures: 1,
      certificates: 3,
      microdescriptors: { held: 11, listed: 12, missing: 1 },
      lastConsensusSuccessAtMs: 1_000_010_000,
      lastError: {
        atMs: 1_000_020_000,
        kind: 'microdescriptors',
        authority: 'moria1',
        code: 'HTTP_STATUS',
        message: 'HTTP 404',
      },
    };
    const fresh = directoryReport(status, 1_000_100_000);
    assert.equal(fresh.freshness, 'fresh');
    assert.deepEqual(fresh.consensus, {
      validAfter: '1970-01-12T13:46:40.000Z',
      freshUntil: '1970-01-12T14:46:40.000Z',
      validUntil: '1970-01-12T16:46:40.000Z',
      obtainedAt: '1970-01-12T13:46:50.000Z',
      routers: 12,
      goodSignatures: 3,
    });
    assert.equal(fresh.lastError, 'microdescriptors from moria1: HTTP 404 (1970-01-12T13:47:00.000Z)');
    assert.deepEqual(fresh.microdescriptors, { held: 11, listed: 12, missing: 1 });
    assert.equal(directoryReport(status, 1_003_600_000).freshness, 'stale');
    assert.equal(directoryReport(status, 1_010_800_000).freshness, 'expired');
    const none = directoryReport(
      { ...status, consensus: undefined, lastError: undefined, nextConsensusFetchAtMs: undefined },
      0,
    );
    assert.deepEqual(
      [none.freshness, none.consensus, none.lastError, none.nextFetchAt],
      ['none', null, null, null],
    );
  });

  it('transports report their state', () => {
    const base = { name: 'obfs4', proxy: 'obfs4', path: '/usr/bin/obfs4proxy', restarts: 2 };
    assert.deepEqual(
      transportReport({
        ...base,
        status: 'running',
        pid: 77,
        address: '::',
        family: 'ipv6',
        port: 443,
        args: [],
        argsText: undefined,
        implementation: undefined,
        sinceMs: 0,
      }),
      {
        name: 'obfs4',
        state: 'running',
        restarts: 2,
        pid: 77,
        listening: '[::]:443',
        error: null,
        retryAt: null,
      },
    );
    assert.deepEqual(
      transportReport({ ...base, status: 'failed', error: 'exited with status 1', retryAtMs: 0 }),
      {
        name: 'obfs4',
        state: 'failed',
        restarts: 2,
        pid: null,
        listening: null,
        error: 'exited with status 1',
        retryAt: '1970-01-01T00:00:00.000Z',
      },
    );
    assert.equal(transportReport({ ...base, status: 'starting', pid: undefined }).pid, null);
    assert.equal(transportReport({ ...base, status: 'stopped' }).state, 'stopped');
  });

  it('circuits awaiting their handshake are the queued ones', () => {
    assert.deepEqual(circuitCounts(stats(1)), { total: 10, awaitingHandshake: 3, open: 7 });
    // A queue entry whose circuit already closed does not make the count negative.
    assert.deepEqual(circuitCounts({ circuits: 1, createQueueLength: 4 }), {
      total: 1,
      awaitingHandshake: 1,
      open: 0,
    });
    assert.deepEqual(circuitCounts(undefined), { total: 0, awaitingHandshake: 0, open: 0 });
  });

  it('lists every worker process with its role, age and usage', () => {
    const pool: WorkerPoolView = {
      slots: [
        { workerId: 1, current: process(1), replacement: undefined, deaths: 0 },
        {
          workerId: 2,
          current: process(2, { generation: 3 }),
          replacement: process(2, {
            pid: 4102,
            generation: 4,
            state: 'starting',
            healthy: false,
            startedAtMs: 59_000,
            lastHeartbeatMs: undefined,
            stats: undefined,
          }),
          deaths: 1,
        },
      ],
      draining: [process(3, { state: 'draining', healthy: false })],
      handedOff: 50,
      refused: 2,
    };
    const usage = (pid: number) => (pid === 4001 ? { cpuSeconds: 1.5, rssBytes: 1024 } : undefined);
    const report = workersReport(pool, CLOCKS, usage);
    assert.deepEqual(
      report.workers.map((w) => [w.workerId, w.role, w.pid, w.state, w.restarts, w.deaths]),
      [
        [1, 'serving', 4001, 'ready', 0, 0],
        [2, 'serving', 4002, 'ready', 2, 1],
        [2, 'replacement', 4102, 'starting', 3, 1],
        [3, 'draining', 4003, 'draining', 0, 0],
      ],
    );
    assert.deepEqual(report.workers[0], {
      workerId: 1,
      role: 'serving',
      pid: 4001,
      state: 'ready',
      healthy: true,
      generation: 1,
      restarts: 0,
      deaths: 0,
      startedAt: '2026-03-01T11:59:00.000Z',
      uptimeSeconds: 60,
      lastHeartbeatAgeSeconds: 1,
      connections: 4,
      connectionsTotal: 8,
      channels: 5,
      circuits: 10,
      cpuSeconds: 1.5,
      rssBytes: 1024,
    });
    assert.equal(report.workers[2]!.lastHeartbeatAgeSeconds, null);
    assert.equal(report.workers[2]!.cpuSeconds, null);
    assert.deepEqual([report.mode, report.handedOff, report.refused], ['forked', 50, 2]);

    const circuits = circuitsReport(pool);
    assert.deepEqual(
      circuits.byWorker.map((w) => [w.workerId, w.pid]),
      [
        [1, 4001],
        [2, 4002],
        [3, 4003],
      ],
      'the replacement without statistics is left out',
    );
    assert.deepEqual(circuits.total, { total: 30, awaitingHandshake: 9, open: 21 });
  });

  it('connections by transport and worker, addresses only when asked', () => {
    const pool: WorkerPoolView = {
      slots: [
        { workerId: 1, current: process(1), replacement: undefined, deaths: 0 },
        {
          workerId: 2,
          current: process(2, {
            stats: stats(2, {
              connectionsByTransport: {
                ...emptyConnectionsByTransport(),
                pluggable: { snowflake: { connections: 1, linksAccepted: 0 } },
              },
            }),
          }),
          replacement: undefined,
          deaths: 0,
        },
      ],
      draining: [],
      handedOff: 0,
      refused: 0,
    };
    const addresses = () =>
      new Map([
        ['192.0.2.9', 1],
        ['198.51.100.1', 4],
        ['192.0.2.1', 1],
        ['203.0.113.3', 0],
      ]);
    const hidden = connectionsReport(pool, { includeClientAddresses: false, limit: 10 }, addresses);
    assert.deepEqual(hidden.byTransport, [
      { transport: 'vanilla', connections: 3, linksAccepted: 2 },
      { transport: 'obfs4', connections: 5, linksAccepted: 5 },
      { transport: 'snowflake', connections: 1, linksAccepted: 0 },
    ]);
    assert.deepEqual(hidden.byWorker[1], {
      workerId: 2,
      pid: 4002,
      open: 4,
      channels: 5,
      byTransport: [
        { transport: 'vanilla', connections: 0, linksAccepted: 0 },
        { transport: 'snowflake', connections: 1, linksAccepted: 0 },
      ],
    });
    assert.equal(hidden.clientAddresses, null);
    assert.equal(hidden.clientAddressCount, 3);
    const shown = connectionsReport(pool, { includeClientAddresses: true, limit: 2 }, addresses);
    assert.deepEqual(shown.clientAddresses, [
      { address: '198.51.100.1', connections: 4 },
      { address: '192.0.2.1', connections: 1 },
    ]);
    assert.deepEqual(
      [connectionsReport(pool, { includeClientAddresses: true, limit: 2 }, undefined).clientAddressCount],
      [null],
    );
  });

  it('in-process workers look like one serving process each', () => {
    const view = inProcessPoolView([stats(1)], 100_000);
    const report = workersReport(
      view,
      { nowMs: 1_000_000, monotonicMs: 100_000 },
      () => undefined,
      'in-process',
    );
    assert.equal(report.mode, 'in-process');
    assert.deepEqual(
      [report.workers[0]!.uptimeSeconds, report.workers[0]!.pid, report.workers[0]!.connections],
      [60, 4001, 6],
    );
  });
});

describe('process usage', () => {
  it('parses stat with a command name holding spaces and parentheses', () => {
    const line =
      '4242 (node (worker) 2) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 12345 1000000 2000 18446744073709551615';
    assert.equal(parseProcStat(line), 3.25);
    assert.equal(parseProcStat('garbage'), undefined);
    assert.equal(parseProcStat('1 (x) S 1 2'), undefined);
    assert.equal(parseProcStatusRss('Name:\tnode\nVmRSS:\t   81920 kB\nThreads: 11\n'), 81920 * 1024);
    assert.equal(parseProcStatusRss('Name:\tkthreadd\n'), undefined);
  });

  it('reads this process as the kernel counts it', () => {
    const before = globalThis.process.cpuUsage();
    const usage = readProcessUsage(globalThis.process.pid);
    const after = globalThis.process.cpuUsage();
    assert.ok(usage, '/proc is readable');
    const low = (before.user + before.system) / 1e6;
    const high = (after.user + after.system) / 1e6;
    // Clock ticks are 10 ms: allow one tick each way for user and system.
    assert.ok(
      usage.cpuSeconds >= low - 0.021 && usage.cpuSeconds <= high + 0.021,
      `${usage.cpuSeconds} in [${low}, ${high}]`,
    );
    const rss = globalThis.process.memoryUsage().rss;
    assert.ok(Math.abs(usage.rssBytes - rss) < 8 * 1024 * 1024, `${usage.rssBytes} ≈ ${rss}`);
    assert.equal(readProcessUsage(2 ** 30), undefined, 'no such process');
    assert.equal(readProcessUsage(-1), undefined);
  });
});
