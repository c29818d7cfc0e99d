/**
 * RELAY_BEGIN body (tor-spec 6.2): "ADDRPORT [nul-terminated string]" then
 * an optional u32 FLAGS.
 *
 *   ADDRPORT = ADDRESS ':' PORT NUL, ADDRESS a hostname, dotted quad, or
 *   IPv6 literal in [brackets]; PORT decimal 1..65535.
 *
 * The address is kept as sent, without the brackets of an IPv6 literal and
 * without case folding ("Implementations MUST accept strings in any case").
 * An empty address is accepted: C tor clients send ":port" on onion-service
 * circuits. Resolving or policing the address is the exit's business.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { InternalError } from '@relayd/common';

/** FLAGS bits; bit 1 is the LSB (tor-spec 6.2). Bits 4..32 are reserved and ignored. */
export const BeginFlag = {
  IPV6_OK: 1 << 0,
  IPV4_NOT_OK: 1 << 1,
  IPV6_PREFERRED: 1 << 2,
} as const;

export interface BeginMessage {
  readonly type: 'begin';
  /** Hostname or address text, without IPv6 brackets. */
  readonly address: string;
  readonly port: number;
  /** 0 when absent; encoders omit a zero FLAGS field as C tor does. */
  readonly flags: number;
}

const PORT_TEXT = /^[0-9]{1,5}$/;

export function readBegin(r: ByteReader): BeginMessage {
  const rest = r.rest();
  const nul = rest.indexOf(0);
  if (nul < 0) r.fail('ADDRPORT has no NUL terminator');
  for (let i = 0; i < nul; i++) {
    const c = rest[i]!;
    if (c < 0x21 || c > 0x7e) r.fail(`ADDRPORT contains byte 0x${c.toString(16)}`);
  }
  const addrport = String.fromCharCode(...rest.subarray(0, nul));
  const colon = addrport.lastIndexOf(':');
  if (colon < 0) r.fail('ADDRPORT has no port');
  const host = addrport.slice(0, colon);
  const portText = addrport.slice(colon + 1);
  const port = Number(portText);
  if (!PORT_TEXT.test(portText) || port < 1 || port > 0xffff) r.fail(`bad port "${portText}"`);
  let address: string;
  if (host.startsWith('[')) {
    if (!host.endsWith(']') || host.length < 3) r.fail('unterminated IPv6 literal');
    address = host.slice(1, -1);
    if (!address.includes(':') || /[[\]]/.test(address)) r.fail('bad IPv6 literal');
  } else {
    if (/[[\]:]/.test(host)) r.fail('address has a colon or bracket outside an IPv6 literal');
    address = host;
  }
  // C tor reads FLAGS only when all four bytes are there; anything after them is ignored.
  const afterNul = rest.length - nul - 1;
  const flags =
    afterNul >= 4
      ? ((rest[nul + 1]! << 24) >>> 0) + ((rest[nul + 2]! << 16) | (rest[nul + 3]! << 8) | rest[nul + 4]!)
      : 0;
  return { type: 'begin', address, port, flags };
}

export function writeBegin(w: ByteWriter, message: BeginMessage): void {
  const { address, port, flags } = message;
  if (!/^[\x21-\x7e]*$/.test(address) || /[[\]]/.test(address)) {
    throw new InternalError(
      `BEGIN address is not printable ASCII without brackets: ${JSON.stringify(address)}`,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 0xffff)
    throw new InternalError(`BEGIN port out of range: ${port}`);
  const host = address.includes(':') ? `[${address}]` : address;
  const text = `${host}:${port}`;
  for (let i = 0; i < text.length; i++) w.u8(text.charCodeAt(i));
  w.u8(0);
  if (flags !== 0) w.u32(flags);
}
