/**
 * A bench run's results as JSON-safe data: the machine, the settings, one
 * row per metric with relayd's value, C tor's and their ratio, what could
 * not be measured yet (pending, with the reason) and every load run's raw
 * figures. `<outDir>/<timestamp>.json` holds exactly this, so two runs can
 * be compared (compare.ts) long after.
 */
import type { LatencySummary, LoadReport } from '@relayd/loadgen';
import { BenchError } from './errors.js';
import type { MachineInfo } from './machine.js';
import type { TreeUsage } from './proc-tree.js';
import type { BenchSettings, ScenarioName } from './settings.js';

export const BENCH_RESULTS_VERSION = 1;

/**
 * - `measured`: both sides (or the one that applies) have a number.
 * - `pending`: relayd does not do this yet (the reason says what is missing); no number is made up.
 * - `failed`: the run broke (a bridge died, a load could not start); the note says how.
 */
export type RowStatus = 'measured' | 'pending' | 'failed';

export interface ResultRow {
  /** Stable key for comparisons, e.g. `creation.sustained-per-core`. */
  readonly id: string;
  readonly scenario: ScenarioName;
  readonly metric: string;
  readonly unit: string;
  /** Which direction is good, so a comparison can say better or worse. */
  readonly better: 'higher' | 'lower';
  readonly relayd: number | null;
  /** C tor's value; null where C tor has no counterpart (e.g. worker scaling). */
  readonly tor: number | null;
  /** relayd / C tor, when both exist and C tor's is not zero. */
  readonly ratio: number | null;
  readonly status: RowStatus;
  readonly note?: string;
}

export interface PendingItem {
  readonly scenario: ScenarioName;
  readonly what: string;
  readonly reason: string;
}

/** A scenario attempt that failed (and was run again, or counted as failed). */
export interface Incident {
  readonly scenario: ScenarioName;
  readonly attempt: number;
  /** The error's first line. */
  readonly error: string;
}

/** One load run against one bridge, as measured. */
export interface RunRecord {
  readonly scenario: ScenarioName;
  /** e.g. `ramp 700/s`, `many-circuits`, `workers 2`, `balancer proxy`. */
  readonly variant: string;
  readonly bridge: 'relayd' | 'tor';
  readonly report: LoadReport;
  readonly bridgeUsage: TreeUsage | null;
  readonly loadgenUsage: TreeUsage | null;
  readonly loadgenSaturated: boolean;
  readonly threads: number;
}

export interface ProfileSummary {
  readonly workload: string;
  readonly file: string;
  readonly totalMs: number;
  readonly top: readonly {
    readonly function: string;
    readonly location: string;
    readonly selfMs: number;
    readonly selfPercent: number;
  }[];
  readonly byArea: readonly {
    readonly area: string;
    readonly selfMs: number;
    readonly selfPercent: number;
  }[];
}

export interface BenchResults {
  readonly version: typeof BENCH_RESULTS_VERSION;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: MachineInfo;
  /** Load average when the run ended (the start is in `machine`). */
  readonly loadAverageAtEnd: readonly [number, number, number];
  readonly settings: BenchSettings;
  readonly rows: readonly ResultRow[];
  readonly pending: readonly PendingItem[];
  /** Failed scenario attempts, including those that succeeded on the next attempt. */
  readonly incidents: readonly Incident[];
  readonly runs: readonly RunRecord[];
  readonly profile: ProfileSummary | null;
}

/** A percentile of a latency summary; undefined when nothing was sampled (a summary of nothing reads 0). */
export function latencyOf(
  summary: LatencySummary | undefined,
  pick: 'p50' | 'p90' | 'p99' | 'max',
): number | undefined {
  return summary && summary.count > 0 ? summary[pick] : undefined;
}

/** relayd / C tor, to four significant digits; null when either is missing or C tor's is zero. */
export function ratioOf(relayd: number | null | undefined, tor: number | null | undefined): number | null {
  if (relayd === null || relayd === undefined || tor === null || tor === undefined) return null;
  if (!Number.isFinite(relayd) || !Number.isFinite(tor) || tor === 0) return null;
  return Number((relayd / tor).toPrecision(4));
}

/** A row from both sides' values; the ratio and status follow from them. */
export function row(
  fields: Omit<ResultRow, 'ratio' | 'status' | 'relayd' | 'tor'> & {
    readonly relayd: number | null | undefined;
    readonly tor: number | null | undefined;
    readonly status?: RowStatus;
  },
): ResultRow {
  const relayd = fields.relayd ?? null;
  const tor = fields.tor ?? null;
  // relayd is the subject: without its number (and no other reason given) the row failed.
  const status = fields.status ?? (relayd === null ? 'failed' : 'measured');
  const { note, ...rest } = fields;
  return {
    ...rest,
    relayd: relayd === null ? null : round4(relayd),
    tor: tor === null ? null : round4(tor),
    ratio: ratioOf(relayd, tor),
    status,
    ...(note ? { note } : {}),
  };
}

/** Four significant digits (at most three decimals): enough for any of these figures. */
function round4(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(Math.max(4, Math.ceil(Math.log10(Math.abs(value))))));
}

/** `2026-11-21T15-02-09Z`: sorts by time and is a valid file name everywhere. */
export function resultsFileStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

/** Reads a results file back; a BenchError RESULTS for anything else. */
export function parseBenchResults(text: string, what: string): BenchResults {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BenchError('RESULTS', `${what} is not JSON: ${(error as Error).message}`);
  }
  const o = json as Partial<BenchResults> | null;
  if (typeof o !== 'object' || o === null || o.version !== BENCH_RESULTS_VERSION || !Array.isArray(o.rows)) {
    throw new BenchError('RESULTS', `${what} is not a version ${BENCH_RESULTS_VERSION} bench results file`);
  }
  return o as BenchResults;
}
