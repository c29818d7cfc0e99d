/**
 * IP addresses, host names and `address:port` values as torrc writes them:
 * IPv4 dotted quads, IPv6 in brackets when a port may follow
 * (`[2001:db8::1]:9001`), and host names where tor would resolve one.
 * Pure string checks; nothing here resolves a name or opens a socket.
 */
import {
  err,
  formatIpAddress,
  type IpTextOptions,
  isInternalAddress as isInternalIp,
  ok,
  parseIpAddress as parseIpText,
  parseIpv4,
  parseIpv6,
  type Result,
} from '@relayd/common';

export type IpFamily = 4 | 6;

/**
 * torrc addresses are read leniently: IPv4 parts with leading zeros (read as
 * decimal) and IPv6 ending in a dotted quad (::ffff:192.0.2.1).
 */
const TORRC_IP_TEXT: IpTextOptions = { allowLeadingZeros: true, allowIpv4Suffix: true };

/** Parses an IPv4 dotted quad (each part 1–3 decimal digits, at most 255). Returns the 4 bytes. */
export function parseIPv4Bytes(text: string): Uint8Array | undefined {
  return parseIpv4(text, TORRC_IP_TEXT)?.bytes;
}

/** Parses an IPv6 address without brackets or zone (RFC 4291 text forms, with an optional IPv4 tail). */
export function parseIPv6Bytes(text: string): Uint8Array | undefined {
  return parseIpv6(text, TORRC_IP_TEXT)?.bytes;
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

/**
 * Parses an IPv4 address, or an IPv6 address with or without brackets.
 * IPv4 comes back canonical; IPv6 keeps the form it was written in, lower-cased.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  const ip = parseIpText(text, TORRC_IP_TEXT);
  if (!ip) return undefined;
  if (ip.family === 'ipv4') return { family: 4, address: formatIpAddress(ip) };
  const inner = text.startsWith('[') ? text.slice(1, -1) : text;
  return { family: 6, address: inner.toLowerCase() };
}

/**
 * True for loopback, RFC 1918, link-local, carrier-grade NAT, unique-local,
 * site-local and unspecified addresses (tor: `tor_addr_is_internal`).
 */
export function isInternalAddress(ip: IpAddress): boolean {
  const parsed =
    ip.family === 4 ? parseIpv4(ip.address, TORRC_IP_TEXT) : parseIpv6(ip.address, TORRC_IP_TEXT);
  return parsed !== undefined && isInternalIp(parsed);
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
