/**
 * The server transports of one bridge: a ManagedProxy per
 * `ServerTransportPlugin … exec` line, all pointed at the supervisor's
 * Extended ORPort front, with one combined view of their states.
 *
 * The supervisor starts it once the ExtORPort front listens (its address
 * and cookie file go into every transport's environment), rebuilds the
 * extra-info `transport` lines and bridge-lines.txt when `onPublishedChange`
 * fires (published-transports.ts renders both), and stops it on shutdown.
 * `proxy` lines (transports started elsewhere, e.g. by systemd) are not
 * launched here; external-environment.ts writes what they need.
 */
import { type Clock, describeError, type Logger, systemClock } from '@relayd/common';
import { FileTransportAddressMemory, type TransportAddressMemory } from './address-memory.js';
import { managedProxyPlans, type ServerTransportEndpoints, type TransportConfig } from './launch-plan.js';
import { ManagedProxy } from './managed-proxy.js';
import { type RestartBackoffPolicy, restartBackoffPolicy } from './restart-backoff.js';
import { systemTransportTimers, type TransportTimers } from './timers.js';
import { type RunningTransport, runningTransports, type ServerTransportState } from './transport-state.js';

/**
 * How long a transport may take from launch to SMETHODS DONE. obfs4proxy
 * needs well under a second (it generates its keys on first start);
 * snowflake-server with ACME may need a few seconds. 30 s leaves room for a
 * loaded machine; a transport over it is stopped and relaunched with backoff.
 */
export const DEFAULT_LAUNCH_TIMEOUT_MS = 30_000;
/**
 * Each of the two waits when stopping a transport: after closing stdin,
 * after SIGTERM (then SIGKILL). Two seconds: the relayd shutdown budget is
 * 15 s, and obfs4proxy exits within milliseconds of stdin closing.
 */
export const DEFAULT_STOP_GRACE_MS = 2_000;
/** PATH for transports when relayd's own environment has none. */
export const DEFAULT_TRANSPORT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ServerTransportManagerOptions {
  readonly config: TransportConfig;
  /** The ExtORPort front and cookie file (from the balancer), and TOR_PT_ORPORT. */
  readonly endpoints: ServerTransportEndpoints;
  readonly launchTimeoutMs?: number;
  readonly stopGraceMs?: number;
  readonly restartBackoff?: Partial<RestartBackoffPolicy>;
  /** PATH for the transports; default relayd's own PATH, else DEFAULT_TRANSPORT_PATH. */
  readonly path?: string;
  /** More variables for every transport (e.g. GOMAXPROCS); TOR_PT_* ones are overridden. */
  readonly environment?: Readonly<Record<string, string>>;
}

export interface ServerTransportManagerModules {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: TransportTimers;
  /** Remembered ports; default `DataDirectory/transport-addresses`. */
  readonly addressMemory?: TransportAddressMemory;
}

export type TransportStatesListener = (states: readonly ServerTransportState[]) => void;

export class ServerTransportManager {
  private readonly proxies: ManagedProxy[];
  private readonly logger: Logger;
  private readonly changeListeners = new Set<TransportStatesListener>();
  private readonly publishedListeners = new Set<TransportStatesListener>();
  private readonly settledWaiters: Array<() => void> = [];
  private publishedKey = publishedKey([]);
  private started = false;
  private stopping: Promise<void> | undefined;

  /** Plans every managed transport; throws TransportError (bad-config) for an endpoint that is not an IP literal. */
  constructor(options: ServerTransportManagerOptions, modules: ServerTransportManagerModules) {
    this.logger = modules.logger.child({ module: 'transports' });
    const addressMemory =
      modules.addressMemory ??
      FileTransportAddressMemory.inDataDirectory(options.config.dataDirectory, this.logger);
    const backoff = restartBackoffPolicy(options.restartBackoff);
    const path = options.path ?? process.env['PATH'] ?? DEFAULT_TRANSPORT_PATH;
    this.proxies = managedProxyPlans(options.config, options.endpoints).map(
      (plan) =>
        new ManagedProxy(
          {
            plan,
            path,
            extraEnvironment: options.environment ?? {},
            launchTimeoutMs: options.launchTimeoutMs ?? DEFAULT_LAUNCH_TIMEOUT_MS,
            stopGraceMs: options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
            backoff,
            addressMemory,
          },
          {
            logger: this.logger,
            clock: modules.clock ?? systemClock,
            timers: modules.timers ?? systemTransportTimers,
            onChange: () => this.changed(),
          },
        ),
    );
  }

  /** Launches every managed transport (once). Returns at once; watch the states or await `settled()`. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const proxy of this.proxies) proxy.start();
    this.changed();
  }

  /** Every transport's state, in configuration order. */
  states(): ServerTransportState[] {
    return this.proxies.flatMap((p) => [...p.states()]);
  }

  /** The transports listening now: what the extra-info and the bridge lines show. */
  running(): RunningTransport[] {
    return runningTransports(this.states());
  }

  /** PIDs of the transport processes running now. */
  pids(): number[] {
    return this.proxies.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
  }

  /** True when there is nothing to launch (no `exec` ServerTransportPlugin). */
  get empty(): boolean {
    return this.proxies.length === 0;
  }

  /** Calls `listener` after every state change. Returns a function that unsubscribes it. */
  onChange(listener: TransportStatesListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * Calls `listener` when what is published changes: a transport starts or
   * stops running, or its address, port or ARGS change. This is when the
   * extra-info and bridge-lines.txt must be rebuilt. Returns an unsubscribe function.
   */
  onPublishedChange(listener: TransportStatesListener): () => void {
    this.publishedListeners.add(listener);
    return () => this.publishedListeners.delete(listener);
  }

  /**
   * Resolves once no transport is 'starting' (each is running or has
   * failed), or at once when there is nothing to launch. Every launch is
   * bounded by the launch timeout, so this settles too.
   */
  settled(): Promise<ServerTransportState[]> {
    if (!this.states().some((s) => s.status === 'starting') || this.proxies.length === 0) {
      return Promise.resolve(this.states());
    }
    return new Promise((resolve) => {
      this.settledWaiters.push(() => resolve(this.states()));
    });
  }

  /** Stops every transport (stdin closed, SIGTERM, SIGKILL, by PID). Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= Promise.all(this.proxies.map((p) => p.stop())).then(() => undefined);
    return this.stopping;
  }

  private changed(): void {
    if (!this.started) return;
    const states = this.states();
    for (const listener of this.changeListeners) this.call(listener, states);
    const key = publishedKey(states);
    if (key !== this.publishedKey) {
      this.publishedKey = key;
      for (const listener of this.publishedListeners) this.call(listener, states);
    }
    if (!states.some((s) => s.status === 'starting')) {
      for (const wake of this.settledWaiters.splice(0)) wake();
    }
  }

  private call(listener: TransportStatesListener, states: readonly ServerTransportState[]): void {
    try {
      listener(states);
    } catch (error) {
      this.logger.error({}, `bug: a transport state listener threw: ${describeError(error)}`);
    }
  }
}

/** What of the states reaches the documents: running transports, their addresses and ARGS. */
function publishedKey(states: readonly ServerTransportState[]): string {
  return JSON.stringify(
    runningTransports(states).map((t) => [
      t.name,
      t.family,
      t.address,
      t.port,
      t.argsText ?? null,
      t.implementation ?? null,
    ]),
  );
}
