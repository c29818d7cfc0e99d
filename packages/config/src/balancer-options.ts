/**
 * The balancer's own option values (relayd options, no C tor equivalent):
 *
 *     BalancerBackend ADDRESS:PORT cookie=/ABSOLUTE/PATH
 *     BalancerSourceAddresses 127.0.1.1-127.0.1.254[,127.0.2.0/24…] | 0
 *
 * A backend is an Extended ORPort (a C tor instance or another relayd) and
 * the cookie file it writes. Source addresses are inclusive IPv4 ranges
 * inside 127.0.0.0/8 — the only addresses every Linux host answers on
 * without configuration — written as one address, `FIRST-LAST` or CIDR.
 */
import { err, ok, parseIpv4, type Result } from '@relayd/common';
import { type IpFamily, parseHostPort } from './addresses.js';

/** One BalancerBackend line. */
export interface BalancerBackendSetting {
  /** IP literal (IPv6 without brackets). */
  readonly address: string;
  readonly family: IpFamily;
  readonly port: number;
  /** The backend's ExtORPortCookieAuthFile, read again for every connection (tor rewrites it at each start). */
  readonly cookieFile: string;
}

/** An inclusive range of IPv4 source addresses. */
export interface SourceAddressRange {
  /** Dotted quad. */
  readonly first: string;
  /** Dotted quad, not below `first`. */
  readonly last: string;
}

/**
 * Most addresses one BalancerSourceAddresses line may name. Each address
 * holds one connection per ephemeral port (about 28,000 by default), so a
 * /16 is already far beyond any file-descriptor limit.
 */
export const MAX_SOURCE_ADDRESSES_PER_LINE = 65_536;

export function parseBalancerBackendLine(value: string): Result<BalancerBackendSetting, string> {
  const words = value.split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return err('BalancerBackend needs ADDRESS:PORT cookie=/PATH');
  const endpoint = parseHostPort(words[0]!, { portRequired: true });
  if (!endpoint.ok) return err(`BalancerBackend address: ${endpoint.error}`);
  let cookieFile: string | undefined;
  for (const word of words.slice(1)) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    if (key.toLowerCase() !== 'cookie' || eq < 0) {
      return err(`unknown BalancerBackend parameter "${word}" (the only one is cookie=/PATH)`);
    }
    const path = word.slice(eq + 1);
    if (!path.startsWith('/')) return err(`BalancerBackend cookie file "${path}" is not an absolute path`);
    if (cookieFile !== undefined) return err('BalancerBackend has more than one cookie= parameter');
    cookieFile = path;
  }
  if (cookieFile === undefined) {
    return err(
      'BalancerBackend needs cookie=/PATH: the ExtORPortCookieAuthFile of that backend (an Extended ORPort always authenticates)',
    );
  }
  return ok({
    address: endpoint.value.address,
    family: endpoint.value.family!,
    port: endpoint.value.port!,
    cookieFile,
  });
}

/** Parses a BalancerSourceAddresses value; `0` is the empty list (the system chooses). */
export function parseSourceAddressesLine(value: string): Result<SourceAddressRange[], string> {
  const text = value.trim();
  if (text === '0') return ok([]);
  const ranges: SourceAddressRange[] = [];
  let total = 0;
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const range = parseRange(item);
    if (!range.ok) return range;
    total += range.value.count;
    if (total > MAX_SOURCE_ADDRESSES_PER_LINE) {
      return err(
        `BalancerSourceAddresses names more than ${MAX_SOURCE_ADDRESSES_PER_LINE} addresses on one line`,
      );
    }
    ranges.push({ first: range.value.first, last: range.value.last });
  }
  if (ranges.length === 0) return err('BalancerSourceAddresses needs at least one address, or 0');
  return ok(ranges);
}

/** How many addresses a range holds. */
export function sourceRangeSize(range: SourceAddressRange): number {
  return ipv4Number(range.last)! - ipv4Number(range.first)! + 1;
}

const LOOPBACK_FIRST = 0x7f000000;
const LOOPBACK_LAST = 0x7fffffff;

function parseRange(item: string): Result<{ first: string; last: string; count: number }, string> {
  let first: number | undefined;
  let last: number | undefined;
  const slash = item.indexOf('/');
  const dash = item.indexOf('-');
  if (slash >= 0) {
    const base = ipv4Number(item.slice(0, slash));
    const bitsText = item.slice(slash + 1);
    if (base === undefined) return err(`"${item.slice(0, slash)}" is not an IPv4 address`);
    if (!/^\d{1,2}$/.test(bitsText) || Number(bitsText) > 32)
      return err(`"/${bitsText}" is not a prefix length`);
    const bits = Number(bitsText);
    const size = 2 ** (32 - bits);
    first = base - (base % size);
    last = first + size - 1;
  } else if (dash >= 0) {
    first = ipv4Number(item.slice(0, dash));
    last = ipv4Number(item.slice(dash + 1));
    if (first === undefined || last === undefined) return err(`"${item}" is not an IPv4 range FIRST-LAST`);
    if (last < first) return err(`range "${item}" ends before it starts`);
  } else {
    first = ipv4Number(item);
    if (first === undefined) return err(`"${item}" is not an IPv4 address, FIRST-LAST range or CIDR block`);
    last = first;
  }
  if (first < LOOPBACK_FIRST || last > LOOPBACK_LAST) {
    return err(
      `"${item}" is not inside 127.0.0.0/8: source addresses for the balancer's connections must be loopback addresses`,
    );
  }
  if (first === LOOPBACK_FIRST || last === LOOPBACK_LAST) {
    return err(`"${item}" includes 127.0.0.0 or 127.255.255.255, which cannot be a source address`);
  }
  const count = last - first + 1;
  if (count > MAX_SOURCE_ADDRESSES_PER_LINE) {
    return err(`"${item}" names ${count} addresses; at most ${MAX_SOURCE_ADDRESSES_PER_LINE} are useful`);
  }
  return ok({ first: ipv4Text(first), last: ipv4Text(last), count });
}

function ipv4Number(text: string): number | undefined {
  const ip = parseIpv4(text.trim());
  if (!ip) return undefined;
  const b = ip.bytes;
  return ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
}

function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}
