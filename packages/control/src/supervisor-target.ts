/**
 * The ControlTarget of a running supervisor, built from what the supervisor
 * exposes (`SupervisorControlSource`): its status, its worker pool, its
 * configuration, and a few operations. The supervisor passes itself (it
 * satisfies the source structurally; this package does not import it) and
 * the daemon's reload, and hands the result to startControlServer.
 *
 * What it decides here, so every supervisor behaves alike:
 *   - restart and drain need worker processes (`unavailable` otherwise) and
 *     an existing slot (`no-such-worker`); a replacement that does not start
 *     is `failed`;
 *   - onion keys are not rotated by hand under OnionKeyRotation frozen
 *     without `force` (`refused`);
 *   - workers inside the supervisor are shown as one serving process each.
 */
import type { Clock } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import type { DirectoryFetcherStatus } from '@relayd/dir-cache';
import type { WorkerStatsReport } from '@relayd/ipc';
import type { ServerTransportState } from '@relayd/transports';
import { ControlError } from './errors.js';
import { readProcessUsage } from './process-usage.js';
import {
  type ClientAddressSource,
  circuitsReport,
  connectionsReport,
  directoryReport,
  inProcessPoolView,
  totalsReport,
  transportReport,
  type UsageOf,
  type WorkerPoolView,
  type WorkerProcessView,
  workersReport,
} from './reports.js';
import type { ControlTarget, ReloadReport, WorkersReport } from './target.js';

/** The supervisor's status() as far as the control socket needs it (its SupervisorStatus has this). */
export interface SupervisorStatusView {
  readonly fingerprint: string;
  readonly nickname: string;
  readonly endpoint: { readonly ipv4: string; readonly orPort: number };
  /** "forked" or "in-process". */
  readonly workerKind: string;
  readonly workers: readonly WorkerStatsReport[];
  readonly pool: WorkerPoolView | undefined;
  readonly directory: DirectoryFetcherStatus;
  readonly transports: readonly ServerTransportState[];
}

/** The worker pool's operations (its WorkerPool, plus drainWorker). */
export interface WorkerPoolControl {
  status(): WorkerPoolView;
  /** Resolves true once the new process serves, false if it did not start (the old one serves on). */
  restartWorker(workerId: number): Promise<boolean>;
  /**
   * Drains the slot's process (no new connections; it exits once idle or
   * after the drain timeout); the slot's next process starts once it has
   * exited. Resolves with the draining process's PID once the drain began.
   */
  drainWorker(workerId: number): Promise<{ readonly pid: number | undefined }>;
}

/** What an operator-triggered onion-key rotation did. */
export interface OnionKeyRotationResult {
  readonly rotatedAtMs: number;
  /** base64 without padding. */
  readonly ntorOnionKey: string;
  readonly previousNtorOnionKey: string | null;
  /** Worker processes sent the new key snapshot. */
  readonly workersUpdated: number;
  /** The new descriptor's `published` time, seconds since the epoch. */
  readonly descriptorPublishedSeconds: number;
}

/** What the supervisor must offer for its control socket. */
export interface SupervisorControlSource {
  status(): SupervisorStatusView;
  /** The worker processes; undefined when the workers run in-process. */
  readonly pool: WorkerPoolControl | undefined;
  readonly currentConfig: Pick<RelaydConfig, 'onionKeyRotation' | 'workers' | 'safeLogging'>;
  /** relayd's version. */
  readonly version: string;
  /** Clock time (ms) at which the supervisor started. */
  readonly startedAtMs: number;
  /** The Ed25519 master identity, base64 without padding. */
  readonly ed25519Identity: string;
  readonly clock: Clock;
  /** The lines of bridge-lines.txt, and the running transports that have none. */
  bridgeLineSet(): {
    readonly lines: readonly string[];
    readonly skipped: readonly { readonly transport: string; readonly reason: string }[];
  };
  /** Rotates the onion keys of all workers now, as the schedule does, and publishes the new descriptor. */
  rotateOnionKeysNow(): Promise<OnionKeyRotationResult>;
  /** Client addresses and the connections each holds now; undefined when not tracked. */
  clientAddresses(): Iterable<readonly [string, number]> | undefined;
}

export interface SupervisorControlHooks {
  /** Re-reads the configuration file and applies it: the daemon's SIGHUP path, queued with SIGHUP. */
  readonly reload: () => Promise<ReloadReport>;
  /** CPU and memory of a worker process; default readProcessUsage (/proc). */
  readonly usageOf?: UsageOf;
}

function liveProcesses(pool: WorkerPoolView): WorkerProcessView[] {
  const out: WorkerProcessView[] = [];
  for (const slot of pool.slots) {
    for (const p of [slot.current, slot.replacement]) if (p && p.state !== 'exited') out.push(p);
  }
  for (const p of pool.draining) if (p.state !== 'exited') out.push(p);
  return out;
}

