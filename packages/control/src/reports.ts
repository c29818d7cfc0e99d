/**
 * Builds the control reports from what the supervisor already holds: the
 * workers' heartbeat statistics (@relayd/ipc), the worker pool's status, the
 * directory fetcher's status (@relayd/dir-cache) and the transports' states
 * (@relayd/transports). Pure: times come in as arguments.
 *
 * The worker pool is taken through small structural views (WorkerPoolView
 * and friends) that the supervisor's WorkerPoolStatus satisfies as it is,
 * so this package does not depend on the supervisor.
 *
 * Circuits by state come from the heartbeat: a circuit is "awaiting its
 * handshake" exactly while its CREATE waits in the create queue (the engine
 * opens it when the queue answers it), so awaitingHandshake is the queue
 * length (at most the circuit count) and the rest are open.
 */
import type { DirectoryFetcherStatus } from '@relayd/dir-cache';
import {
  type ConnectionsByTransport,
  sumConnectionsByTransport,
  totalStats,
  type WorkerStatsReport,
} from '@relayd/ipc';
import type { ServerTransportState } from '@relayd/transports';
import type { ProcessUsage } from './process-usage.js';
import type {
  CircuitCounts,
  CircuitsReport,
  ClientAddressCount,
  ConnectionsQuery,
  ConnectionsReport,
  DirectoryReport,
  TotalsReport,
  TransportConnections,
  TransportReport,
  WorkerReport,
  WorkerState,
  WorkersReport,
} from './target.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : iso(ms);
}

/** Sums of the serving workers' latest statistics. */
export function totalsReport(stats: readonly WorkerStatsReport[]): TotalsReport {
  const totals = totalStats(stats);
  return {
    connections: totals.connectionsReceived,
    channels: totals.channels,
    circuits: totals.circuits,
    bytesReceived: totals.bytesReceived,
    bytesSent: totals.bytesSent,
    onionskins: totals.onionskins,
  };
}

/** The directory's state at `nowMs`. */
export function directoryReport(status: DirectoryFetcherStatus, nowMs: number): DirectoryReport {
  const c = status.consensus;
  const nowSeconds = nowMs / 1000;
  const freshness: DirectoryReport['freshness'] =
    c === undefined
      ? 'none'
      : nowSeconds < c.freshUntil
        ? 'fresh'
        : nowSeconds < c.validUntil
          ? 'stale'
          : 'expired';
  const e = status.lastError;
  return {
    fetching: status.running,
    freshness,
    consensus:
      c === undefined
        ? null
        : {
            validAfter: iso(c.validAfter * 1000),
            freshUntil: iso(c.freshUntil * 1000),
            validUntil: iso(c.validUntil * 1000),
            obtainedAt: iso(c.obtainedAtMs),
            routers: c.routers,
            goodSignatures: c.goodSignatures,
          },
    nextFetchAt: isoOrNull(status.nextConsensusFetchAtMs),
    lastSuccessAt: isoOrNull(status.lastConsensusSuccessAtMs),
    consensusFailures: status.consensusFailures,
    certificates: status.certificates,
    microdescriptors: { ...status.microdescriptors },
    lastError:
      e === undefined
        ? null
        : `${e.kind}${e.authority === undefined ? '' : ` from ${e.authority}`}: ${e.message} (${iso(e.atMs)})`,
  };
}

export function transportReport(state: ServerTransportState): TransportReport {
  const base = { name: state.name, state: state.status, restarts: state.restarts };
  switch (state.status) {
    case 'running':
      return {
        ...base,
        pid: state.pid,
        listening:
          state.family === 'ipv6' ? `[${state.address}]:${state.port}` : `${state.address}:${state.port}`,
        error: null,
        retryAt: null,
      };
    case 'starting':
      return { ...base, pid: state.pid ?? null, listening: null, error: null, retryAt: null };
    case 'failed':
      return { ...base, pid: null, listening: null, error: state.error, retryAt: isoOrNull(state.retryAtMs) };
    case 'stopped':
      return { ...base, pid: null, listening: null, error: null, retryAt: null };
  }
}

