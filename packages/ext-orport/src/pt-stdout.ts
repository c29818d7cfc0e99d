/**
 * What a managed pluggable transport writes on its stdout (pt-spec 3.3):
 * one message per NL-terminated line, `<Keyword> <Args>`.
 *
 *   VERSION 1                        VERSION-ERROR no-version      ENV-ERROR <message>
 *   PROXY DONE                       PROXY-ERROR <message>
 *   CMETHOD <name> socks5 <addr:port>   CMETHOD-ERROR <name> <message>   CMETHODS DONE
 *   SMETHOD <name> <addr:port> [ARGS:k=v,...]   SMETHOD-ERROR <name> <message>   SMETHODS DONE
 *   LOG SEVERITY=<level> MESSAGE=<string or "C string">
 *   STATUS TRANSPORT=<name> <K>=<V> ...
 *
 * Owns the line grammar and each message's fields, parsed strictly into a
 * typed union; what a parent does with them (the order C tor enforces,
 * transports.c `handle_proxy_line`) is the caller's. A keyword we do not
 * know becomes `unknown` ("The parent process MUST ignore lines received
 * from PT proxies with unknown keywords"); a known keyword with bad
 * arguments is a malformed DecodeError. Never throws.
 */
import { DecodeError, err, ok, type Result } from '@relayd/common';
import { type AddressPort, parseAddressPort } from './address-port.js';
import { type PtArg, parseSmethodArgs } from './pt-args.js';
import { isValidTransportName } from './transport-name.js';

/** LOG severities (pt-spec 3.3.4). */
export const PT_LOG_SEVERITIES = ['error', 'warning', 'notice', 'info', 'debug'] as const;
export type PtLogSeverity = (typeof PT_LOG_SEVERITIES)[number];

export type PtMessage =
  | { readonly type: 'version'; readonly version: string }
  | { readonly type: 'version-error'; readonly message: string }
  | { readonly type: 'env-error'; readonly message: string }
  | { readonly type: 'proxy-done' }
  | { readonly type: 'proxy-error'; readonly message: string }
  | {
      readonly type: 'cmethod';
      readonly transport: string;
      readonly socksVersion: 'socks4' | 'socks5';
      readonly address: AddressPort;
      /** Anything after the address (older spec versions defined ARGS: and OPT-ARGS: here). */
      readonly options: readonly string[];
    }
  | { readonly type: 'cmethod-error'; readonly transport: string; readonly message: string }
  | { readonly type: 'cmethods-done' }
  | {
      readonly type: 'smethod';
      readonly transport: string;
      readonly address: AddressPort;
      /** The ARGS option, parsed; empty without one. */
      readonly args: readonly PtArg[];
      /** The ARGS option's text after "ARGS:", escapes intact, as C tor copies it into extra-info; undefined without one. */
      readonly argsText: string | undefined;
      /** Options other than ARGS, verbatim. */
      readonly options: readonly string[];
    }
  | { readonly type: 'smethod-error'; readonly transport: string; readonly message: string }
  | { readonly type: 'smethods-done' }
  | {
      readonly type: 'log';
      readonly severity: PtLogSeverity;
      readonly message: string;
      /** Every key=value of the line, SEVERITY and MESSAGE included, in order. */
      readonly values: readonly PtArg[];
    }
  | {
      readonly type: 'status';
      readonly transport: string;
      /** Every key=value of the line, TRANSPORT included, in order. */
      readonly values: readonly PtArg[];
    }
  | { readonly type: 'unknown'; readonly keyword: string; readonly args: string };

const OBJECT = 'pluggable transport stdout line';
/** <KeywordChar> ::= <any US-ASCII alphanumeric, dash, and underscore> */
const KEYWORD = /^[A-Za-z0-9_-]+$/;

