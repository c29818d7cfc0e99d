/**
 * What the supervisor process exposes, in its own registry, besides the
 * workers' aggregated metrics: its worker processes, the balancer, the
 * managed pluggable transports, the directory documents and the keys —
 * all read at scrape time from the supervisor's status — and its directory
 * fetcher's counts (a sink).
 *
 * The status is described here by the fields used (structural views of
 * @relayd/supervisor's `SupervisorStatus`, @relayd/balancer's
 * `BalancerStats`, @relayd/transports' `ServerTransportState`), so
 * `() => supervisor.status()` is a source as it is.
 *
 * Totals the supervisor reads from sources that restart — a worker
 * process's handoffs, a balancer backend's connections, which start again
 * from zero when the process is replaced or the backend re-registered —
 * go through CumulativeCounts, so the exposed counters never go down.
 */
import { type Clock, systemClock } from '@relayd/common';
import { CumulativeCounts, type CumulativeReading } from './cumulative-counts.js';
import { DirectoryFetcherMetricsSink } from './directory-metrics.js';
import {
  type LabelledValue,
  labelValue,
  type MetricDefinition,
  type MetricsRegistry,
  scrapedCounter,
  scrapedGauge,
} from './metric-creator.js';
import { TOR_RELAY_METRICS } from './tor-relay-metrics.js';

/** One worker process (supervisor `WorkerProcessStatus`). */
export interface WorkerProcessView {
  readonly workerId: number;
  readonly generation: number;
  readonly state: string;
  readonly healthy: boolean;
  /** Connections handed to this process. */
  readonly handedOff: number;
}

/** supervisor `WorkerPoolStatus`. */
export interface WorkerPoolView {
  readonly slots: ReadonlyArray<{
    readonly workerId: number;
    readonly current: WorkerProcessView | undefined;
    readonly replacement: WorkerProcessView | undefined;
    /** Processes of this slot that died unasked. */
    readonly deaths: number;
  }>;
  readonly draining: readonly WorkerProcessView[];
  readonly handedOff: number;
  /** Connections closed because no worker was healthy. */
  readonly refused: number;
}

/** balancer `FrontStats`. */
export interface FrontView {
  readonly front: 'ext-or' | 'vanilla';
  readonly connections: number;
  readonly pending: number;
  readonly deniedNoBackend: number;
  readonly failed: Readonly<Record<string, number>>;
}

/** balancer `BackendStats`. */
export interface BackendView {
  readonly id: string;
  readonly healthy: boolean;
  readonly active: number;
  readonly connections: number;
  readonly failures: number;
  readonly checksFailed: number;
}

/** balancer `ProxyStats`. */
export interface ProxyView {
  readonly unreachable: number;
  readonly backendDenied: number;
  readonly sourcePortsExhausted: number;
  /** Proxied connections open now by the source address they were made from (BalancerSourceAddresses). */
  readonly openBySourceAddress: Readonly<Record<string, number>>;
}

/** balancer `BalancerStats`. */
export interface BalancerView {
  readonly fronts: readonly FrontView[];
  readonly backends: readonly BackendView[];
  readonly proxy: ProxyView | undefined;
  readonly addressLimitRefusals: number;
}

/** transports `ServerTransportState`. */
export interface TransportView {
  readonly name: string;
  readonly status: string;
  readonly restarts: number;
}

/** dir-cache `DirectoryFetcherStatus`. */
export interface DirectoryStatusView {
  readonly consensus: { readonly ageSeconds: number } | undefined;
  readonly consensusFailures: number;
  readonly microdescriptors: { readonly held: number; readonly listed: number; readonly missing: number };
}

/** supervisor `SupervisorStatus`. */
export interface SupervisorStatusView {
  /** The own descriptor's `published` time, seconds since the epoch. */
  readonly descriptorPublished: number;
  readonly pool: WorkerPoolView | undefined;
  readonly directory: DirectoryStatusView;
  readonly balancer: BalancerView | undefined;
  readonly transports: readonly TransportView[];
}

/** The key times the supervisor's key store knows (KeyStore). */
export interface KeyTimesView {
  /** When the Ed25519 signing certificate expires (ms since the epoch). */
  readonly signingCertExpiresMs: number;
  /** When the current ntor onion key was made (ms since the epoch), if known. */
  readonly onionKeyCreatedMs: number | undefined;
}

export interface SupervisorMetricsSources {
  readonly status: () => SupervisorStatusView;
  readonly keys?: () => KeyTimesView;
}

