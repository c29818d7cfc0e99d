/**
 * Proxy mode: each admitted connection is carried over TCP to an Extended
 * ORPort backend (a relayd worker's, or a C tor instance's as in the
 * multi-instance Snowflake bridges), authenticated with that backend's
 * cookie, told the client's USERADDR and TRANSPORT, and then piped both
 * ways with backpressure.
 *
 * Connections to loopback backends leave from the configured source
 * addresses in turn (see source-addresses.ts for the port arithmetic). A
 * source address without a free port (EADDRINUSE at bind, or EADDRNOTAVAIL
 * when the system chooses) is the host's limit, not the backend's fault:
 * the next address is tried, and the backend's health is left alone.
 * A backend that refuses the connection, fails authentication or stalls
 * counts a failure (see backend-pool.ts) and the next healthy backend is
 * tried, up to `maxAttempts` backends per connection.
 */
import { describeError, type Logger, type Random, sensitive, silentLogger } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import {
  dialExtOrPort,
  type ExtOrDialResult,
  pipeSockets,
  type SocketTimers,
  systemErrorCode,
  systemSocketTimers,
  type TcpSocket,
} from '@relayd/net';
import type { Backend, BackendPool } from './backend-pool.js';
import { BalancerError } from './balancer-error.js';
import { readExtOrCookieFile } from './cookie-files.js';
import type { ConnectionMeta, Dispatcher } from './dispatch.js';
import { isLoopbackIpv4, type SourceAddressPool } from './source-addresses.js';

/** Backends tried for one connection before it is given up. */
export const DEFAULT_PROXY_ATTEMPTS = 2;
/** Source addresses tried for one backend connection when ports run out. */
export const DEFAULT_SOURCE_ATTEMPTS = 4;
/** Connect plus the Extended ORPort exchange with a backend, for connections and checks. */
export const DEFAULT_BACKEND_DIAL_DEADLINE_MS = 5_000;

export interface ProxyDispatcherOptions {
  readonly pool: BackendPool;
  readonly sourceAddresses: SourceAddressPool;
  readonly random?: Random;
  readonly timers?: SocketTimers;
  readonly logger?: Logger;
  /** Default DEFAULT_BACKEND_DIAL_DEADLINE_MS. */
  readonly dialDeadlineMs?: number;
  /** Default DEFAULT_PROXY_ATTEMPTS. */
  readonly maxAttempts?: number;
  /** Default DEFAULT_SOURCE_ATTEMPTS. */
  readonly sourceAttempts?: number;
  /** How a backend is dialled (net's dialExtOrPort; replaceable in tests). */
  readonly dial?: typeof dialExtOrPort;
  /** How a backend's cookie file is read (replaceable in tests). */
  readonly readCookie?: (path: string) => Promise<Uint8Array>;
}

export interface ProxyStats {
  /** Connections carried to a backend and piped. */
  readonly proxied: number;
  /** Open right now. */
  readonly open: number;
  /** Connections given up: every backend tried failed, or none was left. */
  readonly unreachable: number;
  /** Connections a backend answered with DENY. */
  readonly backendDenied: number;
  /** Times a source address had no free port (EADDRINUSE / EADDRNOTAVAIL). */
  readonly sourcePortsExhausted: number;
  /** Addresses connections to loopback backends are spread over (0: the system's choice). */
  readonly sourceAddresses: number;
  /**
   * Proxied connections open now by the local address they were made from:
   * each address has its own ephemeral ports, so one near its share of
   * ports shows here first.
   */
  readonly openBySourceAddress: Readonly<Record<string, number>>;
}

