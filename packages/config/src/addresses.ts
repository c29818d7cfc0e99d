/**
 * IP addresses, host names and `address:port` values as torrc writes them:
 * IPv4 dotted quads, IPv6 in brackets when a port may follow
 * (`[2001:db8::1]:9001`), and host names where tor would resolve one.
 * Pure string checks; nothing here resolves a name or opens a socket.
 */
import { err, ok, type Result } from '@relayd/common';

export type IpFamily = 4 | 6;

/** Parses an IPv4 dotted quad (each part 1–3 decimal digits, at most 255). Returns the 4 bytes. */
export function parseIPv4Bytes(text: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return Uint8Array.from(parts);
}

/** Parses an IPv6 address without brackets or zone (RFC 4291 text forms, with an optional IPv4 tail). */
export function parseIPv6Bytes(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4Bytes(piece);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // An IPv4 tail is only allowed at the very end.
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;
  const groups =
    halves.length === 2
      ? head.length + tail.length <= 7
        ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
        : undefined
      : head.length === 8
        ? head
        : undefined;
  if (!groups) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** A syntactically valid DNS host name (letters, digits, hyphens, dots; labels of 1–63 characters). */
export function isHostname(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const labels = text.replace(/\.$/, '').split('.');
  return (
    labels.every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l)) &&
    // A name made only of digits and dots is a malformed IPv4 address, not a host.
    !/^[\d.]+$/.test(text)
  );
}

/** An IP address literal, with its family. IPv6 is kept without brackets, lower-cased. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly address: string;
}

/** Parses an IPv4 address, or an IPv6 address with or without brackets. */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (parseIPv4Bytes(text)) return { family: 4, address: text.split('.').map(Number).join('.') };
  const inner = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (parseIPv6Bytes(inner)) return { family: 6, address: inner.toLowerCase() };
  return undefined;
}

/**
 * True for loopback, RFC 1918, link-local, carrier-grade NAT, unique-local
 * and unspecified addresses (tor: `tor_addr_is_internal`).
 */
export function isInternalAddress(ip: IpAddress): boolean {
  if (ip.family === 4) {
    const [a, b] = parseIPv4Bytes(ip.address)!;
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b! >= 16 && b! <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b! >= 64 && b! <= 127)
    );
  }
  const bytes = parseIPv6Bytes(ip.address)!;
  const isZeroUpTo = (n: number) => bytes.subarray(0, n).every((x) => x === 0);
  if (isZeroUpTo(15) && (bytes[15] === 0 || bytes[15] === 1)) return true;
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return true;
  if ((bytes[0]! & 0xfe) === 0xfc) return true;
  if (isZeroUpTo(10) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return isInternalAddress({ family: 4, address: Array.from(bytes.subarray(12)).join('.') });
  }
  return false;
}

/** Renders an address for an `address:port` string: IPv6 in brackets. */
export function formatHostPort(address: string, family: IpFamily | null, port: number): string {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Parses a decimal TCP port in `min`..65535. */
export function parsePort(text: string, min = 1): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= 65535 ? n : undefined;
}

export interface HostPort {
  /** An IP literal (IPv6 without brackets) or, where allowed, a host name. */
  readonly address: string;
  /** null for a host name. */
  readonly family: IpFamily | null;
  /** null when the port was optional and absent. */
  readonly port: number | null;
}

export interface HostPortRules {
  /** The port must be present. */
  readonly portRequired: boolean;
  /** Accept a host name where an IP address is expected. */
  readonly allowHostname?: boolean;
}

/**
 * Parses `ADDRESS[:PORT]` where ADDRESS is IPv4, `[IPv6]` or (if allowed) a
 * host name. A bare IPv6 address is accepted only when no port follows,
 * since `2001:db8::1:9001` is ambiguous.
 */
export function parseHostPort(text: string, rules: HostPortRules): Result<HostPort, string> {
  let hostText: string;
  let portText: string | null = null;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return err(`missing ']' in "${text}"`);
    hostText = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return err(`unexpected text after ']' in "${text}"`);
      portText = rest.slice(1);
    }
  } else {
    const colons = text.split(':').length - 1;
    if (colons === 1) {
      const i = text.indexOf(':');
      hostText = text.slice(0, i);
      portText = text.slice(i + 1);
    } else {
      hostText = text;
      if (colons > 1 && !parseIPv6Bytes(text))
        return err(`"${text}" is not an address (write IPv6 as [address]:port)`);
    }
  }
  let address: string;
  let family: IpFamily | null;
  const ip = parseIpAddress(hostText);
  if (ip) {
    address = ip.address;
    family = ip.family;
  } else if (rules.allowHostname && isHostname(hostText)) {
    address = hostText.toLowerCase();
    family = null;
  } else {
    return err(`"${hostText}" is not an IP address`);
  }
  if (portText === null) {
    return rules.portRequired ? err(`"${text}" has no port`) : ok({ address, family, port: null });
  }
  const port = parsePort(portText);
  if (port === undefined) return err(`"${portText}" is not a port number (1-65535)`);
  return ok({ address, family, port });
}
