/**
 * The arithmetic and judgement of the bench, with made-up inputs: ratios
 * and rows, merging thread reports, the ramp's "did this step hold",
 * settled memory, open-file limits, worker and balancer pending rules,
 * CPU profile summaries, settings and flags, and the printed tables and
 * comparisons (including a results file read back).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LatencySummary, LoadReport } from '@relayd/loadgen';
import fc from 'fast-check';
import {
  absoluteNowMs,
  absoluteToMonotonicUs,
  areaOf,
  BENCH_RESULTS_VERSION,
  type BenchResults,
  BenchUsageError,
  type CpuProfile,
  changePercent,
  checkOpenFileLimit,
  DEFAULT_SETTINGS,
  formatComparison,
  formatResults,
  formatResultsMarkdown,
  isSettled,
  judgeStep,
  mergeLatency,
  mergeLoadReports,
  modeProblem,
  parseBenchResults,
  parseScenarios,
  parseShape,
  perCore,
  QUICK_SIZES,
  ratioOf,
  resolveBenchSettings,
  resultsFileStamp,
  row,
  scaleProblem,
  splitEvenly,
  summarizeCpuProfiles,
  type TreeUsage,
  workerProcessesProblem,
} from '../src/index.js';

const latency = (count: number, p50: number, p99: number, mean = p50): LatencySummary => ({
  count,
  min: p50 / 2,
  mean,
  p50,
  p90: (p50 + p99) / 2,
  p99,
  max: p99 * 2,
});

function report(overrides: {
  launched?: number;
  failed?: number;
  created?: number;
  createsPerSecond?: number;
  p99?: number;
  mbps?: number;
  complete?: boolean;
}): LoadReport {
  const t = (mb: number) => ({
    relayCells: 10,
    dataCells: 8,
    dataBytes: 4000,
    dropCells: 0,
    dropBytes: 0,
    extendCells: 1,
    relayCellsPerSecond: 5,
    payloadCellsPerSecond: 4,
    megabytesPerSecond: mb,
  });
  const launched = overrides.launched ?? 100;
  const failed = overrides.failed ?? 0;
  return {
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    config: {
      target: '127.0.3.1:1',
      fingerprint: 'AA'.repeat(20),
      ed25519Identity: null,
      ntorOnionKeySource: 'given',
      nextHop: null,
      connections: 2,
      circuitsPerConnection: 4,
      circuitRate: 50,
      handshake: 'ntor',
      extendHandshake: null,
      downloadBytes: 0,
      uploadBytes: 0,
      uploadCells: 'data',
      maxCircuits: 0,
    },
    window: { durationSeconds: 5, warmupSeconds: 1, measuredSeconds: 4, runSeconds: 5.1 },
    connections: {
      requested: 2,
      opened: 2,
      failed: 0,
      closedEarly: 0,
      failures: {},
      linkHandshakeMs: latency(2, 10, 12),
    },
    circuits: {
      launched,
      created: overrides.created ?? launched - failed,
      built: launched - failed,
      finished: launched - failed,
      failed,
      unfinished: 0,
      measured: { created: overrides.created ?? 80, built: 80, finished: 80, failed },
      createsPerSecond: overrides.createsPerSecond ?? 20,
      builtPerSecond: 20,
      finishedPerSecond: 20,
      createMs: latency(80, 3, overrides.p99 ?? 9),
      extendMs: latency(0, 0, 0),
      buildMs: latency(80, 3, overrides.p99 ?? 9),
      failures: failed > 0 ? { 'creating/destroy-RESOURCELIMIT': failed } : {},
    },
    throughput: { forward: t(overrides.mbps ?? 1), backward: t(overrides.mbps ?? 1) },
    totals: {
      forward: t(0),
      backward: t(0),
      sendmes: { circuitSent: 1, streamSent: 2, circuitReceived: 3, streamReceived: 4 },
    },
    accounting: {
      downloadBytesExpected: 100,
      downloadBytesVerified: 100,
      uploadBytesExpected: 0,
      uploadBytesAcknowledged: 0,
      complete: overrides.complete ?? true,
    },
    bridgeProcess: null,
    loadgenProcess: null,
  };
}

const usage = (cpuPercent: number): TreeUsage => ({
  rootPid: 1,
  processes: 1,
  samples: 5,
  wallSeconds: 4,
  cpuSeconds: (cpuPercent / 100) * 4,
  cpuPercent,
  rssBytesMean: 1,
  rssBytesMax: 1,
});

describe('ratios and rows', () => {
  it('divides relayd by C tor and refuses what cannot be divided', () => {
    assert.equal(ratioOf(50, 100), 0.5);
    assert.equal(ratioOf(1, 3), 0.3333);
    assert.equal(ratioOf(null, 3), null);
    assert.equal(ratioOf(3, 0), null);
    assert.equal(ratioOf(Number.NaN, 1), null);
  });

  it('derives ratio and status, and rounds to four significant digits', () => {
    const r = row({
      id: 'x',
      scenario: 'creation',
      metric: 'm',
      unit: 'u',
      better: 'higher',
      relayd: 1234.5678,
      tor: 617.28,
    });
    assert.equal(r.status, 'measured');
    assert.equal(r.relayd, 1235);
    assert.equal(r.ratio, 2);
    assert.equal(
      row({
        id: 'y',
        scenario: 'scale',
        metric: 'm',
        unit: 'u',
        better: 'lower',
        relayd: undefined,
        tor: null,
      }).status,
      'failed',
    );
    const pending = row({
      id: 'z',
      scenario: 'workers',
      metric: 'm',
      unit: 'u',
      better: 'higher',
      relayd: null,
      tor: 5,
      status: 'pending',
      note: 'why',
    });
    assert.equal(pending.status, 'pending');
    assert.equal(pending.ratio, null);
    assert.equal(pending.note, 'why');
  });

  it('per core divides by the bridge CPU', () => {
    assert.equal(perCore(500, usage(50)), 1000);
    assert.equal(perCore(500, usage(200)), 250);
    assert.equal(perCore(500, null), undefined);
    assert.equal(perCore(500, usage(0)), undefined);
  });

  it('stamps file names that sort by time', () => {
    assert.equal(resultsFileStamp(new Date('2026-11-21T15:02:09.123Z')), '2026-11-21T15-02-09Z');
  });
});

describe('merging thread reports', () => {
  it('adds counts and rates, keeps the worst percentiles, weights the mean', () => {
    const a = report({ launched: 100, createsPerSecond: 20, p99: 9, mbps: 1 });
    const b = report({
      launched: 60,
      failed: 6,
      createsPerSecond: 12.5,
      p99: 30,
      mbps: 0.5,
      complete: false,
    });
    const m = mergeLoadReports([a, b]);
    assert.equal(m.circuits.launched, 160);
    assert.equal(m.circuits.failed, 6);
    assert.equal(m.circuits.createsPerSecond, 32.5);
    assert.equal(m.circuits.createMs.p99, 30);
    assert.equal(m.circuits.createMs.count, 160);
    assert.equal(m.throughput.forward.megabytesPerSecond, 1.5);
    assert.equal(m.totals.sendmes.streamReceived, 8);
    assert.deepEqual(m.circuits.failures, { 'creating/destroy-RESOURCELIMIT': 6 });
    assert.equal(m.accounting.complete, false);
    assert.equal(m.config.connections, 4);
    assert.equal(mergeLoadReports([a]), a);
    assert.throws(() => mergeLoadReports([]), RangeError);
  });

  it('merges latency summaries: count sums, mean is weighted, percentiles bound every part', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            count: fc.integer({ min: 0, max: 1000 }),
            p50: fc.double({ min: 0, max: 100, noNaN: true }),
          }),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        (parts) => {
          const summaries = parts.map((p) => latency(p.count, p.p50, p.p50 * 3));
          const m = mergeLatency(summaries);
          const present = summaries.filter((s) => s.count > 0);
          assert.equal(
            m.count,
            present.reduce((n, s) => n + s.count, 0),
          );
          for (const s of present) assert.ok(m.p99 >= s.p99 && m.p50 >= s.p50 && m.min <= s.min);
          if (present.length > 0) {
            assert.ok(m.mean >= Math.min(...present.map((s) => s.mean)) - 0.001);
            assert.ok(m.mean <= Math.max(...present.map((s) => s.mean)) + 0.001);
          }
        },
      ),
    );
  });

  it('splits connections, rates and circuit counts evenly', () => {
    assert.deepEqual(splitEvenly(10, 3), [4, 3, 3]);
    assert.deepEqual(splitEvenly(0, 2), [0, 0]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 64 }), (total, parts) => {
        const split = splitEvenly(total, parts);
        assert.equal(split.length, parts);
        assert.equal(
          split.reduce((a, b) => a + b, 0),
          total,
        );
        assert.ok(Math.max(...split) - Math.min(...split) <= 1);
      }),
    );
  });
});

describe('the creation ramp', () => {
  const limits = { minAchievedFraction: 0.95, maxFailureFraction: 0.01, p99LimitMs: 500 };
  it('holds a step that answered the offered rate quickly and without failures', () => {
    const step = judgeStep(
      100,
      { report: report({ createsPerSecond: 99 }), bridge: usage(25), loadgenSaturated: false },
      limits,
    );
    assert.equal(step.held, true);
    assert.equal(step.perCore, 396);
    assert.equal(step.broke, undefined);
  });

  it('says which limit a step broke, and when the load generator was the limit', () => {
    const slow = judgeStep(
      1000,
      { report: report({ createsPerSecond: 700, p99: 900 }), bridge: usage(60), loadgenSaturated: true },
      limits,
    );
    assert.equal(slow.held, false);
    assert.match(slow.broke!, /answered 700 of 1000/);
    assert.match(slow.broke!, /p99 900 ms > 500 ms/);
    assert.match(slow.broke!, /load generator was saturated/);
    const failing = judgeStep(
      100,
      {
        report: report({ launched: 100, failed: 5, createsPerSecond: 100 }),
        bridge: null,
        loadgenSaturated: false,
      },
      limits,
    );
    assert.match(failing.broke!, /5\.0% of circuits failed/);
    assert.equal(failing.perCore, undefined);
    const none = judgeStep(
      10,
      { report: report({ created: 0, createsPerSecond: 10 }), bridge: null, loadgenSaturated: false },
      limits,
    );
    assert.match(none.broke!, /no circuit was created/);
  });
});

describe('scale, workers and balancer rules', () => {
  it('calls memory settled when three samples agree within 1%', () => {
    assert.equal(isSettled([100, 200]), false);
    assert.equal(isSettled([50, 1000, 1005, 995]), true);
    assert.equal(isSettled([1000, 1100, 1000]), false);
  });

  it('refuses a connection count the open-file limit cannot hold, and says how to fix it', () => {
    const limits = (soft: number) =>
      `Max open files            ${soft}                65536                files\n`;
    assert.doesNotThrow(() => checkOpenFileLimit(10_000, limits(20_000)));
    assert.throws(
      () => checkOpenFileLimit(10_000, limits(1024)),
      (e: Error & { code?: string }) => e.code === 'LIMIT' && /ulimit -n/.test(e.message),
    );
  });

  it("uses a side's scale figures only when it held nearly everything asked for", () => {
    const hold = (attempted: number, succeeded: number) => ({
      attempted,
      succeeded,
      failures: {},
      seconds: 1,
    });
    assert.equal(
      scaleProblem({ connections: hold(10_000, 9_990), circuits: hold(9_990, 9_950), closedEarly: 3 }),
      undefined,
    );
    assert.match(
      scaleProblem({ connections: hold(10_000, 3_191), circuits: hold(3_191, 2_051), closedEarly: 3_191 })!,
      /held only 3191 of 10000 connections, closed 3191 connections while they were held, built only 2051 of 3191/,
    );
  });

  it('marks Workers N pending until relayd shows N worker processes', () => {
    assert.match(workerProcessesProblem(2, 0)!, /runs 0 worker process/);
    assert.equal(workerProcessesProblem(2, 2), undefined);
    assert.equal(workerProcessesProblem(2, 3), undefined);
  });

  it('accepts a balancer mode only when relayd was seen doing it', () => {
    const placement = {
      clientFacingByPid: { 10: 4 },
      clientFacingBySupervisor: 4,
      clientFacingByOthers: 0,
      internalConnections: 0,
    };
    assert.equal(modeProblem('direct', undefined, undefined), undefined);
    assert.match(modeProblem('proxy', undefined, undefined)!, /could not be observed/);
    assert.match(modeProblem('handoff', 'none', placement)!, /one process held them/);
    assert.match(modeProblem('handoff', 'proxy', placement)!, /did proxy instead/);
    assert.equal(modeProblem('proxy', 'proxy', placement), undefined);
  });
});

describe('CPU profiles', () => {
  const frame = (functionName: string, url = '', lineNumber = 0) => ({
    functionName,
    url,
    lineNumber,
    columnNumber: 0,
  });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('encrypt', 'file:///work/main/packages/relay-crypto/dist/src/tor1.js', 41) },
      { id: 4, callFrame: frame('(garbage collector)') },
      { id: 5, callFrame: frame('writeGeneric', 'node:internal/stream_base_commons', 9) },
    ],
    samples: [2, 3, 3, 4, 5, 3, 2],
    timeDeltas: [5000, 1000, 1000, 500, 500, 1000, 5000],
    startTime: 0,
    endTime: 14000,
  };

  it('sums self time by function and by area, leaving idle out', () => {
    const s = summarizeCpuProfiles([profile, profile], 'w', 'f');
    assert.equal(s.totalMs, 8);
    assert.deepEqual(s.top[0], {
      function: 'encrypt',
      location: 'packages/relay-crypto/src/tor1.ts:42',
      selfMs: 6,
      selfPercent: 75,
    });
    assert.deepEqual(
      s.byArea.map((a) => [a.area, a.selfPercent]),
      [
        ['@relayd/relay-crypto', 75],
        ['(garbage collector)', 12.5],
        ['node:internal', 12.5],
      ],
    );
  });

  it('keeps only the samples inside a window of the profile clock', () => {
    // Samples fall at 5000, 6000, 7000, 7500, 8000, 9000 and 14000 µs.
    const s = summarizeCpuProfiles([profile], 'w', 'f', { window: { fromUs: 5_500, toUs: 7_600 } });
    assert.equal(s.totalMs, 2.5);
    assert.deepEqual(
      s.top.map((t) => [t.function, t.selfPercent]),
      [
        ['encrypt', 80],
        ['(garbage collector)', 20],
      ],
    );
    const now = Number(process.hrtime.bigint() / 1000n);
    assert.ok(Math.abs(absoluteToMonotonicUs(absoluteNowMs()) - now) < 50_000);
  });

  it('names areas by where the code lives', () => {
    assert.equal(
      areaOf(frame('x', 'file:///r/node_modules/.pnpm/pino@9.1.0/node_modules/pino/lib/a.js')),
      'pino',
    );
    assert.equal(areaOf(frame('x', 'file:///r/node_modules/@noble/curves/ed25519.js')), '@noble/curves');
    assert.equal(areaOf(frame('(program)')), '(program)');
    assert.equal(areaOf(frame('hash')), '(native)');
  });
});

describe('settings and flags', () => {
  it('fills defaults, takes quick sizes, and refuses out-of-range values', () => {
    const d = resolveBenchSettings({ outDir: '/tmp/x' });
    assert.equal(d.scale.connections, DEFAULT_SETTINGS.scale.connections);
    assert.equal(d.outDir, '/tmp/x');
    const q = resolveBenchSettings({ outDir: '/tmp/x', quick: true, scale: { connections: 7 } });
    assert.equal(q.durationSeconds, QUICK_SIZES.durationSeconds);
    assert.equal(q.scale.connections, 7);
    assert.equal(q.scale.connectConcurrency, QUICK_SIZES.scale.connectConcurrency);
    assert.equal('quick' in q, false);
    for (const bad of [
      { loadThreads: 0 },
      { durationSeconds: 0.1 },
      { scenarios: [] },
      { creation: { rateFactor: 1 } },
      { scale: { connections: 1.5 } },
      { workers: 1 },
    ]) {
      assert.throws(
        () => resolveBenchSettings({ outDir: '/tmp', ...(bad as object) }),
        (e: Error & { code?: string }) => e.code === 'BAD_OPTION',
        JSON.stringify(bad),
      );
    }
  });

  it('parses shapes and scenario lists', () => {
    assert.deepEqual(parseShape('50x1', '--x'), { connections: 50, circuitsPerConnection: 1 });
    assert.throws(() => parseShape('50*1', '--x'), BenchUsageError);
    assert.deepEqual(parseScenarios(['creation,scale', 'scale']), ['creation', 'scale']);
    assert.throws(() => parseScenarios(['speed']), BenchUsageError);
  });
});

function results(rows: BenchResults['rows'], startedAt = '2026-11-21T15:00:00.000Z'): BenchResults {
  return {
    version: BENCH_RESULTS_VERSION,
    startedAt,
    finishedAt: startedAt,
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryBytes: 2 * 1024 ** 3,
      os: 'Linux 6',
      node: 'v20.0.0',
      tor: 'Tor version 0.4.9.11.',
      relayd: { version: '0.1.0', commit: 'abc', dirty: false },
      openFiles: { soft: 20000, hard: 20000 },
      loadAverageAtStart: [0.5, 0.4, 0.3],
    },
    loadAverageAtEnd: [1, 0.5, 0.3],
    settings: resolveBenchSettings({ outDir: '/tmp' }),
    rows,
    pending: rows
      .filter((r) => r.status === 'pending')
      .map((r) => ({ scenario: r.scenario, what: r.id, reason: r.note ?? '' })),
    incidents: [],
    runs: [],
    profile: null,
  };
}

describe('tables and comparisons', () => {
  const a = results([
    row({
      id: 'creation.sustained',
      scenario: 'creation',
      metric: 'sustained',
      unit: 'circ/s',
      better: 'higher',
      relayd: 1000,
      tor: 2000,
    }),
    row({
      id: 'workers.creation.n',
      scenario: 'workers',
      metric: 'Workers 2',
      unit: 'circ/s',
      better: 'higher',
      relayd: null,
      tor: 2000,
      status: 'pending',
      note: 'no workers',
    }),
  ]);
  const b = results(
    [
      row({
        id: 'creation.sustained',
        scenario: 'creation',
        metric: 'sustained',
        unit: 'circ/s',
        better: 'higher',
        relayd: 1500,
        tor: 2000,
      }),
    ],
    '2026-11-22T15:00:00.000Z',
  );

  it('prints values, ratios, pending cells, notes and the machine', () => {
    const text = formatResults(a);
    assert.match(text, /Test CPU × 2 cores/);
    assert.match(text, /load average 0.5 0.4 0.3 at start/);
    assert.match(text, /sustained\s+circ\/s\s+1,000\s+2,000\s+0\.50×/);
    assert.match(text, /Workers 2\s+circ\/s\s+pending\s+2,000\s+—/);
    assert.match(text, /pending:\n {2}workers: workers.creation.n — no workers/);
    const withIncident = {
      ...a,
      incidents: [{ scenario: 'creation' as const, attempt: 1, error: 'NO_CONNECTION' }],
    };
    assert.match(
      formatResults(withIncident),
      /incidents \(failed attempts.*\n {2}creation attempt 1: NO_CONNECTION/,
    );
    assert.match(formatResultsMarkdown(withIncident), /- incident: creation attempt 1 failed: NO_CONNECTION/);
    const md = formatResultsMarkdown(a);
    assert.match(md, /\| creation \| sustained \| circ\/s \| 1,000 \| 2,000 \| 0\.50× \|/);
  });

  it('compares two runs row by row', () => {
    assert.equal(changePercent(1000, 1500), 50);
    assert.equal(changePercent(0, 1), null);
    const text = formatComparison(a, b, 'a.json', 'b.json');
    assert.match(
      text,
      /creation\.sustained\s+1,000\s+1,500\s+\+50\.0%\s+2,000\s+2,000\s+\+0\.0%\s+0\.50×\s+0\.75×/,
    );
    assert.match(text, /workers\.creation\.n\s+—\s+—\s+—/);
  });

  it('reads a results file back and refuses anything else', () => {
    const back = parseBenchResults(JSON.stringify(a), 'a.json');
    assert.deepEqual(back.rows, a.rows);
    assert.throws(
      () => parseBenchResults('{', 'x'),
      (e: Error & { code?: string }) => e.code === 'RESULTS',
    );
    assert.throws(() => parseBenchResults('{"version":99,"rows":[]}', 'x'), /not a version 1/);
  });
});
