/**
 * The supervisor: the one process that owns the bridge. It loads (or
 * creates) the keys, starts the worker(s), keeps the directory cache
 * current, builds, signs, serves and publishes the bridge's descriptor, and
 * runs the key schedule:
 *
 *   start  ─ keys (loadOrCreateKeys; fingerprint files)
 *          ─ directory store + fetcher (DataDirectory/cached-*: reload, then fetch)
 *          ─ worker(s) via the launcher (ORPorts open)
 *          ─ descriptor + extra-info → store (served over BEGIN_DIR), DataDirectory files,
 *            bridge-lines.txt, and the bridge authorities when PublishServerDescriptor says so
 *   every maintenance tick (a minute)
 *          ─ signing key renewal (KeyStore.refreshSigningKey) → new snapshot to the workers
 *          ─ onion key rotation / expiry of the previous key (key-schedule.ts) → new snapshot
 *          ─ descriptor rebuilt when its keys changed or it is 18 hours old; published when new
 *   stop   ─ fetcher, worker(s), timers
 *
 * Today exactly one worker runs, in this process (WorkerLauncher
 * "in-process"); the multi-process supervisor replaces only the launcher.
 * Everything the supervisor tells a worker is plain data (WorkerStartData,
 * key snapshots), never the master identity secret.
 */
import { type as osType } from 'node:os';
import { type Clock, describeError, type Logger, type Random, systemClock, utf8 } from '@relayd/common';
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
import { httpRequest } from '@relayd/net';
import { WORKER_START_DATA_VERSION, type WorkerHandle, type WorkerStats } from '@relayd/worker';
import { type BridgeDocuments, buildOwnDocuments } from './bridge-documents.js';
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
import { defaultOnionKeyPolicy, type OnionKeyPolicy, onionKeyActions } from './key-schedule.js';
import {
  type AddressEnvironment,
  type PublicEndpoint,
  publishedEndpoint,
  resolvePublicAddresses,
  systemAddressEnvironment,
  vanillaBridgeLine,
} from './public-address.js';
import { inProcessWorkerLauncher, type WorkerLauncher } from './worker-launcher.js';

/** How often keys and the descriptor are looked at. */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 60_000;
/**
 * tor's FORCE_REGENERATE_DESCRIPTOR_INTERVAL (18 hours): a descriptor is
 * rebuilt, with a new "published" time, at least this often.
 */
export const DESCRIPTOR_REGENERATE_INTERVAL_MS = 18 * 60 * 60 * 1000;
/** Largest directory answer relayd reads (tor's MAX_DIR_DL_SIZE). */
const MAX_DIRECTORY_RESPONSE_BYTES = 16 * 1024 * 1024;
/** An authority's answer to an upload is a status line; anything more is not read. */
const MAX_UPLOAD_RESPONSE_BYTES = 64 * 1024;

export interface SupervisorOptions {
  readonly config: RelaydConfig;
  /** relayd's version, for the descriptor's "platform" line. */
  readonly version: string;
  readonly maintenanceIntervalMs?: number;
  /** Onion-key schedule; the policy defaults to the config's OnionKeyRotation. */
  readonly onionKeyPolicy?: Partial<OnionKeyPolicy>;
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
  /** How workers are started; default: in this process. */
  readonly launcher?: (services: {
    readonly directoryService: DirCacheService;
    readonly logger: Logger;
  }) => WorkerLauncher;
}

export interface SupervisorStatus {
  readonly fingerprint: string;
  readonly nickname: string;
  readonly endpoint: PublicEndpoint;
  readonly bridgeLines: readonly string[];
  readonly descriptorPublished: number;
  readonly workers: readonly WorkerStats[];
  readonly directory: ReturnType<DirectoryFetcher['status']>;
  readonly publishing: readonly PublishStatus[];
}

function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === '::1';
}

/** net's httpRequest as the fetcher's GET (tor ignores OutboundBindAddress towards loopback; so does this). */
function httpFetch(config: RelaydConfig): DirectoryFetch {
  const bind = config.outboundBindAddresses.ipv4;
  return async (request) => {
    const response = await httpRequest({
      method: request.method,
      host: request.host,
      port: request.port,
      path: request.path,
      headers: request.headers,
      timeoutMs: request.timeoutMs,
      maxResponseBytes: Math.min(request.maxResponseBytes, MAX_DIRECTORY_RESPONSE_BYTES),
      ...(bind && !isLoopback(request.host) ? { localAddress: bind } : {}),
    });
    return { status: response.status, body: response.body };
  };
}

