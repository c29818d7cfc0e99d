/**
 * Scenario 4, workers: relayd with `Workers 1` against `Workers N` under
 * the same closed-loop loads — circuit creation (one-hop CREATE2 as fast
 * as the in-flight slots allow) and relay throughput (the many-circuits
 * shape) — and the scaling factor N workers ÷ 1. C tor, one process, runs
 * the same loads for reference.
 *
 * Whether relayd really runs N workers is read from what it does, not from
 * its configuration: with `Workers N` the bridge's process tree must hold
 * at least N processes below relayd's own. While relayd still runs its
 * worker inside the supervisor, the N-worker half is reported as pending
 * and no scaling factor is made up.
 */
import { availableParallelism } from 'node:os';
import type { RunningBridge } from '../bridges.js';
import type { BenchContext, ScenarioOutcome } from '../context.js';
import { type LoadRunResult, perCore } from '../load.js';
import { type ResultRow, row } from '../results.js';
import { relayedMegabytesPerSecond, throughputRun } from './throughput.js';

/** How long to wait after start-up for forked workers to appear. */
const WORKER_SPAWN_WAIT_MS = 5_000;

/** Whether a bridge started with `Workers n` shows n worker processes; the reason when it does not. */
export function workerProcessesProblem(requested: number, childProcesses: number): string | undefined {
  if (childProcesses >= requested) return undefined;
  return (
    `relayd started with "Workers ${requested}" runs ${childProcesses} worker process(es): ` +
    'its workers still run inside the supervisor (multi-process workers have not landed)'
  );
}

async function waitForChildren(bridge: RunningBridge, wanted: number): Promise<number> {
  const deadline = Date.now() + WORKER_SPAWN_WAIT_MS;
  let children = bridge.childProcesses();
  while (children < wanted && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    children = bridge.childProcesses();
  }
  return children;
}

interface WorkloadResults {
  readonly creation: LoadRunResult;
  readonly throughput: LoadRunResult;
}

async function runWorkloads(
  ctx: BenchContext,
  bridge: RunningBridge,
  variant: string,
): Promise<WorkloadResults> {
  const s = ctx.settings;
  const creation = await ctx.measure('workers', `${variant} creation`, bridge, {
    connector: { kind: 'orport' },
    options: {
      target: bridge.target,
      nextHop: undefined,
      connections: s.creation.connections,
      circuitsPerConnection: s.creation.circuitsPerConnection,
      handshake: s.creation.handshake,
      durationMs: Math.round((s.durationSeconds + s.warmupSeconds) * 1000),
      warmupMs: Math.round(s.warmupSeconds * 1000),
      drainTimeoutMs: 5_000,
    },
  });
  const throughput = await throughputRun(
    ctx,
    'workers',
    `${variant} throughput`,
    bridge,
    s.throughput.manyCircuits,
  );
  return { creation, throughput };
}

export async function runWorkers(ctx: BenchContext): Promise<ScenarioOutcome> {
  const n = ctx.settings.workers;
  ctx.log(`workers: relayd Workers 1 vs Workers ${n} (closed-loop creation and throughput)`);
  const one = await ctx.withBridge({ kind: 'relayd', workers: 1 }, (b) => runWorkloads(ctx, b, 'Workers 1'));
  let many: WorkloadResults | undefined;
  let problem: string | undefined;
  await ctx.withBridge({ kind: 'relayd', workers: n }, async (bridge) => {
    const children = await waitForChildren(bridge, n);
    problem = workerProcessesProblem(n, children);
    if (problem) {
      ctx.log(`  workers: pending — ${problem}`);
      return;
    }
    many = await runWorkloads(ctx, bridge, `Workers ${n}`);
  });
  const tor = await ctx.withBridge({ kind: 'tor' }, (b) => runWorkloads(ctx, b, 'C tor'));

  const creates = (r: WorkloadResults | undefined) => r?.creation.report.circuits.createsPerSecond;
  const mbps = (r: WorkloadResults | undefined) => (r ? relayedMegabytesPerSecond(r.throughput) : undefined);
  const factor = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  const status = many ? undefined : ('pending' as const);
  const saturated = [one, many, tor].some(
    (r) => r && (r.creation.loadgenSaturated || r.throughput.loadgenSaturated),
  );
  const cores = availableParallelism();
  const crowded =
    cores < n + ctx.settings.loadThreads
      ? `this machine has ${cores} cores for relayd's ${n} workers, its supervisor, the load generator's ${ctx.settings.loadThreads} thread(s) and the sink: the factor shows contention, not scaling`
      : undefined;
  const scalingNote = [
    crowded,
    saturated ? 'the load generator was saturated in at least one run' : undefined,
  ]
    .filter(Boolean)
    .join('; ');
  const rows: ResultRow[] = [
    row({
      id: 'workers.creation.1',
      scenario: 'workers',
      metric: 'CREATE2/s closed loop, Workers 1',
      unit: 'circ/s',
      better: 'higher',
      relayd: creates(one),
      tor: creates(tor),
      note: `per core — relayd: ${fmt(perCore(creates(one) ?? 0, one.creation.bridge))}, C tor: ${fmt(perCore(creates(tor) ?? 0, tor.creation.bridge))}`,
    }),
    row({
      id: `workers.creation.n`,
      scenario: 'workers',
      metric: `CREATE2/s closed loop, Workers ${n}`,
      unit: 'circ/s',
      better: 'higher',
      relayd: creates(many),
      tor: creates(tor),
      ...(status ? { status, note: problem } : {}),
    }),
    row({
      id: 'workers.creation.scaling',
      scenario: 'workers',
      metric: `creation scaling, Workers ${n} ÷ Workers 1`,
      unit: '×',
      better: 'higher',
      relayd: factor(creates(many), creates(one)),
      tor: null,
      ...(status ? { status, note: problem } : scalingNote ? { note: scalingNote } : {}),
    }),
    row({
      id: 'workers.throughput.1',
      scenario: 'workers',
      metric: 'MB/s relayed (many circuits), Workers 1',
      unit: 'MB/s',
      better: 'higher',
      relayd: mbps(one),
      tor: mbps(tor),
    }),
    row({
      id: 'workers.throughput.n',
      scenario: 'workers',
      metric: `MB/s relayed (many circuits), Workers ${n}`,
      unit: 'MB/s',
      better: 'higher',
      relayd: mbps(many),
      tor: mbps(tor),
      ...(status ? { status, note: problem } : {}),
    }),
    row({
      id: 'workers.throughput.scaling',
      scenario: 'workers',
      metric: `throughput scaling, Workers ${n} ÷ Workers 1`,
      unit: '×',
      better: 'higher',
      relayd: factor(mbps(many), mbps(one)),
      tor: null,
      ...(status ? { status, note: problem } : scalingNote ? { note: scalingNote } : {}),
    }),
  ];
  return {
    rows,
    pending: problem ? [{ scenario: 'workers', what: `relayd with Workers ${n}`, reason: problem }] : [],
  };
}

function fmt(value: number | undefined): string {
  return value === undefined ? '?' : value.toFixed(0);
}
