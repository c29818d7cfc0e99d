/**
 * The Extended ORPort exchange over a socket, both sides: `serveExtOrPort`
 * runs @relayd/ext-orport's ExtOrServer on a connection a pluggable
 * transport (or the balancer) opened to us; `dialExtOrPort` connects to a
 * backend's ExtORPort and runs ExtOrClient, passing the client's address
 * and transport on. The state machines decide; this module moves bytes,
 * enforces the deadline (EXT_OR_HANDSHAKE_DEADLINE_MS by default: the spec
 * and C tor set none, see ext-orport's limits) and closes what failed.
 *
 * After OKAY either side hands back a socket that is not reading, plus the
 * Tor-link bytes that arrived behind DONE (or OKAY) — including any the
 * socket had buffered — so whoever takes the socket next (a TLS responder,
 * a pipe, another process) sees the link from its first byte.
 */
import { concatBytes, type Random } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import {
  type AddressPort,
  EXT_OR_HANDSHAKE_DEADLINE_MS,
  type ExtOrAcceptedOutcome,
  type ExtOrAdmissionPolicy,
  ExtOrClient,
  type ExtOrClientStep,
  type ExtOrError,
  type ExtOrMetadata,
  ExtOrServer,
} from '@relayd/ext-orport';
import { NetError } from './net-error.js';
import {
  connectTcp,
  type SocketTimers,
  stopReading,
  systemSocketTimers,
  type TcpConnectOptions,
  type TcpSocket,
} from './tcp.js';

export interface ServeExtOrOptions {
  /** The 32-byte cookie of the file the transports read. */
  readonly cookie: Uint8Array;
  readonly random?: Random;
  /** OKAY or DENY once DONE has arrived; default OKAY. */
  readonly admit?: ExtOrAdmissionPolicy;
  /** From the call to OKAY/DENY. Default EXT_OR_HANDSHAKE_DEADLINE_MS. */
  readonly deadlineMs?: number;
  readonly timers?: SocketTimers;
  readonly maxBodyLength?: number;
}

export type ExtOrServeResult =
  /** OKAY was written. The socket is not reading; the link starts with `outcome.leftover`. */
  | { readonly status: 'accepted'; readonly outcome: ExtOrAcceptedOutcome }
  /** DENY was written and the socket closed. */
  | { readonly status: 'denied'; readonly metadata: ExtOrMetadata }
  /** The peer broke the protocol, stalled past the deadline or went away; the socket is closed. */
  | { readonly status: 'failed'; readonly error: ExtOrError | NetError };

/**
 * Runs the bridge side of the Extended ORPort on `socket`. Resolves with
 * the outcome; rejects only if `admit` throws (a bug), with the socket
 * destroyed. The accepted socket keeps a no-op 'error' listener of ours
 * and nothing else.
 */
