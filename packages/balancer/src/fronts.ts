/**
 * The supervisor's listeners in front of the workers.
 *
 * The Extended ORPort front (what TOR_PT_EXTENDED_SERVER_PORT points
 * pluggable transports at): every connection runs SAFE_COOKIE with the
 * front's cookie and the USERADDR/TRANSPORT metadata (net's
 * `serveExtOrPort`, with the deadline), then the admission decision:
 *   - DENY if the client address already holds `limits.limit` connections;
 *   - DENY if the dispatcher has no healthy destination;
 *   - OKAY otherwise, and the connection goes to the dispatcher with the
 *     link bytes that arrived behind DONE.
 * A transport that fails authentication, sends a malformed USERADDR or
 * TRANSPORT, or stalls past the deadline costs its own connection only.
 *
 * The vanilla front (an ORPort the balancer accepts itself): sockets are
 * accepted paused — nothing is read in this process — checked against the
 * same per-address limit (on the peer address), and dispatched; a refused
 * one is closed.
 */
import { describeError, type Logger, type Random, RelayError, sensitive, silentLogger } from '@relayd/common';
import { type AddressPort, type ExtOrMetadata, parseAddressPort } from '@relayd/ext-orport';
import {
  listenTcp,
  type SocketTimers,
  serveExtOrPort,
  socketPeer,
  type TcpListener,
  type TcpSocket,
} from '@relayd/net';
import type { AddressLease, ConnectionsPerAddress } from './address-limit.js';
import { BalancerError } from './balancer-error.js';
import type { ConnectionMeta, Dispatcher } from './dispatch.js';

/** Connections in their Extended ORPort exchange above which new ones are closed at once. */
export const DEFAULT_MAX_PENDING_EXT_OR_HANDSHAKES = 4096;

export interface FrontStats {
  readonly front: 'ext-or' | 'vanilla';
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted. */
  readonly connections: number;
  /** In the Extended ORPort exchange right now. */
  readonly pending: number;
  /** Answered OKAY (vanilla: passed the limit) and dispatched. */
  readonly admitted: number;
  /** Refused because their client address held the most connections allowed. */
  readonly deniedAddressLimit: number;
  /** Refused because no backend or worker was healthy. */
  readonly deniedNoBackend: number;
  /** Exchanges that failed, by error code (CLIENT_HASH_MISMATCH, BAD_USERADDR, HANDSHAKE_TIMEOUT, …). */
  readonly failed: Readonly<Record<string, number>>;
  /** Closed at accept because too many were in their exchange. */
  readonly refusedOverload: number;
  /** Admitted but not delivered (backend unreachable, handoff refused). */
  readonly dispatchFailed: number;
}

export interface Front {
  readonly host: string;
  readonly port: number;
  stats(): FrontStats;
  /** Stops accepting and closes connections still in their exchange; admitted ones are the dispatcher's. */
  close(): Promise<void>;
}

interface Counters {
  connections: number;
  admitted: number;
  deniedAddressLimit: number;
  deniedNoBackend: number;
  failed: Record<string, number>;
  refusedOverload: number;
  dispatchFailed: number;
}

function newCounters(): Counters {
  return {
    connections: 0,
    admitted: 0,
    deniedAddressLimit: 0,
    deniedNoBackend: 0,
    failed: {},
    refusedOverload: 0,
    dispatchFailed: 0,
  };
}

interface CommonFrontOptions<Choice> {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly dispatcher: Dispatcher<Choice>;
  readonly limits: ConnectionsPerAddress;
  readonly logger?: Logger;
}

export interface ExtOrFrontOptions<Choice> extends CommonFrontOptions<Choice> {
  /** The cookie written to the file the transports read. */
  readonly cookie: Uint8Array;
  readonly random?: Random;
  readonly timers?: SocketTimers;
  /** Default EXT_OR_HANDSHAKE_DEADLINE_MS. */
  readonly deadlineMs?: number;
  /** Default DEFAULT_MAX_PENDING_EXT_OR_HANDSHAKES. */
  readonly maxPendingHandshakes?: number;
}