/** The `backend` label of balancer failures that no one backend caused. */
export const NO_BACKEND = 'none';
export const WORKER_STATES = ['starting', 'ready', 'draining', 'stopping', 'exited'] as const;

/** The `backend` label of a worker slot: the id the supervisor gives its backend in proxy mode too. */
export function workerBackendLabel(workerId: number): string {
  return `worker ${workerId}`;
}

export const SUPERVISOR_METRICS = {
  workerProcesses: {
    name: 'relayd_worker_processes',
    help: 'Worker processes by state',
    labelNames: ['state'],
  },
  workerHealthy: {
    name: 'relayd_worker_healthy',
    help: "1 if the worker slot's process is ready and heard from recently (it gets new connections), else 0",
    labelNames: ['worker'],
  },
  workerRestarts: {
    name: 'relayd_worker_restarts_total',
    help: 'Processes that replaced the first one of a worker slot (after a death or in a rolling restart)',
    labelNames: ['worker'],
  },
  workerDeaths: {
    name: 'relayd_worker_deaths_total',
    help: 'Worker processes that died unasked (crash, kill, out of memory)',
    labelNames: ['worker'],
  },
  handedOff: {
    name: 'relayd_connections_handed_off_total',
    help: 'Connections the supervisor handed to a worker process with their socket',
    labelNames: [],
  },
  balancerChoices: {
    name: 'relayd_balancer_choices_total',
    help: 'Connections the balancer gave to a backend (a worker slot "worker N", or a configured backend)',
    labelNames: ['backend'],
  },
  balancerFailures: {
    name: 'relayd_balancer_failures_total',
    help: 'Balancer failures by backend ("none": no backend to blame) and reason',
    labelNames: ['backend', 'reason'],
  },
  backendUp: {
    name: 'relayd_balancer_backend_up',
    help: '1 if the balancer considers the backend healthy, else 0',
    labelNames: ['backend'],
  },
  backendConnections: {
    name: 'relayd_balancer_backend_connections',
    help: 'Connections proxied through the backend now',
    labelNames: ['backend'],
  },
  frontConnections: {
    name: 'relayd_front_connections_total',
    help: 'TCP connections accepted by the balancer fronts, by front ("ext_or": Extended ORPort, "vanilla": ORPort)',
    labelNames: ['front'],
  },
  extOrPending: {
    name: 'relayd_ext_orport_handshakes_pending',
    help: 'Connections in their Extended ORPort exchange now',
    labelNames: [],
  },
  extOrFailures: {
    name: 'relayd_ext_orport_handshake_failures_total',
    help: 'Extended ORPort exchanges that failed, by error (client_hash_mismatch, bad_useraddr, handshake_timeout, ...)',
    labelNames: ['reason'],
  },
  internalConnections: {
    name: 'relayd_internal_connections',
    help: 'Connections proxied to loopback backends open now, by the source address they were made from',
    labelNames: ['source_address'],
  },
  ptUp: {
    name: 'relayd_pt_process_up',
    help: '1 if the managed pluggable transport is running and serving, else 0',
    labelNames: ['transport'],
  },
  ptRestarts: {
    name: 'relayd_pt_restarts_total',
    help: 'Relaunches of the managed proxy providing the pluggable transport',
    labelNames: ['transport'],
  },
  documentAge: {
    name: 'relayd_directory_document_age_seconds',
    help: "Age of a directory document: the consensus since its valid-after, the bridge's own descriptor since its published time",
    labelNames: ['document'],
  },
  consensusFailures: {
    name: 'relayd_directory_consensus_failures',
    help: 'Consensus fetches that failed since the last one that succeeded',
    labelNames: [],
  },
  microdescriptors: {
    name: 'relayd_directory_microdescriptors',
    help: 'Microdescriptors: listed in the current consensus, held, and listed but missing',
    labelNames: ['state'],
  },
  onionKeyAge: {
    name: 'relayd_onion_key_age_seconds',
    help: 'Time since the current ntor onion key was made',
    labelNames: [],
  },
} as const satisfies Record<string, MetricDefinition<string>>;

function processesOf(pool: WorkerPoolView): WorkerProcessView[] {
  const out: WorkerProcessView[] = [];
  for (const slot of pool.slots) {
    if (slot.current) out.push(slot.current);
    if (slot.replacement) out.push(slot.replacement);
  }
  out.push(...pool.draining);
  return out;
}

