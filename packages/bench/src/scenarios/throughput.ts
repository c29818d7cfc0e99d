/**
 * Scenario 2, relay throughput: MB/s a bridge relays, and MB/s per core of
 * its CPU, in two shapes — many circuits multiplexed on few connections,
 * and one circuit on each of many connections. Every circuit is built
 * through the bridge to the sink (CREATE2 ntor + EXTEND2 ntor) and moves
 * `bytesPerCircuit` each way at once (download from the sink and upload to
 * it, flow-controlled DATA cells checked to the byte), then a new circuit
 * takes its place until the duration is over. "Relayed" counts payload in
 * both directions.
 */
import type { RunningBridge } from '../bridges.js';
import type { BenchContext, ScenarioOutcome } from '../context.js';
import { type LoadRunResult, perCore } from '../load.js';
import type { ConnectorSpec } from '../load-thread.js';
import { type ResultRow, row } from '../results.js';
import type { ThroughputShape } from '../settings.js';

export const THROUGHPUT_VARIANTS = ['many-circuits', 'many-connections'] as const;
export type ThroughputVariant = (typeof THROUGHPUT_VARIANTS)[number];

/** Payload MB/s both ways over the measured window. */
export function relayedMegabytesPerSecond(result: Pick<LoadRunResult, 'report'>): number {
  const t = result.report.throughput;
  return t.forward.megabytesPerSecond + t.backward.megabytesPerSecond;
}

/** What went wrong with a run's bytes, or undefined when every circuit finished with every byte. */
export function accountingProblem(result: Pick<LoadRunResult, 'report'>): string | undefined {
  const r = result.report;
  if (r.accounting.complete) return undefined;
  const failures = Object.entries(r.circuits.failures)
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ');
  return `${r.circuits.failed} failed, ${r.circuits.unfinished} unfinished${failures ? ` (${failures})` : ''}`;
}

/** Runs one throughput shape against a bridge (shared with the worker and balancer scenarios). */
export function throughputRun(
  ctx: BenchContext,
  scenario: 'throughput' | 'workers' | 'balancer',
  variant: string,
  bridge: RunningBridge,
  shape: ThroughputShape,
  connector: ConnectorSpec = { kind: 'orport' },
  onRunning?: (window: { fromMs: number; toMs: number }) => void,
): Promise<LoadRunResult> {
  const s = ctx.settings;
  return ctx.measure(
    scenario,
    variant,
    bridge,
    {
      connector,
      options: {
        target: bridge.target,
        nextHop: ctx.sink,
        connections: shape.connections,
        circuitsPerConnection: shape.circuitsPerConnection,
        handshake: 'ntor',
        extendHandshake: 'ntor',
        downloadBytes: s.throughput.bytesPerCircuit,
        uploadBytes: s.throughput.bytesPerCircuit,
        durationMs: Math.round((s.durationSeconds + s.warmupSeconds) * 1000),
        warmupMs: Math.round(s.warmupSeconds * 1000),
        drainTimeoutMs: 60_000,
      },
    },
    onRunning,
  );
}

function variantRows(
  variant: ThroughputVariant,
  shape: ThroughputShape,
  relayd: LoadRunResult,
  tor: LoadRunResult,
): ResultRow[] {
  const label = `${shape.connections} conn × ${shape.circuitsPerConnection} circ`;
  const problems = [
    accountingProblem(relayd) ? `relayd: ${accountingProblem(relayd)}` : '',
    accountingProblem(tor) ? `C tor: ${accountingProblem(tor)}` : '',
    relayd.loadgenSaturated || tor.loadgenSaturated ? 'the load generator was saturated' : '',
  ].filter(Boolean);
  const relaydMb = relayedMegabytesPerSecond(relayd);
  const torMb = relayedMegabytesPerSecond(tor);
  return [
    row({
      id: `throughput.${variant}.mbps`,
      scenario: 'throughput',
      metric: `MB/s relayed, both ways (${label})`,
      unit: 'MB/s',
      better: 'higher',
      relayd: relaydMb,
      tor: torMb,
      ...(problems.length > 0 ? { note: problems.join('; ') } : {}),
    }),
    row({
      id: `throughput.${variant}.mbps-per-core`,
      scenario: 'throughput',
      metric: `MB/s per bridge core (${label})`,
      unit: 'MB/s/core',
      better: 'higher',
      relayd: perCore(relaydMb, relayd.bridge),
      tor: perCore(torMb, tor.bridge),
      note: `bridge CPU — relayd: ${relayd.bridge?.cpuPercent ?? '?'}%, C tor: ${tor.bridge?.cpuPercent ?? '?'}%`,
    }),
  ];
}

export async function runThroughput(ctx: BenchContext): Promise<ScenarioOutcome> {
  const t = ctx.settings.throughput;
  ctx.log(`throughput: ${t.bytesPerCircuit} bytes each way per circuit, two shapes`);
  const shapes: Record<ThroughputVariant, ThroughputShape> = {
    'many-circuits': t.manyCircuits,
    'many-connections': t.manyConnections,
  };
  const runBoth = (bridge: RunningBridge) => async () => {
    const out: Partial<Record<ThroughputVariant, LoadRunResult>> = {};
    for (const variant of THROUGHPUT_VARIANTS) {
      out[variant] = await throughputRun(ctx, 'throughput', variant, bridge, shapes[variant]);
    }
    return out as Record<ThroughputVariant, LoadRunResult>;
  };
  const relayd = await ctx.withBridge({ kind: 'relayd', workers: 1 }, (b) => runBoth(b)());
  const tor = await ctx.withBridge({ kind: 'tor' }, (b) => runBoth(b)());
  return {
    rows: THROUGHPUT_VARIANTS.flatMap((v) => variantRows(v, shapes[v], relayd[v], tor[v])),
    pending: [],
  };
}
