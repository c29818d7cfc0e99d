/**
 * Exit-policy summaries: the "p"/"p6" lines of microdescriptors and router
 * status entries and the "ipv6-policy" line of descriptors
 * (dir-spec 3.4.1 "p", 3.8.2).
 *
 *   ("accept" / "reject") SP PortList     PortList = PortOrRange ("," PortOrRange)*
 */

/** An inclusive port range, 1..65535. */
export interface PortRange {
  readonly low: number;
  readonly high: number;
}

/** A summary: the listed ports are the accepted ones (`accept`) or the rejected ones. */
export interface PortPolicySummary {
  readonly accept: boolean;
  readonly ranges: readonly PortRange[];
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const v = Number(text);
  return v >= 1 && v <= 65535 ? v : undefined;
}

/** Parses "accept 80,443" / "reject 1-65535"; undefined if malformed. */
export function parsePortPolicySummary(text: string): PortPolicySummary | undefined {
  const m = /^(accept|reject) (\S+)$/.exec(text.trim());
  if (!m) return undefined;
  const ranges: PortRange[] = [];
  for (const part of m[2]!.split(',')) {
    const dash = part.indexOf('-');
    const low = parsePort(dash < 0 ? part : part.slice(0, dash));
    const high = dash < 0 ? low : parsePort(part.slice(dash + 1));
    if (low === undefined || high === undefined || low > high) return undefined;
    ranges.push({ low, high });
  }
  return { accept: m[1] === 'accept', ranges };
}

/** Formats a summary as it appears on the wire. */
export function formatPortPolicySummary(summary: PortPolicySummary): string {
  const list = summary.ranges.map((r) => (r.low === r.high ? `${r.low}` : `${r.low}-${r.high}`)).join(',');
  return `${summary.accept ? 'accept' : 'reject'} ${list}`;
}

/** True iff the summary allows exits to `port`. */
export function summaryAllowsPort(summary: PortPolicySummary, port: number): boolean {
  const listed = summary.ranges.some((r) => port >= r.low && port <= r.high);
  return summary.accept ? listed : !listed;
}
