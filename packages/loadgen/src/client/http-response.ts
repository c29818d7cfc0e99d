/**
 * Reading an HTTP/1.0 response from a BEGIN_DIR stream as it arrives in
 * DATA cells (dir-spec 6: the directory answers "HTTP/1.0 <code> <reason>",
 * header lines, an empty line, then the body until the stream ends).
 *
 * Owns the incremental split into head and body, the status code and
 * Content-Length, and what happens to the body: counted and checked to be
 * all zeros (the load generator's transfers) or kept (a descriptor). It
 * never throws on what the peer sends: a bad head becomes `failure`.
 */
import { concatBytes } from '@relayd/common';

/** Directory response heads are a few hundred bytes; more than this is not a response we asked for. */
export const MAX_RESPONSE_HEAD_BYTES = 8_192;

export type BodyHandling = 'check-zeros' | 'keep';

export interface HttpResponseSummary {
  readonly status: number;
  /** Content-Length when the head carried one. */
  readonly contentLength: number | undefined;
  readonly bodyBytes: number;
  /** Body bytes that were not zero (with 'check-zeros'). */
  readonly nonZeroBytes: number;
  /** The body (with 'keep'). */
  readonly body: Uint8Array | undefined;
}

export class HttpResponseReader {
  private head: Uint8Array = new Uint8Array(0);
  private headDone = false;
  private status = 0;
  private contentLength: number | undefined;
  private bodyBytes = 0;
  private nonZeroBytes = 0;
  private readonly kept: Uint8Array[] = [];
  /** Why the response cannot be read, once it cannot. */
  failure: string | undefined;

  constructor(private readonly bodyHandling: BodyHandling) {}

  /** Feeds the data of one DATA cell. */
  push(data: Uint8Array): void {
    if (this.failure) return;
    if (this.headDone) {
      this.takeBody(data);
      return;
    }
    const searchFrom = Math.max(0, this.head.length - 3);
    this.head = concatBytes(this.head, data);
    const end = findEmptyLine(this.head, searchFrom);
    if (end < 0) {
      if (this.head.length > MAX_RESPONSE_HEAD_BYTES) this.failure = 'response head too long';
      return;
    }
    const rest = this.head.subarray(end);
    this.parseHead(this.head.subarray(0, end));
    this.headDone = true;
    this.head = new Uint8Array(0);
    if (!this.failure && rest.length > 0) this.takeBody(rest);
  }

  /** The response so far, once its head has been read; else undefined. */
  summary(): HttpResponseSummary | undefined {
    if (!this.headDone || this.failure) return undefined;
    return {
      status: this.status,
      contentLength: this.contentLength,
      bodyBytes: this.bodyBytes,
      nonZeroBytes: this.nonZeroBytes,
      body: this.bodyHandling === 'keep' ? concatBytes(...this.kept) : undefined,
    };
  }

  private takeBody(data: Uint8Array): void {
    this.bodyBytes += data.length;
    if (this.bodyHandling === 'keep') {
      this.kept.push(data.slice());
      return;
    }
    for (let i = 0; i < data.length; i++) if (data[i] !== 0) this.nonZeroBytes++;
  }

  private parseHead(head: Uint8Array): void {
    const text = Buffer.from(head).toString('latin1');
    const lines = text.slice(0, -4).split('\r\n');
    const statusLine = /^HTTP\/\d\.\d (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (!statusLine) {
      this.failure = `bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`;
      return;
    }
    this.status = Number(statusLine[1]);
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
      const value = line.slice(colon + 1).trim();
      if (!/^\d{1,15}$/.test(value)) {
        this.failure = `bad Content-Length ${JSON.stringify(value.slice(0, 40))}`;
        return;
      }
      this.contentLength = Number(value);
    }
  }
}

/** Index just past the first "\r\n\r\n" at or after `from`, or -1. */
function findEmptyLine(bytes: Uint8Array, from: number): number {
  for (let i = from + 3; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a && bytes[i - 3] === 0x0d) {
      return i + 1;
    }
  }
  return -1;
}
