/**
 * Plain TCP for the balancer's hops: listeners (optionally paused on accept,
 * so a socket that is handed to another process was never read here),
 * outgoing connections bound to a chosen source address, stopping a socket's
 * reads with every byte already received kept, and piping two sockets into
 * each other with backpressure.
 *
 * Why a source address: every connection on a machine is a four-tuple
 * (source address, source port, destination address, destination port).
 * Bound to one address, a socket takes an ephemeral port of its own at bind
 * time (Linux `inet_csk_get_port`), so one source address holds at most
 * `ip_local_port_range` connections at once; each further 127.x address
 * adds that many again.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { describeError, type Logger, silentLogger } from '@relayd/common';
import { normalizeAddressText } from './addresses.js';
import { NetError } from './net-error.js';

/** The socket type the other packages handle without importing node:net. */
export type TcpSocket = Socket;

/** Timer functions, injectable so deadlines run on fake time in tests. */
export interface SocketTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemSocketTimers: SocketTimers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface TcpListenOptions {
  /** Address to listen on ("127.0.0.1", "::", ...). */
  readonly host: string;
  /** 0 picks a free port (see `TcpListener.port`). */
  readonly port: number;
  /**
   * Accepted sockets do not read until resumed: nothing is taken from the
   * kernel in this process, so the socket can be passed on intact.
   */
  readonly pauseOnConnect?: boolean;
  /** Called for every accepted socket; the callee owns it. */
  onConnection(socket: TcpSocket): void;
  readonly logger?: Logger;
}

export interface TcpListener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting (the port is free when it resolves). Connections already accepted are not touched. */
  close(): Promise<void>;
}

/** Listens for TCP connections. Rejects with the system error (EADDRINUSE, EACCES, ...) if it cannot. */
export async function listenTcp(opts: TcpListenOptions): Promise<TcpListener> {
  const logger = opts.logger ?? silentLogger;
  const server: Server = createServer(
    { noDelay: true, pauseOnConnect: opts.pauseOnConnect ?? false },
    (socket) => {
      try {
        opts.onConnection(socket);
      } catch (error) {
        logger.error({ err: describeError(error) }, 'bug: onConnection threw; closing the connection');
        socket.destroy();
      }
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error.message }, 'listener error'));
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : opts.port;
  let closing: Promise<void> | undefined;
  return {
    host: opts.host,
    port,
    close: () => {
      // server.close()'s callback waits for every accepted connection, some of which now
      // belong elsewhere; the listening handle itself is closed at once.
      closing ??= new Promise<void>((resolve) => {
        server.close();
        setImmediate(resolve);
      });
      return closing;
    },
  };
}

export interface TcpConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Source address to bind to before connecting; absent, the system chooses. */
  readonly localAddress?: string;
  /** From connect() to the connection being up. Default 10 s. */
  readonly timeoutMs?: number;
  readonly timers?: SocketTimers;
}

export const DEFAULT_TCP_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Opens a TCP connection. Rejects with NetError CONNECT_FAILED (the system
 * error, e.g. ECONNREFUSED, EADDRNOTAVAIL or EADDRINUSE, is its `cause`:
 * see `systemErrorCode`) or CONNECT_TIMEOUT.
 */
