/** Reading directory answers cut into DATA cells anywhere. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, utf8 } from '@relayd/common';
import fc from 'fast-check';
import { HttpResponseReader, MAX_RESPONSE_HEAD_BYTES } from '../src/client/http-response.js';

function feed(reader: HttpResponseReader, bytes: Uint8Array, cuts: number[]): void {
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
    reader.push(bytes.subarray(at, Math.max(at, cut)));
    at = Math.max(at, cut);
  }
}

describe('HttpResponseReader', () => {
  it('gives the same summary however the response is cut', () => {
    const body = new Uint8Array(1500);
    body[700] = 9;
    const response = concatBytes(utf8('HTTP/1.0 200 OK\r\nContent-Length: 1500\r\nX-A: b\r\n\r\n'), body);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        const reader = new HttpResponseReader('check-zeros');
        feed(reader, response, cuts);
        assert.deepEqual(reader.summary(), {
          status: 200,
          contentLength: 1500,
          bodyBytes: 1500,
          nonZeroBytes: 1,
          body: undefined,
        });
      }),
    );
  });

  it('keeps the body when asked, with or without Content-Length', () => {
    const reader = new HttpResponseReader('keep');
    reader.push(utf8('HTTP/1.0 404 Not found\r\n\r'));
    assert.equal(reader.summary(), undefined);
    reader.push(utf8('\nrouter x'));
    reader.push(utf8(' y\n'));
    const summary = reader.summary()!;
    assert.equal(summary.status, 404);
    assert.equal(summary.contentLength, undefined);
    assert.equal(Buffer.from(summary.body!).toString(), 'router x y\n');
  });

  it('refuses bad status lines, bad lengths and endless heads', () => {
    const bad = new HttpResponseReader('check-zeros');
    bad.push(utf8('SPDY/3 200 OK\r\n\r\n'));
    assert.match(bad.failure ?? '', /bad status line/);
    assert.equal(bad.summary(), undefined);
    const badLength = new HttpResponseReader('check-zeros');
    badLength.push(utf8('HTTP/1.0 200 OK\r\nContent-Length: -5\r\n\r\n'));
    assert.match(badLength.failure ?? '', /Content-Length/);
    const endless = new HttpResponseReader('check-zeros');
    endless.push(new Uint8Array(MAX_RESPONSE_HEAD_BYTES + 1).fill(0x41));
    assert.equal(endless.failure, 'response head too long');
  });
});
