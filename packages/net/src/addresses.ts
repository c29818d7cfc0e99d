/**
 * Socket addresses as the link handshake wants them: typed IP addresses for
 * NETINFO, with IPv4-mapped IPv6 addresses ("::ffff:1.2.3.4", what a
 * dual-stack listener reports for IPv4 peers) turned back into IPv4.
 */
import { type IpAddress, parseIpAddress } from '@relayd/cells';

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The plain form of a socket's address text: IPv4-mapped IPv6 becomes dotted-quad. */
export function normalizeAddressText(address: string): string {
  const mapped = IPV4_MAPPED.exec(address);
  return mapped ? mapped[1]! : address;
}

/** Parses socket address text, or returns undefined (a zone-scoped or unknown address). */
export function socketIpAddress(address: string | undefined): IpAddress | undefined {
  if (!address) return undefined;
  return parseIpAddress(normalizeAddressText(address));
}

/** 0.0.0.0: what NETINFO says when we do not know the peer's address. */
export const UNKNOWN_IPV4: IpAddress = Object.freeze({ family: 'ipv4', bytes: new Uint8Array(4) });

/** Whether an address is a wildcard ("0.0.0.0", "::") rather than one of ours. */
export function isWildcardAddress(address: IpAddress): boolean {
  return address.bytes.every((b) => b === 0);
}
