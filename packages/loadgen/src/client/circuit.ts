/**
 * One circuit as its origin (the client) runs it: building it hop by hop,
 * tor1 crypto for every relay cell, circuit- and stream-level flow control,
 * and the directory streams a workload opens at the last hop.
 *
 *   creating ── CREATED_FAST / CREATED2 ──▶ extending ── EXTENDED2 ──▶ open ──▶ closed
 *       │        (no next hop: straight to open)                        │  workload done: DESTROY(NONE)
 *       └────── DESTROY, TRUNCATED, bad reply, channel gone, timeout ───┴──▶ closed (failed, with a reason)
 *
 * Inbound cells (from the channel): CREATED* finishes the pending
 * handshake; RELAY is decrypted layer by layer (tor-spec 5.5.4) and then
 *   DATA      hop deliver window (SENDME v1 with this cell's tag every 100th),
 *             stream deliver window (stream SENDME every 50th), then the stream's handler
 *   SENDME    stream 0: the hop's package window, authenticated against our remembered tags;
 *             else the stream's package window; either way the workload may send again
 *   EXTENDED2 finishes the extension handshake
 *   CONNECTED, END   the stream's handler
 *   TRUNCATED, and any cell no hop recognizes: the circuit fails
 * An OP never receives RELAY_EARLY (tor-spec 5.6): the circuit fails.
 *
 * The circuit owns mechanism only; what to send once open is the
 * workload's business, and counting is the traffic observer's.
 */
import {
  type ChannelCell,
  ChannelCommand,
  DestroyReason,
  decodeChannelMessage,
  decodeRelayCell,
  decodeRelayCellMessage,
  destroyReasonName,
  encodeChannelMessage,
  encodeRelayCell,
  encodeRelayMessageCell,
  RELAY_DATA_MAX_LENGTH,
  RelayCommand,
  type RelayMessage,
  relayCommandName,
} from '@relayd/cells';
import { type Clock, concatBytes, type Random } from '@relayd/common';
import type { Scheduler } from '@relayd/engine';
import { Tor1ClientCrypto } from '@relayd/relay-crypto';
import { extendLinkSpecifiers, type NextHop } from '../target.js';
import type { ChannelCircuit, ClientChannel } from './channel.js';
import { HopWindows, StreamWindows } from './flow-control.js';
import {
  type CreateHandshake,
  type ExtendHandshake,
  type HopKeys,
  type PendingHandshake,
  startHandshake,
} from './hop-handshake.js';

/** How to build a circuit. */
export interface CircuitPlan {
  readonly create: CreateHandshake;
  /** The bridge, as the first hop's handshake needs it. */
  readonly firstHop: HopKeys;
  /** Extend to this hop after the bridge; absent for one-hop circuits. */
  readonly extend?: { readonly hop: NextHop; readonly handshake: ExtendHandshake } | undefined;
}

export type CircuitPhase = 'creating' | 'extending' | 'open' | 'closed';

/** What the circuit reports about its life. `reason` strings are "<phase>/<what>". */
export interface CircuitEvents {
  /** The first hop answered. */
  created(circuit: ClientCircuit): void;
  /** Every hop is built; the workload starts next. */
  built(circuit: ClientCircuit): void;
  /** The workload finished and the circuit was torn down by us. */
  finished(circuit: ClientCircuit): void;
  failed(circuit: ClientCircuit, reason: string): void;
}

/** DATA and DROP carry the load; EXTEND2/EXTENDED2 build circuits (and stop at the bridge); the rest is control. */
export type RelayCellKind = 'data' | 'drop' | 'extend' | 'control';

/** Counts relay traffic as it happens (the load statistics implement it). */
export interface CircuitTraffic {
  /** A relay cell we originated; `dataBytes` is the DATA or DROP body length. */
  cellSent(kind: RelayCellKind, dataBytes: number): void;
  /** A relay cell we recognized. */
  cellReceived(kind: RelayCellKind, dataBytes: number): void;
  sendmeSent(level: 'circuit' | 'stream'): void;
  sendmeReceived(level: 'circuit' | 'stream'): void;
}