/** Parses one line, without its NL (a trailing CR is dropped too). */
export function parsePtLine(rawLine: string): Result<PtMessage, DecodeError> {
  const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
  // <ArgChar> ::= <any US-ASCII character but NUL or NL>
  if (/[\0\n]/.test(line)) return fail('line holds a NUL or NL');
  const space = line.indexOf(' ');
  const keyword = space < 0 ? line : line.slice(0, space);
  const rest = space < 0 ? '' : line.slice(space + 1);
  if (!KEYWORD.test(keyword)) return fail(`bad keyword "${keyword}"`);
  const words = rest.split(' ').filter((w) => w !== '');

  switch (keyword) {
    case 'VERSION':
      if (words.length !== 1) return fail('VERSION takes exactly one version');
      return ok({ type: 'version', version: words[0]! });
    case 'VERSION-ERROR':
      return ok({ type: 'version-error', message: rest });
    case 'ENV-ERROR':
      return ok({ type: 'env-error', message: rest });
    case 'PROXY':
      return isDone(words) ? ok({ type: 'proxy-done' }) : fail('PROXY must be "PROXY DONE"');
    case 'PROXY-ERROR':
      return ok({ type: 'proxy-error', message: rest });
    case 'CMETHODS':
      return isDone(words) ? ok({ type: 'cmethods-done' }) : fail('CMETHODS must be "CMETHODS DONE"');
    case 'SMETHODS':
      return isDone(words) ? ok({ type: 'smethods-done' }) : fail('SMETHODS must be "SMETHODS DONE"');
    case 'CMETHOD':
      return parseCmethod(words);
    case 'SMETHOD':
      return parseSmethod(words);
    case 'CMETHOD-ERROR':
    case 'SMETHOD-ERROR': {
      const { first, remainder } = splitFirst(rest);
      if (!isValidTransportName(first)) return fail(`${keyword}: bad transport name "${first}"`);
      const type = keyword === 'CMETHOD-ERROR' ? 'cmethod-error' : 'smethod-error';
      return ok({ type, transport: first, message: remainder });
    }
    case 'LOG':
      return parseLog(rest);
    case 'STATUS':
      return parseStatus(rest);
    default:
      return ok({ type: 'unknown', keyword, args: rest });
  }
}

function parseCmethod(words: string[]): Result<PtMessage, DecodeError> {
  if (words.length < 3) return fail('CMETHOD needs a transport, a SOCKS version and an address');
  const [transport, socks, addressText, ...options] = words as [string, string, string, ...string[]];
  if (!isValidTransportName(transport)) return fail(`CMETHOD: bad transport name "${transport}"`);
  if (socks !== 'socks4' && socks !== 'socks5') return fail(`CMETHOD: unknown proxy protocol "${socks}"`);
  const address = parseAddressPort(addressText, 'CMETHOD address');
  if (!address.ok) return address;
  return ok({ type: 'cmethod', transport, socksVersion: socks, address: address.value, options });
}

function parseSmethod(words: string[]): Result<PtMessage, DecodeError> {
  if (words.length < 2) return fail('SMETHOD needs a transport and an address');
  const [transport, addressText, ...rest] = words as [string, string, ...string[]];
  if (!isValidTransportName(transport)) return fail(`SMETHOD: bad transport name "${transport}"`);
  const address = parseAddressPort(addressText, 'SMETHOD address');
  if (!address.ok) return address;
  let argsText: string | undefined;
  let args: PtArg[] = [];
  const options: string[] = [];
  for (const option of rest) {
    if (option.startsWith('ARGS:') && argsText === undefined) {
      argsText = option.slice('ARGS:'.length);
      const parsed = parseSmethodArgs(argsText);
      if (!parsed.ok) return parsed;
      args = parsed.value;
    } else {
      options.push(option);
    }
  }
  return ok({ type: 'smethod', transport, address: address.value, args, argsText, options });
}

function parseLog(rest: string): Result<PtMessage, DecodeError> {
  const values = parseKvLine(rest, 'LOG');
  if (!values.ok) return values;
  const severity = values.value.find((v) => v.key === 'SEVERITY')?.value;
  const message = values.value.find((v) => v.key === 'MESSAGE')?.value;
  if (message === undefined) return fail('LOG without MESSAGE');
  if (severity === undefined) return fail('LOG without SEVERITY');
  if (!(PT_LOG_SEVERITIES as readonly string[]).includes(severity)) {
    return fail(`LOG with unknown SEVERITY "${severity}"`);
  }
  return ok({ type: 'log', severity: severity as PtLogSeverity, message, values: values.value });
}

function parseStatus(rest: string): Result<PtMessage, DecodeError> {
  const values = parseKvLine(rest, 'STATUS');
  if (!values.ok) return values;
  const transport = values.value.find((v) => v.key === 'TRANSPORT')?.value;
  if (transport === undefined) return fail('STATUS without TRANSPORT');
  return ok({ type: 'status', transport, values: values.value });
}

