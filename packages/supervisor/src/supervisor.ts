/**
 * The supervisor: the one process that owns the bridge. It loads (or
 * creates) the keys, starts the worker(s), keeps the directory cache
 * current, builds, signs, serves and publishes the bridge's descriptor, and
 * runs the key schedule:
 *
 *   start  ─ keys (loadOrCreateKeys; fingerprint files)
 *          ─ directory store + fetcher (DataDirectory/cached-*: reload, then fetch)
 *          ─ worker(s) via the launcher (handoff mode: the launcher's ORPorts open)
 *          ─ the balancer (@relayd/balancer), when there is an Extended ORPort or
 *            BalancerMode proxy: the ExtORPort front and its cookie file; handoff mode
 *            gives its connections to the workers (WorkerPool); proxy mode listens on
 *            the ORPorts too and proxies to the workers' Extended ORPort backends
 *            (registered as they come and go) and the BalancerBackend lines
 *          ─ the managed pluggable transports (@relayd/transports), pointed at that front;
 *            the first documents wait until each has started or failed
 *          ─ descriptor + extra-info (with the transports' `transport` lines) → store
 *            (served over BEGIN_DIR), DataDirectory files, bridge-lines.txt (a line per
 *            running transport), and the bridge authorities when PublishServerDescriptor says so
 *   when a transport starts, stops or changes its port or ARGS
 *          ─ descriptor, extra-info and bridge-lines.txt rebuilt, published
 *   every maintenance tick (a minute)
 *          ─ signing key renewal (KeyStore.refreshSigningKey) → new snapshot to the workers
 *          ─ onion key rotation / expiry of the previous key (key-schedule.ts) → new snapshot
 *          ─ descriptor rebuilt when its keys changed or it is 18 hours old; published when new
 *   on a directory change
 *          ─ the store's snapshot (consensus, certificates, microdescriptors, our own
 *            descriptor) to every worker process, which serves BEGIN_DIR from its copy
 *   every heartbeat period (6 hours; 30 s under TestingTorNetwork)
 *          ─ heartbeat lines: totals and one per worker (heartbeat-log.ts)
 *   a MetricsPort scrape (bridge-metrics.ts)
 *          ─ the supervisor's registry and every worker process's (over IPC), merged
 *   reload (SIGHUP)
 *          ─ reload-plan.ts: live changes applied, worker options by rolling restart,
 *            the rest named in the log as needing a restart
 *   stop   ─ MetricsPort, fetcher, transports (before the front they use), balancer, worker(s), timers
 *
 * Who runs the workers is the launcher's business: one worker in this
 * process ("in-process", the default here) or `Workers` forked processes
 * behind the supervisor's listeners ("forked", what `relayd` runs).
 * Everything the supervisor tells a worker is plain data (start data, key
 * and directory snapshots), never the master identity secret.
 */
import { type as osType } from 'node:os';
import { type Balancer, type BalancerStats, workerBackendAddress } from '@relayd/balancer';
import {
  type Clock,
  describeError,
  type Logger,
  type Random,
  RelayError,
  systemClock,
  toBase64Unpadded,
  utf8,
} from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import { secureRandom } from '@relayd/crypto';
import {
  DirCacheService,
  type DirectoryFetch,
  DirectoryFetcher,
  DirectoryStore,
  v3AuthorityIdentities,
} from '@relayd/dir-cache';
import { type Scheduler, systemScheduler, type TimerHandle } from '@relayd/engine';
import { type KeyStore, loadOrCreateKeys } from '@relayd/keys';
import type { MetricsHttpServer } from '@relayd/net';
import {
  bridgeLines,
  extraInfoTransportInfo,
  extraInfoTransports,
  ptOrPortTarget,
  ServerTransportManager,
  type ServerTransportState,
} from '@relayd/transports';
import { type BoundListener, planListeners, type WorkerStats } from '@relayd/worker';
import { httpFetch, httpPost } from './authority-http.js';
import { type BridgeDocuments, buildOwnDocuments } from './bridge-documents.js';
import { type BridgeMetricsSources, createBridgeMetrics } from './bridge-metrics.js';
import {
  BRIDGE_LINES_FILE,
  bridgeLinesText,
  EXTRA_INFO_FILE,
  SERVER_DESCRIPTOR_FILE,
  writeDataFile,
} from './data-files.js';
import {
  bridgeAuthorityTargets,
  type DescriptorPost,
  DescriptorPublisher,
  type PublishStatus,
} from './descriptor-publisher.js';
import { FileDirectoryStorage } from './directory-storage.js';
import { connectableHost, startFront, writeExternalTransportEnvironments } from './front.js';
import type { HandoffTarget } from './handoff.js';
import {
  HEARTBEAT_LOG_INTERVAL_MS,
  heartbeatLines,
  TESTING_HEARTBEAT_LOG_INTERVAL_MS,
} from './heartbeat-log.js';
import { defaultOnionKeyPolicy, type OnionKeyPolicy, onionKeyActions } from './key-schedule.js';
import {
  type AddressEnvironment,
  type PublicEndpoint,
  publishedEndpoint,
  resolvePublicAddresses,
  systemAddressEnvironment,
} from './public-address.js';
import { planReload } from './reload-plan.js';
import {
  type InProcessServices,
  inProcessWorkerLauncher,
  type WorkerLauncher,
  type WorkerSet,
} from './worker-launcher.js';
import type { WorkerPool, WorkerPoolStatus } from './worker-pool.js';

