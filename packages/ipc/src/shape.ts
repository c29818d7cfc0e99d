/**
 * Small total checks for structured-clone data: each check takes any value
 * and a path and returns undefined (it fits) or one sentence naming the
 * path and what is wrong. Nothing here throws, reads an inherited property
 * or follows a getter of the prototype chain, so a hostile or merely
 * skewed message can only ever produce a description.
 */

export type Check = (value: unknown, path: string) => string | undefined;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer)
  );
}

/** An own property, or undefined (never an inherited one such as `toString`). */
export function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** An object with at least these fields (others are ignored: a newer peer may add some). */
export function record(fields: Record<string, Check>): Check {
  const entries = Object.entries(fields);
  return (value, path) => {
    if (!isRecord(value)) return `${path} is not an object`;
    for (const [key, check] of entries) {
      const problem = check(own(value, key), `${path}.${key}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}

export const anyRecord: Check = (value, path) => (isRecord(value) ? undefined : `${path} is not an object`);

export function string(maxLength = 4096): Check {
  return (value, path) => {
    if (typeof value !== 'string') return `${path} is not a string`;
    return value.length > maxLength ? `${path} is longer than ${maxLength} characters` : undefined;
  };
}

export function matching(pattern: RegExp): Check {
  return (value, path) =>
    typeof value === 'string' && pattern.test(value) ? undefined : `${path} does not match ${pattern}`;
}

export const boolean: Check = (value, path) =>
  typeof value === 'boolean' ? undefined : `${path} is not a boolean`;

export function integer(min: number, max: number): Check {
  return (value, path) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `${path} is not an integer in [${min}, ${max}]`;
}

/** A count: a non-negative safe integer. */
export const count: Check = integer(0, Number.MAX_SAFE_INTEGER);

export const finiteNumber: Check = (value, path) =>
  typeof value === 'number' && Number.isFinite(value) ? undefined : `${path} is not a finite number`;

export function literal<T extends string | number>(...values: readonly T[]): Check {
  return (value, path) =>
    values.includes(value as T) ? undefined : `${path} is not one of ${values.join(', ')}`;
}

/** A Uint8Array (a Buffer is one too), optionally of an exact length or at most `maxLength`. */
export function bytes(opts: { readonly length?: number; readonly maxLength?: number } = {}): Check {
  return (value, path) => {
    if (!(value instanceof Uint8Array)) return `${path} is not a Uint8Array`;
    if (opts.length !== undefined && value.length !== opts.length) {
      return `${path} is ${value.length} bytes, not ${opts.length}`;
    }
    if (opts.maxLength !== undefined && value.length > opts.maxLength) {
      return `${path} is longer than ${opts.maxLength} bytes`;
    }
    return undefined;
  };
}

export function optional(check: Check): Check {
  return (value, path) => (value === undefined ? undefined : check(value, path));
}

export function nullable(check: Check): Check {
  return (value, path) => (value === null ? undefined : check(value, path));
}

export function arrayOf(check: Check, maxLength = 65_536): Check {
  return (value, path) => {
    if (!Array.isArray(value)) return `${path} is not an array`;
    if (value.length > maxLength) return `${path} has more than ${maxLength} entries`;
    for (let i = 0; i < value.length; i++) {
      const problem = check(value[i], `${path}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}

/**
 * An object used as a map: at most `maxEntries` own keys, each matching
 * `keyPattern`, each value passing `check`.
 */
export function mapOf(keyPattern: RegExp, check: Check, maxEntries: number): Check {
  return (value, path) => {
    if (!isRecord(value)) return `${path} is not an object`;
    const keys = Object.keys(value);
    if (keys.length > maxEntries) return `${path} has more than ${maxEntries} entries`;
    for (const key of keys) {
      if (!keyPattern.test(key)) return `${path} has a key that does not match ${keyPattern}`;
      const problem = check(value[key], `${path}.${key}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}
