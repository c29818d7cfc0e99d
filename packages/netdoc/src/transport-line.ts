/**
 * The "transport" line of extra-info documents (dir-spec 2.1.2):
 *
 *   "transport" transportname address:port [arglist]
 *
 * C tor copies the arglist verbatim from the pluggable transport's SMETHOD
 * "ARGS:" option (transports.c pt_get_extra_info_descriptor_string), so it is
 * pt-spec's encoding: comma-separated key=value pairs in which ',', '=' and
 * '\' inside keys and values are escaped with a backslash. For example
 * obfs4proxy's "cert=…,iat-mode=0".
 */

/** A transport name as pt-spec allows it: [a-zA-Z_][a-zA-Z0-9_]*. */
export function isValidTransportName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name);
}

/** Encodes key=value pairs as an SMETHOD ARGS / transport arglist. */
export function formatTransportArguments(pairs: readonly (readonly [string, string])[]): string {
  const escaped = (s: string) => s.replace(/[\\,=]/g, (c) => `\\${c}`);
  return pairs.map(([k, v]) => `${escaped(k)}=${escaped(v)}`).join(',');
}

/** Decodes an arglist into key=value pairs; undefined if a pair has no '=' or an escape is dangling. */
export function parseTransportArguments(text: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  let key = '';
  let value = '';
  let inValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) return undefined;
      if (inValue) value += next;
      else key += next;
      i++;
    } else if (c === '=' && !inValue) {
      inValue = true;
    } else if (c === ',') {
      if (!inValue || key === '') return undefined;
      pairs.push([key, value]);
      key = '';
      value = '';
      inValue = false;
    } else if (inValue) value += c;
    else key += c;
  }
  if (text.length > 0) {
    if (!inValue || key === '') return undefined;
    pairs.push([key, value]);
  }
  return pairs;
}
