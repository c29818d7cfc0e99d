/**
 * `address:port` text as the Extended ORPort and the pluggable-transport
 * protocol carry it: USERADDR bodies (ext-orport-spec 3.2.1), SMETHOD and
 * CMETHOD addresses, TOR_PT_* environment values (pt-spec 3.2, 3.3).
 *
 * Owns the `address:port` grammar (the IP text itself is common's
 * parseIpv4/parseIpv6) and the canonical text form. Accepted:
 *   1.2.3.4:5678         dotted-quad IPv4, no leading zeros in an octet
 *   [1:2::3:4]:5678      RFC 4291 IPv6 in brackets (a dotted-quad tail allowed)
 * Refused: host names, bare IPv6 without brackets, zone ids ("%eth0"),
 * ports with a sign, leading zeros or a value over 65535, surrounding
 * space and any non-ASCII or control byte. "Current Tor versions may accept
 * other formats, but this is a bug: transports MUST NOT send them."
 * (ext-orport-spec 3.2.1)
 *
 * Two spellings of the same IPv6 address map to the same canonical text
 * (RFC 5952: lower case, longest zero run compressed), so per-address
 * policies key on `address`, never on what the peer wrote.
 */
import {
  DecodeError,
  err,
  formatIpAddress,
  type IpAddress,
  type IpTextOptions,
  ok,
  parseIpv4,
  parseIpv6,
  type Result,
} from '@relayd/common';

/** An address and port. It is also an `IpAddress` (family and bytes), for common's address helpers. */
export type AddressPort = IpAddress & {
  /** Canonical text without brackets: dotted quad, or RFC 5952 IPv6. */
  readonly address: string;
  /** 0-65535. */
  readonly port: number;
};

// RFC 4291 2.2 form 3 ("::ffff:1.2.3.4") is valid IPv6 text a transport may
// print; leading zeros in IPv4 parts stay refused (octal or decimal?).
const IP_TEXT: IpTextOptions = { allowIpv4Suffix: true };

export interface AddressPortOptions {
  /**
   * Accept port 0. USERADDR does: C tor only warns about it
   * (ext_orport.c `connection_ext_or_handle_cmd_useraddr`) and the port is
   * statistics-only, so refusing it would drop clients for nothing. Listener
   * addresses (SMETHOD, CMETHOD) do not: a listener on port 0 is unreachable.
   */
  readonly allowZeroPort?: boolean;
}

/**
 * Parses `address:port` text. Returns a malformed DecodeError naming
 * `object` for anything outside the grammar above; never throws.
 */
export function parseAddressPort(
  text: string,
  object = 'address:port',
  options: AddressPortOptions = {},
): Result<AddressPort, DecodeError> {
  const fail = (detail: string) => err(new DecodeError('malformed', object, detail));
  if (text.length === 0) return fail('empty');
  if (text.length > 64) return fail(`${text.length} characters is longer than any address:port`);
  if (!/^[\x21-\x7e]+$/.test(text)) return fail('contains a byte that is not printable ASCII');

  let host: string;
  let portText: string;
  let family: 'ipv4' | 'ipv6';
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return fail('IPv6 address without a closing bracket');
    if (text[close + 1] !== ':') return fail('no ":port" after the IPv6 address');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    family = 'ipv6';
  } else {
    const colon = text.indexOf(':');
    if (colon < 0) return fail('no ":port"');
    if (text.indexOf(':', colon + 1) >= 0) return fail('an IPv6 address must be in [brackets]');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    family = 'ipv4';
  }

  const port = parsePort(portText);
  if (port === undefined) return fail(`bad port "${portText}"`);
  if (port === 0 && !options.allowZeroPort) return fail('port 0');

  const ip = family === 'ipv4' ? parseIpv4(host, IP_TEXT) : parseIpv6(host, IP_TEXT);
  if (ip === undefined) return fail(`"${host}" is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
  return ok({ family: ip.family, bytes: ip.bytes, address: formatIpAddress(ip), port });
}

/** Formats as `1.2.3.4:5678` or `[::1]:5678`, the only forms transports may send. */
export function formatAddressPort(value: AddressPort): string {
  return value.family === 'ipv4' ? `${value.address}:${value.port}` : `[${value.address}]:${value.port}`;
}

function parsePort(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 0xffff ? port : undefined;
}
