import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, inflateSync } from 'node:zlib';
import { utf8 } from '@relayd/common';
import { parseHttpRequestHead } from '@relayd/engine';
import { acceptedEncodings, chooseEncoding, encodeBody } from '../src/compression.js';
import { EncodedBodyCache } from '../src/encoded-body-cache.js';
import { formatHttpDate, okResponseHead, parseHttpDate, shortResponse } from '../src/http-response.js';
import { readDirectoryRequest } from '../src/request-target.js';
import { SeededRandom } from './helpers.js';

const head = (text: string) => {
  const parsed = parseHttpRequestHead(utf8(text));
  assert.ok(parsed.ok);
  return parsed.value;
};

describe('HTTP dates', () => {
  it('formats RFC 1123 and parses it back', () => {
    assert.equal(formatHttpDate(784111777), 'Sun, 06 Nov 1994 08:49:37 GMT');
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), 784111777);
    assert.equal(parseHttpDate('Sun, 31 Feb 1994 08:49:37 GMT'), undefined);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), undefined);
    assert.equal(parseHttpDate('yesterday'), undefined);
  });
});

describe('response heads (tor write_http_response_header_impl)', () => {
  it('writes tor headers in tor order', () => {
    const text = Buffer.from(
      okResponseHead({
        nowSeconds: 784111777,
        contentType: 'text/plain',
        clientAddress: '203.0.113.9',
        encoding: 'deflate',
        contentLength: 12,
        cacheLifetimeSeconds: 60,
        extraHeaders: 'Vary: X-Or-Diff-From-Consensus\r\n',
      }),
    ).toString();
    assert.equal(
      text,
      'HTTP/1.0 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n' +
        'X-Your-Address-Is: 203.0.113.9\r\nContent-Encoding: deflate\r\nContent-Length: 12\r\n' +
        'Expires: Sun, 06 Nov 1994 08:50:37 GMT\r\nVary: X-Or-Diff-From-Consensus\r\n\r\n',
    );
    const noCache = Buffer.from(
      okResponseHead({
        nowSeconds: 0,
        contentType: 'text/plain',
        clientAddress: undefined,
        encoding: 'identity',
        contentLength: 0,
        cacheLifetimeSeconds: 0,
      }),
    ).toString();
    assert.match(noCache, /Content-Encoding: identity\r\nContent-Length: 0\r\nPragma: no-cache\r\n\r\n$/);
    assert.doesNotMatch(noCache, /X-Your-Address-Is/);
  });

  it('writes short answers as a status line and a date', () => {
    assert.equal(
      Buffer.from(shortResponse(404, 'Not found', 784111777)).toString(),
      'HTTP/1.0 404 Not found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n',
    );
  });
});

describe('Accept-Encoding negotiation (tor parse_accept_encoding_header)', () => {
  it('prefers deflate, then gzip, then identity, among what the client accepts', () => {
    assert.equal(chooseEncoding(acceptedEncodings(undefined, false)), 'identity');
    assert.equal(chooseEncoding(acceptedEncodings(undefined, true)), 'deflate');
    assert.equal(chooseEncoding(acceptedEncodings('gzip, identity', false)), 'gzip');
    assert.equal(chooseEncoding(acceptedEncodings('x-gzip', false)), 'gzip');
    // tor's own client header: zstd and lzma are recognised but relayd cannot produce them.
    assert.equal(
      chooseEncoding(acceptedEncodings('x-tor-lzma, x-zstd, deflate, gzip, identity', false)),
      'deflate',
    );
    assert.equal(chooseEncoding(acceptedEncodings('x-zstd', false)), 'identity');
    assert.equal(chooseEncoding(acceptedEncodings('br, deflate;q=1', false)), 'identity');
  });

  it('encodes deflate as zlib and gzip as gzip', async () => {
    const body = utf8('network-status-version 3 microdesc\n'.repeat(100));
    assert.deepEqual(new Uint8Array(inflateSync(await encodeBody(body, 'deflate', 9))), body);
    assert.deepEqual(new Uint8Array(gunzipSync(await encodeBody(body, 'gzip', 9))), body);
    assert.equal(await encodeBody(body, 'identity', 9), body);
  });

  it('compresses a body once per key and encoding, and evicts least recently used', async () => {
    const cache = new EncodedBodyCache(9000);
    let made = 0;
    // Random bytes do not compress: each encoded body is a little over 4000 bytes.
    const raw = (seed: number) => () => {
      made++;
      return new SeededRandom(seed).bytes(4000);
    };
    const a1 = await cache.encoded('a', 'deflate', 6, raw(1));
    const a2 = await cache.encoded('a', 'deflate', 6, raw(1));
    assert.equal(a1, a2);
    assert.equal(made, 1);
    assert.deepEqual(new Uint8Array(inflateSync(a1)), new SeededRandom(1).bytes(4000));
    await cache.encoded('a', 'gzip', 6, raw(1));
    assert.equal(made, 2);
    await cache.encoded('b', 'deflate', 6, raw(2));
    assert.equal(cache.stats().entries, 2, 'the oldest entry went to stay within 9000 bytes');
    assert.ok(cache.stats().bytes <= 9000);
    await cache.encoded('a', 'gzip', 6, raw(1));
    assert.equal(made, 3, '"a" as gzip stayed');
    await cache.encoded('a', 'deflate', 6, raw(1));
    assert.equal(made, 4, '"a" as deflate was evicted and compressed again');
    assert.equal(cache.stats().hits, 2);
  });
});

describe('reading a request head (tor directory_handle_command_get)', () => {
  it('serves GET, refuses POST, and calls anything else a bad request', () => {
    assert.equal(readDirectoryRequest(head('GET /tor/keys/all HTTP/1.0\r\n\r\n')).kind, 'get');
    assert.equal(readDirectoryRequest(head('get /tor/keys/all HTTP/1.1\r\n\r\n')).kind, 'get');
    assert.equal(readDirectoryRequest(head('POST /tor/ HTTP/1.0\r\n\r\n')).kind, 'post');
    assert.equal(readDirectoryRequest(head('PUT /tor/ HTTP/1.0\r\n\r\n')).kind, 'bad-request');
    assert.equal(readDirectoryRequest(head('GET /tor/ HTTP/2.0\r\n\r\n')).kind, 'bad-request');
  });

  it('normalises the URL, strips ".z" and reads the headers tor reads', () => {
    const r = readDirectoryRequest(
      head(
        'GET http://10.0.0.1:9030/tor/micro/d/abc.z HTTP/1.0\r\naccept-encoding: gzip\r\n' +
          'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n' +
          `X-Or-Diff-From-Consensus: ${'AB'.repeat(32)} nothex ${'cd'.repeat(32)}\r\n\r\n`,
      ),
    );
    assert.equal(r.kind, 'get');
    if (r.kind !== 'get') return;
    assert.equal(r.get.url, '/tor/micro/d/abc');
    assert.equal(r.get.zSuffix, true);
    assert.deepEqual([...r.get.accepted].sort(), ['deflate', 'gzip', 'identity']);
    assert.equal(r.get.ifModifiedSince, 784111777);
    assert.deepEqual(r.get.orDiffFrom, ['ab'.repeat(32), 'cd'.repeat(32)]);
    const bare = readDirectoryRequest(
      head('GET /server/authority HTTP/1.0\r\nIf-Modified-Since: junk\r\n\r\n'),
    );
    assert.ok(bare.kind === 'get');
    assert.equal(bare.get.url, '/tor/server/authority');
    assert.equal(bare.get.ifModifiedSince, undefined);
    assert.equal(bare.get.zSuffix, false);
  });
});