/** Declares the supervisor's metrics; call `setSources` once the supervisor exists. */
export function createSupervisorMetrics(registry: MetricsRegistry, options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  let sources: SupervisorMetricsSources | undefined;
  // One status per scrape (see worker-metrics.ts): read by the first collect, shared by the rest.
  let snapshot: SupervisorStatusView | undefined;
  const status = (): SupervisorStatusView | undefined => {
    if (snapshot === undefined && sources !== undefined) {
      snapshot = sources.status();
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };
  const pool = () => status()?.pool;
  const balancer = () => status()?.balancer;

  const directoryFetcher = new DirectoryFetcherMetricsSink(registry);

  // Worker processes.
  scrapedGauge(registry, SUPERVISOR_METRICS.workerProcesses, () => {
    const p = pool();
    if (!p) return [];
    const counts = new Map<string, number>(WORKER_STATES.map((s) => [s, 0]));
    for (const process of processesOf(p)) counts.set(process.state, (counts.get(process.state) ?? 0) + 1);
    return [...counts].map(([state, n]) => [{ state }, n] as const);
  });
  scrapedGauge(registry, SUPERVISOR_METRICS.workerHealthy, () =>
    (pool()?.slots ?? []).map((slot) => [
      { worker: String(slot.workerId) },
      slot.current?.healthy === true ? 1 : 0,
    ]),
  );
  const restarts = new CumulativeCounts<'worker'>(['worker']);
  scrapedCounter(registry, SUPERVISOR_METRICS.workerRestarts, () =>
    restarts.update(
      (pool()?.slots ?? []).map((slot) => ({
        key: String(slot.workerId),
        labels: { worker: String(slot.workerId) },
        value: Math.max(slot.current?.generation ?? 1, slot.replacement?.generation ?? 1) - 1,
      })),
    ),
  );
  const deaths = new CumulativeCounts<'worker'>(['worker']);
  scrapedCounter(registry, SUPERVISOR_METRICS.workerDeaths, () =>
    deaths.update(
      (pool()?.slots ?? []).map((slot) => ({
        key: String(slot.workerId),
        labels: { worker: String(slot.workerId) },
        value: slot.deaths,
      })),
    ),
  );
  scrapedCounter(registry, SUPERVISOR_METRICS.handedOff, () => {
    const p = pool();
    return p ? [[{}, p.handedOff]] : [];
  });

  // The balancer: worker processes chosen for a handoff, and proxy-mode backends.
  const choices = new CumulativeCounts<'backend'>(['backend']);
  scrapedCounter(registry, SUPERVISOR_METRICS.balancerChoices, () => {
    const readings: CumulativeReading<'backend'>[] = [];
    const p = pool();
    for (const process of p ? processesOf(p) : []) {
      readings.push({
        key: `process ${process.workerId}/${process.generation}`,
        labels: { backend: workerBackendLabel(process.workerId) },
        value: process.handedOff,
      });
    }
    for (const backend of balancer()?.backends ?? []) {
      readings.push({
        key: `backend ${backend.id}`,
        labels: { backend: backend.id },
        value: backend.connections,
      });
    }
    return choices.update(readings);
  });
  const failures = new CumulativeCounts<'backend' | 'reason'>(['backend', 'reason']);
  scrapedCounter(registry, SUPERVISOR_METRICS.balancerFailures, () => {
    const readings: CumulativeReading<'backend' | 'reason'>[] = [];
    const add = (key: string, backend: string, reason: string, value: number) =>
      readings.push({ key: `${key} ${reason}`, labels: { backend, reason }, value });
    const p = pool();
    if (p) add('pool', NO_BACKEND, 'no_healthy_worker', p.refused);
    const b = balancer();
    if (b) {
      for (const backend of b.backends) {
        add(`backend ${backend.id}`, backend.id, 'connect_failed', backend.failures);
        add(`backend ${backend.id}`, backend.id, 'health_check_failed', backend.checksFailed);
      }
      b.fronts.forEach((front, i) => {
        add(`front ${i}`, NO_BACKEND, 'no_healthy_backend', front.deniedNoBackend);
      });
      if (b.proxy) {
        add('proxy', NO_BACKEND, 'unreachable', b.proxy.unreachable);
        add('proxy', NO_BACKEND, 'backend_denied', b.proxy.backendDenied);
        add('proxy', NO_BACKEND, 'source_ports_exhausted', b.proxy.sourcePortsExhausted);
      }
    }
    return failures.update(readings);
  });
  scrapedGauge(registry, SUPERVISOR_METRICS.backendUp, () =>
    (balancer()?.backends ?? []).map((b) => [{ backend: b.id }, b.healthy ? 1 : 0]),
  );
  scrapedGauge(registry, SUPERVISOR_METRICS.backendConnections, () =>
    (balancer()?.backends ?? []).map((b) => [{ backend: b.id }, b.active]),
  );
  const frontConnections = new CumulativeCounts<'front'>(['front']);
  scrapedCounter(registry, SUPERVISOR_METRICS.frontConnections, () =>
    frontConnections.update(
      (balancer()?.fronts ?? []).map((f, i) => ({
        key: `front ${i}`,
        labels: { front: labelValue(f.front) },
        value: f.connections,
      })),
    ),
  );
  scrapedGauge(registry, SUPERVISOR_METRICS.extOrPending, () => {
    const b = balancer();
    if (!b) return [];
    return [[{}, b.fronts.filter((f) => f.front === 'ext-or').reduce((n, f) => n + f.pending, 0)]];
  });
  const extOrFailures = new CumulativeCounts<'reason'>(['reason']);
  scrapedCounter(registry, SUPERVISOR_METRICS.extOrFailures, () => {
    const readings: CumulativeReading<'reason'>[] = [];
    for (const [i, front] of (balancer()?.fronts ?? []).entries()) {
      for (const [code, n] of Object.entries(front.failed)) {
        readings.push({ key: `front ${i} ${code}`, labels: { reason: labelValue(code) }, value: n });
      }
    }
    return extOrFailures.update(readings);
  });
  scrapedGauge(registry, SUPERVISOR_METRICS.internalConnections, () =>
    Object.entries(balancer()?.proxy?.openBySourceAddress ?? {}).map(([address, n]) => [
      { source_address: address },
      n,
    ]),
  );
  scrapedCounter(registry, TOR_RELAY_METRICS.dos, () => {
    const b = balancer();
    return b ? [[{ type: 'concurrent_conn_rejected' }, b.addressLimitRefusals]] : [];
  });

  // Pluggable transports.
  scrapedGauge(registry, SUPERVISOR_METRICS.ptUp, () =>
    (status()?.transports ?? []).map((t) => [{ transport: t.name }, t.status === 'running' ? 1 : 0]),
  );
  const ptRestarts = new CumulativeCounts<'transport'>(['transport']);
  scrapedCounter(registry, SUPERVISOR_METRICS.ptRestarts, () =>
    ptRestarts.update(
      (status()?.transports ?? []).map((t) => ({
        key: t.name,
        labels: { transport: t.name },
        value: t.restarts,
      })),
    ),
  );

  // Directory documents.
  scrapedGauge(registry, SUPERVISOR_METRICS.documentAge, () => {
    const s = status();
    if (!s) return [];
    const out: LabelledValue<'document'>[] = [];
    if (s.directory.consensus) out.push([{ document: 'consensus' }, s.directory.consensus.ageSeconds]);
    if (s.descriptorPublished > 0) {
      out.push([{ document: 'server_descriptor' }, clock.nowMs() / 1000 - s.descriptorPublished]);
    }
    return out;
  });
  scrapedGauge(registry, SUPERVISOR_METRICS.consensusFailures, () => {
    const s = status();
    return s ? [[{}, s.directory.consensusFailures]] : [];
  });
  scrapedGauge(registry, SUPERVISOR_METRICS.microdescriptors, () => {
    const m = status()?.directory.microdescriptors;
    return m
      ? [
          [{ state: 'listed' }, m.listed],
          [{ state: 'held' }, m.held],
          [{ state: 'missing' }, m.missing],
        ]
      : [];
  });

  // Keys.
  scrapedGauge(registry, TOR_RELAY_METRICS.signingCertExpiry, () => {
    const keys = sources?.keys?.();
    return keys ? [[{}, Math.floor(keys.signingCertExpiresMs / 1000)]] : [];
  });
  scrapedGauge(registry, SUPERVISOR_METRICS.onionKeyAge, () => {
    const created = sources?.keys?.().onionKeyCreatedMs;
    return created === undefined ? [] : [[{}, Math.max(0, (clock.nowMs() - created) / 1000)]];
  });

  return {
    /** `DirectoryFetcher`'s `metrics`. */
    directoryFetcher,
    /** Where the scraped values come from: `{ status: () => supervisor.status(), keys: () => … }`. */
    setSources(next: SupervisorMetricsSources): void {
      sources = next;
    },
  };
}

export type SupervisorMetrics = ReturnType<typeof createSupervisorMetrics>;