export function serveExtOrPort(socket: TcpSocket, opts: ServeExtOrOptions): Promise<ExtOrServeResult> {
  const timers = opts.timers ?? systemSocketTimers;
  const deadlineMs = opts.deadlineMs ?? EXT_OR_HANDSHAKE_DEADLINE_MS;
  return new Promise<ExtOrServeResult>((resolve, reject) => {
    let settled = false;
    const machine = new ExtOrServer({
      cookie: opts.cookie,
      random: opts.random ?? secureRandom,
      ...(opts.admit ? { admit: opts.admit } : {}),
      ...(opts.maxBodyLength !== undefined ? { maxBodyLength: opts.maxBodyLength } : {}),
    });
    const ignoreErrors = () => {};
    const cleanup = () => {
      settled = true;
      timers.clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    const fail = (error: ExtOrError | NetError, output?: Uint8Array) => {
      if (settled) return;
      cleanup();
      closeAfter(socket, output);
      resolve({ status: 'failed', error });
    };
    const onClose = () => {
      fail(
        new NetError(
          'CLOSED_DURING_HANDSHAKE',
          `the transport closed the Extended ORPort connection during phase ${machine.phase}`,
        ),
      );
    };
    const onData = (chunk: Buffer) => {
      if (settled) return;
      let step: ReturnType<ExtOrServer['receive']>;
      try {
        step = machine.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (error) {
        cleanup();
        socket.destroy();
        reject(error);
        return;
      }
      switch (step.status) {
        case 'running':
          if (step.output.length > 0) socket.write(step.output);
          return;
        case 'accepted': {
          cleanup();
          socket.pause();
          // OKAY must be out of this process before the socket can be passed on.
          socket.write(step.output, (error) => {
            if (error) {
              socket.destroy();
              resolve({
                status: 'failed',
                error: new NetError('CLOSED_DURING_HANDSHAKE', `writing OKAY failed: ${error.message}`, {
                  cause: error,
                }),
              });
              return;
            }
            // Everything the socket holds beyond what the machine saw belongs to the link too.
            stopReading(socket).then(
              (buffered) =>
                resolve({
                  status: 'accepted',
                  outcome: { ...step.outcome, leftover: concatBytes(step.outcome.leftover, buffered) },
                }),
              reject,
            );
          });
          return;
        }
        case 'denied':
          cleanup();
          closeAfter(socket, step.output);
          resolve({ status: 'denied', metadata: step.metadata });
          return;
        case 'failed':
          fail(step.error, step.output);
          return;
      }
    };
    const timer = timers.setTimeout(() => {
      fail(
        new NetError(
          'HANDSHAKE_TIMEOUT',
          `the Extended ORPort exchange did not finish within ${deadlineMs} ms (phase ${machine.phase})`,
        ),
      );
    }, deadlineMs);
    socket.on('error', ignoreErrors);
    socket.on('close', onClose);
    if (socket.destroyed) {
      onClose();
      return;
    }
    socket.on('data', onData);
    socket.write(machine.start());
  });
}

export interface DialExtOrOptions extends TcpConnectOptions {
  /** The 32-byte cookie of the backend's cookie file. */
  readonly cookie: Uint8Array;
  readonly random?: Random;
  /** Sent as USERADDR. */
  readonly clientAddress?: AddressPort;
  /** Sent as TRANSPORT. */
  readonly transportName?: string;
  /** Stop once the backend accepted our cookie (a health check): nothing but authentication is sent. */
  readonly authOnly?: boolean;
  /** Connect plus the whole exchange. Default EXT_OR_HANDSHAKE_DEADLINE_MS. */
  readonly deadlineMs?: number;
}

export type ExtOrDialResult =
  /** The backend answered OKAY: the socket is not reading; bytes that followed OKAY are in `leftover`. */
  | { readonly status: 'accepted'; readonly socket: TcpSocket; readonly leftover: Uint8Array }
  /** `authOnly`: the backend accepted our cookie; the connection was closed. */
  | { readonly status: 'authenticated' }
  /** The backend answered DENY; the connection was closed. */
  | { readonly status: 'denied' };

/**
 * Connects to an Extended ORPort and authenticates as a transport would.
 * Rejects with a NetError (CONNECT_FAILED with the system error as cause,
 * CONNECT_TIMEOUT, HANDSHAKE_TIMEOUT, CLOSED_DURING_HANDSHAKE) or the
 * ExtOrError the exchange failed with (e.g. SERVER_HASH_MISMATCH: the
 * backend does not hold the cookie we read).
 */
export async function dialExtOrPort(opts: DialExtOrOptions): Promise<ExtOrDialResult> {
  const timers = opts.timers ?? systemSocketTimers;
  const deadlineMs = opts.deadlineMs ?? EXT_OR_HANDSHAKE_DEADLINE_MS;
  const machine = new ExtOrClient({
    cookie: opts.cookie,
    random: opts.random ?? secureRandom,
    ...(opts.clientAddress ? { clientAddress: opts.clientAddress } : {}),
    ...(opts.transportName !== undefined ? { transportName: opts.transportName } : {}),
  });
  const started = performance.now();
  const socket = await connectTcp({ ...opts, timeoutMs: Math.min(opts.timeoutMs ?? deadlineMs, deadlineMs) });
  const remainingMs = Math.max(1, deadlineMs - (performance.now() - started));
  return new Promise<ExtOrDialResult>((resolve, reject) => {
    let settled = false;
    const target = `${opts.host}:${opts.port}`;
    const cleanup = () => {
      settled = true;
      timers.clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    const fail = (error: Error, output?: Uint8Array) => {
      if (settled) return;
      cleanup();
      closeAfter(socket, output);
      reject(error);
    };
    const onClose = () =>
      fail(
        new NetError(
          'CLOSED_DURING_HANDSHAKE',
          `the Extended ORPort at ${target} closed the connection during phase ${machine.phase}`,
        ),
      );
    const onData = (chunk: Buffer) => {
      if (settled) return;
      const step: ExtOrClientStep = machine.receive(
        new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length),
      );
      if (opts.authOnly && machine.phase === 'reply') {
        // Status 1 arrived: the backend holds the cookie. Leave without sending the metadata.
        cleanup();
        socket.destroy();
        resolve({ status: 'authenticated' });
        return;
      }
      switch (step.status) {
        case 'running':
          if (step.output.length > 0) socket.write(step.output);
          return;
        case 'accepted': {
          cleanup();
          socket.pause();
          const done = () =>
            stopReading(socket).then(
              (buffered) =>
                resolve({ status: 'accepted', socket, leftover: concatBytes(step.leftover, buffered) }),
              reject,
            );
          if (step.output.length > 0) socket.write(step.output, () => void done());
          else void done();
          return;
        }
        case 'denied':
          cleanup();
          closeAfter(socket, step.output);
          resolve({ status: 'denied' });
          return;
        case 'failed':
          fail(step.error, step.output);
          return;
      }
    };
    const timer = timers.setTimeout(
      () =>
        fail(
          new NetError(
            'HANDSHAKE_TIMEOUT',
            `the Extended ORPort at ${target} did not finish the exchange within ${deadlineMs} ms (phase ${machine.phase})`,
          ),
        ),
      remainingMs,
    );
    socket.on('error', () => {});
    socket.on('close', onClose);
    socket.on('data', onData);
  });
}

/** Writes `output` (if any), then closes: a FIN after the bytes, and the socket released once they are out. */
function closeAfter(socket: TcpSocket, output?: Uint8Array): void {
  if (socket.destroyed) return;
  if (output && output.length > 0) socket.end(output, () => socket.destroy());
  else socket.destroy();
}
