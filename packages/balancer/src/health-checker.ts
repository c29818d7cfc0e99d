/**
 * Periodic health checks of the proxy-mode backends: every interval, each
 * backend gets one probe (connect and authenticate with its cookie; see
 * `probeBackend` in proxy.ts), never two at once; the outcome goes to the
 * pool, which decides when a backend goes down or comes back.
 *
 * Timers and the probe are injected, so transitions can be driven on fake
 * time in tests.
 */
import { describeError, type Logger, silentLogger } from '@relayd/common';
import { type SocketTimers, systemSocketTimers } from '@relayd/net';
import type { Backend, BackendPool } from './backend-pool.js';

export interface HealthCheckerOptions {
  readonly pool: BackendPool;
  /** Time between the starts of two rounds. */
  readonly intervalMs: number;
  /** Resolves if the backend is usable, rejects with the reason if not. */
  readonly probe: (backend: Backend) => Promise<void>;
  readonly timers?: SocketTimers;
  readonly logger?: Logger;
}

export class HealthChecker {
  private readonly timers: SocketTimers;
  private readonly logger: Logger;
  private readonly inFlight = new Set<Backend>();
  private timer: unknown;
  private stopped = true;
  private rounds = 0;

  constructor(private readonly opts: HealthCheckerOptions) {
    this.timers = opts.timers ?? systemSocketTimers;
    this.logger = opts.logger ?? silentLogger;
  }

  /** Rounds started so far. */
  get roundsStarted(): number {
    return this.rounds;
  }

  /** Checks every backend now, then every interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.round();
  }

  /** Checks one backend now (e.g. one just added), unless a check of it is already running. */
  checkNow(backend: Backend): Promise<void> {
    return this.check(backend);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private round(): void {
    if (this.stopped) return;
    this.rounds++;
    for (const backend of this.opts.pool.backends) void this.check(backend);
    this.timer = this.timers.setTimeout(() => this.round(), this.opts.intervalMs);
  }

  private async check(backend: Backend): Promise<void> {
    if (this.inFlight.has(backend)) return;
    this.inFlight.add(backend);
    try {
      await this.opts.probe(backend);
      if (!this.stopped) this.opts.pool.checkPassed(backend);
    } catch (error) {
      if (!this.stopped) {
        const reason = describeError(error);
        this.logger.debug({ backend: backend.id, err: reason }, 'backend health check failed');
        this.opts.pool.checkFailed(backend, reason);
      }
    } finally {
      this.inFlight.delete(backend);
    }
  }
}
