/**
 * IP addresses as they travel inside cells: raw network-order bytes tagged
 * with their family (NETINFO, CONNECTED, END, link specifiers).
 *
 * Owns the typed address values and their text form. It refuses to guess:
 * parsing accepts only dotted-quad IPv4 and RFC 4291 IPv6 text (no zone ids,
 * no embedded IPv4 tail), so a string either maps to exactly one address or
 * to `undefined`.
 */

export const IPV4_LENGTH = 4;
export const IPV6_LENGTH = 16;

export interface Ipv4Address {
  readonly family: 'ipv4';
  /** 4 bytes, network order. */
  readonly bytes: Uint8Array;
}

export interface Ipv6Address {
  readonly family: 'ipv6';
  /** 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

export type IpAddress = Ipv4Address | Ipv6Address;

/** Wraps 4 raw bytes (copied) as an IPv4 address. Returns undefined for any other length. */
export function ipv4FromBytes(bytes: Uint8Array): Ipv4Address | undefined {
  return bytes.length === IPV4_LENGTH ? { family: 'ipv4', bytes: bytes.slice() } : undefined;
}

/** Wraps 16 raw bytes (copied) as an IPv6 address. Returns undefined for any other length. */
export function ipv6FromBytes(bytes: Uint8Array): Ipv6Address | undefined {
  return bytes.length === IPV6_LENGTH ? { family: 'ipv6', bytes: bytes.slice() } : undefined;
}

/** Formats an address as dotted-quad or as RFC 5952 compressed lower-case IPv6. */
export function formatIpAddress(address: IpAddress): string {
  const b = address.bytes;
  if (address.family === 'ipv4') return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses dotted-quad IPv4 or IPv6 text (optionally in [brackets]). Returns undefined if it is neither. */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (text.startsWith('[') && text.endsWith(']')) return parseIpv6(text.slice(1, -1));
  if (text.includes(':')) return parseIpv6(text);
  return parseIpv4(text);
}

function parseIpv4(text: string): Ipv4Address | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    // Leading zeros are refused: some parsers read them as octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return { family: 'ipv4', bytes };
}

function parseIpv6(text: string): Ipv6Address | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const compressed = halves.length === 2;
  const explicit = head.length + tail.length;
  if (compressed ? explicit > 7 : explicit !== 8) return undefined;
  const groups = [...head, ...new Array<number>(8 - explicit).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >>> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { family: 'ipv6', bytes };
}
