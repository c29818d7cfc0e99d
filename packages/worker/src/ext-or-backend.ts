/**
 * A worker's side of the balancer's two modes.
 *
 * Proxy mode: `listenExtOrBackend` opens the worker's own Extended ORPort
 * on a loopback address (one per worker, e.g. the balancer's
 * `workerBackendAddress`), with a cookie the supervisor made for this
 * worker and gave it as plain data (no file: the supervisor holds it for
 * the balancer's connections and health checks). Each connection runs
 * SAFE_COOKIE and the USERADDR/TRANSPORT exchange, is answered OKAY, and
 * is then passed on, not reading, with the link bytes already read, to run
 * TLS and the responder link handshake like any handed-over connection —
 * the channel carries the client's address (USERADDR) and transport, not
 * the balancer's.
 *
 * Handoff mode: `acceptHandedOffLink` runs the link handshake on a socket
 * the supervisor passed over, feeding the bytes the supervisor had already
 * read (`leftover`) to it first.
 *
 *   balancer ──TCP 127.x──▶ ExtORPort (SAFE_COOKIE, USERADDR, TRANSPORT, OKAY)
 *        └─ accept(socket, {clientAddress, transportName, leftover})
 *             └─ TLS + link handshake (net) ──▶ the engine
 */
import { describeError, type Logger, type Random, silentLogger } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import type { EstablishedChannel } from '@relayd/engine';
import {
  type AcceptLinkOptions,
  acceptLinkOnSocket,
  listenTcp,
  type SocketTimers,
  serveExtOrPort,
  type TcpSocket,
} from '@relayd/net';

/** Connections in their Extended ORPort exchange above which new ones are closed at once. */
export const DEFAULT_MAX_PENDING_BACKEND_HANDSHAKES = 4096;

export interface ExtOrBackendOptions {
  /** A loopback address of this worker's own. */
  readonly host: string;
  /** 0: a free port (see `ExtOrBackendListener.port`, to report to the supervisor). */
  readonly port: number;
  /** The 32-byte cookie the supervisor made for this worker. */
  readonly cookie: Uint8Array;
  readonly random?: Random;
  readonly timers?: SocketTimers;
  readonly logger?: Logger;
  /** The Extended ORPort exchange. Default EXT_OR_HANDSHAKE_DEADLINE_MS. */
  readonly deadlineMs?: number;
  /** Default DEFAULT_MAX_PENDING_BACKEND_HANDSHAKES. */
  readonly maxPendingHandshakes?: number;
  /**
   * An authenticated connection (OKAY sent), not reading, with the client's
   * metadata and the link bytes already read: run the link handshake on it
   * (`WorkerHandle.acceptConnection`, or `acceptHandedOffLink`). The callee owns the socket.
   */
  accept(socket: TcpSocket, meta: HandedOffConnection): void;
  /** A connection refused before OKAY (authentication, malformed metadata, deadline); already closed. */
  onError?(error: Error): void;
}

export interface ExtOrBackendListener {
  readonly host: string;
  readonly port: number;
  /** Connections in their Extended ORPort exchange now. */
  readonly pendingHandshakes: number;
  /** Connections authenticated and passed to `accept`. */
  readonly accepted: number;
  /** Connections refused before OKAY. */
  readonly failed: number;
  /** Stops accepting and closes connections still in their exchange; accepted ones are not touched. */
  close(): Promise<void>;
}

/** Opens a worker's Extended ORPort for the balancer's proxy mode. Rejects with the system error if it cannot. */
export async function listenExtOrBackend(opts: ExtOrBackendOptions): Promise<ExtOrBackendListener> {
  const logger = opts.logger ?? silentLogger;
  const random = opts.random ?? secureRandom;
  const maxPending = opts.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_BACKEND_HANDSHAKES;
  const pending = new Set<TcpSocket>();
  let accepted = 0;
  let failed = 0;
  let closed = false;

  const failedWith = (error: Error) => {
    failed++;
    logger.debug({ err: error.message }, 'Extended ORPort backend connection refused');
    try {
      opts.onError?.(error);
    } catch (callbackError) {
      logger.error({ err: describeError(callbackError) }, 'bug: onError threw');
    }
  };

  const handle = async (socket: TcpSocket) => {
    if (closed || pending.size >= maxPending) {
      socket.destroy();
      failedWith(new Error('too many Extended ORPort exchanges in progress'));
      return;
    }
    pending.add(socket);
    const result = await serveExtOrPort(socket, {
      cookie: opts.cookie,
      random,
      ...(opts.timers ? { timers: opts.timers } : {}),
      ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
    });
    pending.delete(socket);
    if (result.status === 'failed') {
      failedWith(result.error);
      return;
    }
    if (result.status === 'denied') return;
    if (closed) {
      socket.destroy();
      return;
    }
    const { outcome } = result;
    accepted++;
    try {
      opts.accept(socket, {
        ...(outcome.clientAddress
          ? { clientAddress: { address: outcome.clientAddress.address, port: outcome.clientAddress.port } }
          : {}),
        ...(outcome.transportName !== undefined ? { transportName: outcome.transportName } : {}),
        leftover: outcome.leftover,
      });
    } catch (error) {
      logger.error({ err: describeError(error) }, 'bug: accept threw; closing the connection');
      socket.destroy();
    }
  };

  const listener = await listenTcp({
    host: opts.host,
    port: opts.port,
    logger,
    onConnection: (socket) => void handle(socket),
  });
  return {
    host: opts.host,
    port: listener.port,
    get pendingHandshakes() {
      return pending.size;
    },
    get accepted() {
      return accepted;
    },
    get failed() {
      return failed;
    },
    close: async () => {
      closed = true;
      for (const socket of pending) socket.destroy();
      await listener.close();
    },
  };
}

/** What arrives with a connection from the balancer (its `HandoffMeta`). */
export interface HandedOffConnection {
  readonly clientAddress?: { readonly address: string; readonly port: number };
  readonly transportName?: string;
  /** Link bytes read before the socket came here; delivered to the handshake first. */
  readonly leftover: Uint8Array;
}

/**
 * Runs TLS and the responder link handshake on a socket accepted
 * elsewhere, starting with `meta.leftover`; the channel reports the
 * client's address and transport from `meta`. Resolves with the channel;
 * rejects (socket destroyed) as `acceptLinkOnSocket` does.
 */
export function acceptHandedOffLink(
  socket: TcpSocket,
  meta: HandedOffConnection,
  link: Omit<AcceptLinkOptions, 'remote' | 'transportName'>,
): Promise<EstablishedChannel> {
  // Bytes already taken off the socket go back in front of whatever it reads next.
  if (meta.leftover.length > 0) socket.unshift(Buffer.from(meta.leftover));
  return acceptLinkOnSocket(socket, {
    ...link,
    ...(meta.clientAddress ? { remote: meta.clientAddress } : {}),
    ...(meta.transportName !== undefined ? { transportName: meta.transportName } : {}),
  });
}