/** The ControlTarget of `source` (see the module comment). */
export function controlTargetFromSupervisor(
  source: SupervisorControlSource,
  hooks: SupervisorControlHooks,
): ControlTarget {
  const usageOf = hooks.usageOf ?? readProcessUsage;
  const mode = (status: SupervisorStatusView): WorkersReport['mode'] =>
    status.workerKind === 'forked' ? 'forked' : 'in-process';
  const poolView = (status: SupervisorStatusView): WorkerPoolView =>
    status.pool ?? inProcessPoolView(status.workers, source.clock.monotonicMs());
  const slotPid = (pool: WorkerPoolControl, workerId: number): number | null =>
    pool.status().slots.find((s) => s.workerId === workerId)?.current?.pid ?? null;
  const poolFor = (workerId: number): WorkerPoolControl => {
    const pool = source.pool;
    if (!pool) {
      throw new ControlError(
        'unavailable',
        'the workers run inside the supervisor: there is no worker process to restart or drain',
      );
    }
    const slots = pool.status().slots.map((s) => s.workerId);
    if (!slots.includes(workerId)) {
      throw new ControlError(
        'no-such-worker',
        `there is no worker ${workerId} (workers: ${slots.length === 0 ? 'none' : slots.join(', ')})`,
      );
    }
    return pool;
  };

  return {
    status() {
      const s = source.status();
      const nowMs = source.clock.nowMs();
      const live = s.pool ? liveProcesses(s.pool) : undefined;
      return {
        version: source.version,
        pid: process.pid,
        startedAt: new Date(source.startedAtMs).toISOString(),
        uptimeSeconds: Math.max(0, Math.floor((nowMs - source.startedAtMs) / 1000)),
        nickname: s.nickname,
        fingerprint: s.fingerprint,
        ed25519Identity: source.ed25519Identity,
        address: `${s.endpoint.ipv4}:${s.endpoint.orPort}`,
        bridgeLines: [...source.bridgeLineSet().lines],
        onionKeyRotation: source.currentConfig.onionKeyRotation,
        workers: {
          mode: mode(s),
          configured: source.currentConfig.workers,
          running: live ? live.length : s.workers.length,
          healthy: live ? live.filter((p) => p.healthy).length : s.workers.length,
        },
        directory: directoryReport(s.directory, nowMs),
        transports: s.transports.map(transportReport),
        totals: totalsReport(s.workers),
      };
    },

    workers() {
      const s = source.status();
      return workersReport(
        poolView(s),
        { nowMs: source.clock.nowMs(), monotonicMs: source.clock.monotonicMs() },
        usageOf,
        mode(s),
      );
    },

    async restartWorker(workerId) {
      const pool = poolFor(workerId);
      const previousPid = slotPid(pool, workerId);
      if (!(await pool.restartWorker(workerId))) {
        throw new ControlError(
          'failed',
          `worker ${workerId}: the new process did not start; the old one (pid ${previousPid ?? '?'}) keeps serving`,
        );
      }
      const pid = slotPid(pool, workerId);
      return {
        workerId,
        action: 'restart',
        pid,
        previousPid,
        message: `worker ${workerId} restarted: pid ${pid ?? '?'} serves, pid ${previousPid ?? '?'} drains`,
      };
    },

    async drainWorker(workerId) {
      const pool = poolFor(workerId);
      const { pid } = await pool.drainWorker(workerId);
      return {
        workerId,
        action: 'drain',
        pid: pid ?? null,
        previousPid: null,
        message: `worker ${workerId} (pid ${pid ?? '?'}) is draining; its slot starts anew once it has exited`,
      };
    },

    reload: () => hooks.reload(),

    async rotateOnionKeys({ force }) {
      if (source.currentConfig.onionKeyRotation === 'frozen' && !force) {
        throw new ControlError(
          'refused',
          'OnionKeyRotation is frozen: the onion keys are not rotated (give --force to rotate them anyway)',
        );
      }
      const r = await source.rotateOnionKeysNow();
      return {
        rotatedAt: new Date(r.rotatedAtMs).toISOString(),
        ntorOnionKey: r.ntorOnionKey,
        previousNtorOnionKey: r.previousNtorOnionKey,
        workersUpdated: r.workersUpdated,
        descriptorPublished: new Date(r.descriptorPublishedSeconds * 1000).toISOString(),
      };
    },

    bridgeLines() {
      const set = source.bridgeLineSet();
      return { lines: [...set.lines], skipped: set.skipped.map((s) => ({ ...s })) };
    },

    circuits: () => circuitsReport(poolView(source.status())),

    connections(query) {
      // Their number is always reported; the addresses themselves only when the query includes them.
      const addresses = source.clientAddresses();
      const sourceOfAddresses: ClientAddressSource | undefined =
        addresses === undefined ? undefined : () => addresses;
      return connectionsReport(poolView(source.status()), query, sourceOfAddresses);
    },

    safeLogging: () => source.currentConfig.safeLogging,
  };
}
