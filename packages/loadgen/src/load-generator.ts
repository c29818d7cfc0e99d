/**
 * A load run: K link connections to the bridge, up to C circuits in flight
 * on each, new circuits launched as slots free up (and no faster than the
 * configured rate), each circuit built, given its transfer, and torn down.
 *
 *   connect K (at most `connectConcurrency` handshakes at once)
 *   learn the bridge's ntor key (descriptor over CREATE_FAST) if CREATE2 needs it
 *   run:   launch ─▶ circuit ─▶ finished / failed ─▶ slot free ─▶ launch ...
 *          every 250 ms: circuits past their build or stall timeout fail
 *   at the end of the duration (or once `maxCircuits` are done, or every
 *   connection is gone): stop launching, let running circuits finish for
 *   up to `drainTimeoutMs`, abandon the rest, close, report.
 *
 * Connections go round robin: the next circuit goes to the next
 * connection with a free slot. The bridge's and this process's CPU and
 * memory are sampled from /proc throughout.
 */
import {
  bytesEqual,
  type Clock,
  describeError,
  type Logger,
  type Random,
  RelayError,
  silentLogger,
  systemClock,
} from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import { type Scheduler, systemScheduler, type TimerHandle } from '@relayd/engine';
import { ClientChannel } from './client/channel.js';
import { type CircuitEvents, type CircuitPlan, ClientCircuit } from './client/circuit.js';
import type { HopKeys } from './client/hop-handshake.js';
import { CircuitTransfer, type TransferPlan } from './client/transfer.js';
import { type LinkConnector, tlsLinkConnector } from './connector.js';
import { fetchBridgeDescriptor } from './descriptor.js';
import { LoadgenError } from './errors.js';
import { type LoadOptions, type LoadOptionsInput, resolveLoadOptions } from './options.js';
import { buildReport, type LoadReport } from './report.js';
import { LoadStats } from './stats/load-stats.js';
import { ProcessSampler } from './stats/proc-sampler.js';

export interface LoadModules {
  /** How connections reach the bridge; default TLS to the ORPort (tlsLinkConnector). */
  readonly connector?: LinkConnector;
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  readonly random?: Random;
  readonly logger?: Logger;
  /** Called every `progressIntervalMs` while circuits run. */
  readonly onProgress?: (progress: LoadProgress) => void;
  /** Reads /proc files; default readFileSync (tests pass a fake). */
  readonly readProcText?: (path: string) => string;
}

export type LoadPhase = 'idle' | 'connecting' | 'running' | 'draining' | 'done';

/** A live view of a run, for progress lines and for a bench runner. */
export interface LoadProgress {
  readonly phase: LoadPhase;
  /** Since the first launch (ms). */
  readonly elapsedMs: number;
  readonly connectionsOpen: number;
  readonly circuitsActive: number;
  readonly launched: number;
  readonly built: number;
  readonly finished: number;
  readonly failed: number;
  readonly forwardPayloadBytes: number;
  readonly backwardPayloadBytes: number;
}

interface Connection {
  readonly index: number;
  readonly channel: ClientChannel;
  readonly active: Set<ClientCircuit>;
  readonly events: CircuitEvents;
}

/** Timeouts are checked this often; finer than any timeout a user would set. */
const SWEEP_INTERVAL_MS = 250;
/** Launches per event-loop turn: each costs a handshake's key generation, so others get a turn too. */
const MAX_LAUNCHES_PER_TURN = 256;

