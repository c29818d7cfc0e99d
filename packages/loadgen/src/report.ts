/**
 * The result of a load run, as JSON-safe data (what `--json` writes and a
 * bench runner reads) and as a human table. Rates are over the measured
 * window (after the warm-up, until the end of the duration or the last
 * circuit, whichever came first); totals and the accounting check cover
 * the whole run.
 */
import { toBase64Unpadded, toHex } from '@relayd/common';
import type { LoadOptions } from './options.js';
import { EMPTY_LATENCY, type LatencySummary } from './stats/latency.js';
import type { LoadStats, TrafficCounts } from './stats/load-stats.js';
import type { ProcessUsageSummary } from './stats/proc-sampler.js';

export const LOAD_REPORT_VERSION = 1;

/** Above this mean CPU (percent of one core) the load generator is likely the bottleneck: Node runs it on one thread. */
export const LOADGEN_SATURATED_CPU_PERCENT = 90;

export interface TrafficTotals {
  readonly relayCells: number;
  readonly dataCells: number;
  readonly dataBytes: number;
  readonly dropCells: number;
  readonly dropBytes: number;
  readonly extendCells: number;
}

/** One direction over the measured window. "Payload" is DATA plus DROP bodies: the load itself. */
export interface DirectionThroughput extends TrafficTotals {
  readonly relayCellsPerSecond: number;
  readonly payloadCellsPerSecond: number;
  /** Payload bytes per second, in MB (10^6 bytes). */
  readonly megabytesPerSecond: number;
}

export interface LoadReport {
  readonly version: typeof LOAD_REPORT_VERSION;
  readonly startedAt: string;
  readonly config: {
    readonly target: string;
    readonly fingerprint: string;
    readonly ed25519Identity: string | null;
    readonly ntorOnionKeySource: 'given' | 'descriptor' | 'not-needed';
    readonly nextHop: string | null;
    readonly connections: number;
    readonly circuitsPerConnection: number;
    readonly circuitRate: number;
    readonly handshake: string;
    readonly extendHandshake: string | null;
    readonly downloadBytes: number;
    readonly uploadBytes: number;
    readonly uploadCells: string;
    readonly maxCircuits: number;
  };
  readonly window: {
    readonly durationSeconds: number;
    readonly warmupSeconds: number;
    /** The span rates are computed over. */
    readonly measuredSeconds: number;
    /** From the first circuit to the end of the drain. */
    readonly runSeconds: number;
  };
  readonly connections: {
    readonly requested: number;
    readonly opened: number;
    readonly failed: number;
    readonly closedEarly: number;
    readonly failures: Record<string, number>;
    readonly linkHandshakeMs: LatencySummary;
  };
  readonly circuits: {
    readonly launched: number;
    readonly created: number;
    readonly built: number;
    readonly finished: number;
    readonly failed: number;
    readonly unfinished: number;
    readonly measured: {
      readonly created: number;
      readonly built: number;
      readonly finished: number;
      readonly failed: number;
    };
    /** First hops answered per second (CREATED_FAST / CREATED2). */
    readonly createsPerSecond: number;
    /** Circuits with every hop built per second. */
    readonly builtPerSecond: number;
    readonly finishedPerSecond: number;
    /** CREATE sent → CREATED received. */
    readonly createMs: LatencySummary;
    /** EXTEND2 sent → EXTENDED2 received. */
    readonly extendMs: LatencySummary;
    /** CREATE sent → last hop answered. */
    readonly buildMs: LatencySummary;
    /** Failed circuits by "<phase>/<what>". */
    readonly failures: Record<string, number>;
  };
  readonly throughput: { readonly forward: DirectionThroughput; readonly backward: DirectionThroughput };
  readonly totals: {
    readonly forward: TrafficTotals;
    readonly backward: TrafficTotals;
    readonly sendmes: {
      readonly circuitSent: number;
      readonly streamSent: number;
      readonly circuitReceived: number;
      readonly streamReceived: number;
    };
  };
  /**
   * The correctness check: every finished circuit verified all its bytes.
   * `complete` is true when nothing failed or was left unfinished and the
   * verified byte counts are exactly finished circuits × bytes per circuit.
   */
  readonly accounting: {
    readonly downloadBytesExpected: number;
    readonly downloadBytesVerified: number;
    readonly uploadBytesExpected: number;
    readonly uploadBytesAcknowledged: number;
    readonly complete: boolean;
  };
  readonly bridgeProcess: ProcessUsageSummary | null;
  readonly loadgenProcess: ProcessUsageSummary | null;
}

