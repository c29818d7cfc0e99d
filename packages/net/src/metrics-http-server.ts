/**
 * The MetricsPort: a small HTTP/1.1 server that answers `GET /metrics` with
 * the text a caller-supplied `collect()` produces (the Prometheus text
 * exposition; the caller names its content type). It knows nothing about
 * metrics: what is exposed, and who may read it, are injected.
 *
 * What it refuses, and how:
 *   - a peer the policy (`isAllowed`, given the peer's IP address as text,
 *     IPv4-mapped IPv6 turned back into IPv4) does not allow: 403, before
 *     anything is collected (C tor closes such connections unanswered);
 *   - any other path: 404; any method but GET and HEAD: 405;
 *   - a scrape beyond `maxConcurrentScrapes` in progress: 503 at once, so a
 *     scraper that piles up requests cannot pile up work (a collect counts
 *     until it settles, even after its request was answered);
 *   - a collect that takes longer than `scrapeTimeoutMs`: 503;
 *   - a collect that fails: 500.
 * Requests must arrive within REQUEST_TIMEOUT_MS, idle keep-alive
 * connections are closed after KEEP_ALIVE_TIMEOUT_MS, and at most
 * `maxConnections` are open at once.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { describeError, type Logger, silentLogger } from '@relayd/common';
import { normalizeAddressText } from './addresses.js';

export const METRICS_PATH = '/metrics';
/** Prometheus scrapes one target at a time; two leaves room for a second scraper or a person with curl. */
export const DEFAULT_MAX_CONCURRENT_SCRAPES = 2;
/** Prometheus's default scrape timeout is 10 s; an answer after that is not read anyway. */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_METRICS_CONNECTIONS = 32;
/** Headers and request line must arrive within this (a slow client holds a connection no longer). */
export const REQUEST_TIMEOUT_MS = 10_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export interface MetricsHttpServerOptions {
  /** An IP literal ("127.0.0.1", "::1"). */
  readonly host: string;
  /** 0 picks a free port (see `MetricsHttpServer.port`). */
  readonly port: number;
  /** Whether the peer at this address may scrape (MetricsPortPolicy). */
  isAllowed(peerAddress: string): boolean;
  /** One scrape's body. */
  collect(): Promise<string>;
  /** The body's Content-Type. */
  readonly contentType: string;
  readonly maxConcurrentScrapes?: number;
  readonly scrapeTimeoutMs?: number;
  readonly maxConnections?: number;
  readonly logger?: Logger;
}

export interface MetricsHttpServer {
  readonly host: string;
  readonly port: number;
  /** Stops listening and closes every connection. Idempotent. */
  close(): Promise<void>;
}

const TIMED_OUT = Symbol('timed out');

function reply(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(body, 'utf8');
  response.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-store',
    ...headers,
  });
  // Node's ServerResponse sends no body in answer to HEAD.
  response.end(bytes);
}

/** Starts the server. Rejects with the system error (EADDRINUSE, EADDRNOTAVAIL, …) if it cannot listen. */
export async function startMetricsHttpServer(opts: MetricsHttpServerOptions): Promise<MetricsHttpServer> {
  const logger = opts.logger ?? silentLogger;
  const maxScrapes = Math.max(1, opts.maxConcurrentScrapes ?? DEFAULT_MAX_CONCURRENT_SCRAPES);
  const timeoutMs = Math.max(1, opts.scrapeTimeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS);
  let scraping = 0;

  const scrape = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const peer = normalizeAddressText(request.socket.remoteAddress ?? '');
    if (!opts.isAllowed(peer)) {
      response.shouldKeepAlive = false;
      reply(response, 403, 'Forbidden by MetricsPortPolicy\n');
      return;
    }
    const path = (request.url ?? '').split('?', 1)[0];
    if (path !== METRICS_PATH) {
      reply(response, 404, `Not found; the metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      reply(response, 405, 'Method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    if (scraping >= maxScrapes) {
      reply(response, 503, 'Too many scrapes in progress\n', { 'Retry-After': '1' });
      return;
    }
    scraping++;
    const collecting = opts.collect().finally(() => {
      scraping--;
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
    });
    try {
      const body = await Promise.race([collecting, deadline]);
      if (body === TIMED_OUT) {
        // Let the late collect settle on its own; its failure is not this request's.
        collecting.catch(() => {});
        logger.warn({ timeoutMs }, `a metrics scrape took longer than ${timeoutMs} ms`);
        reply(response, 503, 'Scrape timed out\n');
        return;
      }
      reply(response, 200, body, { 'Content-Type': opts.contentType });
    } catch (error) {
      logger.warn({ err: describeError(error) }, 'collecting the metrics failed');
      reply(response, 500, 'Collecting the metrics failed\n');
    } finally {
      clearTimeout(timer);
    }
  };

  const server: Server = createServer((request, response) => {
    scrape(request, response).catch((error) => {
      logger.error({ err: describeError(error) }, 'bug: the metrics request handler failed');
      if (!response.headersSent) reply(response, 500, 'Internal error\n');
      else response.destroy();
    });
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxHeadersCount = 64;
  server.maxConnections = Math.max(1, opts.maxConnections ?? DEFAULT_MAX_METRICS_CONNECTIONS);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error.message }, 'MetricsPort listener error'));
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : opts.port;

  let closing: Promise<void> | undefined;
  return {
    host: opts.host,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
