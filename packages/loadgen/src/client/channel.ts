/**
 * The client end of one link channel, after its handshake: cell framing in
 * both directions, circuit IDs, and write batching with backpressure.
 *
 *   inbound bytes ─▶ cells ─▶ CREATED*, RELAY, DESTROY ─▶ the circuit with that ID
 *                          └▶ padding and late cells for forgotten circuits: counted, dropped
 *   circuits ─▶ send() ─▶ batch ─▶ one transport write per event-loop turn (or sooner when large)
 *
 * Circuit IDs follow tor-spec 5.1.1: on link protocol 4+ the initiator sets
 * the high bit. IDs are handed out in sequence, so an ID is not reused until
 * 2^31 circuits later and a late cell for a closed circuit never reaches a
 * new one. When the transport is above its high-water mark the channel is
 * "blocked": circuits stop originating bulk data and are resumed on drain.
 */
import { type ChannelCell, ChannelCommand, decodeChannelCell, encodeChannelCell } from '@relayd/cells';
import { type ByteTransport, concatBytes, describeError } from '@relayd/common';
import type { ChannelPeer, EstablishedChannel, Scheduler } from '@relayd/engine';

/** What a circuit must offer the channel it lives on. */
export interface ChannelCircuit {
  handleCell(cell: ChannelCell): void;
  /** The channel is gone; `reason` says why. */
  channelClosed(reason: string): void;
  /** The channel takes bytes again: send what was held back. */
  resumeWriting(): void;
}

export interface ClientChannelOptions {
  /**
   * Queued cells are written together once per event-loop turn, or at once
   * when this many bytes are waiting. Default 64 KiB: one TLS write carries
   * about 127 cells instead of one.
   */
  readonly maxBatchBytes?: number;
}

export const DEFAULT_MAX_BATCH_BYTES = 64 * 1024;

const EMPTY = new Uint8Array(0);
const WIDE_HIGH_BIT = 0x80000000;

export class ClientChannel {
  readonly peer: ChannelPeer;
  readonly linkVersion: number;
  /** Cells that named no circuit of ours (late cells after a DESTROY). */
  unknownCircuitCells = 0;
  private readonly transport: ByteTransport;
  private readonly leftover: Uint8Array;
  private readonly circuits = new Map<number, ChannelCircuit>();
  private readonly waiting = new Set<ChannelCircuit>();
  private readonly maxBatchBytes: number;
  private inbound: Uint8Array = EMPTY;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  private transportFull = false;
  private closedReason: string | undefined;
  private nextCircId: number;
  private readonly firstCircId: number;
  private readonly lastCircId: number;
  private readonly closeListeners: Array<(reason: string) => void> = [];

  constructor(
    established: EstablishedChannel,
    private readonly scheduler: Scheduler,
    options: ClientChannelOptions = {},
  ) {
    this.peer = established.peer;
    this.linkVersion = established.peer.linkVersion;
    this.transport = established.transport;
    this.leftover = established.leftover;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    const wide = this.linkVersion >= 4;
    this.firstCircId = wide ? WIDE_HIGH_BIT + 1 : 1;
    this.lastCircId = wide ? 0xffffffff : 0xffff;
    this.nextCircId = this.firstCircId;
  }

  /** Starts reading: the handshake's leftover bytes first, then the transport. */
  start(): void {
    if (this.leftover.length > 0) this.receive(this.leftover);
    this.transport.attach({
      data: (bytes) => this.receive(bytes),
      closed: (error) =>
        this.close(error ? `connection failed: ${describeError(error)}` : 'closed by the bridge'),
      drained: () => this.drained(),
    });
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  /** True while bulk data should wait (transport above its high-water mark, or closed). */
  get isBlocked(): boolean {
    return this.transportFull || this.isClosed;
  }

  get circuitCount(): number {
    return this.circuits.size;
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListeners.push(listener);
  }

  /** Registers a circuit under a fresh ID; undefined if the channel is closed or the ID space is used up. */
  addCircuit(circuit: ChannelCircuit): number | undefined {
    if (this.isClosed) return undefined;
    const span = this.lastCircId - this.firstCircId + 1;
    for (let tries = 0; tries < span && tries < 1_000_000; tries++) {
      const id = this.nextCircId;
      this.nextCircId = id === this.lastCircId ? this.firstCircId : id + 1;
      if (!this.circuits.has(id)) {
        this.circuits.set(id, circuit);
        return id;
      }
    }
    return undefined;
  }

  removeCircuit(circId: number): void {
    const circuit = this.circuits.get(circId);
    if (!circuit) return;
    this.circuits.delete(circId);
    this.waiting.delete(circuit);
  }

  /** Asks for `resumeWriting` once the channel is no longer blocked. */
  waitForWritable(circuit: ChannelCircuit): void {
    if (!this.isClosed) this.waiting.add(circuit);
  }

  /** Queues one cell. Returns false if the channel is closed (nothing is sent). */
  send(circId: number, command: number, body: Uint8Array): boolean {
    if (this.isClosed) return false;
    const bytes = encodeChannelCell({ circId, command, body }, this.linkVersion);
    this.batch.push(bytes);
    this.batchBytes += bytes.length;
    if (this.batchBytes >= this.maxBatchBytes) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.scheduler.defer(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  /** Closes the channel: queued cells are written first; every circuit on it is told. */
  close(reason: string): void {
    if (this.isClosed) return;
    this.flush();
    this.closedReason = reason;
    this.transport.close();
    const circuits = [...this.circuits.values()];
    this.circuits.clear();
    this.waiting.clear();
    for (const circuit of circuits) circuit.channelClosed(reason);
    for (const listener of this.closeListeners) listener(reason);
  }

  private flush(): void {
    if (this.batch.length === 0 || this.isClosed) return;
    const out = this.batch.length === 1 ? this.batch[0]! : concatBytes(...this.batch);
    this.batch = [];
    this.batchBytes = 0;
    if (!this.transport.write(out)) this.transportFull = true;
  }

  private drained(): void {
    this.transportFull = false;
    if (this.waiting.size === 0) return;
    const ready = [...this.waiting];
    this.waiting.clear();
    for (const circuit of ready) {
      if (this.isBlocked) {
        this.waiting.add(circuit);
        continue;
      }
      circuit.resumeWriting();
    }
  }

  private receive(bytes: Uint8Array): void {
    if (this.isClosed) return;
    const buffer = this.inbound.length > 0 ? concatBytes(this.inbound, bytes) : bytes;
    let offset = 0;
    while (!this.isClosed) {
      const frame = decodeChannelCell(offset === 0 ? buffer : buffer.subarray(offset), this.linkVersion);
      if (frame.kind === 'incomplete') break;
      if (frame.kind === 'malformed') {
        this.close(`malformed cell from the bridge: ${frame.error.message}`);
        return;
      }
      offset += frame.bytesConsumed;
      this.dispatch(frame.cell);
    }
    this.inbound = offset < buffer.length ? buffer.slice(offset) : EMPTY;
  }

  private dispatch(cell: ChannelCell): void {
    switch (cell.command) {
      case ChannelCommand.CREATED:
      case ChannelCommand.CREATED_FAST:
      case ChannelCommand.CREATED2:
      case ChannelCommand.RELAY:
      case ChannelCommand.RELAY_EARLY:
      case ChannelCommand.DESTROY: {
        const circuit = this.circuits.get(cell.circId);
        if (circuit) circuit.handleCell(cell);
        else this.unknownCircuitCells++;
        return;
      }
      default:
        // PADDING, VPADDING and anything else a bridge may send on an open channel: nothing to do.
        return;
    }
  }
}
