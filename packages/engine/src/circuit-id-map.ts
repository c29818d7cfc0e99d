/**
 * One channel's circuit IDs (tor-spec 5.1.1): which circuit each ID names,
 * whether an ID the peer chose obeys the high-bit rule, and choosing fresh
 * IDs for circuits we extend onto the channel.
 *
 *   "In link protocol version 4 or higher, whichever node initiated the
 *    connection MUST set its MSB to 1, and whichever node didn't initiate the
 *    connection MUST set its MSB to 0."
 *
 * Link protocol 3 splits the space by comparing RSA identity keys; relayd has
 * no key to compare for a client peer (C tor's CIRC_ID_TYPE_NEITHER), so on
 * version 3 any nonzero ID is accepted and ours are drawn from the whole space.
 * ID 0 is never a circuit.
 */
import { WIDE_CIRC_ID_MIN_LINK_VERSION } from '@relayd/cells';
import type { Random } from '@relayd/common';

/** "Implementations MAY give up ... if a certain number of randomly chosen CircID values are all in use (today's Tor stops after 64)." */
export const MAX_CIRC_ID_ATTEMPTS = 64;

function highBit(linkVersion: number): number {
  return linkVersion >= WIDE_CIRC_ID_MIN_LINK_VERSION ? 0x80000000 : 0x8000;
}

/**
 * Whether a CREATE from the peer may use `circId`: nonzero, and on link
 * protocol 4+ with the high bit set exactly when the peer opened the channel.
 */
export function isAcceptablePeerCircId(
  circId: number,
  linkVersion: number,
  initiatedLocally: boolean,
): boolean {
  if (circId === 0) return false;
  if (linkVersion < WIDE_CIRC_ID_MIN_LINK_VERSION) return true;
  const high = circId >= highBit(linkVersion);
  return high === !initiatedLocally;
}

export class CircuitIdMap<T> {
  private readonly byId = new Map<number, T>();

  get size(): number {
    return this.byId.size;
  }

  get(circId: number): T | undefined {
    return this.byId.get(circId);
  }

  has(circId: number): boolean {
    return this.byId.has(circId);
  }

  set(circId: number, value: T): void {
    this.byId.set(circId, value);
  }

  delete(circId: number): void {
    this.byId.delete(circId);
  }

  values(): IterableIterator<T> {
    return this.byId.values();
  }

  /**
   * Draws an unused ID for a circuit we create on this channel: random, with
   * our side's high bit on link protocol 4+. Returns undefined after
   * MAX_CIRC_ID_ATTEMPTS collisions.
   */
  allocate(linkVersion: number, initiatedLocally: boolean, random: Random): number | undefined {
    const wide = linkVersion >= WIDE_CIRC_ID_MIN_LINK_VERSION;
    const high = highBit(linkVersion);
    for (let attempt = 0; attempt < MAX_CIRC_ID_ATTEMPTS; attempt++) {
      const r = random.bytes(4);
      let id = wide ? ((r[0]! << 24) >>> 0) + ((r[1]! << 16) | (r[2]! << 8) | r[3]!) : (r[0]! << 8) | r[1]!;
      if (wide) {
        id = initiatedLocally ? (id | high) >>> 0 : id & (high - 1);
      }
      if (id === 0 || this.byId.has(id)) continue;
      return id;
    }
    return undefined;
  }
}
