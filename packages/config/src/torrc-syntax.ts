/**
 * The torrc file syntax, as C tor reads it (tor: src/lib/encoding/confline.c
 * `parse_config_line_from_str_verbose`, doc/torrc_format.txt): one
 * `Keyword value` entry per line, `#` comments, a backslash before the
 * newline continues the value on the next line (comment lines inside a
 * continued value are dropped), and a value starting with `"` is a C string
 * literal. A `+` or `/` before the keyword is tor's append/clear "magic".
 *
 * This module only splits text into entries; it knows nothing of option
 * names and does not follow `%include` (see torrc-include.ts). It is total:
 * any text yields entries plus syntax diagnostics, never an exception.
 * Where C tor stops at the first syntax error, this skips the broken line
 * and carries on, so an operator sees every problem at once.
 */
import type { ConfigDiagnostic } from './diagnostics.js';

/** What the optional `+`/`/` prefix of a keyword asks for. */
export type EntryPrefix = 'none' | 'append' | 'clear';

/** One `Keyword value` entry of a torrc file. */
export interface TorrcEntry {
  /** The keyword as written, without its `+`/`/` prefix. Case is kept; matching is case-insensitive. */
  readonly key: string;
  /** The decoded value: continuations joined, quotes and escapes resolved, outer spaces trimmed. */
  readonly value: string;
  readonly prefix: EntryPrefix;
  readonly file: string;
  /** 1-based line on which the keyword stands. */
  readonly line: number;
}

export interface TorrcLexResult {
  readonly entries: TorrcEntry[];
  readonly diagnostics: ConfigDiagnostic[];
}

/** C's isspace() in the "C" locale, which is what tor's TOR_ISSPACE tests. */
function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '7';
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

type QuotedResult = { ok: true; value: string; end: number } | { ok: false; message: string };

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes the C string literal starting at `text[start] === '"'`, with the
 * escapes tor's `unescape_string` accepts: \n \r \t \\ \' \" \? , \xHH and
 * one to three octal digits (at most \377). Escapes produce bytes, so the
 * decoded bytes must be UTF-8.
 */
function decodeQuoted(text: string, start: number): QuotedResult {
  const bytes: number[] = [];
  let literalStart = start + 1;
  const flushLiteral = (until: number) => {
    if (until > literalStart)
      for (const b of utf8Encoder.encode(text.slice(literalStart, until))) bytes.push(b);
  };
  let i = start + 1;
  for (;;) {
    const c = text[i];
    if (c === undefined || c === '\n') return { ok: false, message: 'Unterminated quoted string' };
    if (c === '"') break;
    if (c !== '\\') {
      i++;
      continue;
    }
    flushLiteral(i);
    const e = text[i + 1];
    if (e === 'x' || e === 'X') {
      if (!isHex(text[i + 2]) || !isHex(text[i + 3]))
        return { ok: false, message: 'Invalid escape sequence in quoted string: \\x needs two hex digits' };
      bytes.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (isOctal(e)) {
      let j = i + 1;
      let n = 0;
      while (j < i + 4 && isOctal(text[j])) n = n * 8 + Number(text[j++]);
      if (n > 255)
        return {
          ok: false,
          message: `Invalid escape sequence in quoted string: octal \\${text.slice(i + 1, j)} is above \\377`,
        };
      bytes.push(n);
      i = j;
    } else if (e === 'n' || e === 'r' || e === 't') {
      bytes.push(e === 'n' ? 10 : e === 'r' ? 13 : 9);
      i += 2;
    } else if (e === '"' || e === '\\' || e === "'" || e === '?') {
      bytes.push(e.charCodeAt(0));
      i += 2;
    } else {
      const shown = e === undefined || e === '\n' ? 'at end of line' : `\\${e}`;
      return { ok: false, message: `Invalid escape sequence in quoted string (${shown})` };
    }
    literalStart = i;
  }
  flushLiteral(i);
  try {
    return { ok: true, value: utf8Decoder.decode(new Uint8Array(bytes)), end: i + 1 };
  } catch {
    return { ok: false, message: 'Quoted string does not decode to UTF-8 text' };
  }
}

/** Maps string offsets to 1-based line numbers. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.starts.push(i + 1);
  }

  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

/** Drops comments (through their newline) and backslash-newline pairs from a continued value. */
function joinContinuedValue(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; ) {
    if (raw[i] === '#') {
      while (i < raw.length && raw[i] !== '\n') i++;
      if (raw[i] === '\n') i++;
    } else if (raw[i] === '\\' && raw[i + 1] === '\n') {
      i += 2;
    } else {
      out += raw[i++];
    }
  }
  return out;
}

