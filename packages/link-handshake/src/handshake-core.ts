/**
 * The machinery both link-handshake roles share: inbound framing, the
 * AUTHENTICATE transcripts, the outbound flight, the deadline, a byte cap,
 * and the step values the caller drives the handshake with; and the steps
 * both roles take alike: settling the version, the CERTS cell's header
 * checks, the AUTH0003 TLS exporter value, and NETINFO out and in.
 *
 * Transcripts (tor-spec 4.4.2 SLOG/CLOG; C tor connection_or.c
 * `or_handshake_state_record_cell`): every cell received is hashed, exactly
 * as it came off the wire, except AUTHENTICATE; every cell sent is hashed
 * until NETINFO, which is not. A responder's SLOG is therefore its VERSIONS,
 * CERTS and AUTH_CHALLENGE; an initiator's CLOG is everything it sent before
 * AUTHENTICATE.
 */
import {
  type ChannelCell,
  ChannelCommand,
  type ChannelMessage,
  channelCommandDisposition,
  channelCommandName,
  decodeChannelCellMessage,
} from '@relayd/cells';
import { AUTH0003_EXPORTER_LABEL, AUTH0003_EXPORTER_LENGTH, auth0003ExporterContext } from '@relayd/certs';
import { type Clock, describeError, InternalError } from '@relayd/common';
import { type RsaPublicKey, sha256 } from '@relayd/crypto';
import { HandshakeCellStream } from './cell-stream.js';
import { LinkHandshakeError } from './link-error.js';
import type { LinkTlsSession } from './link-tls.js';
import { checkLinkVersions, negotiateLinkVersion, SUPPORTED_LINK_VERSIONS } from './link-versions.js';
import { encodeNetinfoCell, type NetinfoToSend, type PeerNetinfo, readPeerNetinfo } from './netinfo.js';

/**
 * How long a link handshake may take, from the TLS connection being up to
 * the peer's NETINFO. C tor only expires a non-open OR connection after
 * KeepalivePeriod (5 minutes) without writes; relayd is stricter so that a
 * stalled or slowloris peer holds a socket for at most a minute, which is
 * still far beyond what a real client needs even over a slow pluggable
 * transport (the cells are a few kilobytes).
 */
export const LINK_HANDSHAKE_TIMEOUT_MS = 60_000;

/**
 * The most bytes of handshake cells a peer may send. A legitimate initiator
 * sends a few kilobytes (a CERTS cell is at most 64 KiB); this only stops a
 * peer that streams padding cells for the whole timeout.
 */
export const MAX_HANDSHAKE_BYTES = 256 * 1024;

/** What the link handshake established, in the shape of the engine's ChannelPeer (less the addresses). */
export interface LinkHandshakeOutcome {
  /** The negotiated link protocol: 3, 4 or 5. */
  readonly linkVersion: number;
  /** True when we opened the connection. */
  readonly initiatedLocally: boolean;
  /** The peer's RSA identity digest (20 bytes), when it proved one. */
  readonly rsaIdentity: Uint8Array | undefined;
  /** The peer's Ed25519 identity (32 bytes), when it proved one. */
  readonly ed25519Identity: Uint8Array | undefined;
  /** Bytes received after the peer's NETINFO cell: channel traffic, to be processed first. */
  readonly leftover: Uint8Array;
  readonly peerNetinfo: PeerNetinfo;
  /** The peer's clock minus ours, in seconds; undefined when the peer sent no time. */
  readonly clockSkewSeconds: number | undefined;
}

/** The result of feeding bytes to a handshake. `output` always goes to the peer, in order, first. */
export type LinkHandshakeStep<Outcome extends LinkHandshakeOutcome> =
  | { readonly status: 'running'; readonly output: Uint8Array }
  | { readonly status: 'done'; readonly output: Uint8Array; readonly outcome: Outcome }
  | { readonly status: 'failed'; readonly output: Uint8Array; readonly error: LinkHandshakeError };

export interface LinkHandshakeCommonOptions {
  readonly clock: Clock;
  /** Link protocol versions to offer; default 3, 4, 5. */
  readonly linkVersions?: readonly number[];
  /** Default LINK_HANDSHAKE_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Default MAX_HANDSHAKE_BYTES. */
  readonly maxHandshakeBytes?: number;
}

/** The outcome fields every role takes from the negotiated version and the peer's NETINFO. */
export type NetinfoOutcome = Pick<LinkHandshakeOutcome, 'linkVersion' | 'peerNetinfo' | 'clockSkewSeconds'>;

