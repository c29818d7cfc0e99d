/**
 * Content-Encoding negotiation and encoding (tor: src/lib/compress/compress.c
 * compression_method_names; dircache.c parse_accept_encoding_header and
 * find_best_compression_method).
 *
 * A client names what it accepts in "Accept-Encoding" (comma separated) and
 * may add ".z" to the URL, which always allows "deflate". "identity" is
 * always allowed. The server picks the best method both sides support in
 * tor's order of preference — x-tor-lzma, x-zstd, deflate, gzip, identity.
 *
 * relayd encodes with node:zlib, which has deflate and gzip (and no zstd in
 * Node 20, nor lzma): names it does not implement are recognised and never
 * chosen. tor's "deflate" is the zlib format (RFC 1950), what node's
 * `deflate` writes; "gzip" is RFC 1952.
 */
import { deflate, gzip, constants as zlibConstants } from 'node:zlib';

/** The encodings relayd can produce, with their Content-Encoding names. */
export const ContentEncoding = {
  identity: 'identity',
  deflate: 'deflate',
  gzip: 'gzip',
} as const;
export type ContentEncoding = (typeof ContentEncoding)[keyof typeof ContentEncoding];

/** Every name tor recognises (compress.c), mapped to what relayd makes of it. */
const RECOGNISED: Readonly<Record<string, ContentEncoding | 'unsupported'>> = {
  identity: 'identity',
  deflate: 'deflate',
  gzip: 'gzip',
  // tor accepts "x-gzip" but never emits it.
  'x-gzip': 'gzip',
  'x-zstd': 'unsupported',
  'x-tor-lzma': 'unsupported',
};

/** Best first: tor's srv_meth_pref_precompressed restricted to what node:zlib provides. */
const PREFERENCE: readonly ContentEncoding[] = ['deflate', 'gzip', 'identity'];

/**
 * The set of encodings a request allows: what "Accept-Encoding" names,
 * plus "identity", plus "deflate" when the URL ended in ".z". Unknown
 * names are ignored, as tor ignores them.
 */
export function acceptedEncodings(
  acceptEncoding: string | undefined,
  zSuffix: boolean,
): ReadonlySet<ContentEncoding> {
  const out = new Set<ContentEncoding>(['identity']);
  if (zSuffix) out.add('deflate');
  if (acceptEncoding !== undefined) {
    for (const part of acceptEncoding.split(',')) {
      // tor compares whole names; "deflate;q=0.5" is not a name it knows.
      const method = RECOGNISED[part.trim()];
      if (method !== undefined && method !== 'unsupported') out.add(method);
    }
  }
  return out;
}

/** The encoding to answer with: the first of tor's preference order the client accepts. */
export function chooseEncoding(accepted: ReadonlySet<ContentEncoding>): ContentEncoding {
  for (const method of PREFERENCE) if (accepted.has(method)) return method;
  return 'identity';
}

/** Compression levels: documents kept for many requests get the best ratio. */
export const COMPRESSION_LEVEL = {
  /** One document served many times (the consensus, our descriptor). */
  cached: zlibConstants.Z_BEST_COMPRESSION,
  /** A response built for a request (a set of microdescriptors or certificates). */
  perResponse: zlibConstants.Z_DEFAULT_COMPRESSION,
} as const;

/**
 * Encodes `body`. Compression runs on libuv's thread pool (node:zlib's
 * asynchronous API), so a large consensus does not block the event loop.
 */
export function encodeBody(body: Uint8Array, encoding: ContentEncoding, level: number): Promise<Uint8Array> {
  if (encoding === 'identity') return Promise.resolve(body);
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: Buffer) => {
      if (error) reject(error);
      else resolve(new Uint8Array(result.buffer, result.byteOffset, result.byteLength));
    };
    if (encoding === 'deflate') deflate(body, { level }, done);
    else gzip(body, { level }, done);
  });
}
