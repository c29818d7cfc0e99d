/**
 * The boundary between the engine and whatever answers directory requests
 * (the directory cache in a worker). The engine owns the BEGIN_DIR stream:
 * it collects the HTTP request head, hands it over here, and streams the
 * answer back as DATA cells under flow control. The service owns HTTP:
 * status lines, headers, compression, and answers to bad requests.
 */
import type { DecodeError, Result } from '@relayd/common';
import type { HttpRequestHead } from './http-request.js';

/** One request read from a BEGIN_DIR stream. */
export interface DirectoryRequest {
  /** The request head exactly as received, ending with "\r\n\r\n". */
  readonly head: Uint8Array;
  /** The parsed head, or why it did not parse (the service should answer 400). */
  readonly parsed: Result<HttpRequestHead, DecodeError>;
}

/** Where a request came from, for statistics and per-client policy. */
export interface DirectoryRequestContext {
  /** The client channel's address (sensitive: never log it unscrubbed). */
  readonly remoteAddress: string;
  /** The pluggable transport the client came through, if any. */
  readonly transportName: string | undefined;
  /** True when the circuit was built with CREATE_FAST: a one-hop, non-anonymous directory fetch. */
  readonly createdFast: boolean;
  /** The engine's identifier of the client channel (stable for its lifetime). */
  readonly channelId: number;
}

export interface DirectoryService {
  /**
   * Answers one request with the complete HTTP response (status line,
   * headers, body). A rejected promise ends the stream with END INTERNAL
   * and is logged as a service failure.
   */
  handle(request: DirectoryRequest, context: DirectoryRequestContext): Promise<Uint8Array>;
}
