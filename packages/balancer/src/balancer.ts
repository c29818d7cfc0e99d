/**
 * The balancer as the supervisor runs it: the Extended ORPort front(s) with
 * their cookie file, optional vanilla ORPort fronts, one per-address limit
 * shared by all fronts, and the dispatcher of the configured mode —
 * handoff (sockets go to workers through a HandoffTarget) or proxy (TCP to
 * health-checked Extended ORPort backends, from spread source addresses).
 *
 *   PT ──ExtORPort──▶ front ─┬─ handoff ─▶ HandoffTarget.handOff(worker, socket, meta)
 *   client ─ORPort──▶ front ─┴─ proxy ───▶ 127.x:port ──▶ backend ExtORPort (relayd worker, C tor)
 */
import {
  type Clock,
  InternalError,
  type Logger,
  type Random,
  silentLogger,
  systemClock,
} from '@relayd/common';
import type { RelaydConfig, SourceAddressRange } from '@relayd/config';
import { secureRandom } from '@relayd/crypto';
import type { SocketTimers } from '@relayd/net';
import { ConnectionsPerAddress } from './address-limit.js';
import { BackendPool, type BackendSpec, type BackendStats, type HealthPolicy } from './backend-pool.js';
import { writeExtOrCookieFile } from './cookie-files.js';
import { type Dispatcher, HandoffDispatcher, type HandoffStats, type HandoffTarget } from './dispatch.js';
import { type Front, type FrontStats, startExtOrFront, startVanillaFront } from './fronts.js';
import { HealthChecker } from './health-checker.js';
import { ProxyDispatcher, type ProxyStats } from './proxy.js';
import { SourceAddressPool } from './source-addresses.js';

export type BalancerMode = 'handoff' | 'proxy';

export interface ListenAddress {
  /** An IP literal. */
  readonly host: string;
  /** 0: a free port, reported back in the handle. */
  readonly port: number;
}

export interface BalancerSettings {
  readonly mode: BalancerMode;
  /** Extended ORPorts to open. */
  readonly extOrPorts: readonly ListenAddress[];
  /** Where the front's cookie file is written (ExtORPortCookieAuthFile); only if there is an ExtORPort. */
  readonly cookieFile: string;
  /** Vanilla ORPorts the balancer accepts itself; empty when the workers listen on the ORPort. */
  readonly orPorts: readonly ListenAddress[];
  /** Proxy mode: the configured backends (more can be added at run time). */
  readonly backends: readonly BackendSpec[];
  /** Proxy mode: source addresses for connections to loopback backends; empty: the system's choice. */
  readonly sourceAddresses: readonly SourceAddressRange[];
  /** Concurrent connections per client address before DENY; 0: no limit. */
  readonly maxConnectionsPerAddress: number;
  readonly healthCheckIntervalMs: number;
  /** Extended ORPort exchange deadline on the front. Default EXT_OR_HANDSHAKE_DEADLINE_MS. */
  readonly handshakeDeadlineMs?: number;
  /** Connect plus exchange with a backend. Default DEFAULT_BACKEND_DIAL_DEADLINE_MS. */
  readonly backendDialDeadlineMs?: number;
  readonly healthPolicy?: Partial<HealthPolicy>;
}

export interface BalancerServices {
  /** Handoff mode: the workers (the supervisor's WorkerPool). Required there, unused in proxy mode. */
  readonly handoffTarget?: HandoffTarget;
  readonly random?: Random;
  readonly clock?: Clock;
  readonly timers?: SocketTimers;
  readonly logger?: Logger;
}

export interface BalancerStats {
  readonly mode: BalancerMode;
  readonly fronts: readonly FrontStats[];
  /** Proxy mode: every backend's health and counters. */
  readonly backends: readonly BackendStats[];
  readonly proxy: ProxyStats | undefined;
  readonly handoff: HandoffStats | undefined;
  /** Client addresses holding connections now, and connections refused by the per-address limit. */
  readonly clientAddresses: number;
  readonly addressLimitRefusals: number;
}

