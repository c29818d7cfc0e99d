/**
 * The directory document meta-format (dir-spec 1.2), as a total tokenizer.
 *
 * A document is a sequence of items; each item is a keyword line with
 * whitespace-separated arguments, optionally followed by one PEM-style object
 * (`-----BEGIN LABEL-----`, base64 lines, `-----END LABEL-----`). This module
 * knows nothing about what keywords mean: it only turns bytes into items,
 * remembers where each item starts and ends (signatures cover exact byte
 * ranges), and refuses anything that is not the meta-format, naming the line.
 *
 * Text is handled as latin1 so that one character is one byte: offsets into
 * the string are offsets into the original bytes, whatever the document
 * contains (contact lines may carry UTF-8).
 */
import { err, ok, type Result } from '@relayd/common';
import { NetDocError } from './errors.js';

/** Lines and objects longer than this are refused, as C tor does (parsecommon.c MAX_LINE_LENGTH). */
export const MAX_LINE_LENGTH = 128 * 1024;
/** Objects whose encoded form exceeds this are refused (parsecommon.c MAX_UNPARSED_OBJECT_SIZE). */
export const MAX_OBJECT_SIZE = 128 * 1024;

/** The PEM-style object of an item, base64-decoded. */
export interface NetDocObject {
  /** The label between `-----BEGIN ` and `-----`, e.g. "RSA PUBLIC KEY". */
  readonly label: string;
  readonly data: Uint8Array;
}

/** One item of a document. Offsets are byte offsets into the tokenized input. */
export interface NetDocItem {
  readonly keyword: string;
  /** The arguments, split on runs of spaces and tabs. */
  readonly args: readonly string[];
  /** Everything after the keyword and the whitespace that follows it, as one latin1 string. */
  readonly argText: string;
  readonly object: NetDocObject | undefined;
  /** 1-based line number of the keyword line. */
  readonly line: number;
  /** Offset of the first byte of the keyword line. */
  readonly start: number;
  /** Offset just past the item: after the newline ending it, or the end of input. */
  readonly end: number;
}

/** Where a tokenized range sits inside a larger document, for offsets and line numbers. */
export interface TokenizeBase {
  readonly offset: number;
  readonly line: number;
}

const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*/;
const OBJECT_LABEL = /^[A-Za-z0-9-]+(?: [A-Za-z0-9-]+)*$/;
const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;
/** Returns the first C0 control other than TAB, or DEL, in `line`: they never appear in a document. */
function firstControlCharacter(line: string): number | undefined {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return c;
  }
  return undefined;
}

/** Decodes bytes as latin1: one character per byte, so string offsets are byte offsets. */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * Decodes base64 as directory objects and digests use it: standard alphabet,
 * padding optional. Returns undefined for anything else (bad characters,
 * padding in the middle, an impossible length).
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const m = /^([A-Za-z0-9+/]*)(={0,2})$/.exec(text);
  if (!m) return undefined;
  const body = m[1]!;
  const pad = m[2]!.length;
  if (body.length % 4 === 1) return undefined;
  if (pad > 0 && (body.length + pad) % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/**
 * Splits `text` (latin1) into items, or throws a NetDocError naming the line.
 * `base` places the range inside a larger document.
 */
export function tokenizeOrThrow(
  text: string,
  object: string,
  base: TokenizeBase = { offset: 0, line: 1 },
): NetDocItem[] {
  const items: NetDocItem[] = [];
  const n = text.length;
  let pos = 0;
  let line = base.line;

  const lineAt = (from: number): { content: string; next: number; terminated: boolean } => {
    const eol = text.indexOf('\n', from);
    const lineEnd = eol === -1 ? n : eol;
    if (lineEnd - from > MAX_LINE_LENGTH) throw new NetDocError(object, 'line too long', line);
    return { content: text.slice(from, lineEnd), next: eol === -1 ? n : eol + 1, terminated: eol !== -1 };
  };

  while (pos < n) {
    const { content, next } = lineAt(pos);
    if (content.length === 0) {
      pos = next;
      line++;
      continue;
    }
    const bad = firstControlCharacter(content);
    if (bad !== undefined) {
      throw new NetDocError(object, `control character 0x${bad.toString(16).padStart(2, '0')}`, line);
    }
    if (content.startsWith('-----')) throw new NetDocError(object, 'object without a keyword line', line);
    if (content.startsWith('@')) throw new NetDocError(object, 'annotations are not allowed here', line);
    let rest = content;
    let keyword = KEYWORD.exec(rest)?.[0];
    const checkKeyword = () => {
      if (keyword === undefined) throw new NetDocError(object, 'line does not start with a keyword', line);
      const after = rest.charAt(keyword.length);
      if (after !== '' && after !== ' ' && after !== '\t')
        throw new NetDocError(object, `bad character after keyword "${keyword}"`, line);
    };
    checkKeyword();
    // Tor once prefixed optional items with "opt"; the prefix carries no meaning.
    if (keyword === 'opt' && rest.length > 3) {
      rest = rest.slice(3).replace(/^[ \t]+/, '');
      keyword = KEYWORD.exec(rest)?.[0];
      checkKeyword();
    }
    const kw = keyword!;
    const argText = rest.slice(kw.length).replace(/^[ \t]+/, '');
    const args = argText.split(/[ \t]+/).filter((a) => a.length > 0);
    const itemLine = line;
    const itemStart = pos;
    pos = next;
    line++;

    let obj: NetDocObject | undefined;
    if (text.startsWith('-----BEGIN ', pos)) {
      const begin = lineAt(pos);
      const bm = /^-----BEGIN (.*)-----$/.exec(begin.content);
      if (!bm || !OBJECT_LABEL.test(bm[1]!))
        throw new NetDocError(object, 'malformed object begin line', line);
      const label = bm[1]!;
      if (!begin.terminated) throw new NetDocError(object, `object ${label} is truncated`, line);
      pos = begin.next;
      line++;
      const endLine = `-----END ${label}-----`;
      let encoded = '';
      for (;;) {
        if (pos >= n) throw new NetDocError(object, `object ${label} has no end line`, line);
        const body = lineAt(pos);
        if (body.content.startsWith('-----')) {
          if (body.content !== endLine)
            throw new NetDocError(object, `object ${label}: mismatched end line`, line);
          pos = body.next;
          line++;
          break;
        }
        if (!BASE64_LINE.test(body.content))
          throw new NetDocError(object, `object ${label}: bad base64`, line);
        encoded += body.content;
        if (encoded.length > MAX_OBJECT_SIZE)
          throw new NetDocError(object, `object ${label} too large`, line);
        pos = body.next;
        line++;
      }
      const data = decodeBase64(encoded);
      if (!data) throw new NetDocError(object, `object ${label}: bad base64`, line - 1);
      obj = { label, data };
    }
    items.push({
      keyword: kw,
      args,
      argText,
      object: obj,
      line: itemLine,
      start: base.offset + itemStart,
      end: base.offset + pos,
    });
  }
  return items;
}

/** Splits a document into items. Never throws: every failure is a NetDocError naming its line. */
export function tokenize(
  bytes: Uint8Array,
  object = 'directory document',
): Result<NetDocItem[], NetDocError> {
  try {
    return ok(tokenizeOrThrow(latin1(bytes), object));
  } catch (e) {
    if (e instanceof NetDocError) return err(e);
    throw e;
  }
}
