/**
 * Scenario 3, scale: what an idle client connection and an idle circuit
 * cost a bridge in memory, at many connections (10,000 by default).
 *
 *   1. the bridge at rest: its CPU over 3 s, then settled RSS (baseline)
 *   2. N client connections opened (TLS + link handshake, from spread
 *      127.0.4.x source addresses) and held idle: settled RSS
 *   3. C circuits per connection built (CREATE2 + EXTEND2 to the sink) and
 *      held idle: settled RSS
 *
 * Per connection = (2 − 1) / connections held; per circuit = (3 − 2) /
 * circuits held. RSS is the bridge's whole process tree. "Settled" means
 * three samples 500 ms apart within 1% of each other (at most 10 s), the
 * median taken. With fewer than `projectTo` connections the figures are
 * also projected (linearly, labelled so) to that count.
 *
 * Both the load (this process) and the bridge hold one descriptor per
 * connection; the run refuses to start when the open-file limit is too low
 * for the count asked (raise it with `ulimit -n`).
 */
import { readFileSync } from 'node:fs';
import { tlsLinkConnector } from '@relayd/loadgen';
import type { RunningBridge } from '../bridges.js';
import type { BenchContext, ScenarioOutcome } from '../context.js';
import { BenchError } from '../errors.js';
import { ConnectionHolder, type HoldResult } from '../holder.js';
import { parseOpenFileLimit } from '../machine.js';
import { absoluteNowMs, ProcessTreeSampler } from '../proc-tree.js';
import { type ResultRow, row } from '../results.js';

/** How long the bridge's CPU at rest is sampled. */
const REST_SAMPLE_MS = 3_000;

/** Descriptors beyond the connections: the bridge's own files, the sink's link, listeners, logs. */
export const FD_HEADROOM = 256;

/** The median of the last `n` values; undefined when fewer. */
function medianOfLast(values: readonly number[], n: number): number | undefined {
  if (values.length < n) return undefined;
  const last = [...values.slice(-n)].sort((a, b) => a - b);
  return last[Math.floor(n / 2)];
}

/** Whether the last three values lie within `tolerance` of their median. */
export function isSettled(values: readonly number[], tolerance = 0.01): boolean {
  const median = medianOfLast(values, 3);
  if (median === undefined || median === 0) return false;
  return values.slice(-3).every((v) => Math.abs(v - median) <= median * tolerance);
}

