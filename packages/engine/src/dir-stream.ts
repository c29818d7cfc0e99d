/**
 * Directory streams (tor-spec 6.2.1): a BEGIN_DIR stream that ends here.
 *
 * Owns one stream's life: collecting the HTTP request head from DATA cells
 * (up to a cap), holding the directory service's response, and cutting it
 * into DATA-cell chunks under the stream's package window. `pumpDirStreams`
 * shares a circuit's package window among its streams, round robin, one cell
 * per stream per round, and stops when the circuit's window or its channel
 * says so. The engine owns the cells themselves and the service call.
 *
 *   reading-request ── head complete ──▶ awaiting-response ── service answers ──▶ sending ──▶ (END DONE)
 */
import { EndReason, RELAY_DATA_MAX_LENGTH } from '@relayd/cells';
import { concatBytes } from '@relayd/common';
import { StreamFlowControl } from './flow-control.js';
import { findHeadEnd } from './http-request.js';

export type DirStreamState = 'reading-request' | 'awaiting-response' | 'sending' | 'finished';

/** What a DATA cell did to the request. */
export type RequestProgress =
  /** The head has not ended yet. */
  | { readonly kind: 'incomplete' }
  /** The head ended: here it is, through its "\r\n\r\n" (bytes after it are ignored). */
  | { readonly kind: 'complete'; readonly head: Uint8Array }
  /** The head grew past the cap: end the stream. */
  | { readonly kind: 'too-large' }
  /** The request was already complete: the data is dropped. */
  | { readonly kind: 'ignored' };

export class DirStream {
  readonly flow = new StreamFlowControl();
  state: DirStreamState = 'reading-request';
  private request: Uint8Array = new Uint8Array(0);
  private response: Uint8Array | undefined;
  private responseOffset = 0;

  constructor(
    readonly streamId: number,
    private readonly maxRequestBytes: number,
  ) {}

  /** Adds request bytes from a DATA cell. */
  receiveData(data: Uint8Array): RequestProgress {
    if (this.state !== 'reading-request') return { kind: 'ignored' };
    // Search only where a new terminator can appear: the last 3 old bytes onwards.
    const searchFrom = Math.max(0, this.request.length - 3);
    this.request = concatBytes(this.request, data);
    const end = findHeadEnd(this.request.subarray(searchFrom));
    if (end >= 0) {
      const head = this.request.slice(0, searchFrom + end);
      this.request = new Uint8Array(0);
      this.state = 'awaiting-response';
      return { kind: 'complete', head };
    }
    if (this.request.length > this.maxRequestBytes) {
      this.request = new Uint8Array(0);
      this.state = 'finished';
      return { kind: 'too-large' };
    }
    return { kind: 'incomplete' };
  }

  /** Stores the service's response and starts sending it. */
  setResponse(response: Uint8Array): void {
    if (this.state !== 'awaiting-response') return;
    this.response = response;
    this.responseOffset = 0;
    this.state = 'sending';
  }

  /** True while there are response bytes left to send. */
  get hasDataToSend(): boolean {
    return (
      this.state === 'sending' && this.response !== undefined && this.responseOffset < this.response.length
    );
  }

  /** True once the whole response has been cut into chunks. */
  get responseComplete(): boolean {
    return this.state === 'sending' && !this.hasDataToSend;
  }

  /** The next DATA payload (at most 498 bytes), taking one cell of the stream's package window. */
  takeChunk(): Uint8Array | undefined {
    if (!this.hasDataToSend || this.flow.packageWindow <= 0) return undefined;
    const response = this.response!;
    const end = Math.min(response.length, this.responseOffset + RELAY_DATA_MAX_LENGTH);
    const chunk = response.subarray(this.responseOffset, end);
    this.responseOffset = end;
    this.flow.packageWindow--;
    return chunk;
  }

  /** Marks the stream done (END sent or received); nothing more is sent. */
  finish(): void {
    this.state = 'finished';
    this.response = undefined;
    this.request = new Uint8Array(0);
  }
}

/** What pumping needs from the circuit the streams are on. */
export interface DirStreamSink {
  /** Whether one more DATA cell may be originated now (circuit window and client channel). */
  canOriginate(): boolean;
  /** Originates one DATA cell on `streamId`. */
  sendData(streamId: number, chunk: Uint8Array): void;
  /** Ends a stream whose response is complete: END with reason DONE. */
  sendEnd(streamId: number, reason: number): void;
}

/**
 * Sends what the circuit's streams may send now, round robin. Streams whose
 * response is fully sent are ended (END DONE) and removed from `streams`.
 */
export function pumpDirStreams(streams: Map<number, DirStream>, sink: DirStreamSink): void {
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const stream of [...streams.values()]) {
      if (stream.responseComplete) {
        stream.finish();
        streams.delete(stream.streamId);
        sink.sendEnd(stream.streamId, EndReason.DONE);
        continue;
      }
      if (!stream.hasDataToSend || stream.flow.packageWindow <= 0) continue;
      if (!sink.canOriginate()) return;
      const chunk = stream.takeChunk();
      if (!chunk) continue;
      sink.sendData(stream.streamId, chunk);
      progressed = true;
    }
  }
}
