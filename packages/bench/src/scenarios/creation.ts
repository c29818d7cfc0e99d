/**
 * Scenario 1, circuit creation: how many CREATE2 handshakes a bridge
 * sustains, per core, and how long one takes at half that rate.
 *
 *   ramp    open-loop one-hop circuits (CREATE2 → CREATED2 → DESTROY) at
 *           startRate, then ×rateFactor per step; a step holds while the
 *           bridge answers ≥ minAchievedFraction of the offered rate, fails
 *           ≤ maxFailureFraction of the circuits and keeps p99 CREATE→CREATED
 *           under p99LimitMs. The ramp stops at the first step that does
 *           not hold (saying which limit broke, and whether the load
 *           generator itself was saturated) or after maxSteps. A step that
 *           does not hold is run once more before the ramp stops, so one
 *           stall of a shared machine does not end it.
 *   per core  the highest held step's rate ÷ the bridge's CPU in that step
 *   latency   CREATE→CREATED percentiles at 50% of that bridge's sustained rate
 *
 * Both bridges get exactly the same ramp.
 */
import type { RunningBridge } from '../bridges.js';
import type { BenchContext, ScenarioOutcome } from '../context.js';
import { type LoadRunResult, perCore } from '../load.js';
import { latencyOf, row } from '../results.js';
import { stepWarmupSeconds } from '../settings.js';

export interface RampStep {
  readonly offered: number;
  readonly achieved: number;
  readonly perCore: number | undefined;
  readonly bridgeCpuPercent: number | undefined;
  readonly p99Ms: number;
  readonly failureFraction: number;
  readonly held: boolean;
  /** Why the step did not hold. */
  readonly broke: string | undefined;
  readonly loadgenSaturated: boolean;
}

export interface StepLimits {
  readonly minAchievedFraction: number;
  readonly maxFailureFraction: number;
  readonly p99LimitMs: number;
}

/** Judges one ramp step. Pure: the bench's rules for "sustained". */
export function judgeStep(
  offered: number,
  result: Pick<LoadRunResult, 'report' | 'bridge' | 'loadgenSaturated'>,
  limits: StepLimits,
): RampStep {
  const c = result.report.circuits;
  const achieved = c.createsPerSecond;
  const failureFraction = c.launched > 0 ? c.failed / c.launched : 0;
  const p99Ms = c.createMs.p99;
  const problems: string[] = [];
  if (achieved < offered * limits.minAchievedFraction) {
    problems.push(`answered ${achieved.toFixed(0)} of ${offered.toFixed(0)}/s offered`);
  }
  if (failureFraction > limits.maxFailureFraction) {
    problems.push(`${(failureFraction * 100).toFixed(1)}% of circuits failed`);
  }
  if (p99Ms > limits.p99LimitMs) problems.push(`p99 ${p99Ms.toFixed(0)} ms > ${limits.p99LimitMs} ms`);
  if (c.measured.created === 0) problems.push('no circuit was created in the window');
  const broke =
    problems.length === 0
      ? undefined
      : `${problems.join(', ')}${result.loadgenSaturated ? ' (the load generator was saturated)' : ''}`;
  return {
    offered,
    achieved,
    perCore: perCore(achieved, result.bridge),
    bridgeCpuPercent: result.bridge?.cpuPercent,
    p99Ms,
    failureFraction,
    held: broke === undefined,
    broke,
    loadgenSaturated: result.loadgenSaturated,
  };
}

interface BridgeCreation {
  readonly steps: RampStep[];
  readonly best: RampStep | undefined;
  readonly stop: string;
  readonly latency: LoadRunResult | undefined;
}