/** How often keys and the descriptor are looked at. */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 60_000;
/**
 * tor's FORCE_REGENERATE_DESCRIPTOR_INTERVAL (18 hours): a descriptor is
 * rebuilt, with a new "published" time, at least this often.
 */
export const DESCRIPTOR_REGENERATE_INTERVAL_MS = 18 * 60 * 60 * 1000;
/**
 * How long directory changes are gathered before the workers get a new
 * snapshot: a fetch lands as several changes (certificates, consensus,
 * microdescriptor batches) within a few milliseconds.
 */
export const DIRECTORY_PUSH_DELAY_MS = 200;
export interface SupervisorOptions {
  readonly config: RelaydConfig;
  /** relayd's version, for the descriptor's "platform" line. */
  readonly version: string;
  readonly maintenanceIntervalMs?: number;
  /** Onion-key schedule; the policy defaults to the config's OnionKeyRotation. */
  readonly onionKeyPolicy?: Partial<OnionKeyPolicy>;
  /** Heartbeat lines period; default 6 hours, 30 s under TestingTorNetwork. */
  readonly heartbeatIntervalMs?: number;
}

export interface SupervisorModules {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly scheduler?: Scheduler;
  /** Directory GETs to the authorities; default: net's httpRequest. */
  readonly fetch?: DirectoryFetch;
  /** Descriptor uploads; default: net's httpRequest. */
  readonly post?: DescriptorPost;
  readonly addressEnvironment?: AddressEnvironment;
  /** How workers are started; default: one worker in this process. */
  readonly launcher?: (services: InProcessServices) => WorkerLauncher;
  /** How long transports get to stop (stdin closed, then SIGTERM, then SIGKILL); default theirs (2 s each). */
  readonly transportStopGraceMs?: number;
}

/** What a reload did. */
export interface ReloadOutcome {
  /** Settings applied (RelaydConfig field names). */
  readonly applied: readonly string[];
  /** The worker processes were restarted one by one to apply worker settings. */
  readonly restartedWorkers: boolean;
  /** Settings that changed but keep their old value until relayd restarts. */
  readonly needsRestart: readonly string[];
}

/** What an onion-key rotation asked for by the operator did. */
export interface OnionKeyRotationOutcome {
  readonly rotatedAtMs: number;
  /** The new ntor onion key, base64 without padding. */
  readonly ntorOnionKey: string;
  /** The key it replaced (still accepted during the grace period). */
  readonly previousNtorOnionKey: string;
  /** Workers given the new keys. */
  readonly workersUpdated: number;
  /** The new descriptor's `published` time, seconds since the epoch. */
  readonly descriptorPublishedSeconds: number;
}

export interface SupervisorStatus {
  readonly fingerprint: string;
  readonly nickname: string;
  readonly endpoint: PublicEndpoint;
  readonly bridgeLines: readonly string[];
  readonly descriptorPublished: number;
  /** "in-process" or "forked". */
  readonly workerKind: string;
  /** Every serving worker's latest statistics. */
  readonly workers: readonly WorkerStats[];
  /** The worker processes (forked workers only). */
  readonly pool: WorkerPoolStatus | undefined;
  readonly directory: ReturnType<DirectoryFetcher['status']>;
  readonly publishing: readonly PublishStatus[];
  /** The Extended ORPort front and balancer, when running. */
  readonly balancer: BalancerStats | undefined;
  /** The managed pluggable transports. */
  readonly transports: readonly ServerTransportState[];
}

