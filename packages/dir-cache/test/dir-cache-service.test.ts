import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, inflateSync } from 'node:zlib';
import { concatBytes, toHex, unwrap, utf8 } from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import { type DirectoryRequestContext, parseHttpRequestHead } from '@relayd/engine';
import { parseExtraInfo, parseServerDescriptor } from '@relayd/netdoc';
import fc from 'fast-check';
import { DirCacheService, type DirCacheServiceOptions } from '../src/dir-cache-service.js';
import { DirectoryStore } from '../src/directory-store.js';
import type { DirectoryServiceMetrics } from '../src/metrics.js';
import {
  FakeClock,
  fixture,
  hexId,
  makeMicrodescriptor,
  parseResponse,
  request,
  TESTNET,
} from './helpers.js';

const CLIENT: DirectoryRequestContext = {
  remoteAddress: '198.51.100.7',
  transportName: undefined,
  createdFast: true,
  channelId: 1,
};
// The signed documents, as parsed out of the fixture files (which end with an extra newline).
const OWN_SERVER = unwrap(parseServerDescriptor(fixture('real-bridge-server-descriptor.txt'))).raw;
const OWN_EXTRA = unwrap(parseExtraInfo(fixture('real-bridge-extra-info.txt'))).raw;
const OWN_FP = 'ECB470AEA595D0C34E86DA1E2B89010A62C7D918';

function setup(options: DirCacheServiceOptions = {}, loaded = true) {
  const clock = new FakeClock(TESTNET.nowMs);
  const store = new DirectoryStore({ authorities: TESTNET.authorities.map(hexId) });
  const responses: [string, number][] = [];
  const metrics: DirectoryServiceMetrics = {
    response: (resource, status) => responses.push([resource, status]),
  };
  if (loaded) {
    assert.ok(store.addCertificates(TESTNET.certificates(), clock.now).ok);
    assert.ok(store.offerConsensus(TESTNET.consensus(), clock.now).ok);
    assert.ok(store.addMicrodescriptors(TESTNET.microdescriptors(), clock.now).ok);
    assert.ok(store.setOwnDescriptors(OWN_SERVER, OWN_EXTRA, clock.now).ok);
  }
  const service = new DirCacheService(options, { store, clock, metrics });
  const get = async (target: string, headers: Record<string, string> = {}, context = CLIENT) =>
    parseResponse(await service.handle(request(target, headers), context));
  return { clock, store, service, get, responses };
}

