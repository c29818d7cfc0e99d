/**
 * Runs a sans-IO link handshake over a TLS socket: waits for TLS, feeds the
 * handshake what arrives, writes what it says, and enforces the deadlines.
 * On success the socket is left paused with no listeners of ours, ready to
 * be wrapped in a SocketByteTransport; on any failure it is destroyed, so a
 * bad peer only ever costs its own connection.
 */
import type { TLSSocket } from 'node:tls';
import { type Clock, describeError } from '@relayd/common';
import {
  LinkHandshakeError,
  type LinkHandshakeOutcome,
  type LinkHandshakeStep,
} from '@relayd/link-handshake';
import { NetError } from './net-error.js';

export interface HandshakeMachine<Outcome extends LinkHandshakeOutcome> {
  receive(bytes: Uint8Array): LinkHandshakeStep<Outcome>;
  /** Monotonic time by which the handshake must be done. */
  readonly deadlineMs: number;
}

export interface RunLinkHandshakeOptions<Outcome extends LinkHandshakeOutcome> {
  readonly socket: TLSSocket;
  /** The event that says TLS is up ('secure' for server sockets, 'secureConnect' for clients). */
  readonly secureEvent: 'secure' | 'secureConnect';
  /** Builds the handshake once TLS is up, with its first flight (empty for a responder). May throw. */
  start(): { machine: HandshakeMachine<Outcome>; firstFlight: Uint8Array };
  readonly clock: Clock;
  /** Monotonic time by which TLS must be up; after that the handshake's own `deadlineMs` applies. */
  readonly tlsDeadlineMs: number;
  /** The TLS handshake already finished (its event has fired): start the link handshake at once. */
  readonly alreadySecure?: boolean;
}

/** Resolves with the handshake's outcome, or rejects with a NetError or LinkHandshakeError. */
export function runLinkHandshake<Outcome extends LinkHandshakeOutcome>(
  opts: RunLinkHandshakeOptions<Outcome>,
): Promise<Outcome> {
  const { socket, clock } = opts;
  return new Promise<Outcome>((resolve, reject) => {
    let machine: HandshakeMachine<Outcome> | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const early: Buffer[] = [];

    const cleanup = () => {
      settled = true;
      if (timer) clearTimeout(timer);
      socket.off(opts.secureEvent, onSecure);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const fail = (error: Error) => {
      if (settled) return;
      cleanup();
      // Keep a listener so a late socket error is not an unhandled 'error' event.
      socket.on('error', () => {});
      socket.destroy();
      reject(error);
    };
    const arm = (deadlineMs: number, what: string, code: 'CONNECT_TIMEOUT' | 'HANDSHAKE_TIMEOUT') => {
      if (timer) clearTimeout(timer);
      const delay = Math.max(0, deadlineMs - clock.monotonicMs());
      timer = setTimeout(() => fail(new NetError(code, `${what} did not finish within its deadline`)), delay);
    };

    function onSecure(): void {
      if (settled) return;
      try {
        const started = opts.start();
        machine = started.machine;
        arm(machine.deadlineMs, 'link handshake', 'HANDSHAKE_TIMEOUT');
        if (started.firstFlight.length > 0) socket.write(started.firstFlight);
      } catch (error) {
        fail(asError(error));
        return;
      }
      for (const chunk of early.splice(0)) feed(chunk);
    }
    function onData(chunk: Buffer): void {
      if (settled) return;
      if (!machine) {
        // TLS delivered bytes before announcing itself up: keep them for the handshake.
        early.push(chunk);
        return;
      }
      feed(chunk);
    }
    function feed(chunk: Buffer): void {
      if (settled || !machine) return;
      let step: LinkHandshakeStep<Outcome>;
      try {
        step = machine.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (error) {
        fail(asError(error));
        return;
      }
      if (step.output.length > 0) socket.write(step.output);
      if (step.status === 'failed') {
        fail(step.error);
      } else if (step.status === 'done') {
        // Stop the flow before removing our listener: the next owner resumes it.
        socket.pause();
        cleanup();
        resolve(step.outcome);
      }
    }
    // Before TLS is up on a connection we opened, a failure means we never reached the relay.
    const failureCode = () =>
      !machine && opts.secureEvent === 'secureConnect' ? 'CONNECT_FAILED' : 'CLOSED_DURING_HANDSHAKE';
    function onError(error: Error): void {
      fail(new NetError(failureCode(), `connection failed: ${error.message}`, { cause: error }));
    }
    function onClose(): void {
      fail(new NetError(failureCode(), 'the connection closed during the handshake'));
    }

    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (socket.destroyed) {
      onClose();
      return;
    }
    if (opts.alreadySecure) {
      onSecure();
      return;
    }
    socket.once(opts.secureEvent, onSecure);
    arm(
      opts.tlsDeadlineMs,
      'TLS handshake',
      opts.secureEvent === 'secureConnect' ? 'CONNECT_TIMEOUT' : 'HANDSHAKE_TIMEOUT',
    );
  });
}

function asError(error: unknown): Error {
  if (error instanceof LinkHandshakeError || error instanceof NetError) return error;
  return error instanceof Error ? error : new Error(describeError(error));
}

/** The RFC 5705 exporter of a TLS socket, as the link handshake asks for it. */
export function socketExporter(socket: TLSSocket): {
  exportKeyingMaterial(label: string, context: Uint8Array, length: number): Uint8Array;
} {
  return {
    exportKeyingMaterial: (label, context, length) =>
      new Uint8Array(socket.exportKeyingMaterial(length, label, Buffer.from(context))),
  };
}
