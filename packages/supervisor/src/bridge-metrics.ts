/**
 * The bridge's MetricsPort: one `/metrics` for the whole bridge. The
 * supervisor's registry holds its own metrics (worker processes, balancer,
 * transports, directory documents, keys, its directory fetcher, its process
 * metrics); at every scrape each worker process is asked for its registry
 * over IPC (WorkerPool.metricsReports) and ClusterMetrics merges them all,
 * with a `worker` label where per-process values do not add up.
 *
 * Only with a `MetricsPort` line: without one nothing here is created.
 * Workers running inside the supervisor (the in-process launcher, used by
 * tests and embedders) have no worker registry to ask: the exposition then
 * has the supervisor's metrics only.
 */
import type { Clock, Logger } from '@relayd/common';
import type { AddressPolicyRule, MetricsPortSetting } from '@relayd/config';
import type { DirectoryFetcherMetrics } from '@relayd/dir-cache';
import { type MetricsHttpServer, startMetricsHttpServer } from '@relayd/net';
import {
  ClusterMetrics,
  createMetricsRegistry,
  createSupervisorMetrics,
  METRICS_CONTENT_TYPE,
  metricsPortAccess,
  type SupervisorMetricsSources,
  type WorkerMetricsReport,
} from '@relayd/telemetry';

/**
 * How long a scrape waits for the workers' answers. A worker answers in
 * milliseconds; one busy for longer is shown with its previous answer, so
 * a slow worker never holds up the scrape (Prometheus's default timeout is 10 s).
 */
export const WORKER_METRICS_TIMEOUT_MS = 2_000;

export interface BridgeMetricsSources extends SupervisorMetricsSources {
  /** Every worker process's registry, within the timeout (WorkerPool.metricsReports). */
  readonly workers: (timeoutMs: number) => Promise<readonly WorkerMetricsReport[]>;
}

export interface BridgeMetrics {
  /** The directory fetcher's sink (give it to the DirectoryFetcher). */
  readonly directoryFetcher: DirectoryFetcherMetrics;
  /** Opens the MetricsPort. Rejects (nothing left open) when it cannot listen. */
  serve(sources: BridgeMetricsSources): Promise<MetricsHttpServer>;
}

export function createBridgeMetrics(
  setting: { readonly port: MetricsPortSetting; readonly policy: readonly AddressPolicyRule[] },
  modules: { readonly clock: Clock; readonly logger: Logger },
): BridgeMetrics {
  const registry = createMetricsRegistry({ processMetrics: true });
  const supervisorMetrics = createSupervisorMetrics(registry, { clock: modules.clock });
  const cluster = new ClusterMetrics(registry, { clock: modules.clock });
  return {
    directoryFetcher: supervisorMetrics.directoryFetcher,
    async serve(sources) {
      supervisorMetrics.setSources(sources);
      const server = await startMetricsHttpServer({
        host: setting.port.address,
        port: setting.port.port,
        isAllowed: metricsPortAccess(setting.policy),
        contentType: METRICS_CONTENT_TYPE,
        collect: () => cluster.collect(() => sources.workers(WORKER_METRICS_TIMEOUT_MS)),
        logger: modules.logger,
      });
      const where = server.host.includes(':')
        ? `[${server.host}]:${server.port}`
        : `${server.host}:${server.port}`;
      modules.logger.notice(
        { address: where, policy: setting.policy.length > 0 ? 'MetricsPortPolicy' : 'loopback only' },
        `MetricsPort listening on ${where} (/metrics)`,
      );
      return server;
    },
  };
}