/** A worker's circuits by state, from its heartbeat (see the module comment); zeros without one. */
export function circuitCounts(
  stats: Pick<WorkerStatsReport, 'circuits' | 'createQueueLength'> | undefined,
): CircuitCounts {
  if (stats === undefined) return { total: 0, awaitingHandshake: 0, open: 0 };
  const awaitingHandshake = Math.min(stats.createQueueLength, stats.circuits);
  return { total: stats.circuits, awaitingHandshake, open: stats.circuits - awaitingHandshake };
}

/** Per-transport counts as a list: vanilla first, then the pluggable transports by name. */
export function transportConnections(counts: ConnectionsByTransport): TransportConnections[] {
  return [
    { transport: 'vanilla', ...counts.vanilla },
    ...Object.entries(counts.pluggable).map(([transport, c]) => ({
      transport,
      connections: c.connections,
      linksAccepted: c.linksAccepted,
    })),
  ];
}

// ------------------------------------------------------------ the worker pool

/** What relayctl needs of one worker process (the supervisor's WorkerProcessStatus has it). */
export interface WorkerProcessView {
  readonly workerId: number;
  readonly generation: number;
  readonly pid: number | undefined;
  readonly state: WorkerState;
  readonly healthy: boolean;
  /** Monotonic ms. */
  readonly startedAtMs: number;
  /** Monotonic ms. */
  readonly lastHeartbeatMs: number | undefined;
  readonly openConnections: number;
  readonly stats: WorkerStatsReport | undefined;
}

export interface WorkerSlotView {
  readonly workerId: number;
  readonly current: WorkerProcessView | undefined;
  readonly replacement: WorkerProcessView | undefined;
  readonly deaths: number;
}

/** The supervisor's WorkerPoolStatus, as far as relayctl needs it. */
export interface WorkerPoolView {
  readonly slots: readonly WorkerSlotView[];
  readonly draining: readonly WorkerProcessView[];
  readonly handedOff: number;
  readonly refused: number;
}

/** The two clocks: wall time for the dates shown, monotonic time for the pool's readings. */
export interface ReportClocks {
  readonly nowMs: number;
  readonly monotonicMs: number;
}

/** CPU and memory of a process, or undefined when unknown (readProcessUsage). */
export type UsageOf = (pid: number) => ProcessUsage | undefined;

function workerReport(
  process: WorkerProcessView,
  role: WorkerReport['role'],
  deaths: number,
  clocks: ReportClocks,
  usageOf: UsageOf,
): WorkerReport {
  const usage = process.pid === undefined || process.state === 'exited' ? undefined : usageOf(process.pid);
  const ageMs = Math.max(0, clocks.monotonicMs - process.startedAtMs);
  const alive = process.state !== 'exited';
  return {
    workerId: process.workerId,
    role,
    pid: process.pid ?? null,
    state: process.state,
    healthy: process.healthy,
    generation: process.generation,
    restarts: Math.max(0, process.generation - 1),
    deaths,
    startedAt: iso(clocks.nowMs - ageMs),
    uptimeSeconds: alive ? Math.floor(ageMs / 1000) : null,
    lastHeartbeatAgeSeconds:
      process.lastHeartbeatMs === undefined
        ? null
        : Math.max(0, Math.floor((clocks.monotonicMs - process.lastHeartbeatMs) / 1000)),
    connections: process.openConnections,
    connectionsTotal: process.stats?.connectionsReceived ?? 0,
    channels: process.stats?.channels ?? 0,
    circuits: process.stats?.circuits ?? 0,
    cpuSeconds: usage?.cpuSeconds ?? null,
    rssBytes: usage?.rssBytes ?? null,
  };
}

/**
 * The pool view of workers running inside the supervisor (no worker
 * processes): one serving "process" per worker, from its statistics.
 */
