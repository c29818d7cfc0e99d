/**
 * How the supervisor gets its workers: a launcher turns plain start data
 * into a running `WorkerSet`, and the supervisor drives the set the same
 * way whatever runs behind it:
 *
 * - "in-process" (`inProcessWorkerLauncher`): one worker in the
 *   supervisor's own process, opening the ORPorts itself and sharing the
 *   supervisor's directory service and logger (tests, and embedding);
 * - "forked" (`ForkedWorkerLauncher`, forked-launcher.ts): N worker
 *   processes, the ORPorts held by the supervisor, every connection handed
 *   to a worker with its socket.
 *
 * In BalancerMode proxy the balancer, not the launcher, listens on the
 * ORPorts (`listenOrPorts: false`), and every worker opens an Extended
 * ORPort backend (`extOrBackends`) that the supervisor registers with the
 * balancer as the set's `extOrBackends()` change.
 *
 * Everything a worker is told is plain data (key snapshots without the
 * master identity secret, directory snapshots, the parsed configuration).
 */
import type { Logger } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import type { DirectorySnapshot } from '@relayd/dir-cache';
import type { DirectoryService } from '@relayd/engine';
import type { WorkerKeySnapshot } from '@relayd/keys';
import type { TcpSocket } from '@relayd/net';
import {
  type BoundListener,
  type ExtOrBackendListener,
  listenExtOrBackend,
  startWorker,
  WORKER_START_DATA_VERSION,
  type WorkerStats,
} from '@relayd/worker';
import type { HandoffTarget } from './handoff.js';
import type { ExtOrBackendPlan, WorkerExtOrBackend, WorkerPool, WorkerPoolStatus } from './worker-pool.js';

/** What the workers start from. */
export interface WorkerSetInit {
  readonly config: RelaydConfig;
  readonly keys: WorkerKeySnapshot;
  /** The bridge's public addresses (NETINFO, the directory service). */
  readonly publicAddresses: readonly string[];
  /** The directory documents a worker starting now begins with. */
  readonly directorySnapshot: () => DirectorySnapshot;
  /** Open the ORPorts (default true); false when the balancer accepts them (BalancerMode proxy). */
  readonly listenOrPorts?: boolean;
  /** Give every worker an Extended ORPort backend for the balancer (BalancerMode proxy). */
  readonly extOrBackends?: ExtOrBackendPlan;
}

/** The running workers, as the supervisor drives them. */
export interface WorkerSet {
  /** "in-process" or "forked". */
  readonly kind: string;
  /** The open ORPort listeners (with the port the system picked for `auto`). */
  readonly listeners: readonly BoundListener[];
  /** Where connections accepted elsewhere in this process go (the Extended ORPort front). */
  readonly handoff: HandoffTarget;
  /** The worker processes, when there are any. */
  readonly pool: WorkerPool | undefined;
  /** Installs a new key snapshot in every worker (and in the ones started later); returns how many workers got it. */
  updateKeys(snapshot: WorkerKeySnapshot): number;
  /** The directory documents changed; workers with their own copy get `snapshot()`. */
  directoryChanged(snapshot: () => DirectorySnapshot): void;
  /**
   * Applies a reloaded configuration: the number of workers, and the logs
   * of worker processes. With `restartWorkers`, every worker is replaced
   * (one at a time) so it starts from the new configuration; resolves once
   * that is done. An in-process worker cannot be restarted: false then.
   */
  reconfigure(config: RelaydConfig, restartWorkers: boolean): Promise<boolean>;
  /** Every serving worker's latest statistics. */
  stats(): readonly WorkerStats[];
  /** The pool's state, for forked workers. */
  poolStatus(): WorkerPoolStatus | undefined;
  /** The workers' Extended ORPort backends taking new connections now (with `extOrBackends`). */
  extOrBackends(): readonly WorkerExtOrBackend[];
  /** Calls `listener` after the workers changed (what `extOrBackends()` lists may have). Returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Stops every worker and closes the listeners. Idempotent. */
  stop(): Promise<void>;
}

export interface WorkerLauncher {
  /** "in-process", or a forked launcher's own name. */
  readonly kind: string;
  /** Starts the workers. Rejects (leaving nothing running) if they cannot start, e.g. an ORPort is taken. */
  start(init: WorkerSetInit): Promise<WorkerSet>;
}

/** What the supervisor offers an in-process worker. */
export interface InProcessServices {
  readonly directoryService: DirectoryService;
  readonly logger: Logger;
}

/** Settles once `socket` has closed (at once if it already has). */
function whenClosed(socket: TcpSocket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Runs one worker inside this process, sharing the supervisor's directory service and logger. */
export function inProcessWorkerLauncher(services: InProcessServices): WorkerLauncher {
  return {
    kind: 'in-process',
    async start(init) {
      const workerId = 1;
      const handle = await startWorker(
        {
          version: WORKER_START_DATA_VERSION,
          workerId,
          keys: init.keys,
          config: init.config,
          publicAddresses: init.publicAddresses,
        },
        { ...services, openListeners: init.listenOrPorts !== false },
      );
      let backend: { listener: ExtOrBackendListener; cookie: Uint8Array } | undefined;
      if (init.extOrBackends) {
        const cookie = init.extOrBackends.cookie();
        try {
          const listener = await listenExtOrBackend({
            host: init.extOrBackends.address(workerId),
            port: 0,
            cookie,
            logger: services.logger.child({ module: 'worker', worker: workerId }),
            accept: (socket, meta) => handle.acceptConnection(socket, meta),
          });
          backend = { listener, cookie };
        } catch (error) {
          await handle.stop();
          throw error;
        }
      }
      const stop = async () => {
        await backend?.listener.close();
        await handle.stop();
      };
      return {
        kind: 'in-process',
        listeners: handle.listeners,
        handoff: {
          pick: () => ({ workerId: handle.workerId, pid: process.pid }),
          handOff(socket, meta) {
            const closed = whenClosed(socket);
            handle.acceptConnection(socket, meta);
            return { ok: true, workerId: handle.workerId, pid: process.pid, closed };
          },
        },
        pool: undefined,
        updateKeys: (snapshot) => {
          handle.updateKeys(snapshot);
          return 1;
        },
        // The worker serves the supervisor's own store.
        directoryChanged: () => {},
        reconfigure: async (_config, restartWorkers) => !restartWorkers,
        stats: () => [handle.stats()],
        poolStatus: () => undefined,
        extOrBackends: () =>
          backend
            ? [
                {
                  workerId,
                  pid: process.pid,
                  generation: 1,
                  host: backend.listener.host,
                  port: backend.listener.port,
                  cookie: backend.cookie,
                },
              ]
            : [],
        // Nothing about one in-process worker changes what the supervisor sees.
        onChange: () => () => {},
        stop,
      };
    },
  };
}
