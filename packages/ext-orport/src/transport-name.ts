/**
 * Pluggable transport names (pt-spec 3.1): "PT names MUST be valid C
 * identifiers. ... PT names MUST satisfy the regular expression
 * "[a-zA-Z_][a-zA-Z0-9_]*"." The TRANSPORT command carries one
 * ("Tor MUST check them for correctness", ext-orport-spec 3.2.2), as do the
 * SMETHOD/CMETHOD lines and the TOR_PT_*_TRANSPORTS lists.
 */

const TRANSPORT_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The longest name relayd accepts. pt-spec imposes no limit; real names are
 * a few characters ("obfs4", "snowflake", "webtunnel"), and a bound keeps a
 * hostile transport from making us store and log kilobytes per connection.
 */
export const MAX_TRANSPORT_NAME_LENGTH = 128;

/** True when `name` is a C identifier of at most MAX_TRANSPORT_NAME_LENGTH characters. */
export function isValidTransportName(name: string): boolean {
  return name.length <= MAX_TRANSPORT_NAME_LENGTH && TRANSPORT_NAME.test(name);
}
