/**
 * Subprotocol version lists: the "proto" line of descriptors, the "pr" line
 * of router status entries and the consensus's recommended/required
 * protocol lines (dir-spec 2.1.1 "proto", tor-spec 9).
 *
 *   Entries = Entry (SP Entry)*      Entry = Keyword "=" Values
 *   Values = Value ("," Value)*      Value = Int | Int "-" Int
 *
 * Versions are 0..63, as C tor enforces (protover.c MAX_PROTOCOL_VERSION).
 */

/** Subprotocol name → supported versions, ascending and unique. */
export type ProtocolVersions = ReadonlyMap<string, readonly number[]>;

/** The highest version a "proto" entry may name. */
export const MAX_PROTOCOL_VERSION = 63;
const MAX_PROTOCOL_NAME_LENGTH = 100;

function parseVersion(text: string): number | undefined {
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const v = Number(text);
  return v <= MAX_PROTOCOL_VERSION ? v : undefined;
}

/** Parses a protocol list; returns undefined if any entry is malformed. */
export function parseProtocols(text: string): ProtocolVersions | undefined {
  const out = new Map<string, Set<number>>();
  const entries = text.split(' ').filter((e) => e.length > 0);
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 1) return undefined;
    const name = entry.slice(0, eq);
    if (name.length > MAX_PROTOCOL_NAME_LENGTH || !/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name)) return undefined;
    const versions = out.get(name) ?? new Set<number>();
    out.set(name, versions);
    const values = entry.slice(eq + 1);
    if (values === '') continue;
    for (const value of values.split(',')) {
      const dash = value.indexOf('-');
      const lo = parseVersion(dash < 0 ? value : value.slice(0, dash));
      const hi = dash < 0 ? lo : parseVersion(value.slice(dash + 1));
      if (lo === undefined || hi === undefined || lo > hi) return undefined;
      for (let v = lo; v <= hi; v++) versions.add(v);
    }
  }
  const result = new Map<string, readonly number[]>();
  for (const [name, set] of out)
    result.set(
      name,
      [...set].sort((a, b) => a - b),
    );
  return result;
}

/** Formats a protocol list canonically: names sorted, versions as compact ranges. */
export function formatProtocols(protocols: ProtocolVersions): string {
  const names = [...protocols.keys()].sort();
  return names
    .map((name) => {
      const versions = [...new Set(protocols.get(name) ?? [])].sort((a, b) => a - b);
      const ranges: string[] = [];
      for (let i = 0; i < versions.length; ) {
        let j = i;
        while (j + 1 < versions.length && versions[j + 1] === versions[j]! + 1) j++;
        ranges.push(i === j ? `${versions[i]}` : `${versions[i]}-${versions[j]}`);
        i = j + 1;
      }
      return `${name}=${ranges.join(',')}`;
    })
    .join(' ');
}

/** True iff `protocols` lists `version` of subprotocol `name`. */
export function supportsProtocol(protocols: ProtocolVersions, name: string, version: number): boolean {
  return protocols.get(name)?.includes(version) ?? false;
}
