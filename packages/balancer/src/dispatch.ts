/**
 * Where the fronts send an admitted connection, and the handoff mode.
 *
 * A `Dispatcher` makes the choice inside the OKAY/DENY decision (it must be
 * synchronous there, and "no healthy backend" is a DENY), then takes the
 * connection. Two exist: the handoff dispatcher below, which gives the
 * socket itself to a worker through a `HandoffTarget` (the supervisor's
 * worker pool implements it), and the proxy dispatcher (proxy.ts).
 *
 * Handoff contract, so that no byte is lost: the socket reaches
 * `handOff` not reading (net's `stopReading`: nothing more is read from
 * the kernel in this process), with every Tor-link byte received so far in
 * `meta.leftover`. The worker that takes it must feed `leftover` to the
 * link handshake before anything it reads itself (`socket.unshift(leftover)`
 * before `acceptLinkOnSocket`, or the same after passing the socket to
 * another process). The balancer never touches the socket again once
 * `handOff` is called, except to destroy it if the handoff failed.
 */
import type { AddressPort } from '@relayd/ext-orport';
import type { TcpSocket } from '@relayd/net';
import { BalancerError } from './balancer-error.js';

/** What the front learnt about an admitted connection. */
export interface ConnectionMeta {
  /** ExtORPort USERADDR, or the peer of a vanilla connection. */
  readonly clientAddress: AddressPort | undefined;
  /** ExtORPort TRANSPORT. */
  readonly transportName: string | undefined;
  /** Tor-link bytes already read from the socket, to be delivered before anything else. */
  readonly leftover: Uint8Array;
  /** Which front accepted it. */
  readonly front: 'ext-or' | 'vanilla';
}

export interface Dispatcher<Choice> {
  /**
   * Chooses (and counts) where the next connection goes, or undefined when
   * nothing healthy is there: the front answers DENY. Synchronous.
   */
  choose(): Choice | undefined;
  /** Gives back a choice that will not be dispatched (the connection failed before OKAY went out). */
  cancel(choice: Choice): void;
  /**
   * Takes the connection. Settles when the front can forget it (its
   * per-address place is released then): for a proxied connection when it
   * has closed; for a handed-off one when the target says it closed, or at
   * once if the target cannot tell. Rejects if the connection could not be
   * delivered; the front then destroys the socket.
   */
  dispatch(choice: Choice, socket: TcpSocket, meta: ConnectionMeta): Promise<void>;
  /** Stops: connections in flight are closed where the dispatcher still holds them. */
  close(): Promise<void>;
}

/** The metadata a worker needs with a handed-off socket. Plain data: it can go over IPC as is. */
export interface HandoffMeta {
  /** The client's address and port (USERADDR, or the vanilla peer): `acceptLinkOnSocket`'s `remote`. */
  readonly clientAddress?: { readonly address: string; readonly port: number };
  /** The pluggable transport's name (TRANSPORT): `acceptLinkOnSocket`'s `transportName`. */
  readonly transportName?: string;
  /** Bytes to feed the link handshake first (may be empty). */
  readonly leftover: Uint8Array;
}

/**
 * What `handOff` answers: the worker has the socket (`ok: true`), or none
 * could take it (`ok: false`, the socket destroyed by the target). A target
 * that learns when the connection closes in the worker may say so with
 * `closed`; the per-address limit then counts the connection until it
 * settles, otherwise only until the handoff.
 */
export type HandoffOutcome =
  | { readonly ok: true; readonly closed?: Promise<void> }
  | { readonly ok: false; readonly reason: string };

/**
 * The workers, as handoff mode sees them (the supervisor's WorkerPool has
 * this shape): `pick` says which worker would take the next connection —
 * undefined when none is healthy, and the client is denied — and
 * `handOff` gives the socket and its metadata to the least-loaded healthy
 * worker (choosing again: loads change while the exchange finishes).
 * Ownership of the socket passes with the call.
 */
export interface HandoffTarget {
  pick(): unknown;
  handOff(socket: TcpSocket, meta: HandoffMeta): HandoffOutcome | Promise<HandoffOutcome>;
}

/** Counters of a handoff dispatcher. */
export interface HandoffStats {
  readonly handedOff: number;
  /** Admitted connections the target refused (no healthy worker any more, shutting down). */
  readonly refused: number;
  /** Handed-off connections the target reported as still open. */
  readonly open: number;
}

/** The one choice of handoff mode: "a worker is there"; which one is the target's to decide at handoff. */
const A_WORKER = Symbol('a worker');

export class HandoffDispatcher implements Dispatcher<typeof A_WORKER> {
  private handedOff = 0;
  private refused = 0;
  private open = 0;

  constructor(private readonly target: HandoffTarget) {}

  choose(): typeof A_WORKER | undefined {
    return this.target.pick() === undefined ? undefined : A_WORKER;
  }

  cancel(): void {
    // pick() reserved nothing.
  }

  async dispatch(_choice: typeof A_WORKER, socket: TcpSocket, meta: ConnectionMeta): Promise<void> {
    const handoffMeta: HandoffMeta = {
      ...(meta.clientAddress
        ? { clientAddress: { address: meta.clientAddress.address, port: meta.clientAddress.port } }
        : {}),
      ...(meta.transportName !== undefined ? { transportName: meta.transportName } : {}),
      leftover: meta.leftover,
    };
    const outcome = await this.target.handOff(socket, handoffMeta);
    if (!outcome.ok) {
      this.refused++;
      throw new BalancerError('HANDOFF_FAILED', `no worker took the connection: ${outcome.reason}`);
    }
    this.handedOff++;
    if (outcome.closed instanceof Promise) {
      this.open++;
      await outcome.closed.catch(() => {});
      this.open--;
    }
  }

  async close(): Promise<void> {
    // Handed-off connections belong to the workers.
  }

  stats(): HandoffStats {
    return { handedOff: this.handedOff, refused: this.refused, open: this.open };
  }
}
