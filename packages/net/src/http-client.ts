/**
 * A bounded HTTP/1.x client for directory fetches: one request to a
 * directory authority's DirPort (plain HTTP, as C tor's DirPort speaks).
 *
 * Every bound is strict, because the peer is remote and may be hostile or
 * broken:
 *   - `timeoutMs` covers the whole exchange (connect, request, response);
 *   - `maxResponseBytes` caps the body as received and again after
 *     decoding, so a small compressed body cannot inflate without limit;
 *   - `Content-Encoding` must be `identity`, `deflate` (zlib, tor's ".z") or
 *     `gzip`; anything else is refused rather than passed on undecoded.
 * The connection is not reused (`agent: false`), like tor's one-request
 * directory connections.
 */
import { request as httpRequestRaw, type IncomingHttpHeaders } from 'node:http';
import { gunzip, inflate } from 'node:zlib';
import { type ErrorKind, RelayError } from '@relayd/common';

export type HttpClientErrorCode =
  /** No response within `timeoutMs`. */
  | 'HTTP_TIMEOUT'
  /** The connection failed or closed before a complete response. */
  | 'HTTP_CONNECTION_FAILED'
  /** The body (raw or decoded) exceeded `maxResponseBytes`. */
  | 'HTTP_RESPONSE_TOO_LARGE'
  /** An unknown Content-Encoding, or a body that does not decode. */
  | 'HTTP_BAD_ENCODING'
  /** The request itself is unusable (bad port, bad header value). */
  | 'HTTP_BAD_REQUEST';

const KIND: Record<HttpClientErrorCode, ErrorKind> = {
  HTTP_TIMEOUT: 'transient',
  HTTP_CONNECTION_FAILED: 'transient',
  HTTP_RESPONSE_TOO_LARGE: 'resource-exhausted',
  HTTP_BAD_ENCODING: 'protocol-violation',
  HTTP_BAD_REQUEST: 'bad-input',
};

export class HttpClientError extends RelayError {
  declare readonly code: HttpClientErrorCode;

  constructor(code: HttpClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(KIND[code], code, message, options);
    this.name = 'HttpClientError';
  }
}

export interface HttpRequestOptions {
  readonly method: string;
  readonly host: string;
  readonly port: number;
  /** The request target, e.g. "/tor/status-vote/current/consensus-microdesc.z". */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  /** Deadline for the whole exchange. */
  readonly timeoutMs: number;
  /** Largest body accepted, before and after decoding. */
  readonly maxResponseBytes: number;
  /** Source address to connect from (e.g. a 127.x address, or OutboundBindAddress). */
  readonly localAddress?: string;
}

export interface HttpResponse {
  readonly status: number;
  /** Header names in lower case, as node:http gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The body, decoded from its Content-Encoding. */
  readonly body: Uint8Array;
}

function decode(encoding: string, body: Buffer, maxBytes: number): Promise<Uint8Array> {
  const done =
    (resolve: (b: Uint8Array) => void, reject: (e: unknown) => void) =>
    (error: Error | null, out: Buffer) => {
      if (!error) resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      else if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        reject(new HttpClientError('HTTP_RESPONSE_TOO_LARGE', `decoded body exceeds ${maxBytes} bytes`));
      else
        reject(
          new HttpClientError('HTTP_BAD_ENCODING', `${encoding} body does not decode: ${error.message}`),
        );
    };
  return new Promise((resolve, reject) => {
    // maxOutputLength makes zlib stop (ERR_BUFFER_TOO_LARGE) instead of inflating a bomb.
    if (encoding === 'deflate')
      inflate(body, { maxOutputLength: Math.max(1, maxBytes) }, done(resolve, reject));
    else gunzip(body, { maxOutputLength: Math.max(1, maxBytes) }, done(resolve, reject));
  });
}

/** Performs one HTTP request and resolves with the decoded response; rejects with an HttpClientError. */
export function httpRequest(options: HttpRequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: HttpClientError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const succeed = (response: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(response);
    };

    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      reject(new HttpClientError('HTTP_BAD_REQUEST', `bad port ${options.port}`));
      return;
    }
    const headers: Record<string, string> = { ...options.headers };
    if (options.body) headers['Content-Length'] = String(options.body.length);

    let req: ReturnType<typeof httpRequestRaw>;
    try {
      req = httpRequestRaw({
        method: options.method,
        host: options.host,
        port: options.port,
        path: options.path,
        headers,
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      });
    } catch (error) {
      // node:http validates the method, path and header values synchronously.
      reject(new HttpClientError('HTTP_BAD_REQUEST', (error as Error).message, { cause: error }));
      return;
    }
    const timer = setTimeout(
      () => fail(new HttpClientError('HTTP_TIMEOUT', `no complete response within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );

    req.on('error', (error) => {
      fail(new HttpClientError('HTTP_CONNECTION_FAILED', error.message, { cause: error }));
    });
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxResponseBytes) {
        fail(
          new HttpClientError(
            'HTTP_RESPONSE_TOO_LARGE',
            `Content-Length ${declared} exceeds ${options.maxResponseBytes}`,
          ),
        );
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > options.maxResponseBytes) {
          fail(
            new HttpClientError('HTTP_RESPONSE_TOO_LARGE', `body exceeds ${options.maxResponseBytes} bytes`),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (error) => {
        fail(new HttpClientError('HTTP_CONNECTION_FAILED', error.message, { cause: error }));
      });
      res.on('aborted', () => {
        fail(new HttpClientError('HTTP_CONNECTION_FAILED', 'the response was cut short'));
      });
      res.on('end', () => {
        if (settled) return;
        const raw = Buffer.concat(chunks);
        const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
        const status = res.statusCode ?? 0;
        if (encoding === 'identity' || (raw.length === 0 && status !== 200)) {
          succeed({
            status,
            headers: res.headers,
            body: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength),
          });
          return;
        }
        const name = encoding === 'x-gzip' ? 'gzip' : encoding;
        if (name !== 'deflate' && name !== 'gzip') {
          fail(new HttpClientError('HTTP_BAD_ENCODING', `unsupported Content-Encoding "${encoding}"`));
          return;
        }
        decode(name, raw, options.maxResponseBytes).then(
          (body) => succeed({ status, headers: res.headers, body }),
          (error: HttpClientError) => fail(error),
        );
      });
    });
    req.end(options.body);
  });
}
