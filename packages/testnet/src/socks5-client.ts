/**
 * A minimal SOCKS5 client over node:net: open a stream through a tor
 * SocksPort, and fetch an http:// URL through it. Every step is bounded by one
 * deadline; a refusal names the SOCKS reply (tor maps its stream END reasons
 * onto these codes).
 */
import { connect, type Socket } from 'node:net';
import { concatBytes, toHex } from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import { TESTNET_ERROR, TestnetError } from './errors.js';
import { parseHttpResponse } from './http-response.js';
import {
  decodeSocks5ConnectReply,
  decodeSocks5MethodSelection,
  describeSocks5Reply,
  encodeSocks5Connect,
  encodeSocks5Greeting,
  SOCKS5_METHOD,
  SOCKS5_REPLY,
  type Socks5Target,
} from './socks5.js';

export interface Socks5Proxy {
  readonly host: string;
  readonly port: number;
}

export interface OpenStreamOptions {
  readonly proxy: Socks5Proxy;
  readonly target: Socks5Target;
  readonly timeoutMs: number;
}

/**
 * Opens a stream to `target` through the SOCKS5 proxy. Resolves with a
 * connected socket, **paused**, with any bytes that followed the reply pushed
 * back into it: attach a 'data' listener and call `resume()`.
 */
export function openSocks5Stream(opts: OpenStreamOptions): Promise<Socket> {
  const request = encodeSocks5Connect(opts.target);
  if (!request.ok) return Promise.reject(request.error);
  const where = `SOCKS5 ${opts.proxy.host}:${opts.proxy.port} -> ${opts.target.host}:${opts.target.port}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: opts.proxy.host, port: opts.proxy.port });
    let stage: 'method' | 'connect' = 'method';
    let buffered: Uint8Array = new Uint8Array(0);
    const fail = (error: TestnetError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new TestnetError(TESTNET_ERROR.timeout, `${where}: no answer within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffered = concatBytes(buffered, chunk);
      if (stage === 'method') {
        const selection = decodeSocks5MethodSelection(buffered);
        if (!selection.ok) {
          if (selection.error.failure === 'incomplete') return;
          return fail(new TestnetError(TESTNET_ERROR.socksFailed, `${where}: ${selection.error.message}`));
        }
        if (selection.value.value !== SOCKS5_METHOD.noAuthentication) {
          return fail(
            new TestnetError(
              TESTNET_ERROR.socksFailed,
              `${where}: proxy chose method 0x${selection.value.value.toString(16)}, not "no authentication"`,
            ),
          );
        }
        buffered = buffered.subarray(selection.value.length);
        stage = 'connect';
        socket.write(request.value);
      }
      if (stage === 'connect') {
        const reply = decodeSocks5ConnectReply(buffered);
        if (!reply.ok) {
          if (reply.error.failure === 'incomplete') return;
          return fail(new TestnetError(TESTNET_ERROR.socksFailed, `${where}: ${reply.error.message}`));
        }
        if (reply.value.value.reply !== SOCKS5_REPLY.succeeded) {
          return fail(
            new TestnetError(
              TESTNET_ERROR.socksFailed,
              `${where}: refused: ${describeSocks5Reply(reply.value.value.reply)}`,
            ),
          );
        }
        clearTimeout(timer);
        socket.pause();
        socket.removeListener('data', onData);
        socket.removeListener('error', onError);
        socket.removeListener('close', onClose);
        const rest = buffered.subarray(reply.value.length);
        if (rest.length > 0) socket.unshift(Buffer.from(rest));
        resolve(socket);
      }
    };
    const onError = (e: Error) =>
      fail(new TestnetError(TESTNET_ERROR.socksFailed, `${where}: ${e.message}`, { cause: e }));
    const onClose = () =>
      fail(
        new TestnetError(
          TESTNET_ERROR.socksFailed,
          `${where}: proxy closed the connection during the handshake`,
        ),
      );
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => socket.write(encodeSocks5Greeting()));
  });
}

export interface DownloadResult {
  readonly status: number;
  readonly body: Uint8Array;
  /** Lower-case hex SHA-256 of the body. */
  readonly sha256Hex: string;
  /** From the SOCKS request to the last byte. */
  readonly elapsedMs: number;
}

/**
 * Fetches an `http://` URL through the SOCKS5 proxy with HTTP/1.0 and reads
 * until the server closes. Rejects unless the status is 200 and the body is
 * complete (as long as its Content-Length).
 */
export async function downloadViaSocks5(
  proxy: Socks5Proxy,
  url: string,
  timeoutMs: number,
): Promise<DownloadResult> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') {
    throw new TestnetError(TESTNET_ERROR.badOption, `only http:// URLs can be downloaded, got ${url}`);
  }
  const host = parsed.hostname;
  const port = parsed.port === '' ? 80 : Number(parsed.port);
  const started = Date.now();
  const socket = await openSocks5Stream({ proxy, target: { host, port }, timeoutMs });
  const remainingMs = Math.max(1, timeoutMs - (Date.now() - started));
  const raw = await new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      const got = chunks.reduce((n, c) => n + c.length, 0);
      reject(
        new TestnetError(
          TESTNET_ERROR.timeout,
          `GET ${url}: incomplete after ${timeoutMs} ms (${got} bytes)`,
        ),
      );
    }, remainingMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new TestnetError(TESTNET_ERROR.httpFailed, `GET ${url}: ${e.message}`, { cause: e }));
    });
    socket.once('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.write(`GET ${parsed.pathname}${parsed.search} HTTP/1.0\r\nHost: ${parsed.host}\r\n\r\n`);
    socket.resume();
  });
  const elapsedMs = Date.now() - started;
  const response = parseHttpResponse(raw);
  if (!response.ok) {
    throw new TestnetError(TESTNET_ERROR.httpFailed, `GET ${url}: ${response.error.message}`, {
      cause: response.error,
    });
  }
  if (response.value.status !== 200) {
    throw new TestnetError(TESTNET_ERROR.httpFailed, `GET ${url}: status ${response.value.status}`);
  }
  const body = response.value.body;
  return { status: 200, body, sha256Hex: toHex(sha256(body)), elapsedMs };
}