export interface ReportInputs {
  readonly options: LoadOptions;
  readonly stats: LoadStats;
  readonly startedAtMs: number;
  readonly ed25519Identity: Uint8Array | undefined;
  readonly ntorOnionKeySource: 'given' | 'descriptor' | 'not-needed';
  /** Monotonic: first launch, window start and end, end of the drain. */
  readonly runStartMs: number;
  readonly measuredFromMs: number;
  readonly measuredToMs: number;
  readonly runEndMs: number;
  readonly bridgeProcess: ProcessUsageSummary | undefined;
  readonly loadgenProcess: ProcessUsageSummary | undefined;
}

function totals(c: TrafficCounts): TrafficTotals {
  return {
    relayCells: c.relayCells,
    dataCells: c.dataCells,
    dataBytes: c.dataBytes,
    dropCells: c.dropCells,
    dropBytes: c.dropBytes,
    extendCells: c.extendCells,
  };
}

function perSecond(count: number, seconds: number): number {
  return seconds > 0 ? Math.round((count / seconds) * 100) / 100 : 0;
}

function throughput(c: TrafficCounts, seconds: number): DirectionThroughput {
  return {
    ...totals(c),
    relayCellsPerSecond: perSecond(c.relayCells, seconds),
    payloadCellsPerSecond: perSecond(c.dataCells + c.dropCells, seconds),
    megabytesPerSecond:
      seconds > 0 ? Math.round(((c.dataBytes + c.dropBytes) / 1e6 / seconds) * 1000) / 1000 : 0,
  };
}

function record(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map.entries()].sort((a, b) => b[1] - a[1]));
}

export function buildReport(inputs: ReportInputs): LoadReport {
  const { options, stats } = inputs;
  const measuredSeconds = Math.max(0, (inputs.measuredToMs - inputs.measuredFromMs) / 1000);
  const c = stats.circuits;
  const m = stats.measuredCircuits;
  const downloadBytesExpected = c.finished * options.downloadBytes;
  const uploadBytesExpected = c.finished * options.uploadBytes;
  const hop = options.nextHop;
  return {
    version: LOAD_REPORT_VERSION,
    startedAt: new Date(inputs.startedAtMs).toISOString(),
    config: {
      target: `${options.target.address}:${options.target.port}`,
      fingerprint: toHex(options.target.rsaIdentity).toUpperCase(),
      ed25519Identity: inputs.ed25519Identity ? toBase64Unpadded(inputs.ed25519Identity) : null,
      ntorOnionKeySource: inputs.ntorOnionKeySource,
      nextHop: hop ? `${hop.address}:${hop.port}` : null,
      connections: options.connections,
      circuitsPerConnection: options.circuitsPerConnection,
      circuitRate: options.circuitRate,
      handshake: options.handshake,
      extendHandshake: hop ? options.extendHandshake : null,
      downloadBytes: options.downloadBytes,
      uploadBytes: options.uploadBytes,
      uploadCells: options.uploadCells,
      maxCircuits: options.maxCircuits,
    },
    window: {
      durationSeconds: options.durationMs / 1000,
      warmupSeconds: options.warmupMs / 1000,
      measuredSeconds: Math.round(measuredSeconds * 1000) / 1000,
      runSeconds: Math.round(inputs.runEndMs - inputs.runStartMs) / 1000,
    },
    connections: {
      requested: options.connections,
      opened: stats.connections.opened,
      failed: stats.connections.failed,
      closedEarly: stats.connections.closedEarly,
      failures: record(stats.connectionFailures),
      linkHandshakeMs: stats.linkLatency.summary(),
    },
    circuits: {
      launched: c.launched,
      created: c.created,
      built: c.built,
      finished: c.finished,
      failed: c.failed,
      unfinished: c.unfinished,
      measured: { created: m.created, built: m.built, finished: m.finished, failed: m.failed },
      createsPerSecond: perSecond(m.created, measuredSeconds),
      builtPerSecond: perSecond(m.built, measuredSeconds),
      finishedPerSecond: perSecond(m.finished, measuredSeconds),
      createMs: stats.createLatency.summary(),
      extendMs: hop ? stats.extendLatency.summary() : EMPTY_LATENCY,
      buildMs: stats.buildLatency.summary(),
      failures: record(stats.failures),
    },
    throughput: {
      forward: throughput(stats.measured.forward, measuredSeconds),
      backward: throughput(stats.measured.backward, measuredSeconds),
    },
    totals: {
      forward: totals(stats.total.forward),
      backward: totals(stats.total.backward),
      sendmes: { ...stats.sendmes },
    },
    accounting: {
      downloadBytesExpected,
      downloadBytesVerified: stats.downloadBytesVerified,
      uploadBytesExpected,
      uploadBytesAcknowledged: stats.uploadBytesAcknowledged,
      complete:
        c.failed === 0 &&
        c.unfinished === 0 &&
        c.finished === c.launched &&
        stats.downloadBytesVerified === downloadBytesExpected &&
        stats.uploadBytesAcknowledged === uploadBytesExpected,
    },
    bridgeProcess: inputs.bridgeProcess ?? null,
    loadgenProcess: inputs.loadgenProcess ?? null,
  };
}