/** What a role's cell handler decided. */
export type CellVerdict<Outcome> =
  | undefined
  | LinkHandshakeError
  | { readonly finish: Omit<Outcome, 'leftover'> };

/** The cells of one direction, kept whole (they are bounded by the byte cap) and hashed on demand. */
export class Transcript {
  private readonly cells: Uint8Array[] = [];

  update(wire: Uint8Array): void {
    this.cells.push(wire);
  }

  /** SHA-256 of everything recorded so far. */
  peek(): Uint8Array {
    return sha256(...this.cells);
  }
}

export abstract class LinkHandshakeCore<Outcome extends LinkHandshakeOutcome> {
  /** Monotonic time (the clock's `monotonicMs`) by which the handshake must be done; the caller enforces it. */
  readonly deadlineMs: number;
  protected readonly clock: Clock;
  protected readonly linkVersions: readonly number[];
  protected readonly stream = new HandshakeCellStream();
  protected readonly sentLog = new Transcript();
  protected readonly receivedLog = new Transcript();
  /** Set once VERSIONS has been received: the negotiated version. */
  protected linkVersion: number | undefined;
  private netinfoSent = false;
  private status: 'running' | 'done' | 'failed' = 'running';
  private outbound: Uint8Array[] = [];
  private readonly maxHandshakeBytes: number;

  protected constructor(opts: LinkHandshakeCommonOptions) {
    this.clock = opts.clock;
    this.linkVersions = checkLinkVersions(opts.linkVersions ?? SUPPORTED_LINK_VERSIONS);
    this.deadlineMs = opts.clock.monotonicMs() + (opts.timeoutMs ?? LINK_HANDSHAKE_TIMEOUT_MS);
    this.maxHandshakeBytes = opts.maxHandshakeBytes ?? MAX_HANDSHAKE_BYTES;
  }

  /** Whether the handshake is still going, complete, or failed. */
  get state(): 'running' | 'done' | 'failed' {
    return this.status;
  }

  /** Handles one decoded cell received during the handshake. */
  protected abstract handleMessage(message: ChannelMessage, cell: ChannelCell): CellVerdict<Outcome>;

  /**
   * Feeds bytes received from the peer. Processes every whole cell up to the
   * end of the handshake and returns what to send, and whether the
   * handshake is over. Never throws for any input; calling it after the
   * handshake ended is a caller bug (InternalError).
   */
  receive(bytes: Uint8Array): LinkHandshakeStep<Outcome> {
    if (this.status !== 'running')
      throw new InternalError(`link handshake receive() after it is ${this.status}`);
    this.stream.push(bytes);
    for (;;) {
      const frame = this.stream.next();
      if (frame.kind === 'incomplete') break;
      if (frame.kind === 'malformed') {
        return this.fail(
          new LinkHandshakeError('MALFORMED_CELL', frame.error.message, { cause: frame.error }),
        );
      }
      if (this.stream.consumedBytes > this.maxHandshakeBytes) {
        return this.fail(
          new LinkHandshakeError(
            'HANDSHAKE_TOO_LARGE',
            `peer sent more than ${this.maxHandshakeBytes} bytes of handshake cells`,
          ),
        );
      }
      const { cell, wire } = frame;
      if (cell.command !== ChannelCommand.AUTHENTICATE) this.receivedLog.update(wire);
      const verdict = this.dispatch(cell);
      if (verdict instanceof LinkHandshakeError) return this.fail(verdict);
      if (verdict !== undefined) {
        this.status = 'done';
        const outcome = { ...verdict.finish, leftover: this.stream.rest() } as Outcome;
        return { status: 'done', output: this.takeOutput(), outcome };
      }
    }
    return { status: 'running', output: this.takeOutput() };
  }

  /** Applies the phase rules, decodes, and hands the cell to the role. */
  private dispatch(cell: ChannelCell): CellVerdict<Outcome> {
    const command = cell.command;
    if (this.linkVersion === undefined) {
      // Before VERSIONS only VERSIONS, VPADDING and AUTHORIZE may arrive
      // (channeltls.c `command_allowed_before_handshake`).
      if (command === ChannelCommand.VPADDING || command === ChannelCommand.AUTHORIZE) return undefined;
      if (command !== ChannelCommand.VERSIONS) {
        return unexpected(command, 'before VERSIONS');
      }
    } else {
      const disposition = channelCommandDisposition('negotiating', command);
      if (disposition === 'ignore') return undefined;
      if (disposition === 'reject') return unexpected(command, 'during the link handshake');
      // "Any VERSIONS cells sent after the first VERSIONS cell MUST be ignored." (tor-spec 4.1)
      if (command === ChannelCommand.VERSIONS) return undefined;
    }
    const decoded = decodeChannelCellMessage(cell);
    if (!decoded.ok) {
      // "Either party MUST close the connection if the versions cell is not well-formed." (tor-spec 4.1)
      const code = command === ChannelCommand.VERSIONS ? 'BAD_VERSIONS' : 'MALFORMED_CELL';
      return new LinkHandshakeError(code, decoded.error.message, { cause: decoded.error });
    }
    return this.handleMessage(decoded.value, cell);
  }

