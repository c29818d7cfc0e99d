/**
 * What a torrc keyword names: one of relayd's options, a C tor option relayd
 * does not implement (accepted with a warning), an option tor itself calls
 * obsolete, or nothing at all (an error, with the closest known name as a
 * suggestion). Keywords are case-insensitive, and tor's aliases
 * (`option_abbrevs_`) are expanded first, as tor does.
 *
 * Unlike C tor, a truncated keyword ("ORPor") is not taken as an
 * abbreviation of the one option it starts; tor deprecated that, and here it
 * is an unknown option with the full name suggested.
 */
import { OPTION_NAMES, type OptionName } from './schema.js';
import {
  TOR_OBSOLETE_OPTION_NAMES,
  TOR_OPTION_ALIASES,
  TOR_OPTION_NAMES,
  type TorOptionAlias,
} from './tor-options.js';
import { INCLUDE_KEYWORD } from './torrc-include.js';

export type ResolvedOption =
  | { readonly kind: 'relayd'; readonly name: OptionName; readonly alias: TorOptionAlias | null }
  | { readonly kind: 'tor'; readonly name: string; readonly alias: TorOptionAlias | null }
  | { readonly kind: 'obsolete'; readonly name: string; readonly alias: TorOptionAlias | null }
  | { readonly kind: 'unknown'; readonly suggestion: string | null };

const byLower = <T extends string>(names: readonly T[]) => new Map(names.map((n) => [n.toLowerCase(), n]));
const relaydNames = byLower(OPTION_NAMES);
const torNames = byLower(TOR_OPTION_NAMES);
const obsoleteNames = byLower(TOR_OBSOLETE_OPTION_NAMES);
const aliases = new Map(TOR_OPTION_ALIASES.map((a) => [a.alias.toLowerCase(), a]));

/** Names worth suggesting for a typo: everything current, relayd's first. */
const SUGGESTIONS: readonly string[] = [
  ...OPTION_NAMES,
  ...TOR_OPTION_NAMES.filter((n) => !relaydNames.has(n.toLowerCase()) && !n.startsWith('__')),
  INCLUDE_KEYWORD,
];

export function resolveOptionName(keyword: string): ResolvedOption {
  const alias = aliases.get(keyword.toLowerCase()) ?? null;
  const lower = (alias ? alias.canonical : keyword).toLowerCase();
  const relayd = relaydNames.get(lower);
  if (relayd) return { kind: 'relayd', name: relayd, alias };
  const tor = torNames.get(lower);
  if (tor) return { kind: 'tor', name: tor, alias };
  const obsolete = obsoleteNames.get(lower);
  if (obsolete) return { kind: 'obsolete', name: obsolete, alias };
  return { kind: 'unknown', suggestion: suggestOptionName(keyword) };
}

/** Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      row.push(v);
      best = Math.min(best, v);
    }
    if (best > limit) return limit + 1;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The known name closest to a misspelled keyword: within a small edit
 * distance (case ignored), or the only name the keyword is a prefix of.
 */
export function suggestOptionName(keyword: string): string | null {
  const lower = keyword.toLowerCase();
  if (lower.length === 0 || lower.length > 64) return null;
  const limit = lower.length <= 4 ? 1 : lower.length <= 10 ? 2 : 3;
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const name of SUGGESTIONS) {
    const d = editDistance(lower, name.toLowerCase(), Math.min(limit, bestDistance));
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  if (best) return best;
  if (lower.length >= 3) {
    const prefixed = SUGGESTIONS.filter((n) => n.toLowerCase().startsWith(lower));
    if (prefixed.length === 1) return prefixed[0]!;
  }
  return null;
}
