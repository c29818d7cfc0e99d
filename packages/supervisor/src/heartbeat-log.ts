/**
 * The periodic heartbeat lines, in the spirit of C tor's (status.c
 * log_heartbeat: uptime, circuits, bytes; "Circuit handshake stats since
 * last time"): one line with the totals, then one per worker. Pure: the
 * statistics in, the lines out.
 *
 *   Heartbeat: relayd's uptime is 1:05 hours, with 3 workers, 12 circuits and 9 channels open.
 *     The workers sent 10.20 MB and received 9.10 MB. Onionskins processed/dropped:
 *     ntor 100/0, ntor_v3 20/0, fast 6/0, tap 0/0. Connections by transport: vanilla 4, obfs4 17.
 *   Heartbeat: worker 2 (pid 4251, up 1:05 hours): 4 circuits, 3 channels, 5 connections received
 *     (vanilla 1, obfs4 4); sent 3.40 MB, received 3.00 MB; onionskins processed/dropped: ntor 33/0, …
 */
import {
  type ConnectionsByTransport,
  ONIONSKIN_TYPES,
  type OnionskinStats,
  type StatsTotals,
  totalStats,
  type WorkerStatsReport,
} from '@relayd/ipc';

/** tor's HeartbeatPeriod default: 6 hours. */
export const HEARTBEAT_LOG_INTERVAL_MS = 6 * 60 * 60 * 1000;
/**
 * Under TestingTorNetwork. tor accepts a HeartbeatPeriod below its
 * 30-minute minimum only in a testing network; relayd uses a short period
 * there by default so test runs show the lines.
 */
export const TESTING_HEARTBEAT_LOG_INTERVAL_MS = 30_000;

export interface HeartbeatLine {
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** tor's format_time_interval-like "2 days 3:04 hours" / "0:05 hours". */
export function formatUptime(ms: number): string {
  const minutesTotal = Math.floor(Math.max(0, ms) / 60_000);
  const days = Math.floor(minutesTotal / 1440);
  const hours = Math.floor((minutesTotal % 1440) / 60);
  const minutes = minutesTotal % 60;
  const clock = `${hours}:${String(minutes).padStart(2, '0')} hours`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'} ${clock}` : clock;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(2)} kB`;
  return `${bytes} B`;
}

function onionskinText(stats: OnionskinStats): string {
  return ONIONSKIN_TYPES.filter((t) => t !== 'unknown' || stats[t].processed + stats[t].dropped > 0)
    .map((t) => `${t} ${stats[t].processed}/${stats[t].dropped}`)
    .join(', ');
}

/** "vanilla 4, obfs4 17": the vanilla count, then each transport's, connections received. */
export function transportText(counts: ConnectionsByTransport): string {
  return [
    `vanilla ${counts.vanilla.connections}`,
    ...Object.entries(counts.pluggable).map(([name, c]) => `${name} ${c.connections}`),
  ].join(', ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function heartbeatLines(uptimeMs: number, workers: readonly WorkerStatsReport[]): HeartbeatLine[] {
  const totals: StatsTotals = totalStats(workers);
  const lines: HeartbeatLine[] = [
    {
      fields: { heartbeat: 'total', uptimeMs, ...totals },
      message:
        `Heartbeat: relayd's uptime is ${formatUptime(uptimeMs)}, with ${plural(totals.workers, 'worker')}, ` +
        `${plural(totals.circuits, 'circuit')} and ${plural(totals.channels, 'channel')} open. ` +
        `The workers sent ${formatBytes(totals.bytesSent)} and received ${formatBytes(totals.bytesReceived)}. ` +
        `Onionskins processed/dropped: ${onionskinText(totals.onionskins)}. ` +
        `Connections by transport: ${transportText(totals.connectionsByTransport)}.`,
    },
  ];
  for (const w of [...workers].sort((a, b) => a.workerId - b.workerId)) {
    // Every log line carries the writer's own pid: the worker's goes under another name.
    const { pid, ...rest } = w;
    lines.push({
      fields: { heartbeat: 'worker', workerPid: pid, ...rest },
      message:
        `Heartbeat: worker ${w.workerId} (pid ${w.pid}, up ${formatUptime(w.uptimeMs)}): ` +
        `${plural(w.circuits, 'circuit')}, ${plural(w.channels, 'channel')}, ` +
        `${plural(w.connectionsReceived, 'connection')} received (${transportText(w.connectionsByTransport)}); ` +
        `sent ${formatBytes(w.bytesSent)}, ` +
        `received ${formatBytes(w.bytesReceived)}; onionskins processed/dropped: ${onionskinText(w.onionskins)}`,
    });
  }
  return lines;
}