/**
 * Splits torrc text into entries. Windows line ends are read as plain
 * newlines and a leading byte-order mark is ignored (C tor on Unix would
 * treat both as part of the text and fail in confusing ways).
 */
export function lexTorrc(input: string, fileName: string): TorrcLexResult {
  const normalized = input.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const lines = new LineIndex(normalized);
  const entries: TorrcEntry[] = [];
  const diagnostics: ConfigDiagnostic[] = [];
  const syntaxError = (offset: number, message: string) =>
    diagnostics.push({
      severity: 'error',
      code: 'syntax',
      file: fileName,
      line: lines.lineOf(offset),
      option: null,
      message,
    });

  const nul = normalized.indexOf('\0');
  if (nul >= 0) {
    // C tor reads the file as a C string and silently ignores everything after a NUL.
    syntaxError(nul, 'NUL byte in configuration file; the rest of the file is ignored');
  }
  const text = nul >= 0 ? normalized.slice(0, nul) : normalized;
  const end = text.length;
  const skipToEndOfLine = (i: number): number => {
    while (i < end && text[i] !== '\n') i++;
    return i;
  };

  let pos = 0;
  for (;;) {
    // Skip blank space and whole-line comments up to the next keyword.
    for (;;) {
      while (isSpace(text[pos])) pos++;
      if (text[pos] === '#') pos = skipToEndOfLine(pos);
      else break;
    }
    if (pos >= end) break;

    const keyStart = pos;
    while (
      pos < end &&
      !isSpace(text[pos]) &&
      text[pos] !== '#' &&
      !(text[pos] === '\\' && text[pos + 1] === '\n')
    )
      pos++;
    let key = text.slice(keyStart, pos);
    while (text[pos] === ' ' || text[pos] === '\t') pos++;

    let value: string;
    if (text[pos] === '"') {
      const quoted = decodeQuoted(text, pos);
      if (!quoted.ok) {
        syntaxError(keyStart, `${quoted.message} (value of ${key})`);
        pos = skipToEndOfLine(pos);
        continue;
      }
      pos = quoted.end;
      while (text[pos] === ' ' || text[pos] === '\t') pos++;
      if (pos < end && text[pos] !== '#' && text[pos] !== '\n') {
        syntaxError(keyStart, `Excess data after quoted string (value of ${key})`);
        pos = skipToEndOfLine(pos);
        continue;
      }
      value = quoted.value;
    } else {
      const valueStart = pos;
      let continued = false;
      while (pos < end && text[pos] !== '\n' && (text[pos] !== '#' || continued)) {
        if (text[pos] === '\\' && text[pos + 1] === '\n') {
          continued = true;
          pos += 2;
        } else if (text[pos] === '#') {
          pos = skipToEndOfLine(pos);
          if (text[pos] === '\n') pos++;
        } else {
          pos++;
        }
      }
      let valueEnd = pos;
      while (valueEnd > valueStart && isSpace(text[valueEnd - 1])) valueEnd--;
      const raw = text.slice(valueStart, valueEnd);
      value = continued ? joinContinuedValue(raw) : raw;
    }
    if (text[pos] === '#') pos = skipToEndOfLine(pos);

    let prefix: EntryPrefix = 'none';
    if (key.startsWith('+')) {
      prefix = 'append';
      key = key.slice(1);
    } else if (key.startsWith('/')) {
      // tor: a cleared entry has no value, whatever was written after it.
      prefix = 'clear';
      key = key.slice(1);
      value = '';
    }
    entries.push({ key, value, prefix, file: fileName, line: lines.lineOf(keyStart) });
  }
  return { entries, diagnostics };
}
