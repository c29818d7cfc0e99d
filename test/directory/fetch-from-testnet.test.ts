/**
 * The directory cache against real C tor directory authorities: a private
 * network of three tor 0.4.9 authorities and four relays on loopback; the
 * fetcher, using the real HTTP client, fetches the microdesc consensus, the
 * authority certificates its signatures need and every microdescriptor it
 * lists, verifies them, refreshes on tor's schedule (seconds, on this fast
 * test network) and keeps the last good copies. The DirCacheService then
 * serves them, and what it serves is compared byte for byte with what the
 * authorities themselves serve. Every tor process is stopped by PID in
 * `after`, also when a test fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { systemClock, toBase64Unpadded, unwrap } from '@relayd/common';
import { type DirAuthority, parseDirAuthorityLine } from '@relayd/config';
import { secureRandom } from '@relayd/crypto';
import {
  DIRECTORY_STORAGE_NAMES,
  DirCacheService,
  DirectoryFetcher,
  DirectoryStore,
  MemoryDirectoryStorage,
  v3AuthorityIdentities,
} from '@relayd/dir-cache';
import { parseHttpRequestHead, systemScheduler } from '@relayd/engine';
import { httpRequest } from '@relayd/net';
import { parseAuthorityCertificates, parseConsensus, parseMicrodescriptors } from '@relayd/netdoc';
import { sleep, startNetwork, type TestNetwork } from '@relayd/testnet';

const CLIENT = { remoteAddress: '127.0.0.1', transportName: undefined, createdFast: true, channelId: 1 };

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The HTTP head and body of a service response. */
function splitResponse(bytes: Uint8Array): { status: number; headers: string; body: Uint8Array } {
  const end = Buffer.from(bytes).indexOf('\r\n\r\n');
  const headers = Buffer.from(bytes.subarray(0, end)).toString('latin1');
  return { status: Number(headers.slice(9, 12)), headers, body: bytes.subarray(end + 4) };
}

