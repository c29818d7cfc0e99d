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

/**
 * What the mux queues: a cell's command (for metrics) and its bytes. The
 * channel queues bodies and adds each header when it writes the cell.
 */
export interface QueuedCell {
  readonly bytes: Uint8Array;
  readonly command: number;
}

class CellFifo<Cell> {
  private cells: Array<Cell | undefined> = [];
  private head = 0;

  get length(): number {
    return this.cells.length - this.head;
  }

  push(cell: Cell): void {
    this.cells.push(cell);
  }

  shift(): Cell | undefined {
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

export class CircuitMux<Cell extends QueuedCell = QueuedCell> {
  private readonly queues = new Map<number, CellFifo<Cell>>();
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
  append(circId: number, cell: Cell, limit: number): boolean {
    let fifo = this.queues.get(circId);
    if (!fifo) {
      fifo = new CellFifo<Cell>();
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
  pop(): Cell | undefined {
    while (this.activeHead < this.active.length) {
      const circId = this.active[this.activeHead++]!;
      const fifo = this.queues.get(circId);
      if (!fifo || fifo.length === 0) {
        this.inActive.delete(circId);
        continue;
      }
      const cell = fifo.shift()!;
      this.total--;
      if (fifo.length > 0) {
        // Back to the end of the line; it stays in `inActive` (no set churn per cell).
        this.active.push(circId);
      } else {
        this.queues.delete(circId);
        this.inActive.delete(circId);
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
