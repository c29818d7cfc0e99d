/**
 * A BEGIN_DIR stream as the load generator uses one: it sends an HTTP GET
 * head (and, for an upload, that many zero bytes after it) in DATA cells
 * as the circuit's windows allow, reads the answer with an
 * HttpResponseReader, and reports the stream's END to its owner, who
 * judges the answer.
 */
import { RELAY_DATA_MAX_LENGTH } from '@relayd/cells';
import { httpGetHead } from '../sink-protocol.js';
import type { ClientCircuit, StreamHandler } from './circuit.js';
import { type BodyHandling, HttpResponseReader } from './http-response.js';

const ZERO_CHUNK = new Uint8Array(RELAY_DATA_MAX_LENGTH);

/** A BEGIN_DIR stream that sends a request (and optionally a body of zeros after it) and reads the answer. */
export class RequestStream implements StreamHandler {
  readonly response: HttpResponseReader;
  streamId: number | undefined;
  private readonly head: Uint8Array;
  private headSent = 0;
  private zerosLeft: number;

  constructor(
    path: string,
    zerosAfterHead: number,
    bodyHandling: BodyHandling,
    private readonly onEnd: (stream: RequestStream, reason: number) => void,
  ) {
    this.head = httpGetHead(path);
    this.zerosLeft = zerosAfterHead;
    this.response = new HttpResponseReader(bodyHandling);
  }

  get hasOutput(): boolean {
    return this.headSent < this.head.length || this.zerosLeft > 0;
  }

  /** Sends one DATA cell if the circuit lets it; false when it could not. */
  sendOne(circuit: ClientCircuit): boolean {
    const id = this.streamId;
    if (id === undefined || !this.hasOutput || !circuit.canSendData(id)) return false;
    if (this.headSent < this.head.length) {
      const end = Math.min(this.head.length, this.headSent + RELAY_DATA_MAX_LENGTH);
      circuit.sendData(id, this.head.subarray(this.headSent, end));
      this.headSent = end;
    } else {
      const n = Math.min(RELAY_DATA_MAX_LENGTH, this.zerosLeft);
      circuit.sendData(id, n === RELAY_DATA_MAX_LENGTH ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, n));
      this.zerosLeft -= n;
    }
    return true;
  }

  connected(): void {}

  data(bytes: Uint8Array): void {
    this.response.push(bytes);
  }

  ended(reason: number): void {
    this.onEnd(this, reason);
  }
}