describe('DirCacheService: the consensus', () => {
  it('answers 503 until a consensus is held, and 404 for the ns flavour it never caches', async () => {
    const { get } = setup({}, false);
    const r = await get('/tor/status-vote/current/consensus-microdesc.z');
    assert.equal(r.status, 503);
    assert.equal(r.body.length, 0);
    assert.match(r.headerLines[0]!, /^Date: /);
    assert.equal((await get('/tor/status-vote/current/consensus.z')).status, 404);
  });

  it('serves the exact signed bytes, identity or compressed, with tor headers', async () => {
    const { get } = setup();
    const plain = await get('/tor/status-vote/current/consensus-microdesc');
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.body, TESTNET.consensus());
    assert.deepEqual(
      plain.headerLines.map((l) => l.slice(0, l.indexOf(':'))),
      ['Date', 'Content-Type', 'X-Your-Address-Is', 'Content-Encoding', 'Content-Length', 'Expires', 'Vary'],
    );
    assert.equal(plain.headers.get('Date'), 'Sat, 21 Nov 2026 14:21:30 GMT');
    assert.equal(plain.headers.get('Content-Type'), 'text/plain');
    assert.equal(plain.headers.get('Content-Encoding'), 'identity');
    assert.equal(plain.headers.get('Content-Length'), String(TESTNET.consensus().length));
    // Cacheable until fresh-until (14:21:40), ten seconds from now.
    assert.equal(plain.headers.get('Expires'), 'Sat, 21 Nov 2026 14:21:40 GMT');
    assert.equal(plain.headers.get('Vary'), 'X-Or-Diff-From-Consensus');

    const z = await get('/tor/status-vote/current/consensus-microdesc.z');
    assert.equal(z.headers.get('Content-Encoding'), 'deflate');
    assert.equal(z.headers.get('Content-Length'), String(z.body.length));
    assert.ok(z.body.length < TESTNET.consensus().length);
    assert.deepEqual(new Uint8Array(inflateSync(z.body)), TESTNET.consensus());

    const gz = await get('/tor/status-vote/current/consensus-microdesc', {
      'Accept-Encoding': 'gzip, identity',
    });
    assert.equal(gz.headers.get('Content-Encoding'), 'gzip');
    assert.deepEqual(new Uint8Array(gunzipSync(gz.body)), TESTNET.consensus());
    const best = await get('/tor/status-vote/current/consensus-microdesc', {
      'Accept-Encoding': 'x-tor-lzma, x-zstd, deflate, gzip, identity',
    });
    assert.equal(best.headers.get('Content-Encoding'), 'deflate');
    assert.deepEqual(best.body, z.body, 'the compressed consensus is made once and reused');
  });

  it('honours the <fp>+<fp> form: more than half of the listed authorities must have signed', async () => {
    const { get } = setup();
    const base = '/tor/status-vote/current/consensus-microdesc';
    const ok = await get(`${base}/4605D7+730E65+9A2DE6.z`);
    assert.equal(ok.status, 200);
    assert.deepEqual(new Uint8Array(inflateSync(ok.body)), TESTNET.consensus());
    assert.equal((await get(`${base}/4605d7+000000.z`)).status, 404);
    const refused = await get(`${base}/ABCDEF+012345+4605D7.z`);
    assert.equal(refused.status, 404);
    assert.equal(refused.reason, 'Consensus not signed by sufficient number of requested authorities');
  });

  it('answers 304 when the client already has it, and handles diff requests it cannot serve', async () => {
    const { get, store } = setup();
    const base = '/tor/status-vote/current/consensus-microdesc.z';
    // valid-after is 14:21:20: a client that has anything newer is not sent it again.
    assert.equal((await get(base, { 'If-Modified-Since': 'Sat, 21 Nov 2026 14:21:30 GMT' })).status, 304);
    assert.equal((await get(base, { 'If-Modified-Since': 'Sat, 21 Nov 2026 14:21:20 GMT' })).status, 200);
    const digest = store.consensus()!.digestSha3Hex;
    const same = await get(base, { 'X-Or-Diff-From-Consensus': digest.toUpperCase() });
    assert.equal(same.status, 304);
    assert.equal((await get(base, { 'X-Or-Diff-From-Consensus': 'ab'.repeat(32) })).status, 200);
    const diff = await get(`/tor/status-vote/current/consensus-microdesc/diff/${'ab'.repeat(32)}.z`);
    assert.deepEqual([diff.status, diff.reason], [404, 'No such diff available']);
    assert.equal((await get(`/tor/status-vote/current/consensus-microdesc/diff/${digest}.z`)).status, 304);
    const bad = await get('/tor/status-vote/current/consensus-microdesc/diff/xyz.z');
    assert.deepEqual([bad.status, bad.reason], [404, "Couldn't parse request"]);
  });

  it('stops serving a consensus that is more than a day past valid-until', async () => {
    const { get, clock } = setup();
    clock.now += 25 * 3600_000;
    const r = await get('/tor/status-vote/current/consensus-microdesc.z');
    assert.deepEqual([r.status, r.reason], [404, 'Consensus is too old']);
  });
});

