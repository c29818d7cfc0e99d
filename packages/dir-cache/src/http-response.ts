/**
 * HTTP/1.0 responses as C tor's directory server writes them
 * (tor: src/feature/dircache/dircache.c write_short_http_response and
 * write_http_response_header_impl):
 *
 *   HTTP/1.0 200 OK
 *   Date: <RFC 1123>
 *   Content-Type: text/plain
 *   X-Your-Address-Is: <client address>      (only for a non-local client)
 *   Content-Encoding: identity | deflate | gzip
 *   Content-Length: <n>
 *   Expires: <RFC 1123>  |  Pragma: no-cache (lifetime 0)
 *   <extra headers, e.g. "Vary: X-Or-Diff-From-Consensus">
 *
 * Errors and 304 are a status line and a Date header only. Tor writes
 * Content-Length only where it knows the length before streaming; every
 * answer here is complete before it is sent, so it is always written.
 */
import { utf8 } from '@relayd/common';

/** tor's X_ADDRESS_HEADER (dircommon/directory.h). */
export const X_ADDRESS_HEADER = 'X-Your-Address-Is';

/** Formats seconds since the epoch as an RFC 1123 date ("Sun, 06 Nov 1994 08:49:37 GMT"). */
export function formatHttpDate(seconds: number): string {
  // Date.prototype.toUTCString produces exactly the RFC 1123 fixed-length form.
  return new Date(seconds * 1000).toUTCString();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC1123 =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;

/**
 * Parses an RFC 1123 date (the form tor clients send in If-Modified-Since).
 * Returns undefined for anything else: tor treats a malformed
 * If-Modified-Since as absent.
 */
export function parseHttpDate(text: string): number | undefined {
  const m = RFC1123.exec(text);
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[2]!);
  if (month < 0) return undefined;
  const [day, year, hour, minute, second] = [m[1], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  const check = new Date(ms);
  // Refuse dates that Date.UTC silently rolled over (e.g. "31 Feb").
  if (check.getUTCDate() !== day) return undefined;
  return ms / 1000;
}

/** A status line plus Date, for errors and 304 (tor's write_short_http_response). */
export function shortResponse(status: number, reason: string, nowSeconds: number): Uint8Array {
  return utf8(`HTTP/1.0 ${status} ${reason}\r\nDate: ${formatHttpDate(nowSeconds)}\r\n\r\n`);
}

/** What goes into a 200 response's head. */
export interface OkResponseHead {
  readonly nowSeconds: number;
  readonly contentType: string;
  /** The client's address, when it should be told it (see `shouldReportAddress`). */
  readonly clientAddress: string | undefined;
  /** The Content-Encoding name: "identity", "deflate" or "gzip". */
  readonly encoding: string;
  readonly contentLength: number;
  /** Seconds a cache may keep the answer; 0 writes "Pragma: no-cache". */
  readonly cacheLifetimeSeconds: number;
  /** Complete header lines, each ending in CRLF. */
  readonly extraHeaders?: string;
}

/** The head of a 200 response, through its empty line. */
export function okResponseHead(head: OkResponseHead): Uint8Array {
  let text = `HTTP/1.0 200 OK\r\nDate: ${formatHttpDate(head.nowSeconds)}\r\n`;
  text += `Content-Type: ${head.contentType}\r\n`;
  if (head.clientAddress !== undefined) text += `${X_ADDRESS_HEADER}: ${head.clientAddress}\r\n`;
  text += `Content-Encoding: ${head.encoding}\r\n`;
  text += `Content-Length: ${head.contentLength}\r\n`;
  if (head.cacheLifetimeSeconds > 0) {
    text += `Expires: ${formatHttpDate(head.nowSeconds + head.cacheLifetimeSeconds)}\r\n`;
  } else {
    text += 'Pragma: no-cache\r\n';
  }
  if (head.extraHeaders) text += head.extraHeaders;
  return utf8(`${text}\r\n`);
}

/** Head and body in one buffer (the engine sends the response as one byte string). */
export function joinResponse(head: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}
