/**
 * Just enough of a consensus (dir-spec §3.4.1) to tell whether the private
 * network is ready: the validity times and, per router, its identity,
 * address, flags and exit-policy summary. It checks no signatures: it is read
 * from our own authorities to decide when to go on, never to trust anything.
 * Total: malformed text gives a DecodeError, never an exception.
 */
import { DecodeError, err, fromBase64, ok, type Result, toHex } from '@relayd/common';

export interface PolicySummary {
  /** `accept`: the listed ports are accepted, all others rejected; `reject`: the reverse. */
  readonly accept: boolean;
  readonly ranges: ReadonlyArray<readonly [low: number, high: number]>;
}

export interface ConsensusRouter {
  readonly nickname: string;
  /** Upper-case hex RSA identity fingerprint. */
  readonly fingerprint: string;
  readonly address: string;
  readonly orPort: number;
  readonly dirPort: number;
  readonly flags: readonly string[];
  /** From the `p` line (present in the ns flavour only). */
  readonly policy?: PolicySummary;
}

export interface ConsensusSummary {
  readonly flavor: 'ns' | 'microdesc';
  readonly validAfter: string;
  readonly freshUntil: string;
  readonly validUntil: string;
  readonly routers: readonly ConsensusRouter[];
}

const OBJECT = 'consensus';

export function parseConsensusSummary(text: string): Result<ConsensusSummary, DecodeError> {
  const lines = text.split('\n');
  if (!lines[0]?.startsWith('network-status-version 3')) {
    return malformed('does not start with "network-status-version 3"');
  }
  const flavor = lines[0].trim() === 'network-status-version 3 microdesc' ? 'microdesc' : 'ns';
  const times: Record<string, string> = {};
  const routers: ConsensusRouter[] = [];
  let current: { -readonly [K in keyof ConsensusRouter]: ConsensusRouter[K] } | undefined;
  for (const [index, line] of lines.entries()) {
    const fields = line.trim().split(/\s+/);
    const keyword = fields[0];
    if (keyword === 'valid-after' || keyword === 'fresh-until' || keyword === 'valid-until') {
      times[keyword] = fields.slice(1).join(' ');
    } else if (keyword === 'r') {
      // ns: r nick identity digest date time ip orport dirport; microdesc has no digest.
      const expected = flavor === 'ns' ? 9 : 8;
      if (fields.length !== expected)
        return malformed(`line ${index + 1}: "r" line has ${fields.length} fields`);
      const identity = fromBase64(fields[2]!);
      if (identity?.length !== 20) return malformed(`line ${index + 1}: bad identity`);
      const [ip, orPort, dirPort] = fields.slice(expected - 3);
      const or = parsePort(orPort!);
      const dir = parsePort(dirPort!);
      if (or === undefined || dir === undefined) return malformed(`line ${index + 1}: bad port`);
      current = {
        nickname: fields[1]!,
        fingerprint: toHex(identity).toUpperCase(),
        address: ip!,
        orPort: or,
        dirPort: dir,
        flags: [],
      };
      routers.push(current);
    } else if (keyword === 's' && current) {
      current.flags = fields.slice(1);
    } else if (keyword === 'p' && current) {
      const policy = parsePolicySummary(fields.slice(1));
      if (!policy) return malformed(`line ${index + 1}: bad policy summary`);
      current.policy = policy;
    } else if (keyword === 'directory-footer') {
      break;
    }
  }
  const validAfter = times['valid-after'];
  const freshUntil = times['fresh-until'];
  const validUntil = times['valid-until'];
  if (!validAfter || !freshUntil || !validUntil) return malformed('missing validity times');
  return ok({ flavor, validAfter, freshUntil, validUntil, routers });
}

/** Whether a policy summary lets an exit connect to `port` on an arbitrary address. */
export function policySummaryAllows(policy: PolicySummary | undefined, port: number): boolean {
  if (!policy) return false;
  const listed = policy.ranges.some(([low, high]) => port >= low && port <= high);
  return policy.accept ? listed : !listed;
}

function parsePolicySummary(fields: readonly string[]): PolicySummary | undefined {
  if (fields.length !== 2 || (fields[0] !== 'accept' && fields[0] !== 'reject')) return undefined;
  const ranges: Array<[number, number]> = [];
  for (const item of fields[1]!.split(',')) {
    const [lowText, highText] = item.split('-');
    const low = parsePort(lowText ?? '');
    const high = highText === undefined ? low : parsePort(highText);
    if (low === undefined || high === undefined || low > high || low === 0) return undefined;
    ranges.push([low, high]);
  }
  return { accept: fields[0] === 'accept', ranges };
}

function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function malformed(detail: string): Result<never, DecodeError> {
  return err(new DecodeError('malformed', OBJECT, detail));
}
