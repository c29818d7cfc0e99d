/**
 * IP addresses as raw network-order bytes tagged with their family: the one
 * parser, formatter and classifier every layer uses (cells on the wire,
 * directory documents, torrc values, EXTEND2 policy).
 *
 * Parsing refuses to guess: by default it accepts only dotted-quad IPv4
 * without leading zeros and RFC 4291 IPv6 groups (no zone ids, no dotted-quad
 * tail), so a string maps to exactly one address or to `undefined`. Callers
 * that read text other software wrote can widen that with `IpTextOptions`.
 * Formatting is canonical: dotted quad, and RFC 5952 lower-case IPv6.
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

/** Text forms accepted beyond the strict default. */
export interface IpTextOptions {
  /**
   * Read IPv4 parts with leading zeros as decimal ("010" is 10). Refused by
   * default: some parsers read them as octal, so such text is ambiguous.
   */
  readonly allowLeadingZeros?: boolean;
  /** Accept IPv6 text ending in a dotted quad (RFC 4291 2.2 form 3, "::ffff:192.0.2.1"). */
  readonly allowIpv4Suffix?: boolean;
}

const STRICT: IpTextOptions = {};

/** Wraps 4 raw bytes (copied) as an IPv4 address. Returns undefined for any other length. */
export function ipv4FromBytes(bytes: Uint8Array): Ipv4Address | undefined {
  return bytes.length === IPV4_LENGTH ? { family: 'ipv4', bytes: bytes.slice() } : undefined;
}

/** Wraps 16 raw bytes (copied) as an IPv6 address. Returns undefined for any other length. */
export function ipv6FromBytes(bytes: Uint8Array): Ipv6Address | undefined {
  return bytes.length === IPV6_LENGTH ? { family: 'ipv6', bytes: bytes.slice() } : undefined;
}

/** Parses dotted-quad IPv4 or IPv6 text (optionally in [brackets]). Returns undefined if it is neither. */
export function parseIpAddress(text: string, options: IpTextOptions = STRICT): IpAddress | undefined {
  if (text.startsWith('[') && text.endsWith(']')) return parseIpv6(text.slice(1, -1), options);
  if (text.includes(':')) return parseIpv6(text, options);
  return parseIpv4(text, options);
}

/** Parses a dotted-quad IPv4 address: four decimal parts, each at most 255. */
export function parseIpv4(text: string, options: IpTextOptions = STRICT): Ipv4Address | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const partForm = options.allowLeadingZeros ? /^[0-9]{1,3}$/ : /^(0|[1-9][0-9]{0,2})$/;
  const bytes = new Uint8Array(IPV4_LENGTH);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!partForm.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return { family: 'ipv4', bytes };
}

/** Parses IPv6 text without brackets: eight groups of 1–4 hex digits, one "::" standing for one or more zero groups. */
export function parseIpv6(text: string, options: IpTextOptions = STRICT): Ipv6Address | undefined {
  let groupText = text;
  const suffix: number[] = [];
  if (options.allowIpv4Suffix) {
    const lastColon = text.lastIndexOf(':');
    const last = text.slice(lastColon + 1);
    if (lastColon >= 0 && last.includes('.')) {
      const quad = parseIpv4(last, options);
      if (!quad) return undefined;
      const q = quad.bytes;
      suffix.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      // Keep a "::" that ends right before the quad; drop a single separating ':'.
      const head = text.slice(0, lastColon + 1);
      groupText = head.endsWith('::') ? head : head.slice(0, -1);
    }
  }
  const halves = groupText.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const compressed = halves.length === 2;
  const explicit = head.length + tail.length + suffix.length;
  if (compressed ? explicit > 7 : explicit !== 8) return undefined;
  const groups = [...head, ...new Array<number>(8 - explicit).fill(0), ...tail, ...suffix];
  const bytes = new Uint8Array(IPV6_LENGTH);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >>> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { family: 'ipv6', bytes };
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const out: number[] = [];
  for (const g of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out.push(Number.parseInt(g, 16));
  }
  return out;
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

/**
 * True for addresses tor treats as private, loopback, link-local or
 * unspecified: C tor's tor_addr_is_internal() (lib/net/address.c).
 *
 *   IPv4: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16
 *   IPv6: fc00::/7, fe80::/10, fec0::/10, ::/127 (:: and ::1), and
 *         IPv4-mapped ::ffff:a.b.c.d by the IPv4 rules
 */
export function isInternalAddress(address: IpAddress): boolean {
  const b = address.bytes;
  if (address.family === 'ipv4') return isInternalIpv4(b);
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return isInternalIpv4(b.subarray(12));
  if ((b[0]! & 0xfe) === 0xfc) return true;
  if (b[0] === 0xfe && ((b[1]! & 0xc0) === 0x80 || (b[1]! & 0xc0) === 0xc0)) return true;
  return b.subarray(0, 15).every((x) => x === 0) && (b[15]! & 0xfe) === 0;
}

function isInternalIpv4(b: Uint8Array): boolean {
  const a0 = b[0]!;
  const a1 = b[1]!;
  return (
    a0 === 0 ||
    a0 === 10 ||
    a0 === 127 ||
    (a0 === 100 && (a1 & 0xc0) === 64) ||
    (a0 === 169 && a1 === 254) ||
    (a0 === 172 && (a1 & 0xf0) === 16) ||
    (a0 === 192 && a1 === 168)
  );
}

/** True for the all-zero address (0.0.0.0 or ::), which names no peer. */
export function isUnspecifiedAddress(address: IpAddress): boolean {
  return address.bytes.every((x) => x === 0);
}
