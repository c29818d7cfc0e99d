/**
 * Which addresses EXTEND2 may not reach: C tor's tor_addr_is_internal()
 * (lib/net/address.c), used with ExtendAllowPrivateAddresses. Pure.
 *
 *   IPv4: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16
 *   IPv6: fc00::/7, fe80::/10, fec0::/10, ::/127 (:: and ::1), and
 *         IPv4-mapped ::ffff:a.b.c.d by the IPv4 rules
 */
import type { IpAddress } from '@relayd/cells';

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

/** True for addresses tor treats as private, loopback, link-local or unspecified. */
export function isInternalAddress(address: IpAddress): boolean {
  const b = address.bytes;
  if (address.family === 'ipv4') return isInternalIpv4(b);
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return isInternalIpv4(b.subarray(12));
  if ((b[0]! & 0xfe) === 0xfc) return true;
  if (b[0] === 0xfe && ((b[1]! & 0xc0) === 0x80 || (b[1]! & 0xc0) === 0xc0)) return true;
  return b.subarray(0, 15).every((x) => x === 0) && (b[15]! & 0xfe) === 0;
}

/** True for the all-zero address, which tor never extends to (tor_addr_port_is_valid). */
export function isUnspecifiedAddress(address: IpAddress): boolean {
  return address.bytes.every((x) => x === 0);
}