export class ProxyDispatcher implements Dispatcher<Backend> {
  private readonly random: Random;
  private readonly timers: SocketTimers;
  private readonly logger: Logger;
  private readonly dial: typeof dialExtOrPort;
  private readonly readCookie: (path: string) => Promise<Uint8Array>;
  private readonly dialDeadlineMs: number;
  private readonly maxAttempts: number;
  private readonly sourceAttempts: number;
  private readonly live = new Set<TcpSocket>();
  private closed = false;
  private proxied = 0;
  private unreachable = 0;
  private backendDenied = 0;
  private sourcePortsExhausted = 0;
  private openPairs = 0;
  private readonly openBySource = new Map<string, number>();
  private lastExhaustionWarningMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: ProxyDispatcherOptions) {
    this.random = opts.random ?? secureRandom;
    this.timers = opts.timers ?? systemSocketTimers;
    this.logger = opts.logger ?? silentLogger;
    this.dial = opts.dial ?? dialExtOrPort;
    this.readCookie = opts.readCookie ?? readExtOrCookieFile;
    this.dialDeadlineMs = opts.dialDeadlineMs ?? DEFAULT_BACKEND_DIAL_DEADLINE_MS;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? DEFAULT_PROXY_ATTEMPTS);
    this.sourceAttempts = Math.max(1, opts.sourceAttempts ?? DEFAULT_SOURCE_ATTEMPTS);
  }

  choose(): Backend | undefined {
    if (this.closed) return undefined;
    return this.opts.pool.pick();
  }

  cancel(backend: Backend): void {
    this.opts.pool.release(backend);
  }

  async dispatch(first: Backend, socket: TcpSocket, meta: ConnectionMeta): Promise<void> {
    const pool = this.opts.pool;
    const tried = new Set<Backend>();
    let backend: Backend | undefined = first;
    let lastError: unknown;
    let connection: Extract<ExtOrDialResult, { status: 'accepted' }> | undefined;
    this.live.add(socket);
    try {
      while (backend !== undefined && connection === undefined) {
        tried.add(backend);
        try {
          connection = await this.connect(backend, meta);
        } catch (error) {
          pool.release(backend);
          lastError = error;
          if (error instanceof BalancerError && error.code === 'SOURCE_PORTS_EXHAUSTED') throw error;
          if (error instanceof BalancerError && error.code === 'BACKEND_DENIED') {
            this.backendDenied++;
            throw error;
          }
          pool.connectionFailed(backend, describeError(error));
          this.logger.info({ backend: backend.id, err: describeError(error) }, 'backend connection failed');
          backend = tried.size < this.maxAttempts && !this.closed ? pool.pick(tried) : undefined;
        }
      }
      if (connection === undefined || backend === undefined) {
        this.unreachable++;
        throw new BalancerError(
          'NO_BACKEND_REACHABLE',
          `no backend took the connection (${tried.size} tried): ${describeError(lastError)}`,
          { cause: lastError },
        );
      }
    } catch (error) {
      this.live.delete(socket);
      throw error;
    }

    const chosen = backend;
    pool.connectionSucceeded(chosen);
    const back = connection.socket;
    this.live.add(back);
    this.proxied++;
    this.openPairs++;
    const source = back.localAddress ?? 'unknown';
    this.openBySource.set(source, (this.openBySource.get(source) ?? 0) + 1);
    if (this.closed) back.destroy();
    try {
      if (meta.leftover.length > 0) back.write(meta.leftover);
      if (connection.leftover.length > 0) socket.write(connection.leftover);
      chosen.bytesToBackend += meta.leftover.length;
      chosen.bytesFromBackend += connection.leftover.length;
      const result = await pipeSockets(socket, back, {
        timers: this.timers,
        onData: (direction, bytes) => {
          if (direction === 'aToB') chosen.bytesToBackend += bytes;
          else chosen.bytesFromBackend += bytes;
        },
      });
      this.logger.debug(
        {
          backend: chosen.id,
          client: sensitive(meta.clientAddress?.address ?? ''),
          up: result.aToB,
          down: result.bToA,
          endedBy: result.endedBy === 'a' ? 'client' : 'backend',
        },
        'proxied connection closed',
      );
    } finally {
      this.openPairs--;
      const left = (this.openBySource.get(source) ?? 1) - 1;
      if (left > 0) this.openBySource.set(source, left);
      else this.openBySource.delete(source);
      this.live.delete(socket);
      this.live.delete(back);
      pool.release(chosen);
    }
  }

  /** A health check: connect from a source address and authenticate, nothing more. */
  async probe(backend: Backend): Promise<void> {
    const cookie = await this.cookieOf(backend);
    await this.dialFromSources(backend, (localAddress) =>
      this.dial({
        host: backend.spec.host,
        port: backend.spec.port,
        ...(localAddress !== undefined ? { localAddress } : {}),
        cookie,
        random: this.random,
        authOnly: true,
        deadlineMs: this.dialDeadlineMs,
        timers: this.timers,
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const socket of this.live) socket.destroy();
  }

  stats(): ProxyStats {
    return {
      proxied: this.proxied,
      open: this.openPairs,
      unreachable: this.unreachable,
      backendDenied: this.backendDenied,
      sourcePortsExhausted: this.sourcePortsExhausted,
      sourceAddresses: this.opts.sourceAddresses.size,
      openBySourceAddress: Object.fromEntries(this.openBySource),
    };
  }

  private async connect(
    backend: Backend,
    meta: ConnectionMeta,
  ): Promise<Extract<ExtOrDialResult, { status: 'accepted' }>> {
    const cookie = await this.cookieOf(backend);
    const result = await this.dialFromSources(backend, (localAddress) =>
      this.dial({
        host: backend.spec.host,
        port: backend.spec.port,
        ...(localAddress !== undefined ? { localAddress } : {}),
        cookie,
        random: this.random,
        ...(meta.clientAddress ? { clientAddress: meta.clientAddress } : {}),
        ...(meta.transportName !== undefined ? { transportName: meta.transportName } : {}),
        deadlineMs: this.dialDeadlineMs,
        timers: this.timers,
      }),
    );
    if (result.status === 'accepted') return result;
    if (result.status === 'denied') {
      throw new BalancerError('BACKEND_DENIED', `backend ${backend.id} answered DENY`);
    }
    throw new BalancerError('HANDOFF_FAILED', `backend ${backend.id}: unexpected ${result.status}`);
  }

  private cookieOf(backend: Backend): Promise<Uint8Array> {
    const source = backend.spec.cookie;
    return 'bytes' in source ? Promise.resolve(source.bytes) : this.readCookie(source.file);
  }

  /** Runs `attempt` from successive source addresses while they have no free port. */
  private async dialFromSources(
    backend: Backend,
    attempt: (localAddress: string | undefined) => Promise<ExtOrDialResult>,
  ): Promise<ExtOrDialResult> {
    const sources = this.opts.sourceAddresses;
    const spread = sources.size > 0 && isLoopbackIpv4(backend.spec.host);
    const tries = spread ? Math.min(this.sourceAttempts, sources.size) : 1;
    let lastError: unknown;
    const used: string[] = [];
    for (let i = 0; i < tries; i++) {
      const localAddress = spread ? sources.next() : undefined;
      if (localAddress !== undefined) used.push(localAddress);
      try {
        return await attempt(localAddress);
      } catch (error) {
        const code = systemErrorCode(error);
        if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL') throw error;
        this.sourcePortsExhausted++;
        lastError = error;
      }
    }
    // Once a minute at most: exhaustion comes in floods.
    const now = performance.now();
    if (now - this.lastExhaustionWarningMs >= 60_000) {
      this.lastExhaustionWarningMs = now;
      this.logger.warn(
        {
          backend: backend.id,
          sources: used.length > 0 ? used.join(',') : 'system choice',
          code: systemErrorCode(lastError),
          exhausted: this.sourcePortsExhausted,
        },
        'no free ephemeral port to reach a backend: add source addresses (BalancerSourceAddresses) or widen net.ipv4.ip_local_port_range',
      );
    }
    throw new BalancerError(
      'SOURCE_PORTS_EXHAUSTED',
      `no free port to reach ${backend.id} from ${used.length > 0 ? used.join(', ') : 'the system-chosen address'}: ${describeError(lastError)}`,
      { cause: lastError },
    );
  }
}