/** What happens on an open circuit: it opens streams and sends data through the circuit's API. */
export interface CircuitWorkload {
  start(circuit: ClientCircuit): void;
  /** Windows opened or the channel drained: send what may be sent now. */
  pump(): void;
}

/** One stream's receiver. */
export interface StreamHandler {
  connected(): void;
  data(bytes: Uint8Array): void;
  ended(reason: number): void;
}

export interface CircuitModules {
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly traffic: CircuitTraffic;
  readonly events: CircuitEvents;
  /** Makes the workload once the circuit is open. */
  readonly workload: () => CircuitWorkload;
}

interface OpenStream {
  readonly handler: StreamHandler;
  readonly windows: StreamWindows;
}

/** Stream IDs are 16 bits and 0 means "the circuit" (tor-spec 6.1). */
const MAX_STREAM_ID = 0xffff;
/** C tor's DROP cells carry no meaning; zeros cost nothing to make. */
const ZERO_CHUNK = new Uint8Array(RELAY_DATA_MAX_LENGTH);

export class ClientCircuit implements ChannelCircuit {
  phase: CircuitPhase = 'creating';
  readonly circId: number;
  /** Monotonic times (ms): start, first hop answered, last hop answered. */
  readonly startedMs: number;
  createdMs: number | undefined;
  builtMs: number | undefined;
  /** Last time anything arrived or left on the open circuit, for stall detection. */
  lastProgressMs: number;
  /** Cells from a hop on a stream we no longer know (after END): counted, not fatal. */
  strayStreamCells = 0;
  private readonly crypto = new Tor1ClientCrypto();
  private readonly hops: HopWindows[] = [];
  private readonly streams = new Map<number, OpenStream>();
  private nextStreamId = 1;
  private pending: PendingHandshake | undefined;
  private workload: CircuitWorkload | undefined;

