/**
 * Carrying out EXTEND2 and TRUNCATE for the engine: checking the request
 * (extend.ts), finding or opening the channel to the next hop, sending
 * CREATE2 on a fresh circuit ID, and tearing the next hop down again.
 *
 *   EXTEND2 ─ planExtend ─┬─ open channel to that identity ───────────▶ CREATE2
 *                          └─ provider.openChannel (shared per target) ─▶ CREATE2
 *                                                         rejected ─▶ DESTROY CHANNEL_CLOSED
 *
 * Owns the index of channels by proven identity and the launches in
 * progress; the engine owns channels, circuits and the write path, reached
 * through `CircuitExtenderHost`.
 */
import { type Create2Message, DestroyReason, type Extend2Message, encodeChannelMessage } from '@relayd/cells';
import { describeError, type Logger, type Random } from '@relayd/common';
import type { Channel } from './channel.js';
import type { ChannelProvider, EstablishedChannel, ExtendTarget } from './channel-types.js';
import type { RelayCircuit } from './circuit.js';
import { IdentityChannelIndex, peerMatchesTarget, planExtend, targetKey } from './extend.js';
import type { LogLimiter } from './log-limiter.js';
import type { EngineMetrics, ExtendOutcome } from './metrics.js';

export interface CircuitExtenderHost {
  /** True once the engine is closed: late channels are closed, not adopted. */
  isClosed(): boolean;
  /** Adopts a channel the provider opened. */
  adopt(established: EstablishedChannel): Channel | undefined;
  closeCircuit(circuit: RelayCircuit, reason: number, detail: string): void;
  /** Queues a cell towards the circuit's next hop (the circuit's write path). */
  queueToNext(circuit: RelayCircuit, command: number, body: Uint8Array): void;
  /** Runs work for a channel, turning an exception into closing that channel. */
  guarded(channel: Channel | undefined, what: string, work: () => void): void;
  violation(channel: Channel | undefined, label: string, detail: string): void;
}

export interface CircuitExtenderConfig {
  readonly allowPrivateAddresses: boolean;
  readonly ourRsaIdentity: Uint8Array;
  readonly ourEd25519Identity: Uint8Array;
}

export class CircuitExtender {
  /** Open channels by proven RSA identity. */
  readonly channels = new IdentityChannelIndex();
  /** Circuits waiting for a channel the provider is opening, by target key. */
  private readonly pending = new Map<string, Set<RelayCircuit>>();

  constructor(
    private readonly config: CircuitExtenderConfig,
    private readonly provider: ChannelProvider,
    private readonly random: Random,
    private readonly metrics: EngineMetrics,
    private readonly logger: Logger,
    private readonly logLimiter: LogLimiter,
    private readonly host: CircuitExtenderHost,
  ) {}

  /** Channels being opened for EXTEND2. */
  get pendingLaunches(): number {
    return this.pending.size;
  }

  /** Forgets every launch in progress (the engine is closing). */
  clear(): void {
    this.pending.clear();
  }

  /** Handles an EXTEND2 that arrived in RELAY_EARLY on stream 0. */
  extend(circuit: RelayCircuit, message: Extend2Message): void {
    const prev = circuit.prev;
    if (!prev) return;
    // circuit_extend_state_valid_helper(): one next hop at a time.
    if (circuit.next.kind !== 'none') {
      this.metrics.extend('failed');
      this.host.closeCircuit(
        circuit,
        DestroyReason.PROTOCOL,
        'EXTEND2 on a circuit that already has a next hop',
      );
      return;
    }
    const plan = planExtend(message, {
      allowPrivateAddresses: this.config.allowPrivateAddresses,
      previousHop: prev.channel.peer,
      ourRsaIdentity: this.config.ourRsaIdentity,
      ourEd25519Identity: this.config.ourEd25519Identity,
    });
    if (!plan.ok) {
      this.metrics.extend('failed');
      this.host.violation(prev.channel, 'extend-refused', plan.error.detail);
      this.host.closeCircuit(circuit, plan.error.reason, `EXTEND2 refused: ${plan.error.detail}`);
      return;
    }
    const { target, create } = plan.value;
    const existing = this.channels.find(target);
    if (existing) {
      this.sendCreate(circuit, existing, create, 'reused-channel');
      return;
    }
    const key = targetKey(target);
    circuit.next = { kind: 'awaiting-channel', pendingKey: key, create };
    const waiting = this.pending.get(key);
    if (waiting) {
      waiting.add(circuit);
      return;
    }
    this.pending.set(key, new Set([circuit]));
    let opening: Promise<EstablishedChannel>;
    try {
      opening = this.provider.openChannel(target);
    } catch (error) {
      opening = Promise.reject(error);
    }
    opening.then(
      (established) => this.launched(key, target, established),
      (error: unknown) => this.launchFailed(key, error),
    );
  }

