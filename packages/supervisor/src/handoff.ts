/**
 * The contract for giving a worker a connection accepted elsewhere: the
 * supervisor's ORPort listeners use it, and so does any other acceptor in
 * the supervisor process (the Extended ORPort front, after the Extended
 * ORPort handshake). The worker runs TLS and the link handshake.
 *
 * The socket must come straight from a listener opened with
 * `pauseOnConnect` (net's `listenTcp`), or have been stopped with net's
 * `stopReading`: nothing may be attached to its 'data' event, and every
 * byte read from it that belongs to the link goes in `meta.leftover`.
 * Ownership passes with the call: on success the socket travels to the
 * worker process (this process's copy is closed), on refusal it has been
 * destroyed. The caller touches it no more either way.
 */
import type { HandoffMeta } from '@relayd/ipc';
import type { TcpSocket } from '@relayd/net';

export type HandoffResult =
  | {
      readonly ok: true;
      readonly workerId: number;
      readonly pid: number;
      /**
       * Settles once the connection has ended in the worker (or the worker
       * exited); never rejects. Absent when the target cannot tell.
       */
      readonly closed?: Promise<void>;
    }
  | {
      readonly ok: false;
      /** `no-healthy-worker`: every worker is starting, dead or not answering; `stopping`: relayd is shutting down. */
      readonly reason: 'no-healthy-worker' | 'stopping';
    };

/** The worker the next connection would go to. */
export interface HandoffChoice {
  readonly workerId: number;
  readonly pid: number | undefined;
}

export interface HandoffTarget {
  /**
   * Which worker would take a connection now; undefined when none is
   * healthy (an acceptor that must answer before handing over, like the
   * Extended ORPort's OKAY/DENY, denies then). `handOff` chooses again.
   */
  pick(): HandoffChoice | undefined;
  /** Gives `socket` to the least-loaded healthy worker (see the module comment for the ownership rules). */
  handOff(socket: TcpSocket, meta?: HandoffMeta): HandoffResult;
}