/** Opens an Extended ORPort front. Rejects with the system error if the port cannot be opened. */
export async function startExtOrFront<Choice>(opts: ExtOrFrontOptions<Choice>): Promise<Front> {
  const logger = opts.logger ?? silentLogger;
  const maxPending = opts.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_EXT_OR_HANDSHAKES;
  const counters = newCounters();
  const pending = new Set<TcpSocket>();
  let closed = false;

  const handle = async (socket: TcpSocket) => {
    counters.connections++;
    if (closed || pending.size >= maxPending) {
      counters.refusedOverload++;
      socket.destroy();
      return;
    }
    pending.add(socket);
    let lease: AddressLease | undefined;
    let choice: { value: Choice } | undefined;
    const admit = (metadata: ExtOrMetadata) => {
      lease = opts.limits.tryAcquire(metadata.clientAddress?.address);
      if (lease === undefined) {
        counters.deniedAddressLimit++;
        logger.info(
          { client: sensitive(metadata.clientAddress?.address ?? '') },
          'Extended ORPort: DENY, the client address holds the most connections allowed',
        );
        return 'deny' as const;
      }
      const chosen = opts.dispatcher.choose();
      if (chosen === undefined) {
        lease.release();
        lease = undefined;
        counters.deniedNoBackend++;
        logger.info({}, 'Extended ORPort: DENY, no healthy backend');
        return 'deny' as const;
      }
      choice = { value: chosen };
      return 'okay' as const;
    };
    let result: Awaited<ReturnType<typeof serveExtOrPort>>;
    try {
      result = await serveExtOrPort(socket, {
        cookie: opts.cookie,
        admit,
        ...(opts.random ? { random: opts.random } : {}),
        ...(opts.timers ? { timers: opts.timers } : {}),
        ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
      });
    } catch (error) {
      // admit() or the dispatcher threw: a bug, confined to this connection.
      pending.delete(socket);
      if (choice) opts.dispatcher.cancel(choice.value);
      lease?.release();
      logger.error({ err: describeError(error) }, 'bug: Extended ORPort admission threw');
      return;
    }
    pending.delete(socket);
    if (result.status !== 'accepted') {
      if (choice) opts.dispatcher.cancel(choice.value);
      lease?.release();
      if (result.status === 'failed') {
        const code = result.error.code;
        counters.failed[code] = (counters.failed[code] ?? 0) + 1;
        logger.debug({ code, err: result.error.message }, 'Extended ORPort connection failed');
      }
      return;
    }
    if (closed || choice === undefined) {
      if (choice) opts.dispatcher.cancel(choice.value);
      lease?.release();
      socket.destroy();
      return;
    }
    counters.admitted++;
    const { outcome } = result;
    await deliver(opts.dispatcher, choice.value, socket, lease, counters, logger, {
      clientAddress: outcome.clientAddress,
      transportName: outcome.transportName,
      leftover: outcome.leftover,
      front: 'ext-or',
    });
  };

  let listener: TcpListener;
  try {
    listener = await listenTcp({
      host: opts.host,
      port: opts.port,
      logger,
      onConnection: (socket) => void handle(socket),
    });
  } catch (error) {
    throw wrapListenError('ExtORPort', opts.host, opts.port, error);
  }
  return {
    host: opts.host,
    port: listener.port,
    stats: () => ({
      front: 'ext-or',
      host: opts.host,
      port: listener.port,
      ...counters,
      failed: { ...counters.failed },
      pending: pending.size,
    }),
    close: async () => {
      closed = true;
      for (const socket of pending) socket.destroy();
      await listener.close();
    },
  };
}

export type VanillaFrontOptions<Choice> = CommonFrontOptions<Choice>;

/** Opens a vanilla ORPort front: connections are accepted paused and dispatched as they are. */
export async function startVanillaFront<Choice>(opts: VanillaFrontOptions<Choice>): Promise<Front> {
  const logger = opts.logger ?? silentLogger;
  const counters = newCounters();
  let closed = false;

  const handle = async (socket: TcpSocket) => {
    counters.connections++;
    socket.on('error', () => {});
    const peer = socketPeer(socket);
    const clientAddress = peer ? toAddressPort(peer.address, peer.port) : undefined;
    if (closed) {
      socket.destroy();
      return;
    }
    const lease = opts.limits.tryAcquire(clientAddress?.address);
    if (lease === undefined) {
      counters.deniedAddressLimit++;
      socket.destroy();
      return;
    }
    const choice = opts.dispatcher.choose();
    if (choice === undefined) {
      lease.release();
      counters.deniedNoBackend++;
      socket.destroy();
      return;
    }
    counters.admitted++;
    await deliver(opts.dispatcher, choice, socket, lease, counters, logger, {
      clientAddress,
      transportName: undefined,
      leftover: new Uint8Array(0),
      front: 'vanilla',
    });
  };

  let listener: TcpListener;
  try {
    listener = await listenTcp({
      host: opts.host,
      port: opts.port,
      pauseOnConnect: true,
      logger,
      onConnection: (socket) => void handle(socket),
    });
  } catch (error) {
    throw wrapListenError('ORPort', opts.host, opts.port, error);
  }
  return {
    host: opts.host,
    port: listener.port,
    stats: () => ({
      front: 'vanilla',
      host: opts.host,
      port: listener.port,
      ...counters,
      failed: { ...counters.failed },
      pending: 0,
    }),
    close: async () => {
      closed = true;
      await listener.close();
    },
  };
}

async function deliver<Choice>(
  dispatcher: Dispatcher<Choice>,
  choice: Choice,
  socket: TcpSocket,
  lease: AddressLease | undefined,
  counters: Counters,
  logger: Logger,
  meta: ConnectionMeta,
): Promise<void> {
  try {
    await dispatcher.dispatch(choice, socket, meta);
  } catch (error) {
    counters.dispatchFailed++;
    socket.destroy();
    logger.info(
      {
        err: describeError(error),
        code: error instanceof RelayError ? error.code : undefined,
        client: sensitive(meta.clientAddress?.address ?? ''),
      },
      'could not deliver an admitted connection',
    );
  } finally {
    lease?.release();
  }
}

/** A socket peer as ext-orport's AddressPort (what USERADDR carries to a backend). */
function toAddressPort(address: string, port: number): AddressPort | undefined {
  const text = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  const parsed = parseAddressPort(text, 'peer address', { allowZeroPort: true });
  return parsed.ok ? parsed.value : undefined;
}

function wrapListenError(what: string, host: string, port: number, error: unknown): Error {
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new BalancerError(
    'LISTEN_FAILED',
    `could not open the ${what} on ${where}: ${describeError(error)}`,
    {
      cause: error,
    },
  );
}
