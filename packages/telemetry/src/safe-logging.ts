/**
 * SafeLogging: what a log line shows of values wrapped with `sensitive()`
 * (client addresses, mostly). Scrubbed, they print as "[scrubbed]" — what
 * `Sensitive.toJSON` does on its own — and with SafeLogging 0 the real value
 * is put back before the line is written.
 *
 * tor's `SafeLogging relay` scrubs only addresses of relayed traffic; all a
 * bridge does is relay its clients' traffic, so it scrubs as `1` does.
 */
import { Sensitive } from '@relayd/common';

/** The config's SafeLogging: 'all' (1), 'relay', or 'none' (0). */
export type SafeLoggingMode = 'all' | 'relay' | 'none';

export const SCRUBBED = '[scrubbed]';

/** Fields nest this deep at most in practice; deeper values are written as they are. */
const MAX_DEPTH = 4;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function rewrite(value: unknown, reveal: boolean, depth: number): unknown {
  if (value instanceof Sensitive) return reveal ? rewrite(value.value, reveal, depth) : SCRUBBED;
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = rewrite(value[i], reveal, depth + 1);
      if (next !== value[i]) {
        out ??= value.slice();
        out[i] = next;
      }
    }
    return out ?? value;
  }
  if (isPlainObject(value)) {
    let out: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      const next = rewrite(value[key], reveal, depth + 1);
      if (next !== value[key]) {
        out ??= { ...value };
        out[key] = next;
      }
    }
    return out ?? value;
  }
  return value;
}

/**
 * Returns `fields` with every `Sensitive` value (at any depth up to four
 * levels of plain objects and arrays) replaced by "[scrubbed]", or by its
 * real value when SafeLogging is off. Unchanged objects are returned as they
 * are, so the common case allocates nothing.
 */
export function applySafeLogging(
  fields: Record<string, unknown>,
  mode: SafeLoggingMode,
): Record<string, unknown> {
  return rewrite(fields, mode === 'none', 0) as Record<string, unknown>;
}
