/**
 * One open channel as the engine sees it: a ByteTransport after the link
 * handshake, framed with the negotiated link protocol.
 *
 * Owns the channel's inbound framing (bytes → cells, handed one by one to
 * the host), its outbound write path (a control queue for channel-level
 * cells and DESTROYs, then the circuit mux, batched into transport writes,
 * paused while the transport is above its high-water mark), its circuit-ID
 * map, and the timestamps the idle and keepalive checks read. It does not
 * interpret cells: the engine decides what each command means.
 *
 * Every write goes through `flush()`, so a circuit scheduler or a token
 * bucket has exactly one place to hook in.
 *
 * Memory on the hot path: inbound cells are framed in place in the
 * transport's chunks (ChannelCellReader); each body is copied once, into
 * the engine's body slab, and is then the engine's to decrypt in place and
 * queue on another channel. Queued cells are kept as bodies and encoded
 * only when written, straight into one buffer per transport write.
 */
import {
  type CellBodyAllocator,
  type ChannelCell,
  ChannelCellReader,
  checkEncodableCell,
  encodeChannelCellInto,
} from '@relayd/cells';
import type { ByteTransport, Clock, DecodeError } from '@relayd/common';
import type { ChannelPeer } from './channel-types.js';
import type { RelayCircuit } from './circuit.js';
import { CircuitIdMap } from './circuit-id-map.js';
import { CircuitMux, type QueuedCell } from './circuit-mux.js';
import type { EngineMetrics } from './metrics.js';

/** What a channel asks of the engine. */
export interface ChannelHost {
  /** A whole cell arrived. Called in order; stops once the channel is closed. */
  onCell(channel: Channel, cell: ChannelCell): void;
  /** The inbound bytes can never frame a cell: the channel must close. */
  onMalformed(channel: Channel, error: DecodeError): void;
  /** All queued cells were handed to the transport and it accepts more. */
  onWritable(channel: Channel): void;
  /** Run `channel.flush()` soon (deferred, so cells produced in one turn share a write). */
  requestFlush(channel: Channel): void;
}

/** A cell queued on this channel: `bytes` is its body, encoded with its header when written. */
interface OutgoingCell extends QueuedCell {
  readonly circId: number;
}

/** Write at most this many bytes per transport write (about 64 cells). */
const WRITE_BATCH_BYTES = 32 * 1024;

const EMPTY = new Uint8Array(0);

export class Channel {
  readonly circuits = new CircuitIdMap<RelayCircuit>();
  /** Circuits that stopped originating DATA until this channel drains. */
  readonly waitingOriginators = new Set<RelayCircuit>();
  readonly mux = new CircuitMux<OutgoingCell>();
  readonly openedAtMs: number;
  /** When a cell was last written (channel_when_last_xmit). */
  lastWriteAtMs: number;
  /** When the channel last had circuits (timestamp_last_had_circuits). */
  lastHadCircuitsAtMs: number;
  /** When the transport was last seen with nothing buffered. */
  lastEmptyAtMs: number;
  /** Close after this long without circuits (randomised per channel). */
  readonly idleTimeoutMs: number;

  private closedFlag = false;
  private blocked = false;
  private flushRequested = false;
  private readonly control: OutgoingCell[] = [];
  private readonly reader: ChannelCellReader;
  /** The cells of the write being assembled (reused between writes). */
  private readonly batch: OutgoingCell[] = [];