  /** Stops a circuit waiting for a launch (it closed, or was truncated). */
  forget(circuit: RelayCircuit, pendingKey: string): void {
    this.pending.get(pendingKey)?.delete(circuit);
  }

  /** The circuits still waiting for `key`, and forgets the launch. */
  private takeWaiting(key: string): RelayCircuit[] {
    const waiting = this.pending.get(key);
    this.pending.delete(key);
    return [...(waiting ?? [])].filter((circuit) => {
      const next = circuit.next;
      return !circuit.isClosed && next.kind === 'awaiting-channel' && next.pendingKey === key;
    });
  }

  private launched(key: string, target: ExtendTarget, established: EstablishedChannel): void {
    const waiting = this.takeWaiting(key);
    if (this.host.isClosed()) {
      established.transport.close();
      return;
    }
    let channel: Channel | undefined;
    if (!established.peer.initiatedLocally || !peerMatchesTarget(established.peer, target)) {
      this.logger.error(
        {},
        'bug: the channel provider returned a channel that does not match the EXTEND2 target',
      );
      this.metrics.channelClosed('wrong-identity');
      established.transport.close();
    } else {
      channel = this.host.adopt(established);
    }
    for (const circuit of waiting) {
      this.host.guarded(circuit.prev?.channel, 'extending a circuit', () => {
        const next = circuit.next;
        if (circuit.isClosed || next.kind !== 'awaiting-channel') return;
        if (!channel || channel.isClosed) {
          this.metrics.extend('failed');
          this.host.closeCircuit(circuit, DestroyReason.CHANNEL_CLOSED, 'the new channel closed at once');
          return;
        }
        this.sendCreate(circuit, channel, next.create, 'new-channel');
      });
    }
  }

  private launchFailed(key: string, error: unknown): void {
    const waiting = this.takeWaiting(key);
    const suppressed = this.logLimiter.take('channel-open-failed');
    if (suppressed !== undefined) {
      this.logger.debug({ error: describeError(error), suppressed }, 'could not open a channel for EXTEND2');
    }
    for (const circuit of waiting) {
      this.host.guarded(circuit.prev?.channel, 'failing an extension', () => {
        if (circuit.isClosed) return;
        this.metrics.extend('failed');
        // What C tor's circuit_n_chan_done() does when the launched channel fails.
        this.host.closeCircuit(
          circuit,
          DestroyReason.CHANNEL_CLOSED,
          'could not open a channel to the next hop',
        );
      });
    }
  }

  /** Sends CREATE2 for `circuit` on `channel` under a fresh circuit ID. */
  private sendCreate(
    circuit: RelayCircuit,
    channel: Channel,
    create: Create2Message,
    outcome: ExtendOutcome,
  ): void {
    const circId = channel.circuits.allocate(channel.linkVersion, channel.peer.initiatedLocally, this.random);
    if (circId === undefined) {
      // tor-spec 5.4: RESOURCELIMIT covers running out of circuit IDs.
      this.metrics.extend('failed');
      this.host.closeCircuit(circuit, DestroyReason.RESOURCELIMIT, 'no free circuit ID on the next channel');
      return;
    }
    channel.circuits.set(circId, circuit);
    circuit.next = { kind: 'awaiting-created', end: { channel, circId } };
    const { command, body } = encodeChannelMessage(create);
    this.metrics.extend(outcome);
    this.host.queueToNext(circuit, command, body);
  }
}
