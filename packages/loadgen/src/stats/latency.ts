/**
 * Latency samples and their summary: count, min, mean, max and the
 * nearest-rank percentiles p50/p90/p99. Every sample is kept (a run makes
 * at most a few hundred thousand), so the percentiles are exact.
 */

export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export const EMPTY_LATENCY: LatencySummary = { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };

export class LatencyRecorder {
  private samples: number[] = [];

  record(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.samples.push(ms);
  }

  get count(): number {
    return this.samples.length;
  }

  summary(): LatencySummary {
    const n = this.samples.length;
    if (n === 0) return EMPTY_LATENCY;
    const sorted = Float64Array.from(this.samples).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: n,
      min: round(sorted[0]!),
      mean: round(sum / n),
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[n - 1]!),
    };
  }
}

/** Nearest-rank percentile of sorted values: the smallest value with at least p% of samples at or below it. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Milliseconds to three decimals: enough for sub-millisecond loopback latencies. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
