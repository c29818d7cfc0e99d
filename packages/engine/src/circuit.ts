/**
 * A relay circuit: one that a client (or the previous hop) created on one of
 * our channels. Owns the circuit's state, its two ends, its relay crypto,
 * its RELAY_EARLY allowance, its flow-control windows and the directory
 * streams that end here. It holds no behaviour beyond bookkeeping; the
 * engine moves cells and decides closes.
 *
 *   awaiting-handshake ── create queue answers ──▶ open ──▶ closed
 *            └──────────── refused / dropped ──────────────────┘
 *
 * The next hop, when the client extends: none → awaiting-channel (the
 * provider is opening one) → awaiting-created (CREATE2 sent) → open
 * (CREATED2 arrived, EXTENDED2 sent); TRUNCATE returns it to none.
 */
import type { Create2Message } from '@relayd/cells';
import type { Tor1RelayCrypto } from '@relayd/relay-crypto';
import type { Channel } from './channel.js';
import type { CreateRequest } from './create-handshake.js';
import type { CreateQueueItem } from './create-queue.js';
import type { DirStream } from './dir-stream.js';
import { CircuitFlowControl } from './flow-control.js';
import type { HandshakeLabel } from './metrics.js';

/** MAX_RELAY_EARLY_CELLS_PER_CIRCUIT (or.h; tor-spec 5.6: "more than 8 ... SHOULD close the circuit"). */
export const MAX_RELAY_EARLY_CELLS_PER_CIRCUIT = 8;

/** One end of a circuit: a channel and the circuit's ID on it. */
export interface CircuitEnd {
  readonly channel: Channel;
  readonly circId: number;
}

export type NextHop =
  | { readonly kind: 'none' }
  /** Waiting for a channel to the target; `create` goes out once it is open. */
  | { readonly kind: 'awaiting-channel'; readonly pendingKey: string; readonly create: Create2Message }
  | { readonly kind: 'awaiting-created'; readonly end: CircuitEnd }
  | { readonly kind: 'open'; readonly end: CircuitEnd };

export type CircuitState = 'awaiting-handshake' | 'open' | 'closed';

export class RelayCircuit implements CreateQueueItem {
  state: CircuitState = 'awaiting-handshake';
  /** The client side. Undefined once that side sent DESTROY or its channel closed. */
  prev: CircuitEnd | undefined;
  next: NextHop = { kind: 'none' };
  crypto: Tor1RelayCrypto | undefined;
  /** The handshake waiting in the create queue; cleared once answered. */
  pendingCreate: CreateRequest | undefined;
  relayEarlyRemaining = MAX_RELAY_EARLY_CELLS_PER_CIRCUIT;
  readonly flow = new CircuitFlowControl();
  readonly streams = new Map<number, DirStream>();

  constructor(
    /** Engine-wide serial number, for logs. */
    readonly serial: number,
    prev: CircuitEnd,
    readonly handshake: HandshakeLabel,
    readonly createdAtMs: number,
  ) {
    this.prev = prev;
  }

  /** For the create queue: a closed circuit's handshake is skipped. */
  get cancelled(): boolean {
    return this.state === 'closed';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** The next hop's end once CREATE2 was sent on it. */
  get nextEnd(): CircuitEnd | undefined {
    return this.next.kind === 'awaiting-created' || this.next.kind === 'open' ? this.next.end : undefined;
  }
}