/** What a running supervisor is made of (see Supervisor.start). */
interface SupervisorParts {
  readonly options: SupervisorOptions;
  readonly keys: KeyStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly onionPolicy: OnionKeyPolicy;
  readonly store: DirectoryStore;
  readonly service: DirCacheService;
  readonly fetcher: DirectoryFetcher;
  readonly workers: WorkerSet;
  readonly balancer: Balancer | undefined;
  readonly transports: ServerTransportManager | undefined;
  readonly endpoint: PublicEndpoint;
  readonly publisher: DescriptorPublisher | undefined;
  readonly startedAtMs: number;
  readonly platform: string;
  readonly onionKeySetAtMs: number;
}

export class Supervisor {
  private documents: BridgeDocuments;
  private builtAtMs: number;
  private maintenanceTimer: TimerHandle | undefined;
  /** The maintenance pass running or waiting for its turn, if any. */
  private maintaining: Promise<void> | undefined;
  /** The end of the queue of key work (maintenance passes, rotations asked for): one at a time. */
  private keyWork: Promise<unknown> = Promise.resolve();
  private directoryReady = false;
  private stopping: Promise<void> | undefined;
  private lastMaintenanceError: string | undefined;
  private directoryPushTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private reloading: Promise<ReloadOutcome> | undefined;
  /** The MetricsPort, when configured. */
  private metricsServer: MetricsHttpServer | undefined;
  /** The configuration in force (the start one, with what reloads changed live). */
  private config: RelaydConfig;

  private readonly options: SupervisorOptions;
  private readonly keys: KeyStore;
  private readonly logger: Logger;
  private readonly scheduler: Scheduler;
  private onionPolicy: OnionKeyPolicy;
  private readonly store: DirectoryStore;
  private readonly service: DirCacheService;
  private readonly fetcher: DirectoryFetcher;
  private readonly workers: WorkerSet;
  private readonly balancer: Balancer | undefined;
  private readonly transports: ServerTransportManager | undefined;
  /** Workers' Extended ORPort backends registered with the balancer: backend id → pid:port. */
  private readonly registeredBackends = new Map<string, string>();
  private unsubscribeWorkers: (() => void) | undefined;
  private publishedBridgeLines = '';
  private readonly publisher: DescriptorPublisher | undefined;
  /** When the supervisor started (clock ms since the epoch). */
  readonly startedAtMs: number;
  /** relayd's version. */
  readonly version: string;
  readonly clock: Clock;
  private readonly platform: string;
  /** When the current onion key was made (ms since the epoch). */
  private onionKeySetAtMs: number;
  /** The published address and ORPort. */
  readonly endpoint: PublicEndpoint;

  private constructor(parts: SupervisorParts) {
    this.options = parts.options;
    this.config = parts.options.config;
    this.keys = parts.keys;
    this.logger = parts.logger;
    this.clock = parts.clock;
    this.scheduler = parts.scheduler;
    this.onionPolicy = parts.onionPolicy;
    this.store = parts.store;
    this.service = parts.service;
    this.fetcher = parts.fetcher;
    this.workers = parts.workers;
    this.balancer = parts.balancer;
    this.transports = parts.transports;
    this.publisher = parts.publisher;
    this.startedAtMs = parts.startedAtMs;
    this.version = parts.options.version;
    this.platform = parts.platform;
    this.onionKeySetAtMs = parts.onionKeySetAtMs;
    this.endpoint = parts.endpoint;
    this.documents = this.build();
    this.builtAtMs = this.clock.nowMs();
  }