describe('DirCacheService: microdescriptors, certificates, our descriptors', () => {
  it('serves microdescriptors by "-"-joined digest, skipping the ones it lacks', async () => {
    const { get, store, service } = setup();
    const other = makeMicrodescriptor(5);
    store.addMicrodescriptors(other.raw, TESTNET.nowMs);
    const both = [TESTNET.microdescDigest, other.digestBase64];
    const r = await get(`/tor/micro/d/${both.join('-')}-${makeMicrodescriptor(6).digestBase64}.z`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('Expires'), 'Mon, 23 Nov 2026 14:21:30 GMT');
    const served = new Uint8Array(inflateSync(r.body));
    const expected = [TESTNET.microdescriptors(), other.raw].sort((a, b) =>
      Buffer.compare(Buffer.from(sha256(a)), Buffer.from(sha256(b))),
    );
    assert.deepEqual(served, concatBytes(...expected));
    const again = await get(`/tor/micro/d/${[...both].reverse().join('-')}.z`);
    assert.deepEqual(again.body, r.body);
    assert.equal(service.cacheStats().misses, 1, 'one compression for both requests');
    assert.equal((await get(`/tor/micro/d/${makeMicrodescriptor(6).digestBase64}`)).status, 404);
    assert.equal((await get('/tor/micro/d/')).status, 404);
    const plain = await get(`/tor/micro/d/${TESTNET.microdescDigest}`);
    assert.deepEqual(plain.body, TESTNET.microdescriptors());
  });

  it('serves authority certificates by all, fp, sk and fp-sk', async () => {
    const { get, store } = setup();
    const certs = store.certificates().map((c) => c.certificate);
    const all = await get('/tor/keys/all.z');
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('Expires'), 'Sat, 21 Nov 2026 15:21:30 GMT');
    assert.deepEqual(new Uint8Array(inflateSync(all.body)), concatBytes(...certs.map((c) => c.raw)));

    // What a tor client asks a bridge for: every authority by fingerprint.
    const fp = await get(`/tor/keys/fp/${TESTNET.authorities.join('+')}.z`);
    assert.equal(fp.status, 200);
    const fpBody = Buffer.from(inflateSync(fp.body)).toString('latin1');
    for (const id of TESTNET.authorities) assert.ok(fpBody.includes(`fingerprint ${id}`));

    const c0 = certs[0]!;
    const fpsk = await get(`/tor/keys/fp-sk/${toHex(c0.fingerprint)}-${toHex(c0.signingKeyDigest)}`);
    assert.deepEqual(fpsk.body, c0.raw);
    assert.equal(fpsk.headers.get('Content-Encoding'), 'identity');
    const sk = await get(`/tor/keys/sk/${toHex(c0.signingKeyDigest)}`);
    assert.deepEqual(sk.body, c0.raw);

    assert.equal((await get(`/tor/keys/fp/${'00'.repeat(20)}`)).status, 404);
    assert.equal((await get('/tor/keys/authority')).status, 404);
    assert.equal((await get('/tor/keys/whatever')).status, 400);
    // Certificates published before If-Modified-Since are not sent again.
    assert.equal(
      (await get('/tor/keys/all', { 'If-Modified-Since': 'Sun, 22 Nov 2026 00:00:00 GMT' })).status,
      304,
    );
  });

  it('serves our own descriptor by authority, fingerprint and digest', async () => {
    const { get, store } = setup();
    const digest = toHex(store.ownDescriptors()!.serverDescriptor.digest);
    for (const target of ['/tor/server/authority', `/tor/server/fp/${OWN_FP}`, `/tor/server/d/${digest}`]) {
      const r = await get(`${target}.z`);
      assert.equal(r.status, 200, target);
      assert.deepEqual(new Uint8Array(inflateSync(r.body)), OWN_SERVER, target);
      assert.equal(r.headers.get('Expires'), 'Mon, 23 Nov 2026 14:21:30 GMT');
    }
    assert.equal((await get(`/tor/server/fp/${'11'.repeat(20)}`)).status, 404);
    const all = await get('/tor/server/all');
    assert.deepEqual([all.status, all.reason], [404, 'Servers unavailable']);
    assert.equal((await get('/tor/server/nonsense')).status, 404);
    // Bridges do not serve extra-info unless told to.
    assert.equal((await get('/tor/extra/authority')).status, 404);
  });

  it('serves extra-info when enabled, and nothing by fingerprint once our descriptor is a day old', async () => {
    const { get, clock } = setup({ serveExtraInfo: true });
    const r = await get(`/tor/extra/fp/${OWN_FP}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, OWN_EXTRA);
    clock.now += 25 * 3600_000;
    assert.equal((await get('/tor/server/authority')).status, 404);
  });

  it('answers 404 before our descriptor is set', async () => {
    const { get } = setup({}, false);
    const r = await get('/tor/server/authority.z');
    assert.deepEqual([r.status, r.reason], [404, 'Servers unavailable']);
  });
});

describe('DirCacheService: requests that are not directory fetches', () => {
  it('refuses POST, other methods and unparseable heads', async () => {
    const { service, responses } = setup();
    const post = parseResponse(await service.handle(request('/tor/', {}, 'POST'), CLIENT));
    assert.deepEqual([post.status, post.reason], [503, 'Not acting as a public relay']);
    const put = parseResponse(await service.handle(request('/tor/', {}, 'PUT'), CLIENT));
    assert.equal(put.status, 400);
    const garbage = utf8('GET /tor/\x01 HTTP/1.0\r\n\r\n');
    const bad = parseResponse(
      await service.handle({ head: garbage, parsed: parseHttpRequestHead(garbage) }, CLIENT),
    );
    assert.deepEqual([bad.status, bad.reason], [400, 'Bad request']);
    assert.deepEqual(responses, [
      ['post', 503],
      ['bad-request', 400],
      ['bad-request', 400],
    ]);
  });

  it('serves robots.txt uncompressed and 404s what a bridge does not have', async () => {
    const { get } = setup();
    const robots = await get('/tor/robots.txt');
    assert.equal(Buffer.from(robots.body).toString(), 'User-agent: *\r\nDisallow: /\r\n');
    assert.equal(robots.headers.get('Content-Encoding'), 'identity');
    assert.equal((await get('/tor/')).status, 404);
    assert.equal((await get('/tor/status-vote/current/authority.z')).status, 404);
    assert.equal((await get('/tor/hs/3/abc')).status, 503);
    assert.equal((await get('/nothing/here')).status, 404);
  });

  it('tells a client its address only if it is public and not in our own /24', async () => {
    const { service } = setup({ ownAddresses: ['203.0.113.1'] });
    const ask = async (remoteAddress: string) =>
      parseResponse(await service.handle(request('/tor/keys/all'), { ...CLIENT, remoteAddress })).headers.get(
        'X-Your-Address-Is',
      );
    assert.equal(await ask('198.51.100.7'), '198.51.100.7');
    assert.equal(await ask('2001:db8::7'), '2001:db8::7');
    assert.equal(await ask('[2001:db8::7]'), '2001:db8::7');
    assert.equal(await ask('[2001:db8::7]:443'), '2001:db8::7');
    assert.equal(await ask('198.51.100.7:9001'), '198.51.100.7');
    assert.equal(await ask('127.0.0.1'), undefined);
    assert.equal(await ask('10.1.2.3'), undefined);
    assert.equal(await ask('203.0.113.77'), undefined);
    assert.equal(await ask('not an address'), undefined);
  });

  it('property: any request head gets an HTTP/1.0 answer, never an exception', async () => {
    const { service } = setup();
    const piece = fc.constantFrom(
      '/tor/',
      'status-vote/current/consensus',
      '-microdesc',
      '/diff/',
      'micro/d/',
      'keys/',
      'fp/',
      'fp-sk/',
      'sk/',
      'server/',
      'extra/',
      'd/',
      'authority',
      'all',
      '.z',
      '+',
      '-',
      '/',
      TESTNET.microdescDigest,
      TESTNET.authorities[0],
      'http://x',
    );
    const target = fc
      .array(fc.oneof(piece, fc.string({ maxLength: 12 })), { maxLength: 8 })
      .map((p) => p.join(''));
    const headerName = fc.constantFrom(
      'Accept-Encoding',
      'If-Modified-Since',
      'X-Or-Diff-From-Consensus',
      'Host',
    );
    const headerValue = fc.oneof(
      fc.constantFrom('deflate', 'gzip, x-zstd', 'Sat, 21 Nov 2026 14:21:30 GMT', 'ab'.repeat(32)),
      fc.string({ maxLength: 40 }),
    );
    const method = fc.constantFrom('GET', 'get', 'POST', 'HEAD', 'X');
    await fc.assert(
      fc.asyncProperty(
        method,
        target,
        fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.boolean(),
        async (m, t, hs, raw, useRaw) => {
          let head: Uint8Array;
          if (useRaw) head = raw;
          else {
            let text = `${m} ${t} HTTP/1.0\r\n`;
            for (const [k, v] of hs) text += `${k}: ${v}\r\n`;
            head = Buffer.from(`${text}\r\n`, 'latin1');
          }
          const response = await service.handle({ head, parsed: parseHttpRequestHead(head) }, CLIENT);
          const parsed = parseResponse(response);
          assert.ok([200, 304, 400, 404, 503].includes(parsed.status), `${parsed.status} ${parsed.reason}`);
        },
      ),
      { numRuns: 400 },
    );
  });
});
