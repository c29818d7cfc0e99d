/**
 * NETINFO cell body (tor-spec 4.5): the sender's clock, the address it sees
 * for the other side, and its own addresses.
 *
 *   TIME u32 | OTHERADDR | NMYADDR u8 | NMYADDR * MYADDR
 *   address = ATYPE u8 | ALEN u8 | AVAL [ALEN]
 *
 * "If the ALEN value is wrong for the given ATYPE value, then the provided
 * address should be ignored." Such addresses, and addresses of unknown
 * types, decode as `unrecognized` with their bytes kept, so they re-encode
 * unchanged and the caller can skip them.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { InternalError, IPV4_LENGTH, IPV6_LENGTH, type IpAddress } from '@relayd/common';

/** ATYPE values of NETINFO addresses (tor-spec 4.5). */
export const NetinfoAddressType = {
  IPV4: 0x04,
  IPV6: 0x06,
} as const;

/** An address the receiver must ignore: an unknown ATYPE, or a known one with the wrong ALEN. */
export interface UnrecognizedNetinfoAddress {
  readonly family: 'unrecognized';
  readonly addressType: number;
  readonly value: Uint8Array;
}

export type NetinfoAddress = IpAddress | UnrecognizedNetinfoAddress;

export interface NetinfoMessage {
  readonly type: 'netinfo';
  /** Seconds since the Unix epoch; clients send 0. */
  readonly timestamp: number;
  /** The address the sender sees for the receiver. */
  readonly otherAddress: NetinfoAddress;
  /** The sender's own addresses. */
  readonly myAddresses: readonly NetinfoAddress[];
}

export function readNetinfoAddress(r: ByteReader): NetinfoAddress {
  const addressType = r.u8('address type');
  const length = r.u8('address length');
  const value = r.take(length, 'address value').slice();
  if (addressType === NetinfoAddressType.IPV4 && length === IPV4_LENGTH)
    return { family: 'ipv4', bytes: value };
  if (addressType === NetinfoAddressType.IPV6 && length === IPV6_LENGTH)
    return { family: 'ipv6', bytes: value };
  return { family: 'unrecognized', addressType, value };
}

export function writeNetinfoAddress(w: ByteWriter, address: NetinfoAddress): void {
  switch (address.family) {
    case 'ipv4':
      if (address.bytes.length !== IPV4_LENGTH) throw new InternalError('IPv4 address must be 4 bytes');
      w.u8(NetinfoAddressType.IPV4).u8(IPV4_LENGTH).bytes(address.bytes);
      return;
    case 'ipv6':
      if (address.bytes.length !== IPV6_LENGTH) throw new InternalError('IPv6 address must be 16 bytes');
      w.u8(NetinfoAddressType.IPV6).u8(IPV6_LENGTH).bytes(address.bytes);
      return;
    case 'unrecognized':
      if (
        (address.addressType === NetinfoAddressType.IPV4 && address.value.length === IPV4_LENGTH) ||
        (address.addressType === NetinfoAddressType.IPV6 && address.value.length === IPV6_LENGTH)
      ) {
        // It would decode as an IP address, not as itself.
        throw new InternalError('a well-formed IP address must be encoded as ipv4/ipv6, not unrecognized');
      }
      w.u8(address.addressType).nested8((inner) => inner.bytes(address.value));
      return;
  }
}

export function readNetinfo(r: ByteReader): NetinfoMessage {
  const timestamp = r.u32('timestamp');
  const otherAddress = readNetinfoAddress(r);
  const n = r.u8('number of my addresses');
  const myAddresses: NetinfoAddress[] = [];
  for (let i = 0; i < n; i++) myAddresses.push(readNetinfoAddress(r));
  // "Implementations MUST ignore unexpected bytes at the end of the cell."
  return { type: 'netinfo', timestamp, otherAddress, myAddresses };
}

export function writeNetinfo(w: ByteWriter, message: NetinfoMessage): void {
  if (message.myAddresses.length > 0xff) throw new InternalError('too many NETINFO addresses');
  w.u32(message.timestamp);
  writeNetinfoAddress(w, message.otherAddress);
  w.u8(message.myAddresses.length);
  for (const a of message.myAddresses) writeNetinfoAddress(w, a);
}
