/**
 * The load a built circuit carries: a backward transfer, a forward
 * transfer, or both at once, each checked to the byte against the sink
 * (the paths are in sink-protocol.ts).
 *
 *   backward   stream D: GET /loadgen/bytes/N ─▶ 200, N zero bytes, END DONE    (body checked)
 *   forward    'data': stream U: GET /loadgen/upload/T, then M bytes of DATA on U;
 *                      then stream R: GET /loadgen/release/T ─▶ U and R answered 200, END DONE
 *              'drop': M bytes as DROP cells in batches of DROP_BATCH_CELLS; after each
 *                      batch a barrier stream GET /loadgen/bytes/0 whose answer proves the
 *                      batch arrived; at most MAX_DROP_BATCHES_IN_FLIGHT unanswered
 *
 * DATA goes out under both windows (the circuit enforces them), round
 * robin across the streams that have something to send, one cell each per
 * round. When every part is answered the circuit is finished (DESTROY);
 * anything unexpected fails it with a reason.
 */
import { EndReason, endReasonName, RELAY_DATA_MAX_LENGTH } from '@relayd/cells';
import { type Random, toHex } from '@relayd/common';
import { downloadPath, releasePath, uploadPath } from '../sink-protocol.js';
import type { CircuitWorkload, ClientCircuit } from './circuit.js';
import { RequestStream } from './request-stream.js';

export type UploadCells = 'data' | 'drop';

export interface TransferPlan {
  /** Bytes the sink sends back on each circuit. */
  readonly downloadBytes: number;
  /** Bytes each circuit sends forward to the sink. */
  readonly uploadBytes: number;
  readonly uploadCells: UploadCells;
}

/** Where verified bytes are counted. */
export interface TransferAccounting {
  /** `bytes` arrived from the sink, all of them, all zero, with the right length. */
  downloadVerified(bytes: number): void;
  /** The sink confirmed it received `bytes` forward bytes. */
  uploadAcknowledged(bytes: number): void;
}

/** DROP cells per barrier: half a circuit window's worth, as flow control would allow. */
export const DROP_BATCH_CELLS = 500;
/** Unanswered DROP batches per circuit: two batches, like the 1000-cell circuit window. */
export const MAX_DROP_BATCHES_IN_FLIGHT = 2;

const TOKEN_BYTES = 8;

export class CircuitTransfer implements CircuitWorkload {
  private circuit: ClientCircuit | undefined;
  private readonly sending: RequestStream[] = [];
  /** Parts still to be answered: download, upload, release, barriers. */
  private outstanding = 0;
  private token = '';
  private upload: RequestStream | undefined;
  private releaseOpened = false;
  private dropBytesLeft = 0;
  private dropCellsInBatch = 0;
  private dropBytesInBatch = 0;
  private dropBatchesInFlight = 0;

  constructor(
    private readonly plan: TransferPlan,
    private readonly random: Random,
    private readonly accounting: TransferAccounting,
  ) {}

  start(circuit: ClientCircuit): void {
    this.circuit = circuit;
    const { downloadBytes, uploadBytes, uploadCells } = this.plan;
    if (downloadBytes > 0) {
      this.open(downloadPath(downloadBytes), 0, (stream, reason) => this.downloadEnded(stream, reason));
    }
    if (uploadBytes > 0 && uploadCells === 'data') {
      this.token = toHex(this.random.bytes(TOKEN_BYTES));
      this.upload = this.open(uploadPath(this.token), uploadBytes, (stream, reason) =>
        this.answered(stream, reason, 'upload', () => this.accounting.uploadAcknowledged(uploadBytes)),
      );
    }
    if (uploadBytes > 0 && uploadCells === 'drop') this.dropBytesLeft = uploadBytes;
    if (this.outstanding === 0 && this.dropBytesLeft === 0) {
      circuit.finish();
      return;
    }
    this.pump();
  }

  pump(): void {
    const circuit = this.circuit;
    if (!circuit || circuit.isClosed) return;
    let progressed = true;
    while (progressed && !circuit.isClosed) {
      progressed = false;
      for (const stream of this.sending) {
        if (stream.sendOne(circuit)) progressed = true;
      }
      if (this.sendDrops(circuit)) progressed = true;
      this.retireSentStreams();
    }
  }

