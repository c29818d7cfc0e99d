/**
 * A Tor link opened the way a pluggable transport carries one: TCP to an
 * Extended ORPort, SAFE_COOKIE, USERADDR/TRANSPORT/DONE, then TLS and the
 * initiator link handshake on the same connection.
 *
 * `eager` sends the TLS ClientHello right behind DONE, in the same write,
 * before OKAY has come back (the spec allows it: "The next bytes sent by the transport
 * will be those tunneled over it"), so the bridge must keep bytes it read
 * past DONE and give them to TLS first. TLS runs over a stream that drops
 * the bridge's OKAY from what it reads.
 */
import { createConnection, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { parseIpAddress } from '@relayd/cells';
import { systemClock } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import type { ExtendTarget } from '@relayd/engine';
import { type AddressPort, ExtOrClient } from '@relayd/ext-orport';
import {
  checkPeerIdentity,
  type InitiatorOutcome,
  LINK_HANDSHAKE_TIMEOUT_MS,
  LinkInitiator,
} from '@relayd/link-handshake';
import { linkClientTlsOptions, runLinkHandshake } from '@relayd/net';

export interface ExtOrLinkOptions {
  readonly port: number;
  readonly host?: string;
  readonly cookie: Uint8Array;
  readonly clientAddress?: AddressPort;
  readonly transportName?: string;
  readonly target: ExtendTarget;
  readonly eager: boolean;
  readonly timeoutMs?: number;
}

export interface ExtOrLink {
  readonly outcome: InitiatorOutcome;
  /** How many link bytes went out before OKAY arrived. */
  readonly sentBeforeOkay: number;
  readonly raw: Socket;
  close(): void;
}

/** Opens the link; rejects on DENY, a failed exchange, a failed handshake or the deadline. */
export async function openLinkThroughExtOrPort(opts: ExtOrLinkOptions): Promise<ExtOrLink> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const raw = createConnection({ host: opts.host ?? '127.0.0.1', port: opts.port });
  raw.setNoDelay(true);
  const machine = new ExtOrClient({
    cookie: opts.cookie,
    random: secureRandom,
    ...(opts.clientAddress ? { clientAddress: opts.clientAddress } : {}),
    ...(opts.transportName ? { transportName: opts.transportName } : {}),
  });
  let okay = false;
  let sentBeforeOkay = 0;
  let metadataSent = false;
  let heldMetadata: Buffer | undefined;
  let startTls: (() => void) | undefined;
  const metadataOut = new Promise<void>((resolve) => {
    startTls = resolve;
  });
  let okayArrived: (() => void) | undefined;
  let exchangeFailed: ((error: Error) => void) | undefined;
  const okayPromise = new Promise<void>((resolve, reject) => {
    okayArrived = resolve;
    exchangeFailed = reject;
  });
  // Awaited below; this only keeps an early failure from counting as unhandled.
  okayPromise.catch(() => {});

  // What TLS reads: the connection's bytes after OKAY; what it writes goes straight out.
  const tunnel = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      if (!okay) sentBeforeOkay += chunk.length;
      if (heldMetadata) {
        // USERADDR, TRANSPORT, DONE and the ClientHello in one write: the bridge reads them together.
        const both = Buffer.concat([heldMetadata, chunk]);
        heldMetadata = undefined;
        raw.write(both, callback);
        return;
      }
      raw.write(chunk, callback);
    },
    final(callback) {
      raw.end();
      callback();
    },
    destroy(error, callback) {
      raw.destroy();
      callback(error);
    },
  });
  raw.on('data', (chunk: Buffer) => {
    if (okay) {
      tunnel.push(chunk);
      return;
    }
    const step = machine.receive(new Uint8Array(chunk));
    if (machine.phase === 'reply' && !metadataSent) {
      metadataSent = true;
      if (opts.eager) heldMetadata = Buffer.from(step.output);
      else raw.write(step.output);
      startTls?.();
    } else if (step.output.length > 0) raw.write(step.output);
    if (step.status === 'accepted') {
      okay = true;
      if (step.leftover.length > 0) tunnel.push(step.leftover);
      okayArrived?.();
    } else if (step.status === 'denied') {
      exchangeFailed?.(new Error('the Extended ORPort answered DENY'));
    } else if (step.status === 'failed') {
      exchangeFailed?.(step.error);
    }
  });
  raw.on('close', () => {
    tunnel.push(null);
    exchangeFailed?.(new Error('connection closed'));
  });
  raw.on('error', () => {});

  const deadline = setTimeout(() => raw.destroy(), timeoutMs);
  try {
    // DONE is out: an eager transport starts the link now, a patient one after OKAY.
    await metadataOut;
    if (!opts.eager) await okayPromise;
    const tls = tlsConnect({ socket: tunnel, ...linkClientTlsOptions(secureRandom) });
    const host = opts.target.addresses[0]?.address ?? '127.0.0.1';
    const [outcome] = await Promise.all([
      runLinkHandshake<InitiatorOutcome>({
        socket: tls,
        secureEvent: 'secureConnect',
        clock: systemClock,
        tlsDeadlineMs: systemClock.monotonicMs() + timeoutMs,
        start: () => {
          const certificate = tls.getPeerCertificate(true)?.raw;
          if (!certificate) throw new Error('no TLS certificate from the bridge');
          const initiator = new LinkInitiator({
            peerTlsCertificate: new Uint8Array(certificate),
            peerAddress: parseIpAddress(host) ?? { family: 'ipv4', bytes: new Uint8Array(4) },
            clock: systemClock,
            random: secureRandom,
            timeoutMs: LINK_HANDSHAKE_TIMEOUT_MS,
            expectedPeer: opts.target,
          });
          return { machine: initiator, firstFlight: initiator.start() };
        },
      }),
      okayPromise,
    ]);
    const identity = checkPeerIdentity(outcome, opts.target);
    if (!identity.ok) throw identity.error;
    return { outcome, sentBeforeOkay, raw, close: () => raw.destroy() };
  } catch (error) {
    raw.destroy();
    throw error;
  } finally {
    clearTimeout(deadline);
  }
}