  /**
   * Starts the bridge. Rejects with a RelayError for an unusable key
   * directory (KeyStoreError), an address that cannot be worked out, an
   * ORPort or Extended ORPort that cannot be opened, or a cookie file that
   * cannot be written; nothing is left running then. A transport that
   * cannot start is not fatal: it is logged and retried (transports.md).
   */
  static async start(options: SupervisorOptions, modules: SupervisorModules): Promise<Supervisor> {
    const { config } = options;
    const clock = modules.clock ?? systemClock;
    const random = modules.random ?? secureRandom;
    const scheduler = modules.scheduler ?? systemScheduler;
    const logger = modules.logger.child({ module: 'supervisor' });
    const startedAtMs = clock.nowMs();

    const keys = loadOrCreateKeys(config.dataDirectory, {
      nowMs: startedAtMs,
      nickname: config.nickname,
      logger: modules.logger.child({ module: 'keys' }),
    });
    logger.notice(
      { fingerprint: keys.fingerprint() },
      `Your bridge's identity key fingerprint is '${keys.nickname} ${keys.fingerprint()}'`,
    );
    logger.notice(
      { ed25519: keys.ed25519IdentityBase64() },
      `Your bridge's identity key ed25519 fingerprint is '${keys.nickname} ${keys.ed25519IdentityBase64()}'`,
    );
    const onionPolicy: OnionKeyPolicy = {
      ...defaultOnionKeyPolicy,
      policy: config.onionKeyRotation,
      ...options.onionKeyPolicy,
    };
    // When the current onion key was made: the key file's modification time (see key-schedule.ts).
    const onionKeySetAtMs = applyOnionKeySchedule(
      keys,
      onionPolicy,
      keys.ntorOnionKeyWrittenAtMs(),
      clock.nowMs(),
      logger,
    ).setAtMs;

    const addresses = await resolvePublicAddresses(
      config,
      modules.addressEnvironment ?? systemAddressEnvironment,
    );

    const metrics = config.metricsPort
      ? createBridgeMetrics(
          { port: config.metricsPort, policy: config.metricsPortPolicy },
          { clock, logger: modules.logger.child({ module: 'metrics' }) },
        )
      : undefined;
    const store = new DirectoryStore({ authorities: v3AuthorityIdentities(config.dirAuthorities) });
    const service = new DirCacheService(
      { ownAddresses: [addresses.ipv4, ...(addresses.ipv6 ? [addresses.ipv6] : [])] },
      { store, clock },
    );
    const fetcher = new DirectoryFetcher(
      {
        authorities: config.dirAuthorities,
        requestTimeoutMs: config.testing.dirConnectionMaxStallSeconds * 1000,
      },
      {
        store,
        fetch: modules.fetch ?? httpFetch(config),
        storage: new FileDirectoryStorage(config.dataDirectory),
        clock,
        scheduler,
        random,
        logger: modules.logger.child({ module: 'directory' }),
        ...(metrics ? { metrics: metrics.directoryFetcher } : {}),
      },
    );
    const launcher = (modules.launcher ?? inProcessWorkerLauncher)({
      directoryService: service,
      logger: modules.logger,
    });

    let workers: WorkerSet | undefined;
    let balancer: Balancer | undefined;
    let transports: ServerTransportManager | undefined;
    try {
      await fetcher.start();
      const proxyMode = config.balancerMode === 'proxy';
      const orPortTargets = planListeners(config.orPorts);
      workers = await launcher.start({
        keys: keys.workerSnapshot(),
        config,
        publicAddresses: [addresses.ipv4, ...(addresses.ipv6 ? [addresses.ipv6] : [])],
        directorySnapshot: () => store.snapshot(),
        // Proxy mode: the balancer holds the ORPorts; each worker gets an Extended ORPort backend of its own.
        listenOrPorts: !proxyMode,
        ...(proxyMode
          ? { extOrBackends: { address: workerBackendAddress, cookie: () => random.bytes(32) } }
          : {}),
      });
      balancer = await startFront(config, workers, orPortTargets, {
        logger: modules.logger,
        clock,
        random,
      });
      const listeners: readonly BoundListener[] =
        proxyMode && balancer
          ? balancer.orPorts.map((bound, i) => ({
              host: bound.host,
              port: bound.port,
              orPortIndex: orPortTargets[i]!.orPortIndex,
            }))
          : workers.listeners;
      if (config.serverTransportPlugins.length > 0) {
        const front = balancer?.extOrPorts[0];
        if (!front || balancer?.cookieFile === undefined) {
          throw new RelayError(
            'bad-config',
            'NO_EXT_OR_PORT',
            'the pluggable transports need an Extended ORPort (ExtORPort)',
          );
        }
        const orPort = ptOrPortTarget(config.orPorts, listeners);
        const endpoints = {
          extOrPort: { address: connectableHost(front.host), port: front.port },
          authCookieFile: balancer.cookieFile,
          ...(orPort ? { orPort } : {}),
        };
        // External (`proxy`) transports: the environment their sibling unit reads (relayd-pt@.service).
        writeExternalTransportEnvironments(config, endpoints, logger);
        if (config.serverTransportPlugins.some((p) => p.kind === 'exec')) {
          transports = new ServerTransportManager(
            {
              config,
              endpoints,
              ...(modules.transportStopGraceMs !== undefined
                ? { stopGraceMs: modules.transportStopGraceMs }
                : {}),
            },
            { logger: modules.logger, clock, timers: scheduler },
          );
          transports.start();
          // The first descriptor and bridge lines include the transports that start (each launch is bounded).
          await transports.settled();
        }
      }
      const endpoint = publishedEndpoint(config, addresses, listeners);
      logger.notice(
        { address: endpoint.ipv4, orPort: endpoint.orPort, source: endpoint.source },
        `publishing ${endpoint.ipv4}:${endpoint.orPort} as the bridge's address (from ${endpoint.source})`,
      );
      const publisher = config.publishServerDescriptor
        ? new DescriptorPublisher(bridgeAuthorityTargets(config.dirAuthorities), {
            post: modules.post ?? httpPost(config),
            clock,
            logger,
          })
        : undefined;
      if (publisher && publisher.targets.length === 0) {
        logger.warn({}, 'PublishServerDescriptor is on, but no directory authority has the bridge flag');
      }
      const supervisor = new Supervisor({
        options,
        keys,
        logger,
        clock,
        scheduler,
        onionPolicy,
        store,
        service,
        fetcher,
        workers,
        balancer,
        transports,
        endpoint,
        publisher,
        startedAtMs,
        platform: `relayd ${options.version} on ${osType()}`,
        onionKeySetAtMs,
      });
      if (metrics) {
        const pool = workers.pool;
        const sources: BridgeMetricsSources = {
          status: () => supervisor.status(),
          keys: () => ({
            signingCertExpiresMs: keys.signingCertExpiresMs,
            onionKeyCreatedMs: supervisor.onionKeySetAtMs,
          }),
          workers: (timeoutMs) => pool?.metricsReports(timeoutMs) ?? Promise.resolve([]),
        };
        supervisor.metricsServer = await metrics.serve(sources);
      }
      supervisor.install();
      return supervisor;
    } catch (error) {
      fetcher.stop();
      service.close();
      await transports?.stop();
      await balancer?.close();
      await workers?.stop();
      throw error;
    }
  }