  private open(
    path: string,
    zeros: number,
    onEnd: (stream: RequestStream, reason: number) => void,
  ): RequestStream | undefined {
    const circuit = this.circuit!;
    const stream = new RequestStream(path, zeros, 'check-zeros', onEnd);
    stream.streamId = circuit.openStream(stream);
    if (stream.streamId === undefined) return undefined;
    this.outstanding++;
    this.sending.push(stream);
    return stream;
  }

  /** Drops streams that have sent everything; opens the release once the upload is all out. */
  private retireSentStreams(): void {
    for (let i = this.sending.length - 1; i >= 0; i--) {
      if (!this.sending[i]!.hasOutput) this.sending.splice(i, 1);
    }
    const upload = this.upload;
    if (upload && !upload.hasOutput && !this.releaseOpened) {
      this.releaseOpened = true;
      this.open(releasePath(this.token), 0, (stream, reason) =>
        this.answered(stream, reason, 'release', () => {}),
      );
    }
  }

  /** Sends DROP cells up to the batch boundary; a full batch (or the last) gets its barrier. */
  private sendDrops(circuit: ClientCircuit): boolean {
    let sent = false;
    while (this.dropBytesLeft > 0 && this.dropBatchesInFlight < MAX_DROP_BATCHES_IN_FLIGHT) {
      if (!circuit.canSendDrop()) return sent;
      const n = Math.min(RELAY_DATA_MAX_LENGTH, this.dropBytesLeft);
      circuit.sendDrop(n);
      sent = true;
      this.dropBytesLeft -= n;
      this.dropCellsInBatch++;
      this.dropBytesInBatch += n;
      if (this.dropCellsInBatch === DROP_BATCH_CELLS || this.dropBytesLeft === 0) {
        const batchBytes = this.dropBytesInBatch;
        this.dropCellsInBatch = 0;
        this.dropBytesInBatch = 0;
        this.dropBatchesInFlight++;
        this.open(downloadPath(0), 0, (stream, reason) =>
          this.answered(stream, reason, 'barrier', () => {
            this.dropBatchesInFlight--;
            this.accounting.uploadAcknowledged(batchBytes);
          }),
        );
        if (circuit.isClosed) return sent;
      }
    }
    return sent;
  }

  private downloadEnded(stream: RequestStream, reason: number): void {
    const expected = this.plan.downloadBytes;
    const problem = this.problemWith(stream, reason, expected);
    if (problem) {
      this.circuit?.fail(`download-${problem}`);
      return;
    }
    this.accounting.downloadVerified(expected);
    this.partDone();
  }

  /** An upload, release or barrier answer: 200 with an empty body, then END DONE. */
  private answered(stream: RequestStream, reason: number, what: string, onGood: () => void): void {
    const problem = this.problemWith(stream, reason, 0);
    if (problem) {
      this.circuit?.fail(`${what}-${problem}`);
      return;
    }
    onGood();
    this.partDone();
    this.pump();
  }

  private problemWith(stream: RequestStream, reason: number, expectedBody: number): string | undefined {
    if (reason !== EndReason.DONE) return `end-${endReasonName(reason) ?? `reason-${reason}`}`;
    if (stream.response.failure) return 'bad-response';
    const summary = stream.response.summary();
    if (!summary) return 'no-response';
    if (summary.status !== 200) return `status-${summary.status}`;
    if (summary.bodyBytes !== expectedBody) return 'wrong-length';
    if (summary.contentLength !== undefined && summary.contentLength !== expectedBody)
      return 'wrong-content-length';
    if (summary.nonZeroBytes !== 0) return 'corrupt-body';
    return undefined;
  }

  private partDone(): void {
    this.outstanding--;
    const circuit = this.circuit;
    if (!circuit || circuit.isClosed) return;
    if (this.outstanding === 0 && this.dropBytesLeft === 0 && this.sending.length === 0) circuit.finish();
  }
}