export function inProcessPoolView(stats: readonly WorkerStatsReport[], monotonicMs: number): WorkerPoolView {
  return {
    slots: stats.map((s) => ({
      workerId: s.workerId,
      current: {
        workerId: s.workerId,
        generation: 1,
        pid: s.pid,
        state: 'ready',
        healthy: true,
        startedAtMs: monotonicMs - s.uptimeMs,
        lastHeartbeatMs: monotonicMs,
        openConnections: s.channels + s.pendingHandshakes,
        stats: s,
      },
      replacement: undefined,
      deaths: 0,
    })),
    draining: [],
    handedOff: 0,
    refused: 0,
  };
}

/** Every worker process of the pool: each slot's serving process and replacement, then the draining ones. */
export function workersReport(
  pool: WorkerPoolView,
  clocks: ReportClocks,
  usageOf: UsageOf,
  mode: WorkersReport['mode'] = 'forked',
): WorkersReport {
  const workers: WorkerReport[] = [];
  for (const slot of pool.slots) {
    if (slot.current) workers.push(workerReport(slot.current, 'serving', slot.deaths, clocks, usageOf));
    if (slot.replacement)
      workers.push(workerReport(slot.replacement, 'replacement', slot.deaths, clocks, usageOf));
  }
  for (const process of pool.draining) workers.push(workerReport(process, 'draining', 0, clocks, usageOf));
  return { mode, workers, handedOff: pool.handedOff, refused: pool.refused };
}

/** The worker processes with statistics, in workersReport's order. */
function processesWithStats(pool: WorkerPoolView): WorkerProcessView[] {
  const out: WorkerProcessView[] = [];
  for (const slot of pool.slots) {
    for (const p of [slot.current, slot.replacement]) if (p?.stats && p.state !== 'exited') out.push(p);
  }
  for (const p of pool.draining) if (p.stats && p.state !== 'exited') out.push(p);
  return out;
}

export function circuitsReport(pool: WorkerPoolView): CircuitsReport {
  const byWorker = processesWithStats(pool).map((p) => ({
    workerId: p.workerId,
    pid: p.pid ?? null,
    ...circuitCounts(p.stats),
  }));
  const total = byWorker.reduce(
    (sum, w) => ({
      total: sum.total + w.total,
      awaitingHandshake: sum.awaitingHandshake + w.awaitingHandshake,
      open: sum.open + w.open,
    }),
    { total: 0, awaitingHandshake: 0, open: 0 },
  );
  return { total, byWorker };
}

/** Client addresses and the connections each holds (the balancer's per-address counts). */
export type ClientAddressSource = () => Iterable<readonly [string, number]>;

/**
 * Connections by transport and worker. With an address source, the number
 * of distinct client addresses, and — only when the query includes them —
 * the addresses themselves, most connections first, at most `query.limit`.
 */
export function connectionsReport(
  pool: WorkerPoolView,
  query: ConnectionsQuery,
  addresses: ClientAddressSource | undefined,
): ConnectionsReport {
  const processes = processesWithStats(pool);
  const byWorker = processes.map((p) => ({
    workerId: p.workerId,
    pid: p.pid ?? null,
    open: p.openConnections,
    channels: p.stats?.channels ?? 0,
    byTransport: transportConnections(p.stats!.connectionsByTransport),
  }));
  const byTransport = transportConnections(
    sumConnectionsByTransport(processes.map((p) => p.stats!.connectionsByTransport)),
  );
  let clientAddresses: ClientAddressCount[] | null = null;
  let clientAddressCount: number | null = null;
  if (addresses !== undefined) {
    const all = [...addresses()].filter(([, n]) => n > 0);
    clientAddressCount = all.length;
    if (query.includeClientAddresses) {
      clientAddresses = all
        .sort(([a, n], [b, m]) => m - n || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, query.limit)
        .map(([address, connections]) => ({ address, connections }));
    }
  }
  return { byTransport, byWorker, clientAddresses, clientAddressCount };
}