  get fingerprint(): string {
    return this.keys.fingerprint();
  }

  /** The Ed25519 master identity, base64 without padding. */
  get ed25519Identity(): string {
    return this.keys.ed25519IdentityBase64();
  }

  /** The lines written to bridge-lines.txt: the vanilla line, then one per running transport. */
  get bridgeLines(): readonly string[] {
    return this.bridgeLineSet().lines;
  }

  /** The documents being served (and published). */
  get currentDocuments(): BridgeDocuments {
    return this.documents;
  }

  /**
   * Where connections accepted elsewhere in this process go: the least-loaded
   * healthy worker (see handoff.ts for the socket's ownership rules).
   */
  get handoff(): HandoffTarget {
    return this.workers.handoff;
  }

  /** The worker processes (restartWorker, rollingRestart, drain), when the workers are processes. */
  get pool(): WorkerPool | undefined {
    return this.workers.pool;
  }

  /** The configuration in force. */
  get currentConfig(): RelaydConfig {
    return this.config;
  }

  status(): SupervisorStatus {
    return {
      fingerprint: this.keys.fingerprint(),
      nickname: this.keys.nickname,
      endpoint: this.endpoint,
      bridgeLines: this.bridgeLines,
      descriptorPublished: this.documents.publishedSeconds,
      workerKind: this.workers.kind,
      workers: this.workers.stats(),
      pool: this.workers.poolStatus(),
      directory: this.fetcher.status(),
      publishing: this.publisher?.status() ?? [],
      balancer: this.balancer?.stats(),
      transports: this.transports?.states() ?? [],
    };
  }

  /** The balancer (Extended ORPort front), when one runs. */
  get front(): Balancer | undefined {
    return this.balancer;
  }

  /** Runs one maintenance pass now (tests; also what the timer does). */
  maintain(): Promise<void> {
    this.maintaining ??= this.inTurn(() => this.runMaintenance()).finally(() => {
      this.maintaining = undefined;
    });
    return this.maintaining;
  }

  /**
   * Applies a reloaded configuration (see reload-plan.ts): live changes at
   * once, worker options by restarting the worker processes one at a time;
   * everything else keeps its old value until relayd restarts, and the log
   * says which. Resolves with what was done; never rejects.
   */
  reload(next: RelaydConfig): Promise<ReloadOutcome> {
    const run = async (): Promise<ReloadOutcome> => {
      if (this.stopping) return { applied: [], restartedWorkers: false, needsRestart: [] };
      const plan = planReload(this.config, next);
      const previous = this.config;
      this.config = plan.effective;
      const applied = [...plan.live, ...plan.workers];
      try {
        if (plan.live.includes('onionKeyRotation')) {
          this.onionPolicy = { ...this.onionPolicy, policy: this.config.onionKeyRotation };
        }
        const restartWorkers = plan.workers.length > 0;
        const restarted =
          applied.length > 0 ? await this.workers.reconfigure(this.config, restartWorkers) : false;
        const needsRestart = [...plan.restart, ...(restartWorkers && !restarted ? plan.workers : [])];
        const descriptorFields = ['bandwidth', 'contactInfo', 'bridgeDistribution'] as const;
        if (descriptorFields.some((f) => plan.live.includes(f))) {
          this.rebuild('the configuration changed');
          await this.publish();
        }
        if (applied.length === 0 && plan.restart.length === 0) {
          this.logger.notice({}, 'reloaded the configuration: nothing changed');
        } else {
          this.logger.notice(
            { applied, restartedWorkers: restarted && restartWorkers, needsRestart },
            `reloaded the configuration: applied ${applied.join(', ') || 'nothing'}` +
              (restartWorkers && restarted ? ' (worker processes restarted one by one)' : ''),
          );
        }
        if (needsRestart.length > 0) {
          this.logger.warn(
            { needsRestart },
            `these settings changed but take effect only when relayd restarts: ${needsRestart.join(', ')}`,
          );
        }
        if (plan.live.includes('workers') || plan.live.includes('workersAuto')) {
          this.logger.info(
            { workers: this.config.workers, previous: previous.workers },
            'worker count changed',
          );
        }
        return { applied, restartedWorkers: restarted && restartWorkers, needsRestart };
      } catch (error) {
        this.logger.error({ err: describeError(error) }, `reload failed: ${describeError(error)}`);
        return { applied, restartedWorkers: false, needsRestart: plan.restart };
      }
    };
    // Reloads run one after the other.
    const previousReload = this.reloading ?? Promise.resolve(undefined);
    const current = previousReload.then(run, run);
    this.reloading = current;
    return current;
  }

