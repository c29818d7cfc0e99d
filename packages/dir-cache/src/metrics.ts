/**
 * What the directory cache counts, as sink interfaces the telemetry
 * package implements with prom-client (tests record calls). Neither the
 * service nor the fetcher reads a metric back. Implementations must be
 * cheap and must not throw.
 */
import type { ContentEncoding } from './compression.js';

/** What a BEGIN_DIR request asked for, as a low-cardinality label. */
export type DirectoryResourceLabel =
  | 'consensus'
  | 'microdescriptors'
  | 'certificates'
  | 'server-descriptor'
  | 'extra-info'
  | 'robots'
  | 'post'
  | 'bad-request'
  | 'other';

export interface DirectoryServiceMetrics {
  /**
   * One response: its resource, HTTP status, the encoding of a 200 body
   * (undefined otherwise) and the bytes of the whole response.
   */
  response(
    resource: DirectoryResourceLabel,
    status: number,
    encoding: ContentEncoding | undefined,
    bytes: number,
  ): void;
}

export const noopDirectoryServiceMetrics: DirectoryServiceMetrics = {
  response() {},
};

/** What the fetcher fetched. */
export type DirectoryFetchKind = 'consensus' | 'certificates' | 'microdescriptors';

/**
 * - `ok`: a 200 whose documents were kept;
 * - `not-modified`: the authority had nothing newer (304);
 * - `http-error`: any other status;
 * - `failed`: no answer (timeout, connection refused, size cap);
 * - `rejected`: a 200 whose documents failed our checks.
 */
export type DirectoryFetchOutcome = 'ok' | 'not-modified' | 'http-error' | 'failed' | 'rejected';

export interface DirectoryFetcherMetrics {
  fetch(kind: DirectoryFetchKind, outcome: DirectoryFetchOutcome, bytes: number): void;
}

export const noopDirectoryFetcherMetrics: DirectoryFetcherMetrics = {
  fetch() {},
};