describe('directory cache against real tor authorities', { timeout: 150_000 }, () => {
  let network: TestNetwork | undefined;
  let authorities: DirAuthority[] = [];
  let fetcher: DirectoryFetcher | undefined;
  let store: DirectoryStore;
  let service: DirCacheService;
  const storage = new MemoryDirectoryStorage();

  const authorityGet = (authority: DirAuthority, path: string) =>
    httpRequest({
      method: 'GET',
      host: authority.ipv4Address,
      port: authority.dirPort,
      path,
      headers: { 'Accept-Encoding': 'deflate, identity' },
      timeoutMs: 10_000,
      maxResponseBytes: 16 << 20,
    });

  const serve = async (target: string) => {
    const head = Buffer.from(`GET ${target} HTTP/1.0\r\nAccept-Encoding: deflate, identity\r\n\r\n`);
    return splitResponse(await service.handle({ head, parsed: parseHttpRequestHead(head) }, CLIENT));
  };

  before(async () => {
    network = await startNetwork();
    // The same DirAuthority lines a relayd torrc would hold, parsed by the config package.
    authorities = network.dirAuthorityLines.map(
      (line) => unwrap(parseDirAuthorityLine(line.replace(/^DirAuthority /, ''))).authority,
    );
    store = new DirectoryStore({ authorities: v3AuthorityIdentities(authorities) });
    fetcher = new DirectoryFetcher(
      // TestingTorNetwork's TestingDirConnectionMaxStall.
      { authorities, requestTimeoutMs: 30_000 },
      {
        store,
        fetch: httpRequest,
        storage,
        clock: systemClock,
        scheduler: systemScheduler,
        random: secureRandom,
      },
    );
    service = new DirCacheService({}, { store, clock: systemClock });
  });

  after(async () => {
    fetcher?.stop();
    service?.close();
    await network?.close();
  });

  it('fetches and verifies the consensus, its certificates and every microdescriptor it lists', async () => {
    await fetcher!.start();
    await waitFor(
      'a verified consensus with all its microdescriptors',
      () => {
        const s = fetcher!.status();
        return s.consensus !== undefined && s.microdescriptors.listed > 0 && s.microdescriptors.missing === 0;
      },
      60_000,
    );
    const status = fetcher!.status();
    const held = store.consensus()!;
    assert.equal(authorities.length, 3);
    assert.ok(held.tally.good.length >= 2, `signed by ${held.tally.good.length} of 3`);
    assert.equal(status.certificates, held.tally.good.length);
    // Every authority and relay of the network is listed, with its microdescriptor held.
    const listed = new Set(
      held.consensus.routers.map((r) => Buffer.from(r.identity).toString('hex').toUpperCase()),
    );
    for (const node of [...network!.authorities, ...network!.relays])
      assert.ok(listed.has(node.fingerprint), node.nickname);
    for (const r of held.consensus.routers) {
      const md = store.microdescriptor(toBase64Unpadded(r.microdescDigest!));
      assert.ok(md, `${r.nickname}'s microdescriptor`);
    }
    assert.equal(status.microdescriptors.held, held.consensus.routers.length);
    assert.ok(storage.files.has(DIRECTORY_STORAGE_NAMES.consensus));
    assert.ok(storage.files.has(DIRECTORY_STORAGE_NAMES.certificates));
    assert.ok(storage.files.has(DIRECTORY_STORAGE_NAMES.microdescriptors));
  });

  it('serves the same consensus bytes an authority serves', async () => {
    // Consensuses last seconds here: retry until ours and an authority's are the same one.
    let compared = false;
    for (let attempt = 0; attempt < 10 && !compared; attempt++) {
      const ours = await serve('/tor/status-vote/current/consensus-microdesc.z');
      assert.equal(ours.status, 200);
      assert.match(ours.headers, /\r\nContent-Encoding: deflate\r\n/);
      const oursRaw = new Uint8Array(inflateSync(ours.body));
      const oursParsed = unwrap(parseConsensus(oursRaw));
      for (const authority of authorities) {
        const theirs = await authorityGet(authority, '/tor/status-vote/current/consensus-microdesc.z');
        assert.equal(theirs.status, 200);
        const theirsParsed = unwrap(parseConsensus(theirs.body));
        if (
          theirsParsed.validAfter === oursParsed.validAfter &&
          theirsParsed.signatures.length === oursParsed.signatures.length
        ) {
          assert.deepEqual(oursRaw, theirs.body, `byte-identical to ${authority.nickname}'s`);
          compared = true;
          break;
        }
      }
      if (!compared) {
        fetcher!.requestConsensusFetch();
        await fetcher!.runNow();
      }
    }
    assert.ok(compared, 'caught an authority serving the consensus we hold');

    // The form tor clients use: the first three bytes of each authority's identity.
    const prefixes = authorities
      .map((a) => a.v3Identity!.slice(0, 6))
      .sort()
      .join('+');
    const conditional = await serve(`/tor/status-vote/current/consensus-microdesc/${prefixes}.z`);
    assert.equal(conditional.status, 200);
  });

  it('serves the authority certificates and microdescriptors as the authorities do', async () => {
    const fps = authorities.map((a) => a.v3Identity!).join('+');
    const ours = await serve(`/tor/keys/fp/${fps}.z`);
    assert.equal(ours.status, 200);
    const ourCerts = unwrap(parseAuthorityCertificates(new Uint8Array(inflateSync(ours.body))));
    const theirs = await authorityGet(authorities[0]!, '/tor/keys/all.z');
    const theirCerts = unwrap(parseAuthorityCertificates(theirs.body));
    const key = (c: { raw: Uint8Array }) => Buffer.from(c.raw).toString('latin1');
    for (const c of ourCerts)
      assert.ok(
        theirCerts.some((t) => key(t) === key(c)),
        'a certificate the authority serves',
      );
    assert.equal(ourCerts.length, store.certificates().length);

    const digests = [...store.consensus()!.listedMicrodescriptors];
    const served = await serve(`/tor/micro/d/${digests.join('-')}.z`);
    assert.equal(served.status, 200);
    const ourMds = unwrap(parseMicrodescriptors(new Uint8Array(inflateSync(served.body))));
    assert.deepEqual(ourMds.invalid, []);
    assert.deepEqual(ourMds.microdescriptors.map((m) => m.digestBase64).sort(), [...digests].sort());
    const fromAuthority = await authorityGet(authorities[1]!, `/tor/micro/d/${digests.join('-')}.z`);
    assert.equal(fromAuthority.status, 200);
    const theirMds = unwrap(parseMicrodescriptors(fromAuthority.body));
    const bytesOf = (list: { raw: Uint8Array }[]) =>
      list.map((m) => Buffer.from(m.raw).toString('latin1')).sort();
    assert.deepEqual(bytesOf([...ourMds.microdescriptors]), bytesOf([...theirMds.microdescriptors]));
  });

  it('refreshes the consensus on the cache schedule and reloads the last good copy', async () => {
    const first = fetcher!.status().consensus!.validAfter;
    // A 10 s voting interval: the next consensus is due 1–6 s after fresh-until.
    await waitFor('a newer consensus', () => (fetcher!.status().consensus?.validAfter ?? 0) > first, 40_000);
    assert.equal(fetcher!.status().consensusFailures, 0);
    await waitFor('its microdescriptors', () => fetcher!.status().microdescriptors.missing === 0, 20_000);

    // A restart with every authority unreachable still serves the stored documents.
    const reloaded = new DirectoryStore({ authorities: v3AuthorityIdentities(authorities) });
    const offline = new DirectoryFetcher(
      { authorities },
      {
        store: reloaded,
        fetch: () => Promise.reject(new Error('offline')),
        storage,
        clock: systemClock,
        scheduler: systemScheduler,
        random: secureRandom,
      },
    );
    await offline.start();
    offline.stop();
    assert.ok(reloaded.consensus(), 'stored consensus accepted again');
    assert.ok(reloaded.consensus()!.consensus.validAfter > first);
    assert.deepEqual(reloaded.missingMicrodescriptors(), []);
  });
});
