/**
 * Transport arguments in the three escaped forms pt-spec uses for them:
 *
 * - SMETHOD `ARGS:k=v,k=v` (pt-spec 3.3.3): "Equal signs and commas MUST be
 *   escaped with a backslash." What obfs4proxy prints here (cert, iat-mode)
 *   is what clients need in their Bridge line; C tor copies the text after
 *   "ARGS:" verbatim into the extra-info `transport` line.
 * - SOCKS per-connection arguments `k=v;k=v` (pt-spec 3.5): "all backslash,
 *   equal sign, and semicolon characters are escaped with a backslash",
 *   carried in the SOCKS5 username/password fields (RFC 1929).
 * - TOR_PT_SERVER_TRANSPORT_OPTIONS `transport:k=v;...` (pt-spec 3.2.3):
 *   "Colons, semicolons, and backslashes MUST be escaped with a backslash."
 */
import { DecodeError, err, InternalError, ok, type Result } from '@relayd/common';
import { isValidTransportName } from './transport-name.js';

/** One `key=value` argument. Keys may repeat; order is kept. */
export interface PtArg {
  readonly key: string;
  readonly value: string;
}

/** The value of the first argument named `key`, if any. */
export function findPtArg(args: readonly PtArg[], key: string): string | undefined {
  return args.find((a) => a.key === key)?.value;
}

/**
 * Parses the text after "ARGS:" of an SMETHOD line. A backslash takes the
 * next character literally; an unescaped "," separates arguments and the
 * first unescaped "=" separates key from value. Refuses an argument without
 * "=", an empty key and a trailing lone backslash. Never throws.
 */
export function parseSmethodArgs(text: string): Result<PtArg[], DecodeError> {
  const args: PtArg[] = [];
  if (text === '') return ok(args);
  let key: string | undefined;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      if (i + 1 >= text.length) return fail('ARGS', 'ends in a lone backslash');
      current += text[++i];
    } else if (c === '=' && key === undefined) {
      key = current;
      current = '';
    } else if (c === ',') {
      const arg = finishArg(key, current);
      if (!arg.ok) return arg;
      args.push(arg.value);
      key = undefined;
      current = '';
    } else {
      current += c;
    }
  }
  const last = finishArg(key, current);
  if (!last.ok) return last;
  args.push(last.value);
  return ok(args);
}

function finishArg(key: string | undefined, value: string): Result<PtArg, DecodeError> {
  if (key === undefined) return fail('ARGS', `argument "${value}" has no "="`);
  if (key === '') return fail('ARGS', 'argument with an empty key');
  return ok({ key, value });
}

/** Writes arguments as SMETHOD's `k=v,k=v` (without the "ARGS:" prefix). */
export function encodeSmethodArgs(args: readonly PtArg[]): string {
  return args
    .map((a) => `${backslashEscape(checkKey(a.key), '\\=,')}=${backslashEscape(a.value, '\\=,')}`)
    .join(',');
}

/** Writes arguments as pt-spec 3.5's SOCKS argument string `k=v;k=v`. */
export function encodeSocksArgs(args: readonly PtArg[]): string {
  return args
    .map((a) => `${backslashEscape(checkKey(a.key), '\\=;')}=${backslashEscape(a.value, '\\=;')}`)
    .join(';');
}

/** RFC 1929 username and password bytes. */
export interface Socks5Credentials {
  readonly username: Uint8Array;
  readonly password: Uint8Array;
}

/** RFC 1929: UNAME and PASSWD are each 1-255 bytes. */
const SOCKS5_FIELD_MAX = 255;

/**
 * Splits a SOCKS argument string over the RFC 1929 fields (pt-spec 3.5):
 * up to 255 bytes in UNAME and the rest in PASSWD; "If the encoded argument
 * list is less than 255 bytes in length, the "PLEN" field must be set to
 * "1" and the "PASSWD" field must contain a single NUL character." Returns
 * undefined for an empty string or one over 510 bytes, which SOCKS5 cannot
 * carry.
 */
export function socks5CredentialsForArgs(socksArgs: string): Socks5Credentials | undefined {
  const bytes = new TextEncoder().encode(socksArgs);
  if (bytes.length === 0 || bytes.length > 2 * SOCKS5_FIELD_MAX) return undefined;
  if (bytes.length <= SOCKS5_FIELD_MAX) return { username: bytes, password: Uint8Array.of(0) };
  return { username: bytes.slice(0, SOCKS5_FIELD_MAX), password: bytes.slice(SOCKS5_FIELD_MAX) };
}

/** One option for a server transport, as ServerTransportOptions gives it. */
export interface PtTransportOption extends PtArg {
  readonly transport: string;
}

/**
 * The value of TOR_PT_SERVER_TRANSPORT_OPTIONS, or undefined when there are
 * no options (the variable "MAY be omitted"). Escapes as C tor does
 * (`tor_escape_str_for_pt_args(option, ":;\\")` on each `k=v`). Throws
 * InternalError for an invalid transport name or a key that is empty or
 * holds "=" (the configuration must have refused both).
 */
export function encodeServerTransportOptions(options: readonly PtTransportOption[]): string | undefined {
  if (options.length === 0) return undefined;
  return options
    .map((o) => {
      if (!isValidTransportName(o.transport)) {
        throw new InternalError(`not a pluggable transport name: ${JSON.stringify(o.transport)}`);
      }
      if (o.key.includes('='))
        throw new InternalError(`transport option key holds "=": ${JSON.stringify(o.key)}`);
      return `${o.transport}:${backslashEscape(`${checkKey(o.key)}=${o.value}`, '\\:;')}`;
    })
    .join(';');
}

function checkKey(key: string): string {
  if (key === '') throw new InternalError('transport argument with an empty key');
  return key;
}

function backslashEscape(text: string, special: string): string {
  let out = '';
  for (const c of text) out += special.includes(c) ? `\\${c}` : c;
  return out;
}

function fail(object: string, detail: string): { readonly ok: false; readonly error: DecodeError } {
  return err(new DecodeError('malformed', object, detail));
}