export interface Balancer {
  readonly mode: BalancerMode;
  /** The bound Extended ORPorts (with the port the system picked for 0). */
  readonly extOrPorts: readonly ListenAddress[];
  readonly orPorts: readonly ListenAddress[];
  /** The cookie file written for the transports; undefined without an ExtORPort. */
  readonly cookieFile: string | undefined;
  /** Proxy mode: adds (or replaces) a backend, e.g. a relayd worker's ExtORPort once it listens; checked at once. */
  addBackend(spec: BackendSpec): void;
  /** Proxy mode: stops choosing a backend; its open connections run on. */
  removeBackend(id: string): boolean;
  stats(): BalancerStats;
  /** Client addresses (from USERADDR) holding connections now, and how many each. */
  clientAddresses(): Iterable<readonly [string, number]>;
  /** Stops accepting, stops health checks, closes proxied connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the balancer: writes the cookie file, opens the fronts, starts
 * health checks. Rejects (leaving nothing open) if the cookie file cannot
 * be written or a port cannot be opened.
 */
export async function startBalancer(
  settings: BalancerSettings,
  services: BalancerServices = {},
): Promise<Balancer> {
  const logger = (services.logger ?? silentLogger).child({ module: 'balancer' });
  const clock = services.clock ?? systemClock;
  const random = services.random ?? secureRandom;
  const limits = new ConnectionsPerAddress(settings.maxConnectionsPerAddress);

  let dispatcher: Dispatcher<unknown>;
  let proxy: ProxyDispatcher | undefined;
  let handoff: HandoffDispatcher | undefined;
  let checker: HealthChecker | undefined;
  const pool = new BackendPool(clock, settings.healthPolicy);
  if (settings.mode === 'handoff') {
    if (!services.handoffTarget) throw new InternalError('BalancerMode handoff needs a handoff target');
    handoff = new HandoffDispatcher(services.handoffTarget);
    dispatcher = handoff as Dispatcher<unknown>;
  } else {
    proxy = new ProxyDispatcher({
      pool,
      sourceAddresses: new SourceAddressPool(settings.sourceAddresses),
      random,
      logger,
      ...(services.timers ? { timers: services.timers } : {}),
      ...(settings.backendDialDeadlineMs !== undefined
        ? { dialDeadlineMs: settings.backendDialDeadlineMs }
        : {}),
    });
    dispatcher = proxy as Dispatcher<unknown>;
    for (const spec of settings.backends) pool.add(spec);
    pool.onHealthChange((backend, healthy, reason) => {
      if (healthy)
        logger.notice({ backend: backend.id }, `backend ${backend.id} is back in rotation: ${reason}`);
      else logger.warn({ backend: backend.id }, `backend ${backend.id} taken out of rotation: ${reason}`);
      if (!healthy && pool.healthyCount === 0 && pool.backends.length > 0) {
        logger.warn({}, 'no healthy backend: every new connection is refused until one recovers');
      }
    });
    const prober = proxy;
    checker = new HealthChecker({
      pool,
      intervalMs: settings.healthCheckIntervalMs,
      probe: (backend) => prober.probe(backend),
      logger,
      ...(services.timers ? { timers: services.timers } : {}),
    });
  }

  const fronts: Front[] = [];
  const closeAll = async () => {
    checker?.stop();
    await Promise.all(fronts.map((f) => f.close()));
    await dispatcher.close();
  };
  let cookieFile: string | undefined;
  try {
    if (settings.extOrPorts.length > 0) {
      const cookie = await writeExtOrCookieFile(settings.cookieFile, random);
      cookieFile = settings.cookieFile;
      for (const address of settings.extOrPorts) {
        const front = await startExtOrFront({
          host: address.host,
          port: address.port,
          cookie,
          dispatcher,
          limits,
          random,
          logger,
          ...(services.timers ? { timers: services.timers } : {}),
          ...(settings.handshakeDeadlineMs !== undefined ? { deadlineMs: settings.handshakeDeadlineMs } : {}),
        });
        fronts.push(front);
        logger.notice(
          { address: describe(front) },
          `Extended ORPort listening on ${describe(front)} (${settings.mode} mode)`,
        );
      }
    }
    for (const address of settings.orPorts) {
      const front = await startVanillaFront({
        host: address.host,
        port: address.port,
        dispatcher,
        limits,
        logger,
      });
      fronts.push(front);
      logger.notice(
        { address: describe(front) },
        `ORPort listening on ${describe(front)} (${settings.mode} mode)`,
      );
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  checker?.start();

  let closing: Promise<void> | undefined;
  const extOrFronts = fronts.slice(0, settings.extOrPorts.length);
  const orFronts = fronts.slice(settings.extOrPorts.length);
  return {
    mode: settings.mode,
    extOrPorts: extOrFronts.map((f) => ({ host: f.host, port: f.port })),
    orPorts: orFronts.map((f) => ({ host: f.host, port: f.port })),
    cookieFile,
    addBackend(spec) {
      if (!proxy || !checker) throw new InternalError('backends exist only in BalancerMode proxy');
      const backend = pool.add(spec);
      logger.info({ backend: spec.id }, `backend ${spec.id} added`);
      void checker.checkNow(backend);
    },
    removeBackend(id) {
      return pool.remove(id);
    },
    stats() {
      return {
        mode: settings.mode,
        fronts: fronts.map((f) => f.stats()),
        backends: pool.backends.map((b) => b.stats()),
        proxy: proxy?.stats(),
        handoff: handoff?.stats(),
        clientAddresses: limits.addresses,
        addressLimitRefusals: limits.refusals,
      };
    },
    clientAddresses: () => [...limits.entries()],
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}

function describe(front: Front): string {
  return front.host.includes(':') ? `[${front.host}]:${front.port}` : `${front.host}:${front.port}`;
}

/** The balancer's settings from a parsed configuration (vanilla ORPorts stay with the workers). */
export function balancerSettingsFromConfig(config: RelaydConfig): BalancerSettings {
  return {
    mode: config.balancerMode,
    extOrPorts: config.extOrPorts
      .filter((p) => !p.noListen)
      .map((p) => ({ host: p.address ?? '127.0.0.1', port: p.port === 'auto' ? 0 : p.port })),
    cookieFile: config.extOrPortCookieAuthFile,
    orPorts: [],
    backends: config.balancerBackends.map((b) => ({
      id: b.family === 6 ? `[${b.address}]:${b.port}` : `${b.address}:${b.port}`,
      host: b.address,
      port: b.port,
      cookie: { file: b.cookieFile },
    })),
    sourceAddresses: config.balancerSourceAddresses,
    maxConnectionsPerAddress: config.balancerMaxConnectionsPerAddress,
    healthCheckIntervalMs: config.balancerHealthCheckIntervalSeconds * 1000,
  };
}

/**
 * The loopback address of worker `workerId`'s Extended ORPort backend in
 * proxy mode: 127.0.2.1 for worker 1, … 127.0.2.255, then 127.0.3.0, … —
 * one address per worker, apart from the default source range
 * (127.0.1.x), so logs and `ss` tell the hops apart.
 */
export function workerBackendAddress(workerId: number): string {
  if (!Number.isInteger(workerId) || workerId < 1 || workerId > 65_000) {
    throw new InternalError(`worker id ${workerId} out of range`);
  }
  const n = 2 * 256 + workerId;
  return `127.0.${n >>> 8}.${n & 0xff}`;
}
