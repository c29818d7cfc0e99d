/**
 * The sink relay's directory service: answers the load generator's
 * BEGIN_DIR requests (sink-protocol.ts) with zero bytes, holds uploads
 * until their release, and counts what it served.
 *
 * Responses are shared: one buffer per body size, never modified (the
 * engine only reads it), so a thousand circuits downloading the same size
 * cost one buffer. A held upload that is never released (its circuit
 * died) is answered 408 after `holdTimeoutMs` so nothing waits forever.
 */
import { utf8 } from '@relayd/common';
import type { DirectoryRequest, DirectoryRequestContext, DirectoryService } from '@relayd/engine';
import { parseSinkTarget } from '../sink-protocol.js';

export interface SinkDirectoryOptions {
  /** Body size for GETs of any other path. Default 0. */
  readonly defaultResponseBytes?: number;
  /** How long an upload waits for its release (ms). Default 10 minutes. */
  readonly holdTimeoutMs?: number;
}

/** What the sink served, for the load generator's cross-checks. */
export interface SinkDirectoryCounts {
  requests: number;
  /** GET /loadgen/bytes/N answered. */
  downloads: number;
  /** Zero bytes of body sent in answers (not counting heads). */
  bodyBytesServed: number;
  uploadsHeld: number;
  uploadsReleased: number;
  uploadsExpired: number;
  /** Releases that named no held upload. */
  unknownReleases: number;
  /** Other GETs answered with the default body. */
  otherRequests: number;
  /** Unparseable heads and methods other than GET. */
  badRequests: number;
}

interface HeldUpload {
  readonly answer: (response: Uint8Array) => void;
  readonly timer: NodeJS.Timeout;
}

const DEFAULT_HOLD_TIMEOUT_MS = 10 * 60 * 1000;
const MAX_CACHED_SIZES = 16;
const EMPTY_OK = utf8('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n');
const NOT_FOUND = utf8('HTTP/1.0 404 Not found\r\nContent-Length: 0\r\n\r\n');
const BAD_REQUEST = utf8('HTTP/1.0 400 Bad request\r\nContent-Length: 0\r\n\r\n');
const TIMED_OUT = utf8('HTTP/1.0 408 Request timeout\r\nContent-Length: 0\r\n\r\n');

export class SinkDirectory implements DirectoryService {
  readonly counts: SinkDirectoryCounts = {
    requests: 0,
    downloads: 0,
    bodyBytesServed: 0,
    uploadsHeld: 0,
    uploadsReleased: 0,
    uploadsExpired: 0,
    unknownReleases: 0,
    otherRequests: 0,
    badRequests: 0,
  };
  private readonly responses = new Map<number, Uint8Array>();
  private readonly held = new Map<string, HeldUpload>();
  private readonly defaultResponseBytes: number;
  private readonly holdTimeoutMs: number;

  constructor(options: SinkDirectoryOptions = {}) {
    this.defaultResponseBytes = options.defaultResponseBytes ?? 0;
    this.holdTimeoutMs = options.holdTimeoutMs ?? DEFAULT_HOLD_TIMEOUT_MS;
  }

  /** Uploads waiting for their release. */
  get heldUploads(): number {
    return this.held.size;
  }

  async handle(request: DirectoryRequest, context: DirectoryRequestContext): Promise<Uint8Array> {
    this.counts.requests++;
    if (!request.parsed.ok || request.parsed.value.method !== 'GET') {
      this.counts.badRequests++;
      return BAD_REQUEST;
    }
    const sinkRequest = parseSinkTarget(request.parsed.value.target);
    switch (sinkRequest.kind) {
      case 'bytes':
        this.counts.downloads++;
        return this.zeros(sinkRequest.bytes);
      case 'other':
        this.counts.otherRequests++;
        return this.zeros(this.defaultResponseBytes);
      case 'upload':
        return this.hold(`${context.channelId}:${sinkRequest.token}`);
      case 'release': {
        const key = `${context.channelId}:${sinkRequest.token}`;
        const upload = this.held.get(key);
        if (!upload) {
          this.counts.unknownReleases++;
          return NOT_FOUND;
        }
        this.held.delete(key);
        clearTimeout(upload.timer);
        this.counts.uploadsReleased++;
        upload.answer(EMPTY_OK);
        return EMPTY_OK;
      }
    }
  }

  /** Answers every held upload 408 (the sink is shutting down). */
  releaseAll(): void {
    for (const [key, upload] of this.held) {
      clearTimeout(upload.timer);
      this.held.delete(key);
      upload.answer(TIMED_OUT);
    }
  }

  private hold(key: string): Promise<Uint8Array> {
    const previous = this.held.get(key);
    if (previous) {
      // A token reused on the same channel: the older request is answered, never leaked.
      clearTimeout(previous.timer);
      previous.answer(TIMED_OUT);
    }
    this.counts.uploadsHeld++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.held.get(key)?.timer !== timer) return;
        this.held.delete(key);
        this.counts.uploadsExpired++;
        resolve(TIMED_OUT);
      }, this.holdTimeoutMs);
      timer.unref();
      this.held.set(key, { answer: resolve, timer });
    });
  }

  private zeros(bytes: number): Uint8Array {
    let response = this.responses.get(bytes);
    if (!response) {
      const head = utf8(
        `HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bytes}\r\n\r\n`,
      );
      response = new Uint8Array(head.length + bytes);
      response.set(head);
      // The load generator asks for one or two sizes; anyone asking for many just gets fresh buffers.
      if (this.responses.size >= MAX_CACHED_SIZES) this.responses.clear();
      this.responses.set(bytes, response);
    }
    this.counts.bodyBytesServed += bytes;
    return response;
  }
}