  /** Logs the heartbeat lines now (also what the timer does). */
  logHeartbeat(): void {
    const lines = heartbeatLines(this.clock.nowMs() - this.startedAtMs, this.workers.stats());
    for (const line of lines) this.logger.notice(line.fields, line.message);
  }

  /**
   * Rotates the onion keys now, as the schedule does when they are due
   * (the previous key stays usable for its grace period): the workers get
   * the new keys, and the new descriptor is built and published. Runs in
   * turn with the maintenance pass, so the two never rotate at once.
   */
  rotateOnionKeysNow(): Promise<OnionKeyRotationOutcome> {
    const rotate = async (): Promise<OnionKeyRotationOutcome> => {
      if (this.stopping)
        throw new RelayError('transient', 'STOPPING', 'relayd is stopping: the onion keys were not rotated');
      const previous = this.keys.ntorOnionKey.publicKey;
      this.keys.rotateOnionKeys();
      const nowMs = this.clock.nowMs();
      this.onionKeySetAtMs = nowMs;
      const snapshot = this.keys.workerSnapshot();
      const workersUpdated = this.workers.updateKeys(snapshot);
      this.rebuild('the onion keys were rotated by the operator');
      this.logger.notice({}, 'rotated the onion keys on request');
      await this.publish();
      return {
        rotatedAtMs: nowMs,
        ntorOnionKey: toBase64Unpadded(this.keys.ntorOnionKey.publicKey),
        previousNtorOnionKey: toBase64Unpadded(previous),
        workersUpdated,
        descriptorPublishedSeconds: this.documents.publishedSeconds,
      };
    };
    return this.inTurn(rotate);
  }

  /** Runs `task` once the key work before it has finished (whether it succeeded or not). */
  private inTurn<T>(task: () => Promise<T>): Promise<T> {
    const run = this.keyWork.then(task, task);
    this.keyWork = run.catch(() => {});
    return run;
  }

  /** Client addresses (from the Extended ORPort) and the connections each holds now; undefined without a front. */
  clientAddresses(): Iterable<readonly [string, number]> | undefined {
    return this.balancer?.clientAddresses();
  }

  /** Stops fetching, publishing and the worker(s). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.metricsServer?.close();
      if (this.maintenanceTimer !== undefined) this.scheduler.clearTimeout(this.maintenanceTimer);
      this.maintenanceTimer = undefined;
      if (this.directoryPushTimer !== undefined) this.scheduler.clearTimeout(this.directoryPushTimer);
      this.directoryPushTimer = undefined;
      if (this.heartbeatTimer !== undefined) this.scheduler.clearTimeout(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      this.fetcher.stop();
      this.unsubscribeWorkers?.();
      await this.keyWork;
      await this.reloading?.catch(() => {});
      // The transports first (they forward into the front), then the front, then the workers behind it.
      await this.transports?.stop();
      await this.balancer?.close();
      await this.workers.stop();
      this.service.close();
      this.logger.notice({}, 'relayd stopped');
    })();
    return this.stopping;
  }

  // ------------------------------------------------------------------ internals

  /** Serves and writes the first documents, and arms the timers. */
  private install(): void {
    this.installDocuments();
    this.writeBridgeLines();
    if (this.balancer?.mode === 'proxy') {
      this.unsubscribeWorkers = this.workers.onChange(() => this.syncBackends());
      this.syncBackends();
    }
    this.transports?.onPublishedChange(() => {
      if (this.stopping) return;
      this.rebuild('the pluggable transports changed');
      this.writeBridgeLines();
      void this.publish();
    });
    this.store.onChange((change) => {
      this.scheduleDirectoryPush();
      if (change === 'consensus' || change === 'microdescriptors') this.noteDirectoryProgress();
    });
    // The documents just installed (our own descriptor) reach the workers, which started before them, now.
    this.pushDirectory();
    this.noteDirectoryProgress();
    void this.publish();
    this.armMaintenance();
    this.armHeartbeat();
  }