async function rampAndLatency(ctx: BenchContext, bridge: RunningBridge): Promise<BridgeCreation> {
  const s = ctx.settings;
  const c = s.creation;
  const base = {
    target: bridge.target,
    nextHop: undefined,
    connections: c.connections,
    circuitsPerConnection: c.circuitsPerConnection,
    handshake: c.handshake,
    drainTimeoutMs: 5_000,
    buildTimeoutMs: Math.max(10_000, c.p99LimitMs * 4),
  };
  const steps: RampStep[] = [];
  let stop = `all ${c.maxSteps} steps held`;
  const runStep = async (offered: number, attempt: number): Promise<RampStep> => {
    const result = await ctx.measure(
      'creation',
      `ramp ${offered}/s${attempt > 1 ? ' (again)' : ''}`,
      bridge,
      {
        connector: { kind: 'orport' },
        options: {
          ...base,
          circuitRate: offered,
          durationMs: Math.round(c.stepSeconds * 1000),
          warmupMs: Math.round(stepWarmupSeconds(s) * 1000),
        },
      },
    );
    return judgeStep(offered, result, c);
  };
  for (let i = 0; i < c.maxSteps; i++) {
    const offered = Math.round(c.startRate * c.rateFactor ** i);
    let step = await runStep(offered, 1);
    // One stall of a busy machine should not end the ramp: a step that breaks is run once more.
    if (!step.held) step = await runStep(offered, 2);
    steps.push(step);
    if (!step.held) {
      stop = `at ${offered}/s (twice): ${step.broke}`;
      break;
    }
  }
  const best = steps.filter((x) => x.held).at(-1);
  let latency: LoadRunResult | undefined;
  if (best) {
    latency = await ctx.measure('creation', `latency at ${Math.round(best.achieved / 2)}/s`, bridge, {
      connector: { kind: 'orport' },
      options: {
        ...base,
        circuitRate: best.achieved / 2,
        durationMs: Math.round((s.durationSeconds + s.warmupSeconds) * 1000),
        warmupMs: Math.round(s.warmupSeconds * 1000),
      },
    });
  }
  return { steps, best, stop, latency };
}

export async function runCreation(ctx: BenchContext): Promise<ScenarioOutcome> {
  ctx.log(`creation: CREATE2 ${ctx.settings.creation.handshake} ramp, then latency at 50%`);
  const relayd = await ctx.withBridge({ kind: 'relayd', workers: 1 }, (b) => rampAndLatency(ctx, b));
  const tor = await ctx.withBridge({ kind: 'tor' }, (b) => rampAndLatency(ctx, b));
  const hs = ctx.settings.creation.handshake;
  const stops = `ramp stopped — relayd: ${relayd.stop}; C tor: ${tor.stop}`;
  const latencyNote = (side: BridgeCreation) =>
    side.best ? `${Math.round(side.best.achieved / 2)}/s` : 'not run (no step held)';
  return {
    rows: [
      row({
        id: 'creation.sustained',
        scenario: 'creation',
        metric: `CREATE2 ${hs} sustained (highest step that held)`,
        unit: 'circ/s',
        better: 'higher',
        relayd: relayd.best?.achieved,
        tor: tor.best?.achieved,
        note: stops,
      }),
      row({
        id: 'creation.sustained-per-core',
        scenario: 'creation',
        metric: `CREATE2 ${hs} per bridge core (at that step)`,
        unit: 'circ/s/core',
        better: 'higher',
        relayd: relayd.best?.perCore,
        tor: tor.best?.perCore,
        note: `bridge CPU at that step — relayd: ${relayd.best?.bridgeCpuPercent ?? '?'}%, C tor: ${tor.best?.bridgeCpuPercent ?? '?'}%`,
      }),
      row({
        id: 'creation.latency-p50',
        scenario: 'creation',
        metric: 'CREATE→CREATED p50 at 50% of sustained',
        unit: 'ms',
        better: 'lower',
        relayd: latencyOf(relayd.latency?.report.circuits.createMs, 'p50'),
        tor: latencyOf(tor.latency?.report.circuits.createMs, 'p50'),
        note: `offered — relayd: ${latencyNote(relayd)}, C tor: ${latencyNote(tor)}`,
      }),
      row({
        id: 'creation.latency-p99',
        scenario: 'creation',
        metric: 'CREATE→CREATED p99 at 50% of sustained',
        unit: 'ms',
        better: 'lower',
        relayd: latencyOf(relayd.latency?.report.circuits.createMs, 'p99'),
        tor: latencyOf(tor.latency?.report.circuits.createMs, 'p99'),
      }),
    ],
    pending: [],
  };
}
