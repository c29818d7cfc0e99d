/**
 * Address policies as torrc writes them (tor: src/core/or/policies.c
 * `parse_addr_policy`, src/feature/dirparse/policy_parse.c): a line holds
 * comma-separated items `accept|reject|accept6|reject6 TARGET[:PORTS]` where
 * TARGET is `*`, `*4`, `*6`, `private`, an IPv4 address with an optional
 * `/bits` or `/dotted.mask`, or `[IPv6]` with an optional `/bits`.
 * relayd uses them for `MetricsPortPolicy`, where ports are ignored.
 */
import { err, ok, type Result } from '@relayd/common';
import { type IpFamily, parseIPv4Bytes, parseIPv6Bytes, parsePort } from './addresses.js';

export type PolicyTarget =
  /** `*` (family null: both), `*4` or `*6`. */
  | { readonly kind: 'wildcard'; readonly family: IpFamily | null }
  /** tor's `private`: loopback, RFC 1918, link-local and our own addresses, in both families. */
  | { readonly kind: 'private' }
  | {
      readonly kind: 'network';
      readonly family: IpFamily;
      readonly address: string;
      readonly maskBits: number;
    };

export interface AddressPolicyRule {
  readonly action: 'accept' | 'reject';
  readonly target: PolicyTarget;
  readonly portMin: number;
  readonly portMax: number;
}

export interface ParsedPolicyLine {
  readonly rules: AddressPolicyRule[];
  /** Items tor skips with a warning (accept6/reject6 with an IPv4 address). */
  readonly warnings: string[];
}

function parsePorts(text: string): { min: number; max: number } | undefined {
  if (text === '*') return { min: 1, max: 65535 };
  const dash = text.indexOf('-');
  if (dash < 0) {
    const p = parsePort(text);
    return p === undefined ? undefined : { min: p, max: p };
  }
  const lo = parsePort(text.slice(0, dash));
  const hi = parsePort(text.slice(dash + 1));
  return lo !== undefined && hi !== undefined && lo <= hi ? { min: lo, max: hi } : undefined;
}

/** Counts the leading one bits of a dotted IPv4 mask; undefined unless the ones are contiguous. */
function dottedMaskBits(text: string): number | undefined {
  const bytes = parseIPv4Bytes(text);
  if (!bytes) return undefined;
  const n = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  let bits = 0;
  while (bits < 32 && n & (0x80000000 >>> bits)) bits++;
  return n === (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0) ? bits : undefined;
}

function parseItem(item: string): Result<{ rule: AddressPolicyRule | null; warning?: string }, string> {
  const m = /^(accept6|reject6|accept|reject)\s+(\S+)$/i.exec(item);
  if (!m) return err(`"${item}" is not "accept|reject ADDRESS[/MASK][:PORTS]"`);
  const keyword = m[1]!.toLowerCase();
  const action = keyword.startsWith('accept') ? 'accept' : 'reject';
  const v6Only = keyword.endsWith('6');
  const spec = m[2]!;

  // Split off the ports: after the last ':' outside brackets.
  const close = spec.lastIndexOf(']');
  const colon = spec.indexOf(':', Math.max(close, 0));
  const addrPart = colon < 0 ? spec : spec.slice(0, colon);
  let ports = { min: 1, max: 65535 };
  if (colon >= 0) {
    const parsed = parsePorts(spec.slice(colon + 1));
    if (!parsed) return err(`bad port range in "${item}"`);
    ports = parsed;
  }

  const [addr, mask] = addrPart.split('/', 2) as [string, string | undefined];
  let target: PolicyTarget;
  if (addr === '*' || addr === '*4' || addr === '*6') {
    if (mask !== undefined) return err(`a wildcard takes no mask in "${item}"`);
    const family = addr === '*4' ? 4 : addr === '*6' || v6Only ? 6 : null;
    target = { kind: 'wildcard', family };
  } else if (addr.toLowerCase() === 'private') {
    if (mask !== undefined) return err(`"private" takes no mask in "${item}"`);
    target = { kind: 'private' };
  } else if (addr.startsWith('[') && addr.endsWith(']') && parseIPv6Bytes(addr.slice(1, -1))) {
    let maskBits = 128;
    if (mask !== undefined) {
      if (!/^\d{1,3}$/.test(mask) || Number(mask) > 128) return err(`bad IPv6 mask in "${item}"`);
      maskBits = Number(mask);
    }
    target = { kind: 'network', family: 6, address: addr.slice(1, -1).toLowerCase(), maskBits };
  } else if (parseIPv4Bytes(addr)) {
    let maskBits = 32;
    if (mask !== undefined) {
      const bits = /^\d{1,2}$/.test(mask) ? Number(mask) : dottedMaskBits(mask);
      if (bits === undefined || bits > 32) return err(`bad IPv4 mask in "${item}"`);
      maskBits = bits;
    }
    if (v6Only) {
      return ok({
        rule: null,
        warning: `IPv4 address in "${item}" with accept6/reject6 is ignored (use accept/reject for IPv4)`,
      });
    }
    target = { kind: 'network', family: 4, address: addr.split('.').map(Number).join('.'), maskBits };
  } else {
    return err(`"${addr}" is not *, *4, *6, private, an IPv4 address or a [bracketed] IPv6 address`);
  }
  return ok({ rule: { action, target, portMin: ports.min, portMax: ports.max } });
}

/** Parses one policy line (comma-separated items). */
export function parsePolicyLine(line: string): Result<ParsedPolicyLine, string> {
  const rules: AddressPolicyRule[] = [];
  const warnings: string[] = [];
  for (const raw of line.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const parsed = parseItem(item);
    if (!parsed.ok) return parsed;
    if (parsed.value.rule) rules.push(parsed.value.rule);
    if (parsed.value.warning) warnings.push(parsed.value.warning);
  }
  if (rules.length === 0 && warnings.length === 0) return err('empty policy');
  return ok({ rules, warnings });
}
