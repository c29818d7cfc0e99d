/**
 * How many connections each client address holds through the front at
 * once, and the cap past which the next one is refused (ExtORPort DENY:
 * "Tor would prefer not to get more traffic from this address for a
 * while", ext-orport-spec 3.1.2). Keys are canonical address text
 * (ext-orport's AddressPort.address), so two spellings of one IPv6 address
 * share a count; the port is not part of the key.
 *
 * A connection without a client address (a transport that sends no
 * USERADDR) is counted under no key and never refused here: every such
 * connection comes from the transport's own address, and capping that
 * would cap the whole transport.
 *
 * Addresses are counted with or without a cap (limit 0): the counts are
 * what the control socket's `connections` and the per-address metrics show.
 */

/** One admitted connection's place in the count; release it exactly once when the connection ends. */
export interface AddressLease {
  release(): void;
}

const NO_LEASE: AddressLease = { release() {} };

export class ConnectionsPerAddress {
  private readonly counts = new Map<string, number>();
  private refused = 0;

  /** `limit` 0: no limit. */
  constructor(readonly limit: number) {}

  /** Takes a place for `address`, or returns undefined when it already holds `limit` connections. */
  tryAcquire(address: string | undefined): AddressLease | undefined {
    if (address === undefined) return NO_LEASE;
    const held = this.counts.get(address) ?? 0;
    if (this.limit > 0 && held >= this.limit) {
      this.refused++;
      return undefined;
    }
    this.counts.set(address, held + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const now = (this.counts.get(address) ?? 1) - 1;
        if (now <= 0) this.counts.delete(address);
        else this.counts.set(address, now);
      },
    };
  }

  /** Connections `address` holds now. */
  held(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  /** Every address holding connections now, with how many. */
  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  /** Distinct addresses holding at least one connection. */
  get addresses(): number {
    return this.counts.size;
  }

  /** Connections refused by the cap since start. */
  get refusals(): number {
    return this.refused;
  }
}