  /** Registers on `channel`; `start()` sends the first cell. Check `circId` for 0 (no ID was free). */
  constructor(
    private readonly channel: ClientChannel,
    private readonly plan: CircuitPlan,
    private readonly modules: CircuitModules,
  ) {
    this.circId = channel.addCircuit(this) ?? 0;
    this.startedMs = modules.clock.monotonicMs();
    this.lastProgressMs = this.startedMs;
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** The hop streams go to: the last one built. */
  get lastHop(): number {
    return this.hops.length - 1;
  }

  /** Sends CREATE_FAST or CREATE2. */
  start(): void {
    if (this.circId === 0) {
      this.phase = 'closed';
      this.modules.events.failed(this, 'creating/no-free-circuit-id');
      return;
    }
    const started = startHandshake(this.plan.create, this.plan.firstHop, this.modules.random);
    if (!started.ok) {
      this.fail(`bridge-keys-${started.error}`);
      return;
    }
    this.pending = started.value;
    const { handshakeType, onionskin } = started.value;
    const { command, body } = encodeChannelMessage(
      handshakeType === 'fast'
        ? { type: 'create-fast', keyMaterial: onionskin }
        : { type: 'create2', handshakeType, handshakeData: onionskin },
    );
    this.channel.send(this.circId, command, body);
  }

  // ------------------------------------------------------------ workload API

  /** Opens a BEGIN_DIR stream at the last hop. Returns its ID, or undefined (circuit failed) when IDs ran out. */
  openStream(handler: StreamHandler): number | undefined {
    if (this.isClosed) return undefined;
    if (this.nextStreamId > MAX_STREAM_ID) {
      this.fail('stream-ids-exhausted');
      return undefined;
    }
    const streamId = this.nextStreamId++;
    this.streams.set(streamId, { handler, windows: new StreamWindows() });
    this.sendRelay(this.lastHop, streamId, { type: 'begin-dir' });
    return streamId;
  }

  /**
   * Whether one more DATA cell may go out on `streamId` now: both windows
   * open and the channel not blocked. When only the channel blocks, the
   * workload is pumped again once it drains.
   */
  canSendData(streamId: number): boolean {
    if (this.isClosed) return false;
    const stream = this.streams.get(streamId);
    const hop = this.hops[this.lastHop];
    if (!stream || !hop || stream.windows.packageWindow <= 0 || hop.packageWindow <= 0) return false;
    return this.channelWritable();
  }

  /** Sends one DATA cell (at most 498 bytes) on `streamId`. Call only after `canSendData`. */
  sendData(streamId: number, data: Uint8Array): void {
    const stream = this.streams.get(streamId);
    const hop = this.hops[this.lastHop];
    if (this.isClosed || !stream || !hop) return;
    const tag = this.sendRelay(this.lastHop, streamId, { type: 'data', data }, 'data', data.length);
    hop.noteDataSent(tag);
    stream.windows.noteDataSent();
  }

  /** Whether a DROP cell may go out now (DROP has no window; only the channel limits it). */
  canSendDrop(): boolean {
    return !this.isClosed && this.channelWritable();
  }

  /** Sends one long-range DROP cell with a zero body of `length` bytes (at most 498) to the last hop. */
  sendDrop(length: number): void {
    if (this.isClosed) return;
    const data = length === RELAY_DATA_MAX_LENGTH ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, length);
    const payload = encodeRelayCell({ command: RelayCommand.DROP, streamId: 0, data }, this.modules.random);
    this.crypto.originateForward(payload, this.lastHop);
    this.channel.send(this.circId, ChannelCommand.RELAY, payload);
    this.modules.traffic.cellSent('drop', length);
    this.lastProgressMs = this.modules.clock.monotonicMs();
  }

  /** The workload is done: DESTROY(NONE) ("an OP should always use the NONE reason", tor-spec 5.4). */
  finish(): void {
    if (this.isClosed) return;
    this.close(true);
    this.modules.events.finished(this);
  }

  /** Fails the circuit from the workload or the owner (bad response, timeout): DESTROY(NONE), then `failed`. */
  fail(what: string): void {
    if (this.isClosed) return;
    const reason = `${this.phase}/${what}`;
    this.close(true);
    this.modules.events.failed(this, reason);
  }

  /** Tears the circuit down without reporting anything (the run is over). */
  abandon(): void {
    if (!this.isClosed) this.close(true);
  }

  /** SENDMEs the hops still owe us (a circuit at rest owes none). */
  get awaitedSendmes(): number {
    let n = 0;
    for (const hop of this.hops) n += hop.awaitedSendmes;
    return n;
  }

  // ------------------------------------------------------------ channel side

  handleCell(cell: ChannelCell): void {
    if (this.isClosed) return;
    switch (cell.command) {
      case ChannelCommand.CREATED_FAST:
      case ChannelCommand.CREATED2:
      case ChannelCommand.CREATED:
        this.handleCreated(cell);
        return;
      case ChannelCommand.RELAY:
        this.handleRelay(cell.body);
        return;
      case ChannelCommand.RELAY_EARLY:
        this.fail('inbound-relay-early');
        return;
      case ChannelCommand.DESTROY: {
        const decoded = decodeChannelMessage(cell.command, cell.body);
        const reason = decoded.ok && decoded.value.type === 'destroy' ? decoded.value.reason : -1;
        const reasonText = destroyReasonName(reason) ?? `reason-${reason}`;
        const failure = `${this.phase}/destroy-${reasonText}`;
        // The bridge already forgot the circuit: no DESTROY goes back.
        this.close(false);
        this.modules.events.failed(this, failure);
        return;
      }
    }
  }