  constructor(
    readonly id: number,
    readonly peer: ChannelPeer,
    readonly transport: ByteTransport,
    private readonly host: ChannelHost,
    private readonly clock: Clock,
    private readonly metrics: EngineMetrics,
    maxVariableBodyLength: number,
    idleTimeoutMs: number,
    bodies: CellBodyAllocator,
  ) {
    this.reader = new ChannelCellReader(peer.linkVersion, { maxVariableBodyLength, bodies });
    const now = clock.monotonicMs();
    this.openedAtMs = now;
    this.lastWriteAtMs = now;
    this.lastHadCircuitsAtMs = now;
    this.lastEmptyAtMs = now;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  get linkVersion(): number {
    return this.peer.linkVersion;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** True while the transport is above its high-water mark. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** A client channel: the peer proved no relay identity (C tor's channel_is_client for a bridge). */
  get isClient(): boolean {
    return this.peer.rsaIdentity === undefined;
  }

  /** Cells queued and not yet written. */
  get queuedCells(): number {
    return this.control.length + this.mux.queuedCells;
  }

  /** Feeds bytes from the transport; hands every complete cell to the host. */
  receive(bytes: Uint8Array): void {
    if (this.closedFlag) return;
    const reader = this.reader;
    reader.push(bytes);
    for (let cell = reader.next(); cell !== undefined; cell = reader.next()) {
      this.metrics.cellReceived(cell.command);
      this.host.onCell(this, cell);
      if (this.closedFlag) return;
    }
    if (reader.error) this.host.onMalformed(this, reader.error);
  }

  /**
   * Queues a cell of a circuit behind that circuit's earlier cells. Returns
   * false, queueing nothing, when the circuit already has `limit` cells
   * waiting on this channel (the caller closes it with RESOURCELIMIT).
   * The channel keeps `body` until the cell is written: the caller must not
   * modify it afterwards.
   */
  queueCircuitCell(circId: number, command: number, body: Uint8Array, limit: number): boolean {
    if (this.closedFlag) return true;
    // A cell that cannot be encoded is a bug of whoever queued it: fail here, not in flush().
    checkEncodableCell(circId, command, body.length, this.peer.linkVersion);
    if (!this.mux.append(circId, { circId, command, bytes: body }, limit)) return false;
    this.requestFlush();
    return true;
  }

  /**
   * Queues a channel-level cell or a DESTROY, written before any circuit's
   * cells. `body` is kept until written, as queueCircuitCell keeps it.
   */
  queueControlCell(circId: number, command: number, body: Uint8Array = EMPTY): void {
    if (this.closedFlag) return;
    checkEncodableCell(circId, command, body.length, this.peer.linkVersion);
    this.control.push({ circId, command, bytes: body });
    this.requestFlush();
  }

  /**
   * Forgets a circuit ID: drops its queued cells and notes the time, so the
   * idle timeout counts from the last circuit's departure.
   */
  removeCircuit(circId: number): void {
    this.circuits.delete(circId);
    this.mux.clear(circId);
    this.lastHadCircuitsAtMs = this.clock.monotonicMs();
  }

  /** Cells queued for one circuit. */
  queuedFor(circId: number): number {
    return this.mux.queuedFor(circId);
  }

  private requestFlush(): void {
    if (this.flushRequested || this.closedFlag) return;
    this.flushRequested = true;
    this.host.requestFlush(this);
  }

  /**
   * The write path: hands queued cells to the transport, control cells
   * first, then the circuit mux's choice, until the queues are empty or the
   * transport pushes back.
   */
  flush(): void {
    this.flushRequested = false;
    if (this.closedFlag) return;
    const framing = this.peer.linkVersion;
    const batch = this.batch;
    while (!this.blocked) {
      let size = 0;
      while (size < WRITE_BATCH_BYTES) {
        const cell = this.control.shift() ?? this.mux.pop();
        if (!cell) break;
        batch.push(cell);
        size += checkEncodableCell(cell.circId, cell.command, cell.bytes.length, framing);
      }
      if (batch.length === 0) break;
      // A new buffer for every write: the transport holds on to it until the socket has taken it.
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const cell of batch) {
        at += encodeChannelCellInto(bytes, at, cell.circId, cell.command, cell.bytes, framing);
        this.metrics.cellSent(cell.command);
      }
      batch.length = 0;
      this.lastWriteAtMs = this.clock.monotonicMs();
      if (!this.transport.write(bytes)) this.blocked = true;
    }
    if (!this.blocked && this.queuedCells === 0 && !this.closedFlag) this.host.onWritable(this);
  }

  /** The transport drained below its low-water mark. */
  drained(): void {
    this.blocked = false;
    this.lastEmptyAtMs = this.clock.monotonicMs();
    this.requestFlush();
  }

  /** Marks the channel closed and drops everything queued. The engine closes the transport. */
  markClosed(): void {
    this.closedFlag = true;
    this.control.length = 0;
    this.batch.length = 0;
    this.waitingOriginators.clear();
  }
}
