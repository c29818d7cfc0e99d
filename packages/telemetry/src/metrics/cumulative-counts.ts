/**
 * Running totals over sources that restart. A scraped counter reads totals
 * kept elsewhere: a worker process's connections handed off, a balancer
 * backend's connections. Those sources start again from zero when the
 * process is replaced or the backend re-registered, and a counter that
 * goes down is read by Prometheus as a reset, which turns the whole new
 * value into a spike in `rate()`. This keeps per-series totals that only
 * grow: each source (`key`) is followed by its last reading, and what it
 * added since is credited to its series (`labels`).
 *
 * A source that restarts under the same key is seen as a reading lower than
 * the last one: everything it reports then counts as new. A source that
 * disappears keeps what it added; its last reading is forgotten, so memory
 * follows the live sources plus one total per series.
 */
import type { LabelSet } from './metric-creator.js';

export interface CumulativeReading<L extends string> {
  /** Identifies the source (e.g. "worker 2 pid 4251"); a source keeps its key for its lifetime. */
  readonly key: string;
  readonly labels: LabelSet<L>;
  /** The source's own running total. */
  readonly value: number;
}

export class CumulativeCounts<L extends string> {
  private readonly last = new Map<string, number>();
  private readonly totals = new Map<string, { labels: LabelSet<L>; value: number }>();

  constructor(private readonly labelNames: readonly L[]) {}

  /** Takes one reading of every live source and returns the total of every series seen so far. */
  update(readings: Iterable<CumulativeReading<L>>): Array<readonly [LabelSet<L>, number]> {
    const live = new Set<string>();
    for (const { key, labels, value } of readings) {
      if (!Number.isFinite(value) || value < 0) continue;
      live.add(key);
      const previous = this.last.get(key);
      const added = previous === undefined || value < previous ? value : value - previous;
      this.last.set(key, value);
      const series = this.seriesKey(labels);
      const total = this.totals.get(series);
      if (total) total.value += added;
      else this.totals.set(series, { labels: { ...labels }, value: added });
    }
    for (const key of [...this.last.keys()]) if (!live.has(key)) this.last.delete(key);
    return [...this.totals.values()].map((t) => [t.labels, t.value] as const);
  }

  private seriesKey(labels: LabelSet<L>): string {
    return JSON.stringify(this.labelNames.map((name) => labels[name]));
  }
}
