/**
 * Numbers with units, as tor reads them (tor: src/lib/confmgt/unitparse.c):
 * `N [unit]` with an optional fractional N, units matched case-insensitively,
 * no unit meaning bytes or seconds. Memory units are powers of two, and the
 * `*bits` spellings divide by 8 (1 KBit = 128 bytes).
 */
import { err, ok, type Result } from '@relayd/common';

/** tor: `memory_units`. */
export const MEMORY_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  byte: 1,
  bytes: 1,
  kb: 2 ** 10,
  kbyte: 2 ** 10,
  kbytes: 2 ** 10,
  kilobyte: 2 ** 10,
  kilobytes: 2 ** 10,
  kilobits: 2 ** 7,
  kilobit: 2 ** 7,
  kbits: 2 ** 7,
  kbit: 2 ** 7,
  m: 2 ** 20,
  mb: 2 ** 20,
  mbyte: 2 ** 20,
  mbytes: 2 ** 20,
  megabyte: 2 ** 20,
  megabytes: 2 ** 20,
  megabits: 2 ** 17,
  megabit: 2 ** 17,
  mbits: 2 ** 17,
  mbit: 2 ** 17,
  gb: 2 ** 30,
  gbyte: 2 ** 30,
  gbytes: 2 ** 30,
  gigabyte: 2 ** 30,
  gigabytes: 2 ** 30,
  gigabits: 2 ** 27,
  gigabit: 2 ** 27,
  gbits: 2 ** 27,
  gbit: 2 ** 27,
  tb: 2 ** 40,
  tbyte: 2 ** 40,
  tbytes: 2 ** 40,
  terabyte: 2 ** 40,
  terabytes: 2 ** 40,
  terabits: 2 ** 37,
  terabit: 2 ** 37,
  tbits: 2 ** 37,
  tbit: 2 ** 37,
};

/** tor: `time_units` (seconds). A month is tor's 30.437 days. */
export const TIME_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  second: 1,
  seconds: 1,
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86400,
  days: 86400,
  week: 7 * 86400,
  weeks: 7 * 86400,
  month: 2629728,
  months: 2629728,
};

/** tor: `time_msec_units` (milliseconds). */
export const TIME_MSEC_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  msec: 1,
  millisecond: 1,
  milliseconds: 1,
  second: 1000,
  seconds: 1000,
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
  week: 7 * 86_400_000,
  weeks: 7 * 86_400_000,
};

/**
 * Parses `N [unit]` against a unit table; the product is truncated to an
 * integer, as tor does, and must not exceed `max`.
 */
export function parseUnits(
  text: string,
  units: Readonly<Record<string, number>>,
  max: number,
): Result<number, string> {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$/.exec(text);
  if (!m) return err(`"${text}" is not a number with an optional unit`);
  const multiplier = units[m[2]!.toLowerCase()];
  if (multiplier === undefined) return err(`unknown unit "${m[2]}" in "${text}"`);
  const value = Math.floor(Number(m[1]) * multiplier);
  if (!Number.isSafeInteger(value) || value > max) return err(`"${text}" is too large (at most ${max})`);
  return ok(value);
}

/** Bytes; at most 2^53 − 1 (tor allows up to 2^63 − 1, far beyond any real setting). */
export function parseMemUnit(text: string): Result<number, string> {
  return parseUnits(text, MEMORY_UNITS, Number.MAX_SAFE_INTEGER);
}

/** tor INT_MAX: the ceiling of INTERVAL and MSEC_INTERVAL options. */
const INT_MAX = 2 ** 31 - 1;

/** Seconds; at most 2^31 − 1 (tor: `config_parse_interval`). */
export function parseInterval(text: string): Result<number, string> {
  return parseUnits(text, TIME_UNITS, INT_MAX);
}

/** Milliseconds; at most 2^31 − 1 (tor: `config_parse_msec_interval`). */
export function parseMsecInterval(text: string): Result<number, string> {
  return parseUnits(text, TIME_MSEC_UNITS, INT_MAX);
}