export class LoadGenerator {
  readonly options: LoadOptions;
  readonly stats: LoadStats;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly connector: LinkConnector;
  private phase: LoadPhase = 'idle';
  private readonly connections: Connection[] = [];
  /** Connections with a free circuit slot, in round-robin order. */
  private readonly free = new Set<Connection>();
  /** Circuits in flight and the connection each is on. */
  private readonly active = new Map<ClientCircuit, Connection>();
  private plan: CircuitPlan | undefined;
  private readonly transferPlan: TransferPlan;
  private ed25519Identity: Uint8Array | undefined;
  private ntorOnionKeySource: 'given' | 'descriptor' | 'not-needed' = 'not-needed';
  private runStartMs = 0;
  private measuredToMs = 0;
  private tokens = 1;
  private tokensAtMs = 0;
  private launchScheduled = false;
  /** Periodic tasks, each with its pending timer. */
  private readonly periodic: Array<{ handle: TimerHandle | undefined }> = [];
  private durationTimer: TimerHandle | undefined;
  private tokenTimer: TimerHandle | undefined;
  private drainTimer: TimerHandle | undefined;
  private stopRequested = false;
  private closingChannels = false;
  private resolveDone: (() => void) | undefined;
  private samplers: ProcessSampler[] = [];

  constructor(
    input: LoadOptionsInput,
    private readonly modules: LoadModules = {},
  ) {
    this.options = resolveLoadOptions(input);
    this.clock = modules.clock ?? systemClock;
    this.scheduler = modules.scheduler ?? systemScheduler;
    this.random = modules.random ?? secureRandom;
    this.logger = (modules.logger ?? silentLogger).child({ module: 'loadgen' });
    this.connector =
      modules.connector ??
      tlsLinkConnector({
        connectTimeoutMs: this.options.connectTimeoutMs,
        sourceAddresses: this.options.sourceAddresses,
        clock: this.clock,
        random: this.random,
        logger: this.logger,
      });
    this.stats = new LoadStats(this.clock);
    this.transferPlan = {
      downloadBytes: this.options.downloadBytes,
      uploadBytes: this.options.uploadBytes,
      uploadCells: this.options.uploadCells,
    };
  }

  /** Runs the load and reports. Rejects only when no connection could be opened or the bridge's keys are unusable. */
  async run(): Promise<LoadReport> {
    if (this.phase !== 'idle') throw new LoadgenError('BAD_OPTION', 'a LoadGenerator runs once');
    const startedAtMs = this.clock.nowMs();
    const self = this.sampler(process.pid);
    const bridge = this.options.bridgePid !== undefined ? this.sampler(this.options.bridgePid) : undefined;
    this.samplers = bridge ? [self, bridge] : [self];
    for (const sampler of this.samplers) sampler.start();
    try {
      this.phase = 'connecting';
      await this.connectAll();
      await this.learnBridgeKeys();
      const done = new Promise<void>((resolve) => {
        this.resolveDone = resolve;
      });
      this.startRunning();
      await done;
      const runEndMs = this.clock.monotonicMs();
      return buildReport({
        options: this.options,
        stats: this.stats,
        startedAtMs,
        ed25519Identity: this.ed25519Identity,
        ntorOnionKeySource: this.ntorOnionKeySource,
        runStartMs: this.runStartMs,
        measuredFromMs: Math.min(this.runStartMs + this.options.warmupMs, this.measuredToMs),
        measuredToMs: this.measuredToMs,
        runEndMs,
        bridgeProcess: bridge?.summary(this.runStartMs + this.options.warmupMs, this.measuredToMs),
        loadgenProcess: self.summary(this.runStartMs + this.options.warmupMs, this.measuredToMs),
      });
    } finally {
      this.phase = 'done';
      for (const sampler of this.samplers) sampler.stop();
      this.shutdown();
    }
  }

  /** Ends the run early, as if the duration were over (e.g. on SIGINT). */
  stop(): void {
    this.stopRequested = true;
    if (this.phase === 'running') this.beginDrain();
  }

  /** Where the run stands now. */
  progress(): LoadProgress {
    const { circuits, total } = this.stats;
    return {
      phase: this.phase,
      elapsedMs: this.runStartMs > 0 ? this.clock.monotonicMs() - this.runStartMs : 0,
      connectionsOpen: this.connections.filter((c) => !c.channel.isClosed).length,
      circuitsActive: this.active.size,
      launched: circuits.launched,
      built: circuits.built,
      finished: circuits.finished,
      failed: circuits.failed,
      forwardPayloadBytes: total.forward.dataBytes + total.forward.dropBytes,
      backwardPayloadBytes: total.backward.dataBytes + total.backward.dropBytes,
    };
  }