function httpPost(config: RelaydConfig): DescriptorPost {
  const bind = config.outboundBindAddresses.ipv4;
  return async (request) => {
    const response = await httpRequest({
      method: 'POST',
      host: request.host,
      port: request.port,
      path: request.path,
      headers: { 'Content-Type': 'text/plain' },
      body: request.body,
      timeoutMs: request.timeoutMs,
      maxResponseBytes: MAX_UPLOAD_RESPONSE_BYTES,
      ...(bind && !isLoopback(request.host) ? { localAddress: bind } : {}),
    });
    return { status: response.status };
  };
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
  readonly workers: readonly WorkerHandle[];
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
  private maintaining: Promise<void> | undefined;
  private directoryReady = false;
  private stopping: Promise<void> | undefined;
  private lastMaintenanceError: string | undefined;

  private readonly options: SupervisorOptions;
  private readonly keys: KeyStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly onionPolicy: OnionKeyPolicy;
  private readonly store: DirectoryStore;
  private readonly service: DirCacheService;
  private readonly fetcher: DirectoryFetcher;
  private readonly workers: readonly WorkerHandle[];
  private readonly publisher: DescriptorPublisher | undefined;
  private readonly startedAtMs: number;
  private readonly platform: string;
  /** When the current onion key was made (ms since the epoch). */
  private onionKeySetAtMs: number;
  /** The published address and ORPort. */
  readonly endpoint: PublicEndpoint;

  private constructor(parts: SupervisorParts) {
    this.options = parts.options;
    this.keys = parts.keys;
    this.logger = parts.logger;
    this.clock = parts.clock;
    this.scheduler = parts.scheduler;
    this.onionPolicy = parts.onionPolicy;
    this.store = parts.store;
    this.service = parts.service;
    this.fetcher = parts.fetcher;
    this.workers = parts.workers;
    this.publisher = parts.publisher;
    this.startedAtMs = parts.startedAtMs;
    this.platform = parts.platform;
    this.onionKeySetAtMs = parts.onionKeySetAtMs;
    this.endpoint = parts.endpoint;
    this.documents = this.build();
    this.builtAtMs = this.clock.nowMs();
  }

  /**
   * Starts the bridge. Rejects with a RelayError for an unusable key
   * directory (KeyStoreError), an address that cannot be worked out, or an
   * ORPort that cannot be opened; nothing is left running then.
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
      },
    );
    const launcher = (modules.launcher ?? inProcessWorkerLauncher)({
      directoryService: service,
      logger: modules.logger,
    });

    let worker: WorkerHandle | undefined;
    try {
      await fetcher.start();
      worker = await launcher.start({
        version: WORKER_START_DATA_VERSION,
        workerId: 1,
        keys: keys.workerSnapshot(),
        config,
        publicAddresses: [addresses.ipv4, ...(addresses.ipv6 ? [addresses.ipv6] : [])],
      });
      const endpoint = publishedEndpoint(config, addresses, worker.listeners);
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
        workers: [worker],
        endpoint,
        publisher,
        startedAtMs,
        platform: `relayd ${options.version} on ${osType()}`,
        onionKeySetAtMs,
      });
      supervisor.install();
      return supervisor;
    } catch (error) {
      fetcher.stop();
      service.close();
      await worker?.stop();
      throw error;
    }
  }

  get fingerprint(): string {
    return this.keys.fingerprint();
  }

  /** The lines written to bridge-lines.txt. */
  get bridgeLines(): readonly string[] {
    return [vanillaBridgeLine(this.endpoint, this.keys.fingerprint())];
  }

  /** The documents being served (and published). */
  get currentDocuments(): BridgeDocuments {
    return this.documents;
  }

  status(): SupervisorStatus {
    return {
      fingerprint: this.keys.fingerprint(),
      nickname: this.keys.nickname,
      endpoint: this.endpoint,
      bridgeLines: this.bridgeLines,
      descriptorPublished: this.documents.publishedSeconds,
      workers: this.workers.map((w) => w.stats()),
      directory: this.fetcher.status(),
      publishing: this.publisher?.status() ?? [],
    };
  }

  /** Runs one maintenance pass now (tests; also what the timer does). */
  maintain(): Promise<void> {
    this.maintaining ??= this.runMaintenance().finally(() => {
      this.maintaining = undefined;
    });
    return this.maintaining;
  }

  /** Stops fetching, publishing and the worker(s). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.maintenanceTimer !== undefined) this.scheduler.clearTimeout(this.maintenanceTimer);
      this.maintenanceTimer = undefined;
      this.fetcher.stop();
      await this.maintaining?.catch(() => {});
      await Promise.all(this.workers.map((w) => w.stop()));
      this.service.close();
      this.logger.notice({}, 'relayd stopped');
    })();
    return this.stopping;
  }

  // ------------------------------------------------------------------ internals

  /** Serves and writes the first documents, and arms the timers. */
  private install(): void {
    this.installDocuments();
    const lines = this.bridgeLines;
    writeDataFile(this.options.config.dataDirectory, BRIDGE_LINES_FILE, bridgeLinesText(lines));
    for (const line of lines) this.logger.notice({}, `bridge line: ${line}`);
    this.store.onChange((change) => {
      if (change === 'consensus' || change === 'microdescriptors') this.noteDirectoryProgress();
    });
    this.noteDirectoryProgress();
    void this.publish();
    this.armMaintenance();
  }

  private build(): BridgeDocuments {
    return buildOwnDocuments(
      {
        config: this.options.config,
        keys: this.keys,
        endpoint: this.endpoint,
        platform: this.platform,
        startedAtMs: this.startedAtMs,
      },
      this.clock,
    );
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
    const dataDir = this.options.config.dataDirectory;
    writeDataFile(dataDir, SERVER_DESCRIPTOR_FILE, serverDescriptor);
    writeDataFile(dataDir, EXTRA_INFO_FILE, extraInfo);
  }

  private rebuild(reason: string): void {
    this.documents = this.build();
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
      if (snapshotDue) {
        const snapshot = this.keys.workerSnapshot();
        for (const worker of this.workers) worker.updateKeys(snapshot);
      }
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
