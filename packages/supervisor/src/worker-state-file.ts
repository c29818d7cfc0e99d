/**
 * `DataDirectory/workers.json`: the worker processes as the supervisor
 * sees them, for operators and scripts (which PID serves which slot, who
 * is healthy, who died and when the replacement is due, and each worker's
 * last heartbeat statistics). relayd's own file, rewritten atomically
 * (mode 0600) when the pool changes, at most once a second. Times are ISO
 * 8601 (UTC). Shape (version 1):
 *
 *   { "version": 1, "written": "…", "supervisorPid": 4242,
 *     "handedOff": 120, "refused": 0,
 *     "totals": { "workers": 3, "channels": …, "circuits": …, "onionskins": {…},
 *                 "connectionsByTransport": { "vanilla": {…}, "pluggable": { "obfs4": {…} } }, … },
 *     "workers": [ { "workerId": 1, "pid": 4250, "generation": 1, "state": "ready",
 *                    "healthy": true, "startedAt": "…", "readyAt": "…", "lastHeartbeat": "…",
 *                    "handedOff": 40, "openConnections": 12, "extOrBackendPort": null,
 *                    "deaths": 0, "restartDue": null,
 *                    "replacement": null, "stats": { …the heartbeat's WorkerStatsReport… } }, … ],
 *     "draining": [ …processes draining after a restart or a shrink, same fields… ] }
 */
import type { Clock } from '@relayd/common';
import { totalStats, type WorkerStatsReport } from '@relayd/ipc';
import { writeDataFile } from './data-files.js';
import type { WorkerPoolStatus, WorkerProcessStatus } from './worker-pool.js';

export const WORKER_STATE_FILE = 'workers.json';
export const WORKER_STATE_FILE_VERSION = 1;
/** At most one write a second: a busy bridge changes state with every connection. */
export const WORKER_STATE_MIN_INTERVAL_MS = 1_000;

export interface WorkerProcessRecord {
  readonly workerId: number;
  readonly pid: number | null;
  readonly generation: number;
  readonly state: WorkerProcessStatus['state'];
  readonly healthy: boolean;
  readonly startedAt: string;
  readonly readyAt: string | null;
  readonly lastHeartbeat: string | null;
  readonly handedOff: number;
  /** Handed-off connections the worker has not reported as ended. */
  readonly openConnections: number;
  /** Its Extended ORPort backend's port (BalancerMode proxy), else null. */
  readonly extOrBackendPort: number | null;
  readonly exit: WorkerProcessStatus['exit'] | null;
  readonly stats: WorkerStatsReport | null;
}

export interface WorkerSlotRecord extends WorkerProcessRecord {
  readonly deaths: number;
  readonly restartDue: string | null;
  readonly replacement: WorkerProcessRecord | null;
}

export interface WorkerStateDocument {
  readonly version: typeof WORKER_STATE_FILE_VERSION;
  readonly written: string;
  readonly supervisorPid: number;
  readonly handedOff: number;
  readonly refused: number;
  readonly totals: ReturnType<typeof totalStats>;
  readonly workers: readonly WorkerSlotRecord[];
  readonly draining: readonly WorkerProcessRecord[];
}

/** The document for a pool status; monotonic times become wall-clock times as of `clock`. */
export function workerStateDocument(status: WorkerPoolStatus, clock: Clock): WorkerStateDocument {
  const nowMs = clock.nowMs();
  const monotonicNow = clock.monotonicMs();
  const wall = (monotonic: number | undefined): string | null =>
    monotonic === undefined ? null : new Date(nowMs - (monotonicNow - monotonic)).toISOString();
  const record = (p: WorkerProcessStatus): WorkerProcessRecord => ({
    workerId: p.workerId,
    pid: p.pid ?? null,
    generation: p.generation,
    state: p.state,
    healthy: p.healthy,
    startedAt: wall(p.startedAtMs)!,
    readyAt: wall(p.readyAtMs),
    lastHeartbeat: wall(p.lastHeartbeatMs),
    handedOff: p.handedOff,
    openConnections: p.openConnections,
    extOrBackendPort: p.extOrBackendPort ?? null,
    exit: p.exit ?? null,
    stats: p.stats ?? null,
  });
  const serving = [
    ...status.slots.flatMap((s) =>
      s.current?.stats && s.current.state !== 'exited' ? [s.current.stats] : [],
    ),
    ...status.draining.flatMap((p) => (p.stats ? [p.stats] : [])),
  ];
  return {
    version: WORKER_STATE_FILE_VERSION,
    written: new Date(nowMs).toISOString(),
    supervisorPid: process.pid,
    handedOff: status.handedOff,
    refused: status.refused,
    totals: totalStats(serving),
    workers: status.slots.flatMap((slot) =>
      slot.current
        ? [
            {
              ...record(slot.current),
              deaths: slot.deaths,
              restartDue: wall(slot.restartDueMs),
              replacement: slot.replacement ? record(slot.replacement) : null,
            },
          ]
        : [],
    ),
    draining: status.draining.map(record),
  };
}

/** Writes workers.json and remembers when, for the once-a-second limit. */
export class WorkerStateFile {
  private lastWriteMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly dataDirectory: string,
    private readonly clock: Clock,
  ) {}

  /** 0 when a write may happen now. */
  msUntilNextWrite(): number {
    return Math.max(0, this.lastWriteMs + WORKER_STATE_MIN_INTERVAL_MS - this.clock.monotonicMs());
  }

  /** Throws a RelayError (io) when the file cannot be written. */
  write(status: WorkerPoolStatus): void {
    this.lastWriteMs = this.clock.monotonicMs();
    const text = `${JSON.stringify(workerStateDocument(status, this.clock), null, 2)}\n`;
    writeDataFile(this.dataDirectory, WORKER_STATE_FILE, text);
  }
}