  private scheduleDirectoryPush(): void {
    if (this.stopping || this.directoryPushTimer !== undefined) return;
    this.directoryPushTimer = this.scheduler.setTimeout(() => {
      this.directoryPushTimer = undefined;
      this.pushDirectory();
    }, DIRECTORY_PUSH_DELAY_MS);
  }

  /** Gives the workers the store's documents now (and cancels a pending push). */
  private pushDirectory(): void {
    if (this.directoryPushTimer !== undefined) this.scheduler.clearTimeout(this.directoryPushTimer);
    this.directoryPushTimer = undefined;
    if (this.stopping) return;
    this.workers.directoryChanged(() => this.store.snapshot());
  }

  private armHeartbeat(): void {
    const interval =
      this.options.heartbeatIntervalMs ??
      (this.config.testingTorNetwork ? TESTING_HEARTBEAT_LOG_INTERVAL_MS : HEARTBEAT_LOG_INTERVAL_MS);
    this.heartbeatTimer = this.scheduler.setTimeout(() => {
      this.heartbeatTimer = undefined;
      if (this.stopping) return;
      this.logHeartbeat();
      this.armHeartbeat();
    }, interval);
  }

  /** The documents as of now, published after `previousPublishedSeconds` (the ones they replace). */
  private build(previousPublishedSeconds?: number): BridgeDocuments {
    const states = this.transports?.states() ?? [];
    const transportInfo = extraInfoTransportInfo(states);
    return buildOwnDocuments(
      {
        config: this.config,
        keys: this.keys,
        endpoint: this.endpoint,
        platform: this.platform,
        startedAtMs: this.startedAtMs,
        transports: {
          transports: extraInfoTransports(states, { ipv4: this.endpoint.ipv4 }),
          ...(transportInfo ? { transportInfo } : {}),
        },
        ...(previousPublishedSeconds !== undefined ? { previousPublishedSeconds } : {}),
      },
      this.clock,
    );
  }

  /** The bridge lines (vanilla, then one per running transport) and the running transports that have none. */
  bridgeLineSet(): ReturnType<typeof bridgeLines> {
    return bridgeLines({
      fingerprint: this.keys.fingerprint(),
      addresses: { ipv4: this.endpoint.ipv4 },
      orPort: this.endpoint.orPort,
      transports: this.transports?.states() ?? [],
    });
  }

  /** Writes bridge-lines.txt and logs its lines when they changed. */
  private writeBridgeLines(): void {
    const { lines, skipped } = this.bridgeLineSet();
    const text = bridgeLinesText(lines);
    if (text === this.publishedBridgeLines) return;
    this.publishedBridgeLines = text;
    writeDataFile(this.config.dataDirectory, BRIDGE_LINES_FILE, text);
    for (const line of lines) this.logger.notice({}, `bridge line: ${line}`);
    for (const { transport, reason } of skipped) {
      this.logger.warn({ transport }, `no bridge line for transport ${transport}: ${reason}`);
    }
  }

  /**
   * Proxy mode: makes the balancer's set of worker backends what the
   * workers offer now — a new or replaced worker is added (a backend id is
   * its slot, "worker N": a replacement takes its predecessor's place), a
   * draining, dead or silent one removed. Connections already proxied to a
   * removed backend run on.
   */
  private syncBackends(): void {
    const balancer = this.balancer;
    if (balancer?.mode !== 'proxy' || this.stopping) return;
    const wanted = new Map(this.workers.extOrBackends().map((b) => [`worker ${b.workerId}`, b]));
    for (const [id, backend] of wanted) {
      const key = `${backend.pid}:${backend.port}`;
      if (this.registeredBackends.get(id) === key) continue;
      balancer.addBackend({ id, host: backend.host, port: backend.port, cookie: { bytes: backend.cookie } });
      this.registeredBackends.set(id, key);
    }
    for (const id of [...this.registeredBackends.keys()]) {
      if (wanted.has(id)) continue;
      balancer.removeBackend(id);
      this.registeredBackends.delete(id);
      this.logger.info({ backend: id }, `backend ${id} removed: the worker takes no new connections`);
    }
  }

