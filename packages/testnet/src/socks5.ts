/**
 * SOCKS5 wire format (RFC 1928), client side, no authentication: the greeting,
 * the CONNECT request, and the two replies a client reads. Pure functions over
 * bytes; the decoders are total and report `incomplete` when a stream has not
 * delivered the whole reply yet, with the number of bytes consumed on success
 * so that data following the reply is not lost.
 */
import { ByteWriter, DecodeError, decodeWith, err, ok, type Result, utf8 } from '@relayd/common';

export const SOCKS_VERSION = 5;

/** RFC 1928 §3 METHOD values. */
export const SOCKS5_METHOD = {
  noAuthentication: 0x00,
  gssapi: 0x01,
  usernamePassword: 0x02,
  noAcceptable: 0xff,
} as const;

/** RFC 1928 §4 CMD values. */
export const SOCKS5_COMMAND = { connect: 0x01, bind: 0x02, udpAssociate: 0x03 } as const;

/** RFC 1928 §4/§5 ATYP values. */
export const SOCKS5_ADDRESS_TYPE = { ipv4: 0x01, domainName: 0x03, ipv6: 0x04 } as const;

/** RFC 1928 §6 REP values. */
export const SOCKS5_REPLY = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowedByRuleset: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

const REPLY_TEXT: Record<number, string> = {
  0: 'succeeded',
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

/** A human-readable name for a REP code (tor also uses these for stream END reasons). */
export function describeSocks5Reply(code: number): string {
  return REPLY_TEXT[code] ?? `unknown reply 0x${code.toString(16).padStart(2, '0')}`;
}

/** Where to connect: an IPv4 or IPv6 literal, or a domain name the proxy resolves. */
export interface Socks5Target {
  readonly host: string;
  readonly port: number;
}

/** A decoded reply and how many input bytes it took. */
export interface Decoded<T> {
  readonly value: T;
  readonly length: number;
}

export interface Socks5ConnectReply {
  readonly reply: number;
  readonly boundHost: string;
  readonly boundPort: number;
}

/** Client greeting offering only "no authentication": 05 01 00. */
export function encodeSocks5Greeting(): Uint8Array {
  return new ByteWriter(3).u8(SOCKS_VERSION).u8(1).u8(SOCKS5_METHOD.noAuthentication).finish();
}

/** The server's method selection: VER METHOD (2 bytes). */
export function decodeSocks5MethodSelection(bytes: Uint8Array): Result<Decoded<number>, DecodeError> {
  return decodeWith(bytes, 'SOCKS5 method selection', (r) => {
    const version = r.u8('version');
    if (version !== SOCKS_VERSION) r.fail(`version ${version}, expected 5`);
    return { value: r.u8('method'), length: r.consumed };
  });
}

/** CONNECT request: VER CMD RSV ATYP DST.ADDR DST.PORT. */
export function encodeSocks5Connect(target: Socks5Target): Result<Uint8Array, DecodeError> {
  if (!Number.isInteger(target.port) || target.port < 0 || target.port > 0xffff) {
    return malformed('SOCKS5 CONNECT request', `port ${target.port} out of range`);
  }
  const w = new ByteWriter(32).u8(SOCKS_VERSION).u8(SOCKS5_COMMAND.connect).u8(0);
  const ipv4 = parseIpv4(target.host);
  const ipv6 = ipv4 ? undefined : parseIpv6(target.host);
  if (ipv4) {
    w.u8(SOCKS5_ADDRESS_TYPE.ipv4).bytes(ipv4);
  } else if (ipv6) {
    w.u8(SOCKS5_ADDRESS_TYPE.ipv6).bytes(ipv6);
  } else {
    const name = utf8(target.host);
    if (name.length === 0 || name.length > 255) {
      return malformed('SOCKS5 CONNECT request', `domain name must be 1-255 bytes, got ${name.length}`);
    }
    w.u8(SOCKS5_ADDRESS_TYPE.domainName).u8(name.length).bytes(name);
  }
  return ok(w.u16(target.port).finish());
}

/** CONNECT reply: VER REP RSV ATYP BND.ADDR BND.PORT. */
export function decodeSocks5ConnectReply(
  bytes: Uint8Array,
): Result<Decoded<Socks5ConnectReply>, DecodeError> {
  return decodeWith(bytes, 'SOCKS5 CONNECT reply', (r) => {
    const version = r.u8('version');
    if (version !== SOCKS_VERSION) r.fail(`version ${version}, expected 5`);
    const reply = r.u8('reply');
    r.u8('reserved');
    const addressType = r.u8('address type');
    let boundHost: string;
    switch (addressType) {
      case SOCKS5_ADDRESS_TYPE.ipv4:
        boundHost = [...r.take(4, 'IPv4 address')].join('.');
        break;
      case SOCKS5_ADDRESS_TYPE.ipv6:
        boundHost = formatIpv6(r.take(16, 'IPv6 address'));
        break;
      case SOCKS5_ADDRESS_TYPE.domainName: {
        const length = r.u8('domain name length');
        boundHost = new TextDecoder().decode(r.take(length, 'domain name'));
        break;
      }
      default:
        return r.fail(`unknown address type ${addressType}`);
    }
    const boundPort = r.u16('port');
    return { value: { reply, boundHost, boundPort }, length: r.consumed };
  });
}

function malformed(object: string, detail: string): Result<never, DecodeError> {
  return err(new DecodeError('malformed', object, detail));
}

function parseIpv4(host: string): Uint8Array | undefined {
  const parts = host.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** Parses an IPv6 literal (optionally in brackets); no embedded IPv4 form. */
function parseIpv6(text: string): Uint8Array | undefined {
  const host = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!host.includes(':') || !/^[0-9a-fA-F:]+$/.test(host)) return undefined;
  const halves = host.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const group = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    const n = Number.parseInt(group, 16);
    out[2 * i] = n >>> 8;
    out[2 * i + 1] = n & 0xff;
  }
  return out;
}

function formatIpv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}
