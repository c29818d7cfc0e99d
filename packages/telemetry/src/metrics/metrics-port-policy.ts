/**
 * Who may scrape the MetricsPort: the configuration's `MetricsPortPolicy`
 * (config's parsed `AddressPolicyRule`s) evaluated on the address of the
 * connecting peer, as C tor's `metrics_policy_permits_address` does: the
 * first rule whose target matches decides; ports are ignored; an address no
 * rule matches is refused.
 *
 * Without any `MetricsPortPolicy` line relayd allows loopback peers only
 * (DEFAULT_METRICS_PORT_POLICY): a MetricsPort on 127.0.0.1 then works as
 * configured, and nothing off the machine can read it. C tor refuses every
 * peer in that case.
 *
 * tor's `private` target is matched by common's `isInternalAddress`
 * (loopback, RFC 1918, link-local, carrier-grade NAT, unique-local,
 * site-local, unspecified); tor also counts the relay's own public
 * addresses as private, which relayd does not.
 */
import { type IpAddress, type IpTextOptions, isInternalAddress, parseIpAddress } from '@relayd/common';
import type { AddressPolicyRule } from '@relayd/config';

/** Loopback in both families, everything else refused. */
export const DEFAULT_METRICS_PORT_POLICY: readonly AddressPolicyRule[] = [
  {
    action: 'accept',
    target: { kind: 'network', family: 4, address: '127.0.0.0', maskBits: 8 },
    portMin: 1,
    portMax: 65535,
  },
  {
    action: 'accept',
    target: { kind: 'network', family: 6, address: '::1', maskBits: 128 },
    portMin: 1,
    portMax: 65535,
  },
  { action: 'reject', target: { kind: 'wildcard', family: null }, portMin: 1, portMax: 65535 },
];

/** Sockets report IPv4-mapped peers as "::ffff:127.0.0.1"; torrc may write IPv4 parts with leading zeros. */
const ADDRESS_TEXT: IpTextOptions = { allowIpv4Suffix: true, allowLeadingZeros: true };

/** Reads a peer address as a socket reports it; IPv4-mapped IPv6 ("::ffff:127.0.0.1") becomes IPv4. */
export function peerIpAddress(text: string): IpAddress | undefined {
  const ip = parseIpAddress(text, ADDRESS_TEXT);
  if (ip?.family !== 'ipv6') return ip;
  const b = ip.bytes;
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return mapped ? { family: 'ipv4', bytes: b.slice(12) } : ip;
}

function inNetwork(ip: IpAddress, network: string, maskBits: number): boolean {
  const net = parseIpAddress(network, ADDRESS_TEXT);
  if (!net || net.family !== ip.family) return false;
  for (let bit = 0; bit < maskBits; bit += 8) {
    const bits = Math.min(8, maskBits - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    const i = bit / 8;
    if ((ip.bytes[i]! & mask) !== (net.bytes[i]! & mask)) return false;
  }
  return true;
}

function matches(rule: AddressPolicyRule, ip: IpAddress): boolean {
  const target = rule.target;
  switch (target.kind) {
    case 'wildcard':
      return target.family === null || (target.family === 4) === (ip.family === 'ipv4');
    case 'private':
      return isInternalAddress(ip);
    case 'network':
      return inNetwork(ip, target.address, target.maskBits);
  }
}

/**
 * Whether `peerAddress` may scrape under `rules` (an empty list means
 * DEFAULT_METRICS_PORT_POLICY). Text that is not an IP address is refused.
 */
export function metricsPortPolicyAllows(rules: readonly AddressPolicyRule[], peerAddress: string): boolean {
  const ip = peerIpAddress(peerAddress);
  if (!ip) return false;
  for (const rule of rules.length > 0 ? rules : DEFAULT_METRICS_PORT_POLICY) {
    if (matches(rule, ip)) return rule.action === 'accept';
  }
  return false;
}

/** The policy as a predicate, for the MetricsPort server's `isAllowed`. */
export function metricsPortAccess(rules: readonly AddressPolicyRule[]): (peerAddress: string) => boolean {
  const copy = [...rules];
  return (peerAddress) => metricsPortPolicyAllows(copy, peerAddress);
}
