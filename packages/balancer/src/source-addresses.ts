/**
 * The source addresses connections to loopback backends are spread over
 * (BalancerSourceAddresses), handed out round-robin.
 *
 * The arithmetic behind it: a TCP connection is identified by its
 * four-tuple. From a socket bound to one source address, Linux takes an
 * ephemeral port for that address at bind time, out of
 * `net.ipv4.ip_local_port_range` (32768–60999 by default: 28,232 ports),
 * and a port in TIME_WAIT stays taken for 60 s. So one source address holds
 * at most that many connections at once (less under churn), whatever the
 * destination; N source addresses hold N times as many. Every address in
 * 127.0.0.0/8 is usable on Linux loopback without configuration.
 *
 * Ranges are merged (overlaps counted once) and walked without expanding
 * them, so a /16 costs nothing.
 */

import { parseIpv4 } from '@relayd/common';
import type { SourceAddressRange } from '@relayd/config';

interface NumericRange {
  readonly first: number;
  readonly last: number;
}

export class SourceAddressPool {
  private readonly ranges: readonly NumericRange[];
  /** Addresses in the pool. 0: no binding, the system chooses. */
  readonly size: number;
  private cursor = 0;

  constructor(ranges: readonly SourceAddressRange[]) {
    this.ranges = mergeRanges(ranges.map(toNumeric));
    this.size = this.ranges.reduce((n, r) => n + (r.last - r.first + 1), 0);
  }

  /** The next address, round-robin; undefined for an empty pool (let the system choose). */
  next(): string | undefined {
    if (this.size === 0) return undefined;
    const address = this.at(this.cursor);
    this.cursor = (this.cursor + 1) % this.size;
    return address;
  }

  /** The `index`-th address of the pool (0-based, in ascending order). */
  at(index: number): string {
    let rest = ((index % this.size) + this.size) % this.size;
    for (const range of this.ranges) {
      const count = range.last - range.first + 1;
      if (rest < count) return ipv4Text(range.first + rest);
      rest -= count;
    }
    throw new Error('unreachable: index within size');
  }
}

/** Whether `address` is an IPv4 loopback address: only those can be reached from a 127.x source. */
export function isLoopbackIpv4(address: string): boolean {
  const ip = parseIpv4(address);
  return ip !== undefined && ip.bytes[0] === 127;
}

function toNumeric(range: SourceAddressRange): NumericRange {
  const first = ipv4Number(range.first);
  const last = ipv4Number(range.last);
  if (first === undefined || last === undefined || last < first) {
    throw new RangeError(`not a source address range: ${range.first}-${range.last}`);
  }
  return { first, last };
}

function mergeRanges(ranges: NumericRange[]): NumericRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first);
  const out: NumericRange[] = [];
  for (const range of sorted) {
    const top = out.at(-1);
    if (top && range.first <= top.last + 1)
      out[out.length - 1] = { first: top.first, last: Math.max(top.last, range.last) };
    else out.push(range);
  }
  return out;
}

function ipv4Number(text: string): number | undefined {
  const ip = parseIpv4(text);
  if (!ip) return undefined;
  const b = ip.bytes;
  return ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
}

function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}
