/**
 * The proxy-mode backends — Extended ORPorts of relayd workers or of C tor
 * instances — with their health and load, and the choice among them.
 *
 * Choice: fewest active connections among healthy backends; ties go
 * round-robin, so an idle pool fills evenly. A chosen backend counts the
 * connection at once (before it is dialled), so a burst of new clients
 * spreads instead of piling onto whichever backend looked emptiest.
 *
 * Health (HAProxy's fall/rise): a backend is taken out after
 * `failuresToDown` failures in a row — health checks and real connections
 * alike — and put back after `successesToUp` successful checks in a row.
 * A new backend starts healthy, and is checked at once.
 */
import type { Clock } from '@relayd/common';

/** Where a backend's cookie comes from: its cookie file (C tor), or memory (a relayd worker we started). */
export type CookieSource = { readonly file: string } | { readonly bytes: Uint8Array };

export interface BackendSpec {
  /** Names the backend in logs and statistics; unique in the pool (e.g. "127.0.0.1:5001" or "worker 3"). */
  readonly id: string;
  /** An IP literal. */
  readonly host: string;
  readonly port: number;
  readonly cookie: CookieSource;
}

export interface HealthPolicy {
  /** Failures in a row that take a backend out. Default 3. */
  readonly failuresToDown: number;
  /** Successful checks in a row that put it back. Default 2. */
  readonly successesToUp: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = { failuresToDown: 3, successesToUp: 2 };

/** A backend's counters, for logs and metrics. */
export interface BackendStats {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly healthy: boolean;
  /** Connections proxied through it right now (counted from the moment it was chosen). */
  readonly active: number;
  /** Connections it took, in total. */
  readonly connections: number;
  /** Failed connection attempts (connect, authentication, timeout). */
  readonly failures: number;
  readonly checksPassed: number;
  readonly checksFailed: number;
  readonly bytesToBackend: number;
  readonly bytesFromBackend: number;
  /** Why it last failed, if it has. */
  readonly lastError: string | undefined;
  /** Wall-clock time of its last change between healthy and unhealthy (ms since the epoch), if any. */
  readonly lastTransitionMs: number | undefined;
}

export class Backend {
  healthy = true;
  active = 0;
  connections = 0;
  failures = 0;
  checksPassed = 0;
  checksFailed = 0;
  bytesToBackend = 0;
  bytesFromBackend = 0;
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;
  lastError: string | undefined;
  lastTransitionMs: number | undefined;
  /** Removed from the pool: never chosen again; its connections run on. */
  removed = false;

  constructor(readonly spec: BackendSpec) {}

  get id(): string {
    return this.spec.id;
  }

  stats(): BackendStats {
    return {
      id: this.spec.id,
      host: this.spec.host,
      port: this.spec.port,
      healthy: this.healthy,
      active: this.active,
      connections: this.connections,
      failures: this.failures,
      checksPassed: this.checksPassed,
      checksFailed: this.checksFailed,
      bytesToBackend: this.bytesToBackend,
      bytesFromBackend: this.bytesFromBackend,
      lastError: this.lastError,
      lastTransitionMs: this.lastTransitionMs,
    };
  }
}

/** Told whenever a backend goes down or comes back. */
export type HealthListener = (backend: Backend, healthy: boolean, reason: string) => void;

export class BackendPool {
  private readonly members: Backend[] = [];
  private readonly policy: HealthPolicy;
  private cursor = 0;
  private readonly listeners: HealthListener[] = [];

  constructor(
    private readonly clock: Clock,
    policy: Partial<HealthPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_HEALTH_POLICY, ...policy };
    if (this.policy.failuresToDown < 1 || this.policy.successesToUp < 1) {
      throw new RangeError('health thresholds must be at least 1');
    }
  }

  /** The backends still in the pool, in the order they were added. */
  get backends(): readonly Backend[] {
    return this.members;
  }

  get healthyCount(): number {
    return this.members.reduce((n, b) => n + (b.healthy ? 1 : 0), 0);
  }

  onHealthChange(listener: HealthListener): void {
    this.listeners.push(listener);
  }

  /** Adds a backend; an id already present is replaced (its connections run on, uncounted). */
  add(spec: BackendSpec): Backend {
    this.remove(spec.id);
    const backend = new Backend(spec);
    this.members.push(backend);
    return backend;
  }

  /** Takes a backend out of the pool; its open connections are not touched. */
  remove(id: string): boolean {
    const index = this.members.findIndex((b) => b.id === id);
    if (index < 0) return false;
    this.members[index]!.removed = true;
    this.members.splice(index, 1);
    return true;
  }

  /**
   * Chooses the healthy backend with the fewest active connections (ties
   * round-robin) and counts a connection on it; undefined when none is
   * healthy (outside `exclude`). Undo with `release`.
   */
  pick(exclude?: ReadonlySet<Backend>): Backend | undefined {
    const n = this.members.length;
    let best: Backend | undefined;
    let bestIndex = 0;
    for (let k = 0; k < n; k++) {
      const index = (this.cursor + k) % n;
      const candidate = this.members[index]!;
      if (!candidate.healthy || exclude?.has(candidate)) continue;
      if (best === undefined || candidate.active < best.active) {
        best = candidate;
        bestIndex = index;
      }
    }
    if (best === undefined) return undefined;
    this.cursor = (bestIndex + 1) % n;
    best.active++;
    best.connections++;
    return best;
  }

  /** Ends a connection counted by `pick`. */
  release(backend: Backend): void {
    if (backend.active > 0) backend.active--;
  }

  /** A health check passed. */
  checkPassed(backend: Backend): void {
    backend.checksPassed++;
    this.succeeded(backend);
  }

  /** A health check failed. */
  checkFailed(backend: Backend, reason: string): void {
    backend.checksFailed++;
    this.failed(backend, reason);
  }

  /** A real connection got through to the backend (authenticated, OKAY). */
  connectionSucceeded(backend: Backend): void {
    // Only checks bring a backend back; a healthy one just forgets its earlier failures.
    if (backend.healthy) {
      backend.consecutiveFailures = 0;
    }
  }

  /** A real connection attempt to the backend failed. */
  connectionFailed(backend: Backend, reason: string): void {
    backend.failures++;
    this.failed(backend, reason);
  }

  private succeeded(backend: Backend): void {
    backend.consecutiveFailures = 0;
    backend.consecutiveSuccesses++;
    if (!backend.healthy && backend.consecutiveSuccesses >= this.policy.successesToUp) {
      this.transition(backend, true, `${backend.consecutiveSuccesses} checks passed`);
    }
  }

  private failed(backend: Backend, reason: string): void {
    backend.lastError = reason;
    backend.consecutiveSuccesses = 0;
    backend.consecutiveFailures++;
    if (backend.healthy && backend.consecutiveFailures >= this.policy.failuresToDown) {
      this.transition(backend, false, `${backend.consecutiveFailures} failures in a row, last: ${reason}`);
    }
  }

  private transition(backend: Backend, healthy: boolean, reason: string): void {
    backend.healthy = healthy;
    backend.consecutiveFailures = 0;
    backend.consecutiveSuccesses = 0;
    backend.lastTransitionMs = this.clock.nowMs();
    if (backend.removed) return;
    for (const listener of this.listeners) listener(backend, healthy, reason);
  }
}
