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
 * snapshot after onion-key rotation or signing-key renewal),
 * `acceptConnection()` (a connection accepted elsewhere and handed over),
 * `stats()`, `drain()` and `stop()`. In-process, the worker opens the
 * ORPorts itself; in a worker process (worker-process.ts) the supervisor
 * owns the listening sockets and hands every accepted connection over, so
 * the worker opens none (`openListeners: false`).
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
  type ChannelProvider,
  type DirectoryService,
  type EngineMetrics,
  type EstablishedChannel,
  RelayEngine,
  type RelayEngineOptionsInput,
  type Scheduler,
  systemScheduler,
} from '@relayd/engine';
import type { HandoffMeta, WorkerStatsReport } from '@relayd/ipc';
import type { WorkerKeySnapshot } from '@relayd/keys';
import {
  acceptLinkOnSocket,
  acceptLinks,
  DEFAULT_MAX_PENDING_HANDSHAKES,
  type LinkListener,
  LinkTlsContexts,
  type TcpSocket,
  TlsChannelProvider,
} from '@relayd/net';
import { type ListenTarget, planListeners } from './listen-plan.js';
import { TransportConnectionCounts } from './transport-counts.js';
import { WorkerCounters } from './worker-counters.js';
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

/**
 * Counts channels as they come and go (telemetry's ChannelConnectionMetrics:
 * C tor's connection metrics): every channel the engine adopts goes through
 * `track`, and the EXTEND2 provider through `trackProvider`.
 */
export interface ChannelTracker {
  track(channel: EstablishedChannel): EstablishedChannel;
  trackProvider(provider: ChannelProvider): ChannelProvider;
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
  /** Where the engine's metrics go besides the worker's own counters. */
  readonly engineMetrics?: EngineMetrics;
  /** Where channels are counted as connections (the worker's metrics). */
  readonly channelMetrics?: ChannelTracker;
  /**
   * Open the config's ORPorts (default true). A worker process does not:
   * its supervisor listens and hands connections over (`acceptConnection`).
   */
  readonly openListeners?: boolean;
  /** Handed-over connections beyond this many in their handshake are closed. Default 4096. */
  readonly maxPendingHandshakes?: number;
}

/** A worker's statistics: gauges now, counters since it started (see @relayd/ipc). */
export type WorkerStats = WorkerStatsReport;

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
  /**
   * Serves a connection accepted elsewhere: runs TLS and the responder link
   * handshake on it (after putting back `meta.leftover`, the bytes already
   * read from it) and gives the channel to the engine. The worker owns the
   * socket from here on; after `drain()` or `stop()` it is closed at once.
   */
  acceptConnection(socket: TcpSocket, meta?: HandoffMeta): void;
  stats(): WorkerStats;
  /**
   * Takes no new connections and stops once no circuit and no handshake is
   * left, or after `timeoutMs` at the latest. Resolves when stopped.
   */
  drain(timeoutMs: number): Promise<void>;
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
/** How often a draining worker looks whether it is idle. */
const DRAIN_CHECK_INTERVAL_MS = 1000;
/** Refused handed-over connections are logged at most this often. */
const REFUSAL_WARNING_INTERVAL_MS = 60_000;

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
  const startedAtMs = clock.monotonicMs();
  const counters = new WorkerCounters(modules.engineMetrics);

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
      channelProvider: modules.channelMetrics ? modules.channelMetrics.trackProvider(provider) : provider,
      directoryService: modules.directoryService,
      ephemeralKeypair: generateX25519,
      logger: workerLogger,
      metrics: counters.metrics,
    },
  );

  let linksAccepted = 0;
  let linkHandshakesFailed = 0;
  const byTransport = new TransportConnectionCounts();
  const listeners: LinkListener[] = [];
  const bound: BoundListener[] = [];
  const onChannel = (channel: EstablishedChannel, transportName: string | undefined) => {
    linksAccepted++;
    byTransport.linkAccepted(transportName);
    engine.adoptChannel(modules.channelMetrics ? modules.channelMetrics.track(channel) : channel);
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
      onChannel: (channel) => {
        byTransport.connection(undefined);
        onChannel(channel, undefined);
      },
      onError: () => {
        byTransport.connection(undefined);
        linkHandshakesFailed++;
      },
    });

  const handedOver = new HandedOverConnections({
    logger,
    clock,
    maxPending: modules.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES,
    accept: (socket, meta) =>
      acceptLinkOnSocket(socket, {
        tls,
        clock,
        random,
        localAddresses: data.publicAddresses,
        ...(meta.clientAddress ? { remote: meta.clientAddress } : {}),
        ...(meta.transportName !== undefined ? { transportName: meta.transportName } : {}),
      }),
    onChannel,
    onReceived: (meta) => byTransport.connection(meta.transportName),
    onFailure: () => {
      linkHandshakesFailed++;
    },
  });

  let stopping: Promise<void> | undefined;
  let draining = false;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // A listener's close() settles only once every connection it accepted
      // has ended: stop accepting first, then close the channels, then wait.
      handedOver.close();
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
    const targets = modules.openListeners === false ? [] : planListeners(config.orPorts);
    for (const target of targets) {
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
    acceptConnection(socket, meta = {}) {
      if (stopping || draining) {
        socket.destroy();
        return;
      }
      handedOver.accept(socket, meta);
    },
    stats() {
      const engineStats = engine.stats;
      return {
        workerId,
        pid: process.pid,
        uptimeMs: Math.max(0, Math.round(clock.monotonicMs() - startedAtMs)),
        channels: engineStats.channels,
        circuits: engineStats.circuits,
        createQueueLength: engineStats.createQueueLength,
        directoryStreams: engineStats.directoryStreams,
        pendingChannelOpens: engineStats.pendingChannelOpens,
        pendingHandshakes: listeners.reduce((n, l) => n + l.pendingHandshakes, 0) + handedOver.pending,
        linksAccepted,
        linkHandshakesFailed,
        connectionsReceived: handedOver.received,
        connectionsByTransport: byTransport.snapshot(),
        onionskins: counters.onionskins(),
        cellsReceived: counters.cellsReceived,
        cellsSent: counters.cellsSent,
        bytesReceived: handedOver.bytesReceived(),
        bytesSent: handedOver.bytesSent(),
      };
    },
    drain(timeoutMs) {
      draining = true;
      const deadline = clock.monotonicMs() + timeoutMs;
      logger.info({ timeoutMs }, 'draining: no new connections; stopping once idle');
      return new Promise<void>((resolve) => {
        const check = () => {
          const idle = engine.stats.circuits === 0 && handedOver.pending === 0;
          if (idle || stopping || clock.monotonicMs() >= deadline) {
            void stop().then(resolve);
            return;
          }
          scheduler.setTimeout(check, DRAIN_CHECK_INTERVAL_MS);
        };
        check();
      });
    },
    stop,
  };
}