  /** The channel went away: its reason is the connection's story, counted once by the owner. */
  channelClosed(_reason: string): void {
    if (this.isClosed) return;
    const failure = `${this.phase}/channel-closed`;
    this.phase = 'closed';
    this.modules.events.failed(this, failure);
  }

  resumeWriting(): void {
    if (this.phase === 'open') this.workload?.pump();
  }

  // ------------------------------------------------------------ internals

  private channelWritable(): boolean {
    if (!this.channel.isBlocked) return true;
    this.channel.waitForWritable(this);
    return false;
  }

  private close(sendDestroy: boolean): void {
    this.phase = 'closed';
    this.pending = undefined;
    this.streams.clear();
    if (sendDestroy && this.circId !== 0) {
      this.channel.send(this.circId, ChannelCommand.DESTROY, Uint8Array.of(DestroyReason.NONE));
    }
    this.channel.removeCircuit(this.circId);
  }

  private handleCreated(cell: ChannelCell): void {
    const pending = this.pending;
    if (this.phase !== 'creating' || !pending) {
      this.fail('unexpected-created');
      return;
    }
    const decoded = decodeChannelMessage(cell.command, cell.body);
    if (!decoded.ok) {
      this.fail('malformed-created');
      return;
    }
    let reply: Uint8Array;
    const message = decoded.value;
    if (message.type === 'created-fast' && pending.handshakeType === 'fast') {
      reply = concatBytes(message.keyMaterial, message.derivativeKeyData);
    } else if (message.type === 'created2' && pending.handshakeType !== 'fast') {
      reply = message.handshakeData;
    } else {
      this.fail('created-of-wrong-type');
      return;
    }
    if (!this.addHop(pending, reply)) return;
    this.createdMs = this.modules.clock.monotonicMs();
    this.modules.events.created(this);
    if (this.isClosed) return;
    if (this.plan.extend) this.sendExtend(this.plan.extend.hop, this.plan.extend.handshake);
    else this.becomeOpen();
  }

  private addHop(pending: PendingHandshake, reply: Uint8Array): boolean {
    this.pending = undefined;
    const keys = pending.finish(reply);
    if (!keys.ok) {
      this.fail(`handshake-${keys.error.failure}`);
      return false;
    }
    this.crypto.addHop(keys.value);
    this.hops.push(new HopWindows());
    return true;
  }

  private sendExtend(hop: NextHop, handshake: ExtendHandshake): void {
    const started = startHandshake(handshake, hop, this.modules.random);
    if (!started.ok) {
      this.fail(`next-hop-keys-${started.error}`);
      return;
    }
    const { handshakeType, onionskin } = started.value;
    if (handshakeType === 'fast') {
      this.fail('extend-with-create-fast');
      return;
    }
    this.pending = started.value;
    this.phase = 'extending';
    // EXTEND2 goes in RELAY_EARLY on stream 0 (tor-spec 5.6): relays drop it otherwise.
    this.sendRelay(
      0,
      0,
      { type: 'extend2', linkSpecifiers: extendLinkSpecifiers(hop), handshakeType, handshakeData: onionskin },
      'extend',
      0,
      true,
    );
  }

  private becomeOpen(): void {
    this.phase = 'open';
    this.builtMs = this.modules.clock.monotonicMs();
    this.lastProgressMs = this.builtMs;
    this.modules.events.built(this);
    if (this.isClosed) return;
    this.workload = this.modules.workload();
    this.workload.start(this);
  }

  /** Encodes, digests and onion-encrypts a relay message to `hop`; returns its tag. */
  private sendRelay(
    hop: number,
    streamId: number,
    message: RelayMessage,
    kind: RelayCellKind = 'control',
    dataBytes = 0,
    early = false,
  ): Uint8Array {
    const payload = encodeRelayMessageCell(streamId, message, this.modules.random);
    const tag = this.crypto.originateForward(payload, hop);
    this.channel.send(this.circId, early ? ChannelCommand.RELAY_EARLY : ChannelCommand.RELAY, payload);
    this.modules.traffic.cellSent(kind, dataBytes);
    this.lastProgressMs = this.modules.clock.monotonicMs();
    return tag;
  }