// ---------------------------------------------------------------- the table

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [
    pad(header, widths),
    pad(
      widths.map((w) => '-'.repeat(w)),
      widths,
    ),
    ...rows.map((r) => pad(r, widths)),
  ];
}

function n(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function latencyRow(name: string, l: LatencySummary): string[] {
  return [name, n(l.count), n(l.p50), n(l.p90), n(l.p99), n(l.max)];
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The report as the table the CLI prints. */
export function formatReport(report: LoadReport): string {
  const { config, window, circuits, connections, throughput: t, accounting } = report;
  const lines: string[] = [];
  lines.push(
    `relayd load generator → ${config.target} (${config.fingerprint})${config.nextHop ? ` → sink ${config.nextHop}` : ''}`,
    `${config.connections} connection(s) × ${config.circuitsPerConnection} circuit(s), ${config.handshake}` +
      `${config.extendHandshake ? ` + EXTEND2 ${config.extendHandshake}` : ''}, ` +
      `${n(config.downloadBytes)} B down / ${n(config.uploadBytes)} B up (${config.uploadCells}) per circuit, ` +
      `rate ${config.circuitRate > 0 ? `${n(config.circuitRate)}/s` : 'unlimited'}`,
    `measured ${window.measuredSeconds} s (warm-up ${window.warmupSeconds} s, run ${window.runSeconds} s)`,
    '',
  );
  lines.push(
    ...table(
      ['circuits', 'launched', 'created', 'built', 'finished', 'failed', 'unfinished'],
      [
        [
          'whole run',
          n(circuits.launched),
          n(circuits.created),
          n(circuits.built),
          n(circuits.finished),
          n(circuits.failed),
          n(circuits.unfinished),
        ],
        [
          'per second (measured)',
          '',
          n(circuits.createsPerSecond),
          n(circuits.builtPerSecond),
          n(circuits.finishedPerSecond),
          '',
          '',
        ],
      ],
    ),
    '',
  );
  lines.push(
    ...table(
      ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'max'],
      [
        latencyRow('link handshake', connections.linkHandshakeMs),
        latencyRow('create (first hop)', circuits.createMs),
        ...(config.nextHop ? [latencyRow('extend (next hop)', circuits.extendMs)] : []),
        latencyRow('build (all hops)', circuits.buildMs),
      ],
    ),
    '',
  );
  lines.push(
    ...table(
      ['throughput (measured)', 'relay cells/s', 'payload cells/s', 'MB/s', 'payload bytes'],
      [
        [
          'forward (to sink)',
          n(t.forward.relayCellsPerSecond),
          n(t.forward.payloadCellsPerSecond),
          n(t.forward.megabytesPerSecond),
          n(t.forward.dataBytes + t.forward.dropBytes),
        ],
        [
          'backward (from sink)',
          n(t.backward.relayCellsPerSecond),
          n(t.backward.payloadCellsPerSecond),
          n(t.backward.megabytesPerSecond),
          n(t.backward.dataBytes + t.backward.dropBytes),
        ],
      ],
    ),
    '',
  );
  const processRows: string[][] = [];
  for (const [name, p] of [
    ['bridge', report.bridgeProcess],
    ['load generator', report.loadgenProcess],
  ] as const) {
    if (!p) continue;
    processRows.push([
      `${name} (pid ${p.pid})`,
      n(p.cpuPercentMean),
      n(p.cpuPercentMax),
      mib(p.rssBytesMean),
      mib(p.rssBytesMax),
      p.exited ? 'exited' : '',
    ]);
  }
  if (processRows.length > 0) {
    lines.push(...table(['process', 'CPU % mean', 'CPU % max', 'RSS mean', 'RSS max', ''], processRows), '');
  }
  if (report.loadgenProcess && report.loadgenProcess.cpuPercentMean >= LOADGEN_SATURATED_CPU_PERCENT) {
    lines.push(
      'warning: the load generator used a whole core; the rates above may measure it, not the bridge',
      '         (run the sink with "loadgen sink" and split the load over several load generator processes)',
      '',
    );
  }
  lines.push(
    `accounting: ${n(accounting.downloadBytesVerified)}/${n(accounting.downloadBytesExpected)} B down verified, ` +
      `${n(accounting.uploadBytesAcknowledged)}/${n(accounting.uploadBytesExpected)} B up acknowledged` +
      ` — ${accounting.complete ? 'complete' : 'INCOMPLETE'}`,
  );
  const failures = [
    ...Object.entries(connections.failures).map(([k, v]) => `  connection ${k}: ${v}`),
    ...Object.entries(circuits.failures).map(([k, v]) => `  circuit ${k}: ${v}`),
  ];
  if (failures.length > 0) lines.push('failures:', ...failures);
  return `${lines.join('\n')}\n`;
}