  // ---------------------------------------------------------------- connecting

  private sampler(pid: number): ProcessSampler {
    return new ProcessSampler(pid, {
      clock: this.clock,
      intervalMs: this.options.sampleIntervalMs,
      ...(this.modules.readProcText ? { readText: this.modules.readProcText } : {}),
    });
  }

  private async connectAll(): Promise<void> {
    const total = this.options.connections;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total && !this.stopRequested) await this.openConnection(next++);
    };
    await Promise.all(Array.from({ length: Math.min(total, this.options.connectConcurrency) }, worker));
    if (this.connections.length === 0) {
      const reasons = [...this.stats.connectionFailures.entries()].map(([k, v]) => `${k} (${v})`).join(', ');
      throw new LoadgenError(
        'NO_CONNECTION',
        `none of the ${total} connections to ${this.options.target.address}:${this.options.target.port} could be opened: ${reasons || 'stopped'}`,
      );
    }
  }

  private async openConnection(index: number): Promise<void> {
    const { target } = this.options;
    this.stats.connections.attempted++;
    const startMs = this.clock.monotonicMs();
    let established: Awaited<ReturnType<LinkConnector>>;
    try {
      established = await this.connector(target, index);
    } catch (error) {
      this.stats.connectionFailed(error instanceof RelayError ? error.code : describeError(error));
      return;
    }
    const { peer } = established;
    // The default connector already checked this; a custom one might not have.
    const rsaOk = peer.rsaIdentity !== undefined && bytesEqual(peer.rsaIdentity, target.rsaIdentity);
    const edOk =
      !target.ed25519Identity ||
      (peer.ed25519Identity !== undefined && bytesEqual(peer.ed25519Identity, target.ed25519Identity));
    if (!rsaOk || !edOk) {
      established.transport.close();
      this.stats.connectionFailed('WRONG_IDENTITY');
      return;
    }
    this.ed25519Identity ??= target.ed25519Identity ?? peer.ed25519Identity;
    const channel = new ClientChannel(established, this.scheduler);
    const connection: Connection = { index, channel, active: new Set(), events: this.circuitEvents() };
    this.stats.connectionOpened(this.clock.monotonicMs() - startMs);
    this.connections.push(connection);
    this.free.add(connection);
    channel.onClose((reason) => this.connectionClosed(connection, reason));
    channel.start();
  }

  private connectionClosed(connection: Connection, reason: string): void {
    this.free.delete(connection);
    if (this.closingChannels) return;
    this.stats.connectionClosedEarly(reason);
    this.logger.warn(
      { connection: connection.index, reason },
      'a connection to the bridge closed during the run',
    );
    if (this.phase === 'running' && this.connections.every((c) => c.channel.isClosed)) this.beginDrain();
  }

  /** The bridge's Ed25519 identity and ntor key, from the options, the link handshake, or its descriptor. */
  private async learnBridgeKeys(): Promise<void> {
    const { target, handshake, nextHop, extendHandshake } = this.options;
    let ntorOnionKey = target.ntorOnionKey;
    if (handshake !== 'fast') {
      if (ntorOnionKey) {
        this.ntorOnionKeySource = 'given';
      } else {
        const channel = this.connections.find((c) => !c.channel.isClosed)?.channel;
        if (!channel)
          throw new LoadgenError('NO_CONNECTION', 'every connection closed before the run started');
        const descriptor = await fetchBridgeDescriptor(
          channel,
          { ...target, ed25519Identity: this.ed25519Identity },
          { clock: this.clock, scheduler: this.scheduler, random: this.random },
          this.options.buildTimeoutMs,
        );
        ntorOnionKey = descriptor.ntorOnionKey;
        this.ed25519Identity ??= descriptor.ed25519Identity;
        this.ntorOnionKeySource = 'descriptor';
      }
    }
    if (handshake === 'ntor-v3' && !this.ed25519Identity) {
      throw new LoadgenError(
        'BAD_OPTION',
        'ntor v3 needs the bridge Ed25519 identity, and the bridge proved none',
      );
    }
    const firstHop: HopKeys = {
      rsaIdentity: target.rsaIdentity,
      ed25519Identity: this.ed25519Identity,
      ntorOnionKey,
    };
    this.plan = {
      create: handshake,
      firstHop,
      extend: nextHop ? { hop: nextHop, handshake: extendHandshake } : undefined,
    };
  }

  // ---------------------------------------------------------------- running

  private startRunning(): void {
    this.phase = 'running';
    this.runStartMs = this.clock.monotonicMs();
    this.measuredToMs = this.runStartMs + this.options.durationMs;
    this.tokensAtMs = this.runStartMs;
    const measuredFromMs = this.runStartMs + this.options.warmupMs;
    this.stats.setWindow({ fromMs: measuredFromMs, toMs: this.measuredToMs });
    // /proc samples exactly at the window's edges, so even a short run gets a CPU figure.
    if (this.options.warmupMs === 0) this.sampleAll(measuredFromMs);
    else {
      this.periodic.push({
        handle: this.scheduler.setTimeout(() => this.sampleAll(measuredFromMs), this.options.warmupMs),
      });
    }
    this.every(SWEEP_INTERVAL_MS, () => this.sweep());
    if (this.options.progressIntervalMs > 0 && this.modules.onProgress) {
      const onProgress = this.modules.onProgress;
      this.every(this.options.progressIntervalMs, () => onProgress(this.progress()));
    }
    this.durationTimer = this.scheduler.setTimeout(() => this.beginDrain(), this.options.durationMs);
    if (this.stopRequested) {
      this.beginDrain();
      return;
    }
    this.tryLaunch();
  }

  private every(intervalMs: number, work: () => void): void {
    const slot: { handle: TimerHandle | undefined } = { handle: undefined };
    const tick = (): void => {
      slot.handle = undefined;
      if (this.phase !== 'running' && this.phase !== 'draining') return;
      work();
      slot.handle = this.scheduler.setTimeout(tick, intervalMs);
    };
    slot.handle = this.scheduler.setTimeout(tick, intervalMs);
    this.periodic.push(slot);
  }

  private scheduleLaunch(): void {
    if (this.launchScheduled || this.phase !== 'running') return;
    this.launchScheduled = true;
    this.scheduler.defer(() => {
      this.launchScheduled = false;
      this.tryLaunch();
    });
  }

  private tryLaunch(): void {
    let launched = 0;
    while (this.phase === 'running' && this.free.size > 0) {
      const { maxCircuits, circuitsPerConnection } = this.options;
      if (maxCircuits > 0 && this.stats.circuits.launched >= maxCircuits) return;
      if (launched === MAX_LAUNCHES_PER_TURN) {
        this.scheduleLaunch();
        return;
      }
      if (!this.takeToken()) {
        this.waitForToken();
        return;
      }
      const connection = this.free.values().next().value!;
      this.free.delete(connection);
      this.launch(connection);
      launched++;
      if (!connection.channel.isClosed && connection.active.size < circuitsPerConnection)
        this.free.add(connection);
    }
  }

  /** Token bucket for `circuitRate`: refills continuously, holds at most 50 ms worth (and at least one). */
  private takeToken(): boolean {
    const rate = this.options.circuitRate;
    if (rate === 0) return true;
    const now = this.clock.monotonicMs();
    const burst = Math.max(1, rate / 20);
    this.tokens = Math.min(burst, this.tokens + ((now - this.tokensAtMs) * rate) / 1000);
    this.tokensAtMs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private waitForToken(): void {
    if (this.tokenTimer !== undefined) return;
    const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.options.circuitRate));
    this.tokenTimer = this.scheduler.setTimeout(() => {
      this.tokenTimer = undefined;
      this.tryLaunch();
    }, waitMs);
  }

  private launch(connection: Connection): void {
    const circuit = new ClientCircuit(connection.channel, this.plan!, {
      clock: this.clock,
      scheduler: this.scheduler,
      random: this.random,
      traffic: this.stats,
      events: connection.events,
      workload: () => new CircuitTransfer(this.transferPlan, this.random, this.stats),
    });
    this.stats.circuitLaunched();
    this.active.set(circuit, connection);
    connection.active.add(circuit);
    circuit.start();
  }

  private circuitEvents(): CircuitEvents {
    return {
      created: (circuit) => this.stats.circuitCreated(circuit.startedMs, circuit.createdMs!),
      built: (circuit) =>
        this.stats.circuitBuilt(
          circuit.startedMs,
          circuit.createdMs,
          circuit.builtMs!,
          this.plan?.extend !== undefined,
        ),
      finished: (circuit) => {
        this.stats.circuitFinished();
        this.circuitEnded(circuit);
      },
      failed: (circuit, reason) => {
        this.stats.circuitFailed(reason);
        this.circuitEnded(circuit);
      },
    };
  }

  private circuitEnded(circuit: ClientCircuit): void {
    const connection = this.active.get(circuit);
    if (!connection) return;
    this.active.delete(circuit);
    connection.active.delete(circuit);
    if (!connection.channel.isClosed && this.phase === 'running') this.free.add(connection);
    if (this.phase === 'draining' && this.active.size === 0) {
      this.complete();
      return;
    }
    const { maxCircuits } = this.options;
    if (
      this.phase === 'running' &&
      maxCircuits > 0 &&
      this.stats.circuits.launched >= maxCircuits &&
      this.active.size === 0
    ) {
      this.beginDrain();
      return;
    }
    this.scheduleLaunch();
  }

  /** Fails circuits past their build timeout, or open ones that have not moved for the stall timeout. */
  private sweep(): void {
    const now = this.clock.monotonicMs();
    for (const circuit of [...this.active.keys()]) {
      if (circuit.phase === 'creating' || circuit.phase === 'extending') {
        if (now - circuit.startedMs > this.options.buildTimeoutMs) circuit.fail('timeout');
      } else if (circuit.phase === 'open' && now - circuit.lastProgressMs > this.options.stallTimeoutMs) {
        circuit.fail('stalled');
      }
    }
  }

  // ---------------------------------------------------------------- ending

  private sampleAll(atMs: number): void {
    for (const sampler of this.samplers) sampler.sample(atMs);
  }

  private beginDrain(): void {
    if (this.phase !== 'running') return;
    this.phase = 'draining';
    this.measuredToMs = Math.min(this.measuredToMs, this.clock.monotonicMs());
    if (this.measuredToMs > this.runStartMs + this.options.warmupMs) this.sampleAll(this.measuredToMs);
    this.stats.setWindow({
      fromMs: Math.min(this.runStartMs + this.options.warmupMs, this.measuredToMs),
      toMs: this.measuredToMs,
    });
    this.free.clear();
    if (this.active.size === 0) {
      this.complete();
      return;
    }
    this.drainTimer = this.scheduler.setTimeout(() => {
      this.drainTimer = undefined;
      for (const circuit of [...this.active.keys()]) {
        circuit.abandon();
        this.stats.circuitUnfinished();
      }
      this.active.clear();
      this.complete();
    }, this.options.drainTimeoutMs);
  }

  private complete(): void {
    if (this.drainTimer !== undefined) this.scheduler.clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    const resolve = this.resolveDone;
    this.resolveDone = undefined;
    resolve?.();
  }

  private shutdown(): void {
    for (const slot of this.periodic) if (slot.handle !== undefined) this.scheduler.clearTimeout(slot.handle);
    this.periodic.length = 0;
    if (this.durationTimer !== undefined) this.scheduler.clearTimeout(this.durationTimer);
    if (this.tokenTimer !== undefined) this.scheduler.clearTimeout(this.tokenTimer);
    if (this.drainTimer !== undefined) this.scheduler.clearTimeout(this.drainTimer);
    this.closingChannels = true;
    for (const connection of this.connections) connection.channel.close('the run is over');
  }
}

/** Runs one load and returns its report. */
export function runLoad(input: LoadOptionsInput, modules: LoadModules = {}): Promise<LoadReport> {
  return new LoadGenerator(input, modules).run();
}
