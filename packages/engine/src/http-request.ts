/**
 * The HTTP/1.0 request head a client sends on a BEGIN_DIR stream
 * (dir-spec 6: "GET /tor/... HTTP/1.0" and header lines, ended by an empty
 * line). Owns finding the end of the head and splitting it into a request
 * line and headers; it does not interpret paths or answer anything.
 *
 * Parsing is total: any bytes give a Result, never an exception.
 */
import { DecodeError, err, ok, type Result } from '@relayd/common';

/** A request line and its header fields, as sent. */
export interface HttpRequestHead {
  /** e.g. "GET" (case as sent). */
  readonly method: string;
  /** The request target, e.g. "/tor/server/authority.z". */
  readonly target: string;
  /** e.g. "HTTP/1.0". */
  readonly version: string;
  /** Header fields in order, names as sent; values with surrounding whitespace removed. */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
}

/** Index just past the first "\r\n\r\n" in `bytes`, or -1 if the head has not ended. */
export function findHeadEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a && bytes[i - 3] === 0x0d) {
      return i + 1;
    }
  }
  return -1;
}

const OBJECT = 'HTTP request head';
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VERSION = /^HTTP\/[0-9]\.[0-9]$/;

function malformed(detail: string): Result<HttpRequestHead, DecodeError> {
  return err(new DecodeError('malformed', OBJECT, detail));
}

/** Parses a head that ends with "\r\n\r\n" (as cut by `findHeadEnd`). */
export function parseHttpRequestHead(head: Uint8Array): Result<HttpRequestHead, DecodeError> {
  let text = '';
  for (const byte of head) {
    // Request heads are ASCII; control characters other than CR/LF/TAB are refused.
    if ((byte < 0x20 && byte !== 0x0d && byte !== 0x0a && byte !== 0x09) || byte > 0x7e) {
      return malformed(`byte 0x${byte.toString(16)} in request head`);
    }
    text += String.fromCharCode(byte);
  }
  if (!text.endsWith('\r\n\r\n')) return malformed('request head does not end with an empty line');
  const lines = text.slice(0, -4).split('\r\n');
  const requestLine = lines[0] ?? '';
  const parts = requestLine.split(' ');
  if (parts.length !== 3) return malformed('request line is not "METHOD TARGET VERSION"');
  const [method, target, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) return malformed('bad method');
  if (target.length === 0 || /[\r\n\t]/.test(target)) return malformed('bad request target');
  if (!VERSION.test(version)) return malformed('bad HTTP version');
  const headers: Array<readonly [string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return malformed('header line without a name');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return malformed('bad header name');
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return ok({ method, target, version, headers });
}