  /** Queues a handshake cell for the peer, hashing it into our sent transcript until NETINFO. */
  protected send(cellBytes: Uint8Array): void {
    if (!this.netinfoSent) this.sentLog.update(cellBytes);
    this.outbound.push(cellBytes);
  }

  /**
   * Settles the link protocol from the peer's VERSIONS cell (the highest
   * version both offer, tor-spec 4.1) and switches inbound framing to it.
   * `peerRole` names the peer in the NO_COMMON_VERSION message.
   */
  protected adoptLinkVersion(offered: readonly number[], peerRole: string): number | LinkHandshakeError {
    const version = negotiateLinkVersion(offered, this.linkVersions);
    if (version === undefined) {
      return new LinkHandshakeError(
        'NO_COMMON_VERSION',
        `no common link protocol version: ${peerRole} offers [${offered.join(', ')}]`,
      );
    }
    this.linkVersion = version;
    this.stream.framing = version;
    return version;
  }

  /** Queues our NETINFO in the negotiated framing: it, and anything after it, is not part of the transcript. */
  protected sendNetinfo(netinfo: NetinfoToSend): void {
    this.netinfoSent = true;
    this.outbound.push(encodeNetinfoCell(netinfo, this.linkVersion!));
  }

  protected get hasSentNetinfo(): boolean {
    return this.netinfoSent;
  }

  protected nowSeconds(): number {
    return Math.floor(this.clock.nowMs() / 1000);
  }

  /**
   * Reads the peer's NETINFO into the outcome fields every role reports; the
   * clock skew is undefined for a peer that sent time 0 (clients do).
   */
  protected readNetinfo(cell: ChannelCell): NetinfoOutcome | LinkHandshakeError {
    const netinfo = readPeerNetinfo(cell.body);
    if (!netinfo.ok) return netinfo.error;
    const peerTime = netinfo.value.timestampSeconds;
    return {
      linkVersion: this.linkVersion!,
      peerNetinfo: netinfo.value,
      clockSkewSeconds: peerTime === 0 ? undefined : peerTime - this.nowSeconds(),
    };
  }

  protected takeOutput(): Uint8Array {
    const parts = this.outbound;
    this.outbound = [];
    if (parts.length === 1) return parts[0]!;
    let length = 0;
    for (const p of parts) length += p.length;
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private fail(error: LinkHandshakeError): LinkHandshakeStep<Outcome> {
    this.status = 'failed';
    this.outbound = [];
    return { status: 'failed', output: new Uint8Array(0), error };
  }
}

export function unexpected(command: number, where: string): LinkHandshakeError {
  const name = channelCommandName(command) ?? `command ${command}`;
  return new LinkHandshakeError('UNEXPECTED_CELL', `unexpected ${name} cell ${where}`);
}

/** The header checks every CERTS cell gets before its certificates are read: circuit ID 0, not empty. */
export function checkCertsCellHeader(cell: ChannelCell): LinkHandshakeError | undefined {
  if (cell.circId !== 0)
    return new LinkHandshakeError('NONZERO_CIRCUIT_ID', 'CERTS cell with a nonzero circuit ID');
  if (cell.body.length === 0) return new LinkHandshakeError('MALFORMED_CELL', 'empty CERTS cell');
  return undefined;
}

/**
 * The TLSSECRETS input of AUTH0003 (tor-spec 4.4.2): the session's RFC 5705
 * exporter value with the initiator's RSA identity as context. A TLS layer
 * that cannot export fails the handshake with TLS_UNAVAILABLE.
 */
export function auth0003TlsSecrets(
  tls: LinkTlsSession,
  initiatorRsaIdentity: RsaPublicKey,
): Uint8Array | LinkHandshakeError {
  try {
    return tls.exportKeyingMaterial(
      AUTH0003_EXPORTER_LABEL,
      auth0003ExporterContext(initiatorRsaIdentity),
      AUTH0003_EXPORTER_LENGTH,
    );
  } catch (error) {
    return new LinkHandshakeError('TLS_UNAVAILABLE', `TLS exporter failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}