  private handleRelay(payload: Uint8Array): void {
    const recognized = this.crypto.decryptBackward(payload);
    if (!recognized) {
      this.fail('unrecognized-relay-cell');
      return;
    }
    const decoded = decodeRelayCell(payload);
    if (!decoded.ok) {
      this.fail('malformed-relay-cell');
      return;
    }
    const cell = decoded.value;
    const hop = this.hops[recognized.hop]!;
    this.lastProgressMs = this.modules.clock.monotonicMs();

    if (cell.command === RelayCommand.DATA) {
      this.modules.traffic.cellReceived('data', cell.data.length);
      const circuitLevel = hop.noteDataReceived();
      if (circuitLevel === 'overflow') {
        this.fail('hop-ignored-circuit-window');
        return;
      }
      if (circuitLevel === 'sendme') {
        this.sendRelay(recognized.hop, 0, { type: 'sendme', kind: 'v1', digest: recognized.sendmeTag });
        this.modules.traffic.sendmeSent('circuit');
      }
      const stream = this.streams.get(cell.streamId);
      if (!stream) {
        this.strayStreamCells++;
        return;
      }
      const streamLevel = stream.windows.noteDataReceived();
      if (streamLevel === 'overflow') {
        this.fail('hop-ignored-stream-window');
        return;
      }
      if (streamLevel === 'sendme') {
        this.sendRelay(recognized.hop, cell.streamId, { type: 'sendme', kind: 'v0' });
        this.modules.traffic.sendmeSent('stream');
      }
      stream.handler.data(cell.data);
      return;
    }

    this.modules.traffic.cellReceived(receivedKind(cell.command), 0);
    const message = decodeRelayCellMessage(cell);
    if (!message.ok) {
      this.fail(`malformed-${relayCommandName(cell.command) ?? `relay-command-${cell.command}`}`);
      return;
    }
    const value = message.value;
    switch (value.type) {
      case 'sendme': {
        if (cell.streamId === 0) {
          const problem = hop.acceptSendme(value);
          if (problem) {
            this.fail(`circuit-sendme-${problem}`);
            return;
          }
          this.modules.traffic.sendmeReceived('circuit');
        } else {
          const stream = this.streams.get(cell.streamId);
          if (!stream) {
            this.strayStreamCells++;
            return;
          }
          if (!stream.windows.acceptSendme()) {
            this.fail('stream-sendme-overflow');
            return;
          }
          this.modules.traffic.sendmeReceived('stream');
        }
        if (this.phase === 'open') this.workload?.pump();
        return;
      }
      case 'extended2': {
        const pending = this.pending;
        if (this.phase !== 'extending' || recognized.hop !== 0 || !pending) {
          this.fail('unexpected-extended2');
          return;
        }
        if (!this.addHop(pending, value.handshakeData)) return;
        this.becomeOpen();
        return;
      }
      case 'connected': {
        const stream = this.streams.get(cell.streamId);
        if (stream) stream.handler.connected();
        else this.strayStreamCells++;
        return;
      }
      case 'end': {
        const stream = this.streams.get(cell.streamId);
        if (!stream) {
          this.strayStreamCells++;
          return;
        }
        this.streams.delete(cell.streamId);
        stream.handler.ended(value.reason);
        return;
      }
      case 'truncated':
        this.fail(`truncated-${destroyReasonName(value.reason) ?? `reason-${value.reason}`}`);
        return;
      default:
        // DROP and anything a client does not act on.
        return;
    }
  }
}

function receivedKind(command: number): RelayCellKind {
  if (command === RelayCommand.DROP) return 'drop';
  if (command === RelayCommand.EXTENDED2 || command === RelayCommand.EXTENDED) return 'extend';
  return 'control';
}