export function connectTcp(opts: TcpConnectOptions): Promise<TcpSocket> {
  const timers = opts.timers ?? systemSocketTimers;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TCP_CONNECT_TIMEOUT_MS;
  return new Promise<TcpSocket>((resolve, reject) => {
    const socket = createConnection({
      host: opts.host,
      port: opts.port,
      noDelay: true,
      ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
    });
    const target = `${opts.host}:${opts.port}${opts.localAddress !== undefined ? ` from ${opts.localAddress}` : ''}`;
    const timer = timers.setTimeout(() => {
      cleanup();
      socket.on('error', () => {});
      socket.destroy();
      reject(new NetError('CONNECT_TIMEOUT', `connecting to ${target} took more than ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (error: NodeJS.ErrnoException) => {
      cleanup();
      socket.destroy();
      reject(
        new NetError('CONNECT_FAILED', `connecting to ${target} failed: ${error.code ?? error.message}`, {
          cause: error,
        }),
      );
    };
    const cleanup = () => {
      timers.clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}

/** The system error code (ECONNREFUSED, EADDRNOTAVAIL, ...) behind an error or its causes, if any. */
export function systemErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The peer's address (IPv4-mapped IPv6 turned back into IPv4) and port, if the socket still knows them. */
export function socketPeer(
  socket: TcpSocket,
): { readonly address: string; readonly port: number } | undefined {
  const address = socket.remoteAddress;
  const port = socket.remotePort;
  if (address === undefined || port === undefined) return undefined;
  return { address: normalizeAddressText(address), port };
}

/**
 * Stops reading from `socket` and resolves with every byte it had received
 * but not yet delivered, in order. Afterwards nothing more is read from the
 * kernel until something resumes the socket (a pipe, a TLS wrapper, or the
 * process the socket is passed to), so no byte can be read into a buffer
 * nobody will look at. No 'data' listener may remain attached.
 *
 * A paused node socket keeps reading into its buffer until the buffer is
 * full; only its handle's readStop() stops the kernel reads (node's own
 * internals, as `pauseOnConnect` uses them). The stream may also have a
 * read queued for the next tick (its read-ahead after each chunk), which
 * would start the handle again; so the socket is stopped, the queued ticks
 * are let run, and it is stopped again, collecting what arrived between.
 * Whoever takes the socket calls resume() (a pipe or a TLS wrapper does),
 * and reading starts again.
 */
export async function stopReading(socket: TcpSocket): Promise<Uint8Array> {
  const first = stopReadingNow(socket);
  await new Promise<void>((resolve) => setImmediate(resolve));
  const second = stopReadingNow(socket);
  if (second.length === 0) return first;
  const out = new Uint8Array(first.length + second.length);
  out.set(first, 0);
  out.set(second, first.length);
  return out;
}

/** Drains the socket's buffer, then stops its handle, in one tick (see stopReading). */
function stopReadingNow(socket: TcpSocket): Uint8Array {
  socket.pause();
  const chunks: Buffer[] = [];
  let length = 0;
  for (;;) {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) break;
    chunks.push(chunk);
    length += chunk.length;
  }
  const internals = socket as unknown as {
    _handle?: { reading?: boolean; readStop?: () => number };
    _readableState?: { reading?: boolean };
  };
  const handle = internals._handle;
  if (handle?.readStop && handle.reading) {
    handle.reading = false;
    handle.readStop();
  }
  // The stream still waits for the read it asked the handle for, which will never come;
  // forget it, or a later resume() would never ask the handle again.
  if (internals._readableState) internals._readableState.reading = false;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export interface PipeOptions {
  /** After one side closed, how long the other may take to flush and close. Default 10 s. */
  readonly lingerMs?: number;
  readonly timers?: SocketTimers;
  /** Told of every chunk as it passes (for live byte counters). */
  readonly onData?: (direction: 'aToB' | 'bToA', bytes: number) => void;
}

/** What went through a pipe, per direction. */
export interface PipeResult {
  /** Bytes read from `a` and written to `b`. */
  readonly aToB: number;
  /** Bytes read from `b` and written to `a`. */
  readonly bToA: number;
  /** Which side ended the connection first, and whether with an error. */
  readonly endedBy: 'a' | 'b';
  readonly error: Error | undefined;
}

export const DEFAULT_PIPE_LINGER_MS = 10_000;

/**
 * Pipes `a` and `b` into each other until both have closed. Backpressure is
 * the stream pipe's: a side whose peer's write buffer is full stops
 * reading. An end from one side ends the other once its queued bytes are
 * written; an error on either destroys both. Resolves, never rejects.
 */
export function pipeSockets(a: TcpSocket, b: TcpSocket, opts: PipeOptions = {}): Promise<PipeResult> {
  const timers = opts.timers ?? systemSocketTimers;
  const lingerMs = opts.lingerMs ?? DEFAULT_PIPE_LINGER_MS;
  return new Promise<PipeResult>((resolve) => {
    let aToB = 0;
    let bToA = 0;
    let endedBy: 'a' | 'b' | undefined;
    let firstError: Error | undefined;
    let lingerTimer: unknown;
    let open = 2;
    if (a.destroyed || b.destroyed) {
      // One side went away before the pipe was set up (a client that left while its backend was dialled).
      const side = a.destroyed ? 'a' : 'b';
      a.destroy();
      b.destroy();
      resolve({ aToB: 0, bToA: 0, endedBy: side, error: undefined });
      return;
    }
    const onData = opts.onData;
    a.on('data', (chunk: Buffer) => {
      aToB += chunk.length;
      onData?.('aToB', chunk.length);
    });
    b.on('data', (chunk: Buffer) => {
      bToA += chunk.length;
      onData?.('bToA', chunk.length);
    });
    const onError = (side: 'a' | 'b') => (error: Error) => {
      endedBy ??= side;
      firstError ??= error;
      a.destroy();
      b.destroy();
    };
    const onClose = (side: 'a' | 'b', other: TcpSocket) => () => {
      endedBy ??= side;
      open--;
      if (open === 0) {
        if (lingerTimer !== undefined) timers.clearTimeout(lingerTimer);
        resolve({ aToB, bToA, endedBy, error: firstError });
        return;
      }
      // The other side gets our FIN after its queued bytes, then a bounded time to close.
      other.end();
      lingerTimer = timers.setTimeout(() => other.destroy(), lingerMs);
    };
    a.on('error', onError('a'));
    b.on('error', onError('b'));
    a.once('close', onClose('a', b));
    b.once('close', onClose('b', a));
    a.pipe(b);
    b.pipe(a);
  });
}
