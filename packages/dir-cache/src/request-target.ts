/**
 * From an HTTP request head to what the directory service acts on, as C
 * tor's directory_handle_command and directory_handle_command_get read it
 * (tor: src/feature/dircache/dircache.c, dircommon/directory.c
 * parse_http_command and http_get_header):
 *
 *   - the method is compared case-insensitively: GET is served, POST is
 *     refused, anything else is a bad request;
 *   - the version must be HTTP/1.x;
 *   - a proxy-style "http[s]://host/path" target is cut down to its path,
 *     and a path that does not start with "/tor/" gets "/tor" put in front;
 *   - a trailing ".z" is removed and allows "deflate";
 *   - "Accept-Encoding", "If-Modified-Since" and "X-Or-Diff-From-Consensus"
 *     are read, each from its first occurrence, names case-insensitive.
 *     A malformed If-Modified-Since is treated as absent, as tor does.
 */
import type { HttpRequestHead } from '@relayd/engine';
import { acceptedEncodings, type ContentEncoding } from './compression.js';
import { parseHttpDate } from './http-response.js';

/** A GET, ready for the URL table. */
export interface DirectoryGet {
  /** The path with "/tor" ensured and ".z" removed, e.g. "/tor/server/authority". */
  readonly url: string;
  /** The target ended in ".z". */
  readonly zSuffix: boolean;
  readonly accepted: ReadonlySet<ContentEncoding>;
  /** If-Modified-Since, seconds since the epoch. */
  readonly ifModifiedSince: number | undefined;
  /** X-Or-Diff-From-Consensus: lower-case hex SHA3-256 digests of consensuses the client holds. */
  readonly orDiffFrom: readonly string[] | undefined;
}

export type DirectoryRequestKind =
  | { readonly kind: 'get'; readonly get: DirectoryGet }
  | { readonly kind: 'post' }
  | { readonly kind: 'bad-request' };

/** tor's X_OR_DIFF_FROM_CONSENSUS_HEADER. */
export const X_OR_DIFF_FROM_CONSENSUS = 'X-Or-Diff-From-Consensus';

function header(head: HttpRequestHead, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of head.headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}

/** Cuts "http://host/path" (or https) down to "/path", as tor tolerates proxy-style targets. */
function stripAbsoluteForm(target: string): string {
  const m = /^https?:\/\/[^/]*(\/.*)$/.exec(target);
  return m ? m[1]! : target;
}

/** Ensures the "/tor/" prefix (tor: parse_http_url). */
function ensureTorPrefix(url: string): string {
  if (url.startsWith('/tor/')) return url;
  return `/tor${url.startsWith('/') ? '' : '/'}${url}`;
}

/** Reads a parsed request head. Total: every head gives a kind. */
export function readDirectoryRequest(head: HttpRequestHead): DirectoryRequestKind {
  if (!/^HTTP\/1\.[0-9]$/.test(head.version)) return { kind: 'bad-request' };
  const method = head.method.toUpperCase();
  if (method === 'POST') return { kind: 'post' };
  if (method !== 'GET') return { kind: 'bad-request' };

  let url = ensureTorPrefix(stripAbsoluteForm(head.target));
  const zSuffix = url.length > 2 && url.endsWith('.z');
  if (zSuffix) url = url.slice(0, -2);

  const ims = header(head, 'If-Modified-Since');
  const diffHeader = header(head, X_OR_DIFF_FROM_CONSENSUS);
  let orDiffFrom: string[] | undefined;
  if (diffHeader !== undefined) {
    // tor keeps the well-formed digests and ignores the rest.
    orDiffFrom = diffHeader
      .split(' ')
      .filter((d) => /^[0-9A-Fa-f]{64}$/.test(d))
      .map((d) => d.toLowerCase());
  }
  return {
    kind: 'get',
    get: {
      url,
      zSuffix,
      accepted: acceptedEncodings(header(head, 'Accept-Encoding'), zSuffix),
      ifModifiedSince: ims === undefined ? undefined : parseHttpDate(ims),
      orDiffFrom,
    },
  };
}
