/**
 * A channel's outbound cell queues, one per circuit, and the choice of which
 * circuit's cell goes out next (C tor's circuitmux). This is the single
 * place where the write order between circuits is decided: the policy here
 * is plain round robin over circuits with queued cells; an EWMA policy
 * (quiet circuits first, circuitmux_ewma.c) replaces `pop` without touching
 * the rest of the engine.
 *
 * Cells inside one circuit's queue keep their order: relay crypto is a
 * stream cipher, so reordering them would corrupt the circuit.
 */

/** One encoded cell and its command (kept for metrics). */
export interface QueuedCell {
  readonly bytes: Uint8Array;
  readonly command: number;
}

class CellFifo {
  private cells: Array<QueuedCell | undefined> = [];
  private head = 0;

  get length(): number {
    return this.cells.length - this.head;
  }

  push(cell: QueuedCell): void {
    this.cells.push(cell);
  }

  shift(): QueuedCell | undefined {
    if (this.head >= this.cells.length) return undefined;
    const cell = this.cells[this.head];
    this.cells[this.head] = undefined;
    this.head++;
    if (this.head === this.cells.length) {
      this.cells = [];
      this.head = 0;
    } else if (this.head > 256 && this.head * 2 > this.cells.length) {
      this.cells = this.cells.slice(this.head);
      this.head = 0;
    }
    return cell;
  }
}

export class CircuitMux {
  private readonly queues = new Map<number, CellFifo>();
  /** Circuit IDs with queued cells, in service order. */
  private active: number[] = [];
  private activeHead = 0;
  /** Circuit IDs present in `active` (possibly stale after `clear`). */
  private readonly inActive = new Set<number>();
  private total = 0;

  /** Cells queued across all circuits. */
  get queuedCells(): number {
    return this.total;
  }

  /** Cells queued for one circuit. */
  queuedFor(circId: number): number {
    return this.queues.get(circId)?.length ?? 0;
  }

  /** Appends a cell to a circuit's queue. Returns false (queue unchanged) when it already holds `limit` cells. */
  append(circId: number, cell: QueuedCell, limit: number): boolean {
    let fifo = this.queues.get(circId);
    if (!fifo) {
      fifo = new CellFifo();
      this.queues.set(circId, fifo);
    }
    if (fifo.length >= limit) return false;
    if (!this.inActive.has(circId)) {
      this.active.push(circId);
      this.inActive.add(circId);
    }
    fifo.push(cell);
    this.total++;
    return true;
  }

  /** Takes the next cell to write, round robin over circuits. */
  pop(): QueuedCell | undefined {
    while (this.activeHead < this.active.length) {
      const circId = this.active[this.activeHead++]!;
      this.inActive.delete(circId);
      const fifo = this.queues.get(circId);
      if (!fifo || fifo.length === 0) continue;
      const cell = fifo.shift()!;
      this.total--;
      if (fifo.length > 0) {
        this.active.push(circId);
        this.inActive.add(circId);
      } else {
        this.queues.delete(circId);
      }
      this.compactActive();
      return cell;
    }
    this.active = [];
    this.activeHead = 0;
    this.inActive.clear();
    return undefined;
  }

  /** Drops every cell queued for a circuit (it is being closed or truncated). */
  clear(circId: number): void {
    const fifo = this.queues.get(circId);
    if (!fifo) return;
    this.total -= fifo.length;
    this.queues.delete(circId);
    // Its entry in `active` stays; pop() skips it, or serves the circuit's next cells from it.
  }

  private compactActive(): void {
    if (this.activeHead > 256 && this.activeHead * 2 > this.active.length) {
      this.active = this.active.slice(this.activeHead);
      this.activeHead = 0;
    }
  }
}
