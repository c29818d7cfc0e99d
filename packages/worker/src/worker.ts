/**
 * One relayd worker: the ORPort listeners running the responder link
 * handshake, and the relay engine that adopts every channel they establish.
 *
 *   ORPort ──TLS + link handshake (net)──▶ EstablishedChannel ──▶ RelayEngine
 *   EXTEND2 ◀──────────── TlsChannelProvider (net) ◀────────────── RelayEngine
 *   BEGIN_DIR ──────────────────────────────────────────────────▶ DirectoryService
 *
 * `startWorker(data, modules)` takes plain, structured-clone-friendly data
 * (the key snapshot and the parsed config: what a forked worker process
 * receives over IPC) and the in-process services (the directory service,
 * logger, clock, scheduler). It returns a handle with `updateKeys()` (a new
 * snapshot after onion-key rotation or signing-key renewal), `stats()` and
 * `stop()`. The supervisor runs one such worker in its own process today;
 * a forked worker will run the same function on the other side of a pipe.
 *
 * Keys: the worker never sees the master identity secret. A new snapshot
 * updates the engine's onion keys (current and previous, so clients holding
 * the older descriptor still complete ntor) and, when the signing key was
 * renewed, the TLS contexts (CERTS carry the new type 4 certificate).
 */

import {
  type Clock,
  describeError,
  type Logger,
  type Random,
  RelayError,
  silentLogger,
  systemClock,
} from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import { generateX25519, secureRandom } from '@relayd/crypto';
import {
  type DirectoryService,
  type EstablishedChannel,
  RelayEngine,
  type RelayEngineOptionsInput,
  type RelayEngineStats,
  type Scheduler,
  systemScheduler,
} from '@relayd/engine';
import type { WorkerKeySnapshot } from '@relayd/keys';
import { acceptLinks, type LinkListener, LinkTlsContexts, TlsChannelProvider } from '@relayd/net';
import { type ListenTarget, planListeners } from './listen-plan.js';
import { compareKeyMaterial, keyMaterialFromSnapshot, type WorkerKeyMaterial } from './worker-keys.js';

/** Bumped when WorkerStartData changes shape. */
export const WORKER_START_DATA_VERSION = 1;

/** What a worker starts from: plain data that survives structured cloning. */
export interface WorkerStartData {
  readonly version: typeof WORKER_START_DATA_VERSION;
  /** 1-based; names the worker in logs and stats. */
  readonly workerId: number;
  readonly keys: WorkerKeySnapshot;
  readonly config: RelaydConfig;
  /** The bridge's public addresses, told to peers in NETINFO. */
  readonly publicAddresses: readonly string[];
}

/** The in-process services a worker uses. */
export interface WorkerModules {
  /** Answers BEGIN_DIR requests (the directory cache's document store). */
  readonly directoryService: DirectoryService;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly scheduler?: Scheduler;
  /** Engine tunables beyond what the config sets (tests). */
  readonly engineOptions?: RelayEngineOptionsInput;
}

export interface WorkerStats extends RelayEngineStats {
  readonly workerId: number;
  /** Connections in their TLS or link handshake. */
  readonly pendingHandshakes: number;
  /** Channels established on the ORPorts and handed to the engine. */
  readonly linksAccepted: number;
  /** Connections that failed before their link handshake completed. */
  readonly linkHandshakesFailed: number;
}

/** An open ORPort listener. */
export interface BoundListener {
  readonly host: string;
  readonly port: number;
  /** The config `orPorts` entry it serves. */
  readonly orPortIndex: number;
}

/** A running worker, as its supervisor holds it. */
export interface WorkerHandle {
  readonly workerId: number;
  /** The bound ORPort listeners (with the port the system picked for `auto`). */
  readonly listeners: readonly BoundListener[];
  /** Installs a new key snapshot of the same identity. */
  updateKeys(snapshot: WorkerKeySnapshot): void;
  stats(): WorkerStats;
  /** Stops accepting, closes every channel, stops timers. Idempotent. */
  stop(): Promise<void>;
}

/** Listening failed: the ORPort could not be opened. */
export class WorkerStartError extends RelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('io', 'ORPORT_LISTEN', message, options);
    this.name = 'WorkerStartError';
  }
}

