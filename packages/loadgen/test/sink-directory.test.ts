/** The sink's directory service and the path vocabulary both ends share. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { utf8 } from '@relayd/common';
import { type DirectoryRequestContext, parseHttpRequestHead } from '@relayd/engine';
import {
  downloadPath,
  httpGetHead,
  MAX_SINK_RESPONSE_BYTES,
  parseSinkTarget,
  releasePath,
  SinkDirectory,
  uploadPath,
} from '../src/index.js';

const context = (channelId = 1): DirectoryRequestContext => ({
  remoteAddress: '127.0.0.1',
  transportName: undefined,
  createdFast: false,
  channelId,
});

function request(text: string) {
  const head = utf8(text);
  return { head, parsed: parseHttpRequestHead(head) };
}

function get(path: string) {
  const head = httpGetHead(path);
  return { head, parsed: parseHttpRequestHead(head) };
}

function split(response: Uint8Array): { head: string; body: Uint8Array } {
  const text = Buffer.from(response).toString('latin1');
  const end = text.indexOf('\r\n\r\n') + 4;
  return { head: text.slice(0, end), body: response.subarray(end) };
}

describe('sink protocol paths', () => {
  it('round-trips every path and refuses the malformed ones', () => {
    assert.deepEqual(parseSinkTarget(downloadPath(12345)), { kind: 'bytes', bytes: 12345 });
    assert.deepEqual(parseSinkTarget(uploadPath('00ff00ff00ff00ff')), {
      kind: 'upload',
      token: '00ff00ff00ff00ff',
    });
    assert.deepEqual(parseSinkTarget(releasePath('abcdef0123456789')), {
      kind: 'release',
      token: 'abcdef0123456789',
    });
    for (const target of [
      '/tor/server/authority',
      '/loadgen/bytes/-1',
      '/loadgen/bytes/1e3',
      `/loadgen/bytes/${MAX_SINK_RESPONSE_BYTES + 1}`,
      '/loadgen/upload/XYZ',
      '/loadgen/upload/abc',
      '/loadgen/bytes/10/extra',
    ]) {
      assert.deepEqual(parseSinkTarget(target), { kind: 'other' }, target);
    }
  });
});

describe('SinkDirectory', () => {
  it('serves N zero bytes with a matching Content-Length, sharing one buffer per size', async () => {
    const sink = new SinkDirectory();
    const first = await sink.handle(get(downloadPath(1000)), context());
    const again = await sink.handle(get(downloadPath(1000)), context());
    assert.equal(first, again);
    const { head, body } = split(first);
    assert.match(head, /^HTTP\/1\.0 200 OK\r\n/);
    assert.match(head, /\r\nContent-Length: 1000\r\n/);
    assert.equal(body.length, 1000);
    assert.ok(body.every((b) => b === 0));
    assert.equal(sink.counts.downloads, 2);
    assert.equal(sink.counts.bodyBytesServed, 2000);
  });

  it('answers other GETs with the default body and refuses what is not a GET', async () => {
    const sink = new SinkDirectory({ defaultResponseBytes: 10 });
    assert.equal(
      split(await sink.handle(get('/tor/status-vote/current/consensus'), context())).body.length,
      10,
    );
    const post = split(await sink.handle(request('POST /x HTTP/1.0\r\n\r\n'), context()));
    assert.match(post.head, /^HTTP\/1\.0 400 /);
    const garbage = split(await sink.handle(request('\x01\x02\r\n\r\n'), context()));
    assert.match(garbage.head, /^HTTP\/1\.0 400 /);
    assert.deepEqual([sink.counts.otherRequests, sink.counts.badRequests], [1, 2]);
  });

  it('holds an upload until its release on the same channel, and only then', async () => {
    const sink = new SinkDirectory();
    const token = '0123456789abcdef';
    let answered: Uint8Array | undefined;
    const upload = sink.handle(get(uploadPath(token)), context(7)).then((r) => {
      answered = r;
      return r;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, undefined);
    assert.equal(sink.heldUploads, 1);
    // The same token from another channel is somebody else's.
    assert.match(split(await sink.handle(get(releasePath(token)), context(8))).head, /^HTTP\/1\.0 404 /);
    assert.equal(answered, undefined);
    const release = split(await sink.handle(get(releasePath(token)), context(7)));
    assert.match(release.head, /^HTTP\/1\.0 200 OK\r\nContent-Length: 0\r\n/);
    assert.match(split(await upload).head, /^HTTP\/1\.0 200 OK\r\n/);
    assert.deepEqual(
      [sink.counts.uploadsHeld, sink.counts.uploadsReleased, sink.counts.unknownReleases],
      [1, 1, 1],
    );
    assert.equal(sink.heldUploads, 0);
  });

  it('answers an upload never released with 408 after the hold time, and all of them on close', async () => {
    const sink = new SinkDirectory({ holdTimeoutMs: 20 });
    // The hold timer does not keep a process alive; this test has to.
    const keepAlive = setTimeout(() => {}, 5_000);
    const expired = split(await sink.handle(get(uploadPath('aaaaaaaaaaaaaaaa')), context()));
    clearTimeout(keepAlive);
    assert.match(expired.head, /^HTTP\/1\.0 408 /);
    assert.equal(sink.counts.uploadsExpired, 1);
    const held = sink.handle(get(uploadPath('bbbbbbbbbbbbbbbb')), context());
    sink.releaseAll();
    assert.match(split(await held).head, /^HTTP\/1\.0 408 /);
  });
});
