/**
 * The value types of torrc options, each a total parser from the option's
 * text to a typed value, with a one-line syntax for the documentation.
 * tor's types (tor: src/lib/confmgt/type_defs.c): BOOL is exactly 0 or 1,
 * INT a decimal in a range, MEMUNIT and INTERVAL numbers with units,
 * CSV a comma-separated list, enumerations case-insensitive.
 */
import { err, ok, type Result } from '@relayd/common';
import { parseInterval, parseMemUnit } from './units.js';

/** A parsed value plus anything worth a warning (accepted, but suspicious or ignored in part). */
export interface Parsed<T> {
  readonly value: T;
  readonly warnings: readonly string[];
}

export type ValueParser<T> = (text: string) => Result<Parsed<T>, string>;

export interface ValueType<T> {
  /** How the value is written, for documentation: `0|1`, `N bytes|KBytes|…`. */
  readonly syntax: string;
  readonly parse: ValueParser<T>;
}

/** Wraps a plain Result as a Parsed one without warnings. */
export function plain<T>(result: Result<T, string>): Result<Parsed<T>, string> {
  return result.ok ? ok({ value: result.value, warnings: [] }) : result;
}

export function makeType<T>(syntax: string, parse: (text: string) => Result<T, string>): ValueType<T> {
  return { syntax, parse: (text) => plain(parse(text)) };
}

/** tor BOOL: exactly "0" or "1". */
export const booleanType: ValueType<boolean> = makeType('0|1', (text) =>
  text === '0'
    ? ok(false)
    : text === '1'
      ? ok(true)
      : err(`"${text}" is not a boolean (allowed values are 0 and 1)`),
);

/** tor INT/POSINT: a decimal integer within [min, max]. */
export function integerType(min: number, max: number): ValueType<number> {
  return makeType(`N (${min}–${max})`, (text) => {
    if (!/^[+-]?\d+$/.test(text)) return err(`"${text}" is not an integer`);
    const n = Number(text);
    if (n < min || n > max) return err(`${text} is out of range (allowed values are ${min} to ${max})`);
    return ok(n);
  });
}

/** tor INTERVAL: seconds, written with time units. */
export const intervalType: ValueType<number> = makeType(
  'N seconds|minutes|hours|days|weeks|months',
  parseInterval,
);

/** tor MEMUNIT: bytes, written with memory units (powers of two). */
export const memunitType: ValueType<number> = makeType(
  'N bytes|KBytes|MBytes|GBytes|TBytes|KBits|MBits|GBits|TBits',
  parseMemUnit,
);

/** An enumeration: one of `values`, compared case-insensitively, returned in canonical spelling. */
export function enumType<const V extends string>(values: readonly V[]): ValueType<V> {
  return makeType(values.join('|'), (text) => {
    const found = values.find((v) => v.toLowerCase() === text.toLowerCase());
    return found !== undefined ? ok(found) : err(`"${text}" is not one of ${values.join(', ')}`);
  });
}

/** tor CSV: comma-separated items, blanks and surrounding spaces dropped. */
export function csvType<T>(syntax: string, item: (text: string) => Result<T, string>): ValueType<T[]> {
  return makeType(syntax, (text) => {
    const out: T[] = [];
    for (const raw of text.split(',')) {
      const piece = raw.trim();
      if (piece === '') continue;
      const parsed = item(piece);
      if (!parsed.ok) return parsed;
      out.push(parsed.value);
    }
    return ok(out);
  });
}

/** Free text (tor STRING), any non-empty value. */
export const stringType: ValueType<string> = makeType('TEXT', (text) => ok(text));

/**
 * An absolute file-system path. tor expands a leading `~` and accepts
 * relative paths (against its working directory); a daemon's working
 * directory is `/`, so relayd insists on absolute paths instead.
 */
export const absolutePathType: ValueType<string> = makeType('/ABSOLUTE/PATH', (text) => {
  if (text.startsWith('~')) return err(`relayd does not expand '~' in "${text}"; write the absolute path`);
  if (!text.startsWith('/')) return err(`"${text}" is not an absolute path`);
  return ok(text);
});
