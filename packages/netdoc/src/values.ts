/**
 * Scalar values of directory documents: times, addresses, nicknames,
 * numbers and digests. Each parser returns undefined for anything that is
 * not exactly the form the spec gives; callers turn that into a NetDocError
 * with the line.
 */
import { formatIpAddress, type IpTextOptions, parseIpv4, parseIpv6, toHex } from '@relayd/common';
import { decodeBase64 } from './tokenizer.js';

/** Parses "YYYY-MM-DD HH:MM:SS" (UTC) into seconds since the epoch (dir-spec 2.1.1 "published"). */
export function parseIsoTime(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60)
    return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  // Reject days that do not exist in that month (Date.UTC would roll them over).
  if (new Date(ms).getUTCDate() !== day) return undefined;
  return ms / 1000 + (second === 60 ? 1 : 0);
}

/** Formats seconds since the epoch as "YYYY-MM-DD HH:MM:SS" (UTC). */
export function formatIsoTime(seconds: number): string {
  return new Date(Math.floor(seconds) * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

/** Parses a base-10 integer with no sign, spaces or other characters, within [min, max]. */
export function parseDecimal(text: string, min: number, max: number): number | undefined {
  if (!/^-?\d{1,16}$/.test(text) || (text.startsWith('-') && min >= 0)) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) return undefined;
  return value;
}

/**
 * Addresses in documents are read leniently: IPv4 parts with leading zeros
 * (read as decimal) and IPv6 ending in a dotted quad (::ffff:1.2.3.4, which
 * tor_inet_pton also accepts). What we write is always canonical.
 */
const DOCUMENT_IP_TEXT: IpTextOptions = { allowLeadingZeros: true, allowIpv4Suffix: true };

/** Parses a dotted-quad IPv4 address and returns it in canonical form. */
export function parseIPv4(text: string): string | undefined {
  const address = parseIpv4(text, DOCUMENT_IP_TEXT);
  return address && formatIpAddress(address);
}

/** Parses an IPv6 address (without brackets) into 16 bytes. */
export function parseIPv6(text: string): Uint8Array | undefined {
  return parseIpv6(text, DOCUMENT_IP_TEXT)?.bytes;
}

/** Formats 16 bytes as a compressed lower-case IPv6 address (RFC 5952). */
export function formatIPv6(bytes: Uint8Array): string {
  return formatIpAddress({ family: 'ipv6', bytes });
}

/** An address and TCP port, as in "or-address" and "a" lines. */
export interface AddressPort {
  readonly family: 4 | 6;
  /** Canonical text of the address (IPv6 without brackets). */
  readonly address: string;
  readonly port: number;
}

/** Parses "1.2.3.4:port" or "[v6]:port" (dir-spec 2.1.1 "or-address"); port 1..65535. */
export function parseAddressPort(text: string): AddressPort | undefined {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) {
    const bytes = parseIPv6(v6[1]!);
    const port = parseDecimal(v6[2]!, 1, 65535);
    if (!bytes || port === undefined) return undefined;
    return { family: 6, address: formatIPv6(bytes), port };
  }
  const v4 = /^([0-9.]+):(\d+)$/.exec(text);
  if (!v4) return undefined;
  const address = parseIPv4(v4[1]!);
  const port = parseDecimal(v4[2]!, 1, 65535);
  if (!address || port === undefined) return undefined;
  return { family: 4, address, port };
}

/** Formats an address and port as descriptors write it (IPv6 in brackets). */
export function formatAddressPort(ap: AddressPort): string {
  return ap.family === 6 ? `[${ap.address}]:${ap.port}` : `${ap.address}:${ap.port}`;
}

/** A relay nickname: 1 to 19 characters from [A-Za-z0-9] (dir-spec 2.1.3). */
export function isValidNickname(text: string): boolean {
  return /^[A-Za-z0-9]{1,19}$/.test(text);
}

/** Decodes exactly `bytes` bytes of hex (either case). */
export function parseHexDigest(text: string, bytes = 20): Uint8Array | undefined {
  if (text.length !== 2 * bytes || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Decodes base64 (padding optional) that must come to exactly `bytes` bytes. */
export function parseBase64Exact(text: string, bytes: number): Uint8Array | undefined {
  const out = decodeBase64(text);
  return out && out.length === bytes ? out : undefined;
}

/** Upper-case hex, as fingerprints and digests are written. */
export function toHexUpper(bytes: Uint8Array): string {
  return toHex(bytes).toUpperCase();
}

/** A fingerprint as the "fingerprint" line writes it: upper-case hex, a space after every 4 digits. */
export function formatSpacedFingerprint(digest: Uint8Array): string {
  return toHexUpper(digest).replace(/(.{4})(?!$)/g, '$1 ');
}

/** Base64 of `bytes` in 64-column lines, each ending in a newline, as tor writes objects. */
export function base64Lines(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return out;
}

/** A PEM-style object block with the given label. */
export function formatObject(label: string, data: Uint8Array): string {
  return `-----BEGIN ${label}-----\n${base64Lines(data)}-----END ${label}-----\n`;
}