/**
 * A `K=V K="C string" ...` line (control-spec 2's CString; C tor
 * kvline.c `kvline_parse(line, KV_QUOTED)`): keys are non-empty runs of
 * printable ASCII without quotes; values are either a run of non-space
 * characters or a double-quoted C string.
 */
export function parseKvLine(text: string, object = 'key=value line'): Result<PtArg[], DecodeError> {
  const out: PtArg[] = [];
  let i = 0;
  const isSpace = (c: string | undefined) =>
    c === ' ' || c === '\t' || c === '\r' || c === '\v' || c === '\n';
  for (;;) {
    while (isSpace(text[i])) i++;
    if (i >= text.length) return ok(out);
    const keyStart = i;
    while (i < text.length && text[i] !== '=' && !isSpace(text[i])) i++;
    if (text[i] !== '=') return fail(`${object}: "${text.slice(keyStart, i)}" has no "="`);
    const key = text.slice(keyStart, i);
    if (key === '' || !/^[\x21-\x7e]+$/.test(key) || /["']/.test(key)) {
      return fail(`${object}: bad key "${key}"`);
    }
    i++;
    if (text[i] === '"') {
      const quoted = unescapeCString(text, i);
      if (quoted === undefined) return fail(`${object}: bad quoted value for ${key}`);
      i = quoted.end;
      if (i < text.length && !isSpace(text[i]))
        return fail(`${object}: junk after the quoted value of ${key}`);
      out.push({ key, value: quoted.value });
    } else {
      const valueStart = i;
      while (i < text.length && !isSpace(text[i])) i++;
      out.push({ key, value: text.slice(valueStart, i) });
    }
  }
}

/**
 * Decodes a C string starting at `text[start] === '"'` (C tor cstring.c
 * `unescape_string`): \n \r \t \" \\ \' , \xHH and one to three octal
 * digits. Returns undefined for any other escape, an unterminated string
 * or an embedded NUL (C tor refuses those too).
 */
function unescapeCString(text: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  let i = start + 1;
  for (;;) {
    const c = text[i];
    if (c === undefined || c === '\n') return undefined;
    if (c === '"') return value.includes('\0') ? undefined : { value, end: i + 1 };
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', "'": "'" };
    if (e !== undefined && e in simple) {
      value += simple[e];
      i += 2;
    } else if ((e === 'x' || e === 'X') && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      value += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const digits = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
      const n = Number.parseInt(digits, 8);
      if (n > 255) return undefined;
      value += String.fromCharCode(n);
      i += 1 + digits.length;
    } else {
      return undefined;
    }
  }
}

function isDone(words: string[]): boolean {
  return words.length === 1 && words[0] === 'DONE';
}

function splitFirst(text: string): { first: string; remainder: string } {
  const space = text.indexOf(' ');
  return space < 0
    ? { first: text, remainder: '' }
    : { first: text.slice(0, space), remainder: text.slice(space + 1) };
}

function fail(detail: string): { readonly ok: false; readonly error: DecodeError } {
  return err(new DecodeError('malformed', OBJECT, detail));
}

/**
 * Splits a transport's stdout into lines. Feed it decoded text (a stream
 * with `setEncoding('utf8')` keeps multi-byte characters whole). A line
 * longer than `maxLineLength` is dropped whole and counted, so a runaway
 * transport cannot make the parent buffer without bound.
 */
export class PtLineSplitter {
  private partial = '';
  private discarding = false;
  /** Lines dropped for being too long. */
  droppedLines = 0;

  constructor(private readonly maxLineLength = 16 * 1024) {}

  /** Returns the complete lines in `chunk` (plus what was buffered), without their NL. */
  push(chunk: string): string[] {
    const lines: string[] = [];
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', from);
      if (nl < 0) break;
      const piece = chunk.slice(from, nl);
      if (this.discarding || this.partial.length + piece.length > this.maxLineLength) {
        this.droppedLines++;
      } else {
        lines.push(this.partial + piece);
      }
      this.partial = '';
      this.discarding = false;
      from = nl + 1;
    }
    const tail = chunk.slice(from);
    if (!this.discarding) {
      if (this.partial.length + tail.length > this.maxLineLength) {
        this.partial = '';
        this.discarding = true;
      } else {
        this.partial += tail;
      }
    }
    return lines;
  }
}
