/**
 * An in-memory ByteTransport pair. Bytes written on one side reach the
 * other side's `data` handler in a deferred task of the fake scheduler
 * (never synchronously, as with a real socket). A side can be paused, so its
 * writes pile up: `bufferedBytes` grows, `write` returns false above the
 * high-water mark, and `drained` fires once the bytes are delivered.
 */
import type { ByteTransport, TransportHandlers } from '@relayd/common';
import type { FakeTime } from './fake-time.js';

export class MemoryTransport implements ByteTransport {
  peer!: MemoryTransport;
  /** Stop delivering what this side writes. */
  paused = false;
  highWaterMark = Number.POSITIVE_INFINITY;
  /** Every byte this side wrote, in order (for tests that read the raw stream). */
  written = 0;
  private handlers: TransportHandlers | undefined;
  private readonly held: Uint8Array[] = [];
  private outbox: Uint8Array[] = [];
  private queued = 0;
  private owesDrain = false;
  private closedFlag = false;
  private closedNotified = false;
  private deliveryScheduled = false;

  constructor(private readonly time: FakeTime) {}

  get bufferedBytes(): number {
    return this.queued;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closedFlag) return false;
    this.outbox.push(bytes.slice());
    this.queued += bytes.length;
    this.written += bytes.length;
    this.scheduleDelivery();
    if (this.queued > this.highWaterMark) {
      this.owesDrain = true;
      return false;
    }
    return true;
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.time.defer(() => {
      this.deliver(true);
      this.notifyClosed();
      this.peer.peerClosed();
    });
  }

  attach(handlers: TransportHandlers): void {
    if (this.handlers) throw new Error('attach called twice');
    this.handlers = handlers;
    if (this.held.length > 0) {
      this.time.defer(() => {
        for (const chunk of this.held.splice(0)) this.handlers?.data(chunk);
      });
    }
  }

  /** Resumes delivery of a paused side. */
  resume(): void {
    this.paused = false;
    this.scheduleDelivery();
  }

  private scheduleDelivery(): void {
    if (this.deliveryScheduled || this.paused) return;
    this.deliveryScheduled = true;
    this.time.defer(() => {
      this.deliveryScheduled = false;
      this.deliver(false);
    });
  }

  private deliver(force: boolean): void {
    if (this.paused && !force) return;
    const chunks = this.outbox;
    this.outbox = [];
    this.queued = 0;
    for (const chunk of chunks) this.peer.receive(chunk);
    if (this.owesDrain && !this.closedFlag) {
      this.owesDrain = false;
      this.handlers?.drained();
    }
  }

  private receive(bytes: Uint8Array): void {
    if (this.closedNotified) return;
    if (this.handlers) this.handlers.data(bytes);
    else this.held.push(bytes);
  }

  private peerClosed(): void {
    this.closedFlag = true;
    this.notifyClosed();
  }

  private notifyClosed(): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.handlers?.closed();
  }
}

export function transportPair(time: FakeTime): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport(time);
  const b = new MemoryTransport(time);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
