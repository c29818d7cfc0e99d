/**
 * Full exit-policy lines of server descriptors ("accept"/"reject"
 * exitpattern, dir-spec 2.1.1 and 2.1.3). A bridge publishes only
 * "reject *:*"; the parser checks the pattern's shape so a malformed policy
 * is refused, as C tor refuses it, without interpreting it further.
 */
import { parseIPv4, parseIPv6 } from './values.js';

/** One policy line: the action and its pattern as written ("addrspec:portspec"). */
export interface ExitPolicyRule {
  readonly accept: boolean;
  readonly pattern: string;
}

function isPort(text: string): boolean {
  if (!/^\d{1,5}$/.test(text)) return false;
  const v = Number(text);
  // tor 0.4.9.11 refuses port 0 (bug 41292).
  return v >= 1 && v <= 65535;
}

function isPortSpec(text: string): boolean {
  if (text === '*') return true;
  const dash = text.indexOf('-');
  if (dash < 0) return isPort(text);
  const lo = text.slice(0, dash);
  const hi = text.slice(dash + 1);
  return isPort(lo) && isPort(hi) && Number(lo) <= Number(hi);
}

function isAddrSpec(text: string): boolean {
  if (text === '*' || text === '*4' || text === '*6' || text === 'private') return true;
  const v6 = /^\[([^\]]+)\](?:\/(\d{1,3}))?$/.exec(text);
  if (v6) return parseIPv6(v6[1]!) !== undefined && (v6[2] === undefined || Number(v6[2]) <= 128);
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  if (!parseIPv4(addr)) return false;
  if (slash < 0) return true;
  const mask = text.slice(slash + 1);
  return /^\d{1,2}$/.test(mask) ? Number(mask) <= 32 : parseIPv4(mask) !== undefined;
}

/** Parses the pattern of an "accept"/"reject" line; undefined if malformed. */
export function parseExitPolicyRule(
  keyword: 'accept' | 'reject',
  pattern: string,
): ExitPolicyRule | undefined {
  const colon = pattern.lastIndexOf(':');
  if (colon < 0 || /\s/.test(pattern)) return undefined;
  if (!isAddrSpec(pattern.slice(0, colon)) || !isPortSpec(pattern.slice(colon + 1))) return undefined;
  return { accept: keyword === 'accept', pattern };
}

/** Formats a rule as a descriptor line (without the newline). */
export function formatExitPolicyRule(rule: ExitPolicyRule): string {
  return `${rule.accept ? 'accept' : 'reject'} ${rule.pattern}`;
}