const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

async function listen(
  target: ListenTarget,
  open: (host: string, port: number) => Promise<LinkListener>,
): Promise<LinkListener> {
  try {
    return await open(target.host, target.port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (target.ipv4Fallback && NO_IPV6.has(code)) return open(target.ipv4Fallback, target.port);
    throw error;
  }
}

function describeListener(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Starts a worker: opens every ORPort of the config and starts its engine.
 * Rejects with a WorkerStartError (and leaves nothing running) if a port
 * cannot be opened.
 */
export async function startWorker(data: WorkerStartData, modules: WorkerModules): Promise<WorkerHandle> {
  if (data.version !== WORKER_START_DATA_VERSION) {
    throw new RelayError('internal', 'BUG', `bug: worker start data version ${String(data.version)}`);
  }
  const { config, workerId } = data;
  const clock = modules.clock ?? systemClock;
  const random = modules.random ?? secureRandom;
  const scheduler = modules.scheduler ?? systemScheduler;
  // The engine names its own module; both share the worker's id.
  const workerLogger = (modules.logger ?? silentLogger).child({ worker: workerId });
  const logger = workerLogger.child({ module: 'worker' });
  let material: WorkerKeyMaterial = keyMaterialFromSnapshot(data.keys);

  const tls = new LinkTlsContexts(material.link, { clock, random, logger });
  const provider = new TlsChannelProvider({
    clock,
    random,
    logger,
    ...(config.outboundBindAddresses.ipv4 ? { localAddress: config.outboundBindAddresses.ipv4 } : {}),
  });
  const engine = new RelayEngine(
    { ...modules.engineOptions, extendAllowPrivateAddresses: config.extendAllowPrivateAddresses },
    {
      identity: material.identity,
      onionKeys: material.onionKeys,
      random,
      clock,
      scheduler,
      channelProvider: provider,
      directoryService: modules.directoryService,
      ephemeralKeypair: generateX25519,
      logger: workerLogger,
    },
  );

  let linksAccepted = 0;
  let linkHandshakesFailed = 0;
  const listeners: LinkListener[] = [];
  const bound: BoundListener[] = [];
  const onChannel = (channel: EstablishedChannel) => {
    linksAccepted++;
    engine.adoptChannel(channel);
  };
  const open = (host: string, port: number) =>
    acceptLinks({
      host,
      port,
      tls,
      clock,
      random,
      logger,
      localAddresses: data.publicAddresses,
      onChannel,
      onError: () => {
        linkHandshakesFailed++;
      },
    });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // A listener's close() settles only once every connection it accepted
      // has ended: stop accepting first, then close the channels, then wait.
      const closing = listeners.map((l) => l.close());
      engine.close();
      provider.close();
      tls.stopRotation();
      await Promise.all(closing);
      logger.info({}, 'worker stopped');
    })();
    return stopping;
  };

  try {
    for (const target of planListeners(config.orPorts)) {
      let listener: LinkListener;
      try {
        listener = await listen(target, open);
      } catch (error) {
        throw new WorkerStartError(
          `could not open the ORPort on ${describeListener(target.host, target.port)}: ${describeError(error)}`,
          { cause: error },
        );
      }
      listeners.push(listener);
      bound.push({ host: listener.host, port: listener.port, orPortIndex: target.orPortIndex });
      logger.notice(
        { address: describeListener(listener.host, listener.port) },
        `ORPort listening on ${describeListener(listener.host, listener.port)}`,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  tls.startRotation();

  return {
    workerId,
    listeners: bound,
    updateKeys(snapshot) {
      const next = keyMaterialFromSnapshot(snapshot);
      const changes = compareKeyMaterial(material, next);
      material = next;
      if (changes.onionKeys) engine.updateOnionKeys(next.onionKeys);
      if (changes.signingKey) tls.updateKeys(next.link);
      logger.info(changes, 'installed a new key snapshot');
    },
    stats() {
      return {
        workerId,
        ...engine.stats,
        pendingHandshakes: listeners.reduce((n, l) => n + l.pendingHandshakes, 0),
        linksAccepted,
        linkHandshakesFailed,
      };
    },
    stop,
  };
}