/**
 * Connections the supervisor accepted and handed over: each runs TLS and the
 * responder handshake here; at most `maxPending` at once (more are closed,
 * as the in-process listener refuses them), and the bytes of every one are
 * counted (`bytesRead`/`bytesWritten` of the raw socket, plus the leftover
 * bytes read before the handover).
 */
class HandedOverConnections {
  private readonly pendingSockets = new Set<TcpSocket>();
  private readonly openSockets = new Set<TcpSocket>();
  private closedBytesReceived = 0;
  private closedBytesSent = 0;
  private refused = 0;
  private lastRefusalWarningMs = Number.NEGATIVE_INFINITY;
  private closed = false;
  received = 0;

  constructor(
    private readonly opts: {
      readonly logger: Logger;
      readonly clock: Clock;
      readonly maxPending: number;
      accept(socket: TcpSocket, meta: HandoffMeta): Promise<EstablishedChannel>;
      onChannel(channel: EstablishedChannel, transportName: string | undefined): void;
      /** Every connection handed over, refused ones included. */
      onReceived(meta: HandoffMeta): void;
      onFailure(): void;
    },
  ) {}

  get pending(): number {
    return this.pendingSockets.size;
  }

  bytesReceived(): number {
    let n = this.closedBytesReceived;
    for (const socket of this.openSockets) n += socket.bytesRead;
    return n;
  }

  bytesSent(): number {
    let n = this.closedBytesSent;
    for (const socket of this.openSockets) n += socket.bytesWritten;
    return n;
  }

  accept(socket: TcpSocket, meta: HandoffMeta): void {
    this.received++;
    this.opts.onReceived(meta);
    const { logger } = this.opts;
    if (this.closed || this.pendingSockets.size >= this.opts.maxPending) {
      socket.destroy();
      this.noteRefusal();
      return;
    }
    const leftover = meta.leftover?.length ?? 0;
    this.closedBytesReceived += leftover;
    this.openSockets.add(socket);
    socket.once('close', () => {
      this.openSockets.delete(socket);
      this.closedBytesReceived += socket.bytesRead;
      this.closedBytesSent += socket.bytesWritten;
    });
    // The bytes the acceptor read before handing the socket over come first (node's TLSSocket takes what is buffered).
    if (leftover > 0) socket.unshift(Buffer.from(meta.leftover!));
    this.pendingSockets.add(socket);
    this.opts.accept(socket, meta).then(
      (channel) => {
        this.pendingSockets.delete(socket);
        try {
          this.opts.onChannel(channel, meta.transportName);
        } catch (error) {
          logger.error({ err: describeError(error) }, 'bug: adopting a channel threw; closing it');
          channel.transport.close();
        }
      },
      (error: Error) => {
        this.pendingSockets.delete(socket);
        this.opts.onFailure();
        logger.debug({ err: error.message }, 'link handshake failed');
      },
    );
  }

  /** Closes the connections still in their handshake and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const socket of this.pendingSockets) socket.destroy();
  }

  private noteRefusal(): void {
    this.refused++;
    const now = this.opts.clock.monotonicMs();
    if (this.closed || now - this.lastRefusalWarningMs < REFUSAL_WARNING_INTERVAL_MS) return;
    this.lastRefusalWarningMs = now;
    this.opts.logger.warn(
      { pending: this.pendingSockets.size, refused: this.refused },
      'too many link handshakes in progress; refusing handed-over connections',
    );
    this.refused = 0;
  }
}
