/**
 * One load report from several: the load runs on N threads, each with its
 * share of the connections, and each thread's LoadGenerator reports on its
 * own. Counts, totals and rates add up exactly (every thread measures the
 * same window length). Latency percentiles cannot be merged from
 * summaries, so the merged p50/p90/p99/max are the worst thread's: an upper
 * bound, equal to the truth with one thread (the default). The mean is
 * weighted by count, the minimum is the least.
 */
import type { DirectionThroughput, LatencySummary, LoadReport, TrafficTotals } from '@relayd/loadgen';

function sumRecords(records: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const record of records) for (const [k, v] of Object.entries(record)) out[k] = (out[k] ?? 0) + v;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

export function mergeLatency(summaries: readonly LatencySummary[]): LatencySummary {
  const present = summaries.filter((s) => s.count > 0);
  if (present.length === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const count = present.reduce((n, s) => n + s.count, 0);
  const max = (pick: (s: LatencySummary) => number) => Math.max(...present.map(pick));
  return {
    count,
    min: Math.min(...present.map((s) => s.min)),
    mean: Math.round((present.reduce((n, s) => n + s.mean * s.count, 0) / count) * 1000) / 1000,
    p50: max((s) => s.p50),
    p90: max((s) => s.p90),
    p99: max((s) => s.p99),
    max: max((s) => s.max),
  };
}

function sumTotals<T extends TrafficTotals>(list: readonly T[]): TrafficTotals {
  const keys: (keyof TrafficTotals)[] = [
    'relayCells',
    'dataCells',
    'dataBytes',
    'dropCells',
    'dropBytes',
    'extendCells',
  ];
  return Object.fromEntries(
    keys.map((k) => [k, list.reduce((n, t) => n + t[k], 0)]),
  ) as unknown as TrafficTotals;
}

function sumThroughput(list: readonly DirectionThroughput[]): DirectionThroughput {
  const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
  return {
    ...sumTotals(list),
    relayCellsPerSecond: round(
      list.reduce((n, t) => n + t.relayCellsPerSecond, 0),
      2,
    ),
    payloadCellsPerSecond: round(
      list.reduce((n, t) => n + t.payloadCellsPerSecond, 0),
      2,
    ),
    megabytesPerSecond: round(
      list.reduce((n, t) => n + t.megabytesPerSecond, 0),
      3,
    ),
  };
}

/** The reports of one run's threads as one report (a single report comes back unchanged). */
export function mergeLoadReports(reports: readonly LoadReport[]): LoadReport {
  if (reports.length === 0) throw new RangeError('mergeLoadReports needs at least one report');
  if (reports.length === 1) return reports[0]!;
  const first = reports[0]!;
  const sum = (pick: (r: LoadReport) => number) => reports.reduce((n, r) => n + pick(r), 0);
  const round2 = (v: number) => Math.round(v * 100) / 100;
  return {
    ...first,
    config: {
      ...first.config,
      connections: sum((r) => r.config.connections),
      circuitRate: sum((r) => r.config.circuitRate),
      maxCircuits: sum((r) => r.config.maxCircuits),
    },
    window: {
      ...first.window,
      measuredSeconds: Math.min(...reports.map((r) => r.window.measuredSeconds)),
      runSeconds: Math.max(...reports.map((r) => r.window.runSeconds)),
    },
    connections: {
      requested: sum((r) => r.connections.requested),
      opened: sum((r) => r.connections.opened),
      failed: sum((r) => r.connections.failed),
      closedEarly: sum((r) => r.connections.closedEarly),
      failures: sumRecords(reports.map((r) => r.connections.failures)),
      linkHandshakeMs: mergeLatency(reports.map((r) => r.connections.linkHandshakeMs)),
    },
    circuits: {
      launched: sum((r) => r.circuits.launched),
      created: sum((r) => r.circuits.created),
      built: sum((r) => r.circuits.built),
      finished: sum((r) => r.circuits.finished),
      failed: sum((r) => r.circuits.failed),
      unfinished: sum((r) => r.circuits.unfinished),
      measured: {
        created: sum((r) => r.circuits.measured.created),
        built: sum((r) => r.circuits.measured.built),
        finished: sum((r) => r.circuits.measured.finished),
        failed: sum((r) => r.circuits.measured.failed),
      },
      createsPerSecond: round2(sum((r) => r.circuits.createsPerSecond)),
      builtPerSecond: round2(sum((r) => r.circuits.builtPerSecond)),
      finishedPerSecond: round2(sum((r) => r.circuits.finishedPerSecond)),
      createMs: mergeLatency(reports.map((r) => r.circuits.createMs)),
      extendMs: mergeLatency(reports.map((r) => r.circuits.extendMs)),
      buildMs: mergeLatency(reports.map((r) => r.circuits.buildMs)),
      failures: sumRecords(reports.map((r) => r.circuits.failures)),
    },
    throughput: {
      forward: sumThroughput(reports.map((r) => r.throughput.forward)),
      backward: sumThroughput(reports.map((r) => r.throughput.backward)),
    },
    totals: {
      forward: sumTotals(reports.map((r) => r.totals.forward)),
      backward: sumTotals(reports.map((r) => r.totals.backward)),
      sendmes: {
        circuitSent: sum((r) => r.totals.sendmes.circuitSent),
        streamSent: sum((r) => r.totals.sendmes.streamSent),
        circuitReceived: sum((r) => r.totals.sendmes.circuitReceived),
        streamReceived: sum((r) => r.totals.sendmes.streamReceived),
      },
    },
    accounting: {
      downloadBytesExpected: sum((r) => r.accounting.downloadBytesExpected),
      downloadBytesVerified: sum((r) => r.accounting.downloadBytesVerified),
      uploadBytesExpected: sum((r) => r.accounting.uploadBytesExpected),
      uploadBytesAcknowledged: sum((r) => r.accounting.uploadBytesAcknowledged),
      complete: reports.every((r) => r.accounting.complete),
    },
    bridgeProcess: null,
    loadgenProcess: null,
  };
}