  /** Hands the current documents to the directory cache and writes them to the DataDirectory. */
  private installDocuments(): void {
    const { serverDescriptor, extraInfo } = this.documents;
    const set = this.store.setOwnDescriptors(utf8(serverDescriptor), utf8(extraInfo), this.clock.nowMs());
    if (!set.ok)
      this.logger.error(
        { err: set.error.message },
        `bug: our own descriptor was refused: ${set.error.message}`,
      );
    const dataDir = this.config.dataDirectory;
    writeDataFile(dataDir, SERVER_DESCRIPTOR_FILE, serverDescriptor);
    writeDataFile(dataDir, EXTRA_INFO_FILE, extraInfo);
  }

  private rebuild(reason: string): void {
    this.documents = this.build(this.documents.publishedSeconds);
    this.builtAtMs = this.clock.nowMs();
    this.installDocuments();
    this.logger.info(
      { reason, published: this.documents.publishedSeconds },
      `rebuilt the bridge descriptor: ${reason}`,
    );
  }

  private async publish(): Promise<void> {
    if (!this.publisher || this.stopping) return;
    await this.publisher.publish(this.documents);
  }

  private noteDirectoryProgress(): void {
    const status = this.fetcher.status();
    const consensus = status.consensus;
    const complete = consensus !== undefined && status.microdescriptors.missing === 0;
    if (complete && !this.directoryReady) {
      this.directoryReady = true;
      // "ready" means every worker can serve it: the snapshot goes out before the line.
      this.pushDirectory();
      this.logger.notice(
        {
          validUntil: new Date(consensus.validUntil * 1000).toISOString(),
          microdescriptors: status.microdescriptors.held,
        },
        `directory cache ready: a consensus valid until ${new Date(consensus.validUntil * 1000).toISOString()} and all ${status.microdescriptors.listed} microdescriptors it lists`,
      );
    }
  }

  private armMaintenance(): void {
    if (this.stopping) return;
    this.maintenanceTimer = this.scheduler.setTimeout(() => {
      this.maintenanceTimer = undefined;
      void this.maintain().finally(() => this.armMaintenance());
    }, this.options.maintenanceIntervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS);
  }

  private async runMaintenance(): Promise<void> {
    if (this.stopping) return;
    try {
      const nowMs = this.clock.nowMs();
      const reasons: string[] = [];
      let snapshotDue = false;
      if (this.keys.refreshSigningKey(nowMs)) {
        snapshotDue = true;
        reasons.push('the signing key was renewed');
      }
      const onion = applyOnionKeySchedule(
        this.keys,
        this.onionPolicy,
        this.onionKeySetAtMs,
        nowMs,
        this.logger,
      );
      this.onionKeySetAtMs = onion.setAtMs;
      if (onion.rotated) reasons.push('the onion keys were rotated');
      if (onion.rotated || onion.expired) snapshotDue = true;
      if (snapshotDue) this.workers.updateKeys(this.keys.workerSnapshot());
      if (nowMs - this.builtAtMs >= DESCRIPTOR_REGENERATE_INTERVAL_MS) reasons.push('it is 18 hours old');
      if (reasons.length > 0) this.rebuild(reasons.join('; '));
      this.lastMaintenanceError = undefined;
      await this.publish();
    } catch (error) {
      // The same failure (an expired offline signing key) is logged once, not every minute.
      const message = describeError(error);
      if (message !== this.lastMaintenanceError)
        this.logger.error({ err: message }, `key maintenance failed: ${message}`);
      this.lastMaintenanceError = message;
    }
  }
}

/**
 * Rotates or expires onion keys when due. `setAtMs` is when the current
 * onion key was made; the returned one is that time after a rotation.
 */
function applyOnionKeySchedule(
  keys: KeyStore,
  policy: OnionKeyPolicy,
  setAtMs: number,
  nowMs: number,
  logger: Logger,
): { rotated: boolean; expired: boolean; setAtMs: number } {
  const actions = onionKeyActions(
    { currentSetAtMs: setAtMs, hasPrevious: keys.previousNtorOnionKey !== undefined },
    policy,
    nowMs,
  );
  if (actions.rotate) {
    keys.rotateOnionKeys();
    return { rotated: true, expired: false, setAtMs: nowMs };
  }
  if (actions.expirePrevious) {
    keys.expireOldOnionKeys();
    logger.info({}, 'forgot the previous onion keys: their grace period is over');
    return { rotated: false, expired: true, setAtMs };
  }
  return { rotated: false, expired: false, setAtMs };
}