async function settledRss(sampler: ProcessTreeSampler, maxMs = 10_000): Promise<number> {
  const values: number[] = [];
  const deadline = Date.now() + maxMs;
  for (;;) {
    const sample = sampler.sample();
    if (!sample) throw new BenchError('LOAD', `the bridge (pid ${sampler.rootPid}) exited`);
    values.push(sample.rssBytes);
    if (isSettled(values) || Date.now() > deadline) return medianOfLast(values, Math.min(3, values.length))!;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Checks this process may hold `connections` more sockets; the bridges inherit the same limit. */
export function checkOpenFileLimit(connections: number, limitsText: string): void {
  const { soft } = parseOpenFileLimit(limitsText);
  if (soft !== null && soft < connections + FD_HEADROOM) {
    throw new BenchError(
      'LIMIT',
      `holding ${connections} connections needs an open-file limit of at least ${connections + FD_HEADROOM} ` +
        `(this process and the bridge each hold one descriptor per connection), but it is ${soft}: ` +
        `run "ulimit -n ${Math.max(65_536, connections + FD_HEADROOM)}" first, or lower --scale-connections`,
    );
  }
}

interface ScaleMeasurement {
  /** CPU over REST_SAMPLE_MS before any load, percent of a core. */
  readonly restCpuPercent: number | undefined;
  readonly baselineBytes: number;
  readonly withConnectionsBytes: number;
  readonly withCircuitsBytes: number;
  readonly connections: HoldResult;
  readonly circuits: HoldResult;
  readonly closedEarly: number;
  readonly perConnectionBytes: number | undefined;
  readonly perCircuitBytes: number | undefined;
}

async function measureScale(ctx: BenchContext, bridge: RunningBridge): Promise<ScaleMeasurement> {
  const s = ctx.settings.scale;
  const sampler = new ProcessTreeSampler(bridge.pid);
  const holder = new ConnectionHolder(
    bridge.target,
    tlsLinkConnector({ sourceAddresses: ctx.sourceAddresses, connectTimeoutMs: 60_000 }),
  );
  try {
    // The bridge at rest: what it spends doing nothing (housekeeping, directory retries), then its memory.
    const restFrom = absoluteNowMs();
    sampler.sample();
    await new Promise((resolve) => setTimeout(resolve, REST_SAMPLE_MS));
    sampler.sample();
    const restCpuPercent = sampler.usage(restFrom, absoluteNowMs())?.cpuPercent;
    const baselineBytes = await settledRss(sampler);
    const connections = await holder.connect(s.connections, s.connectConcurrency);
    ctx.log(
      `  scale [${bridge.label}]: ${connections.succeeded}/${connections.attempted} connections in ${connections.seconds.toFixed(1)} s`,
    );
    const withConnectionsBytes = await settledRss(sampler);
    const circuits =
      s.circuitsPerConnection > 0
        ? await holder.buildCircuits(s.circuitsPerConnection, ctx.sink, s.connectConcurrency * 4, 120_000)
        : { attempted: 0, succeeded: 0, failures: {}, seconds: 0 };
    ctx.log(
      `  scale [${bridge.label}]: ${circuits.succeeded}/${circuits.attempted} circuits in ${circuits.seconds.toFixed(1)} s`,
    );
    const withCircuitsBytes = await settledRss(sampler);
    const held = connections.succeeded;
    const open = holder.openCircuits;
    return {
      restCpuPercent,
      baselineBytes,
      withConnectionsBytes,
      withCircuitsBytes,
      connections,
      circuits,
      closedEarly: holder.connectionsClosedEarly,
      perConnectionBytes: held > 0 ? (withConnectionsBytes - baselineBytes) / held : undefined,
      perCircuitBytes: open > 0 ? (withCircuitsBytes - withConnectionsBytes) / open : undefined,
    };
  } finally {
    holder.close();
    sampler.stop();
  }
}

/**
 * A side's figures count only if it held nearly every connection asked for
 * and closed (almost) none of them meanwhile; the rest is noted, not
 * measured. Circuits may fall a little shorter (the per-circuit figure
 * divides by the circuits actually open), but not by much.
 */
export const SCALE_MIN_HELD_FRACTION = 0.99;
export const SCALE_MIN_CIRCUIT_FRACTION = 0.9;

/** Why a side's scale figures are not usable, or undefined when they are. */
export function scaleProblem(m: {
  readonly connections: HoldResult;
  readonly circuits: HoldResult;
  readonly closedEarly: number;
}): string | undefined {
  const problems: string[] = [];
  if (m.connections.succeeded < m.connections.attempted * SCALE_MIN_HELD_FRACTION) {
    problems.push(`held only ${m.connections.succeeded} of ${m.connections.attempted} connections`);
  }
  if (m.closedEarly > m.connections.attempted * (1 - SCALE_MIN_HELD_FRACTION)) {
    problems.push(`closed ${m.closedEarly} connections while they were held`);
  }
  if (m.circuits.succeeded < m.circuits.attempted * SCALE_MIN_CIRCUIT_FRACTION) {
    problems.push(`built only ${m.circuits.succeeded} of ${m.circuits.attempted} circuits`);
  }
  return problems.length > 0 ? problems.join(', ') : undefined;
}

const KIB = 1024;
const MIB = 1024 * 1024;

function holdNote(side: string, m: ScaleMeasurement): string {
  const failures = Object.entries({ ...m.connections.failures, ...m.circuits.failures })
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ');
  return (
    `${side}: ${m.connections.succeeded}/${m.connections.attempted} connections, ` +
    `${m.circuits.succeeded}/${m.circuits.attempted} circuits` +
    `${m.closedEarly > 0 ? `, ${m.closedEarly} closed early` : ''}${failures ? ` (${failures})` : ''}`
  );
}

export async function runScale(ctx: BenchContext): Promise<ScenarioOutcome> {
  const s = ctx.settings.scale;
  checkOpenFileLimit(s.connections, readFileSync('/proc/self/limits', 'utf8'));
  ctx.log(`scale: ${s.connections} idle connections, then ${s.circuitsPerConnection} circuit(s) on each`);
  const relayd = await ctx.withBridge({ kind: 'relayd', workers: 1 }, (b) => measureScale(ctx, b));
  const tor = await ctx.withBridge({ kind: 'tor' }, (b) => measureScale(ctx, b));
  const relaydProblem = scaleProblem(relayd);
  const torProblem = scaleProblem(tor);
  const unusable = [
    relaydProblem ? `relayd's figures are not used: it ${relaydProblem}` : '',
    torProblem ? `C tor's figures are not used: it ${torProblem}` : '',
  ].filter(Boolean);
  const note = [`${holdNote('relayd', relayd)}; ${holdNote('C tor', tor)}`, ...unusable].join('; ');
  // A side that did not hold what was asked has no figures (null), never a misleading one.
  const usable = (m: ScaleMeasurement, problem: string | undefined) => (problem ? undefined : m);
  const r = usable(relayd, relaydProblem);
  const t = usable(tor, torProblem);
  const kib = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / KIB);
  const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / MIB);
  const rows: ResultRow[] = [
    row({
      id: 'scale.rss-per-connection',
      scenario: 'scale',
      metric: `RSS per idle client connection (at ${s.connections})`,
      unit: 'KiB',
      better: 'lower',
      relayd: kib(r?.perConnectionBytes),
      tor: kib(t?.perConnectionBytes),
      note,
    }),
    row({
      id: 'scale.rss-per-circuit',
      scenario: 'scale',
      metric: `RSS per idle circuit (${s.circuitsPerConnection} per connection)`,
      unit: 'KiB',
      better: 'lower',
      relayd: kib(r?.perCircuitBytes),
      tor: kib(t?.perCircuitBytes),
    }),
    row({
      id: 'scale.rss-total',
      scenario: 'scale',
      metric: `RSS with ${s.connections} connections and their circuits`,
      unit: 'MiB',
      better: 'lower',
      relayd: mib(r?.withCircuitsBytes),
      tor: mib(t?.withCircuitsBytes),
      note: `at rest — relayd: ${(relayd.baselineBytes / MIB).toFixed(1)} MiB, C tor: ${(tor.baselineBytes / MIB).toFixed(1)} MiB`,
    }),
  ];
  rows.push(
    row({
      id: 'scale.cpu-at-rest',
      scenario: 'scale',
      metric: 'CPU at rest, before any load (part of every per-core figure)',
      unit: '% core',
      better: 'lower',
      relayd: relayd.restCpuPercent,
      tor: tor.restCpuPercent,
    }),
  );
  if (s.connections < s.projectTo) {
    const project = (m: ScaleMeasurement | undefined) =>
      m?.perConnectionBytes === undefined
        ? undefined
        : (m.baselineBytes +
            s.projectTo * (m.perConnectionBytes + s.circuitsPerConnection * (m.perCircuitBytes ?? 0))) /
          MIB;
    rows.push(
      row({
        id: 'scale.rss-projected',
        scenario: 'scale',
        metric: `RSS at ${s.projectTo} connections (PROJECTED from ${s.connections})`,
        unit: 'MiB',
        better: 'lower',
        relayd: project(r),
        tor: project(t),
        note: 'linear projection: at rest + count × (per connection + circuits × per circuit); not measured',
      }),
    );
  }
  return { rows, pending: [] };
}
