import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesEqual, concatBytes, unwrap } from '@relayd/common';
import { parseAuthorityCertificates } from '@relayd/netdoc';
import type { DirectoryAuthoritySource } from '../src/authorities.js';
import { v3AuthorityIdentities } from '../src/authorities.js';
import {
  DirectoryFetcher,
  type DirectoryFetcherOptions,
  type DirectoryFetchRequest,
  type DirectoryFetchResponse,
} from '../src/directory-fetcher.js';
import { DirectoryStore } from '../src/directory-store.js';
import { parseHttpDate } from '../src/http-response.js';
import type { DirectoryFetchOutcome } from '../src/metrics.js';
import { splitBase64Digests256, splitFingerprintPairs } from '../src/resource-list.js';
import { DIRECTORY_STORAGE_NAMES, MemoryDirectoryStorage } from '../src/storage.js';
import {
  FakeClock,
  FakeScheduler,
  GENCERT_NOW_MS,
  gencertAuthorities,
  makeConsensus,
  makeMicrodescriptor,
  SeededRandom,
  settle,
  type TestAuthority,
  type TestMicrodescriptor,
} from './helpers.js';

const AUTHS = gencertAuthorities();
const START = Math.floor(GENCERT_NOW_MS / 1000);
const SOURCES: DirectoryAuthoritySource[] = AUTHS.map((a, i) => ({
  nickname: a.nickname,
  ipv4Address: '127.0.0.1',
  dirPort: 7001 + i,
  v3Identity: a.v3Identity,
}));

/** Directory authorities in memory: they serve whatever documents the test gives them. */
class FakeAuthorities {
  readonly requests: (DirectoryFetchRequest & { atMs: number })[] = [];
  consensus: Uint8Array | undefined;
  certificates: Uint8Array;
  readonly microdescs = new Map<string, Uint8Array>();
  /** Ports that refuse connections. */
  readonly down = new Set<number>();
  /** Digests an authority leaves out of its answers. */
  readonly withheld = new Set<string>();
  /** Extra bytes appended to every microdescriptor answer. */
  extraMicrodescs: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly clock: FakeClock,
    authorities: readonly TestAuthority[],
  ) {
    this.certificates = concatBytes(...authorities.map((a) => a.cert.raw));
  }

  addMicrodescriptors(mds: readonly TestMicrodescriptor[]): void {
    for (const md of mds) this.microdescs.set(md.digestBase64, md.raw);
  }

  readonly fetch = async (req: DirectoryFetchRequest): Promise<DirectoryFetchResponse> => {
    this.requests.push({ ...req, atMs: this.clock.now });
    if (this.down.has(req.port)) throw new Error(`connect ECONNREFUSED 127.0.0.1:${req.port}`);
    assert.equal(req.method, 'GET');
    assert.ok(req.path.endsWith('.z'), 'every fetch asks for deflate');
    const path = req.path.slice(0, -2);
    if (path === '/tor/status-vote/current/consensus-microdesc') {
      if (!this.consensus) return { status: 404, body: new Uint8Array(0) };
      const ims = req.headers['If-Modified-Since'];
      const va = /valid-after (\S+ \S+)/.exec(Buffer.from(this.consensus).toString('latin1'))![1]!;
      if (ims && Date.parse(`${va.replace(' ', 'T')}Z`) / 1000 < (parseHttpDate(ims) ?? 0))
        return { status: 304, body: new Uint8Array(0) };
      return { status: 200, body: this.consensus };
    }
    if (path.startsWith('/tor/keys/fp-sk/')) {
      const pairs = splitFingerprintPairs(path.slice('/tor/keys/fp-sk/'.length));
      const certs = unwrap(parseAuthorityCertificates(this.certificates)).filter((c) =>
        pairs.some(
          (p) => bytesEqual(p.identity, c.fingerprint) && bytesEqual(p.signingKeyDigest, c.signingKeyDigest),
        ),
      );
      if (certs.length === 0) return { status: 404, body: new Uint8Array(0) };
      return { status: 200, body: concatBytes(...certs.map((c) => c.raw)) };
    }
    if (path.startsWith('/tor/micro/d/')) {
      const wanted = path.slice('/tor/micro/d/'.length).split('-');
      assert.equal(
        splitBase64Digests256(wanted.join('-')).length,
        wanted.length,
        'well-formed, distinct digests',
      );
      const found = wanted
        .filter((d) => !this.withheld.has(d))
        .map((d) => this.microdescs.get(d))
        .filter((b) => b !== undefined);
      if (found.length === 0) return { status: 404, body: new Uint8Array(0) };
      return { status: 200, body: concatBytes(...found, this.extraMicrodescs) };
    }
    return { status: 404, body: new Uint8Array(0) };
  };

  paths(prefix: string): string[] {
    return this.requests.filter((r) => r.path.startsWith(prefix)).map((r) => r.path);
  }
}

function setup(
  options: Partial<DirectoryFetcherOptions> = {},
  storage = new MemoryDirectoryStorage(),
  nowMs = GENCERT_NOW_MS,
) {
  const clock = new FakeClock(nowMs);
  const scheduler = new FakeScheduler(clock);
  const store = new DirectoryStore({ authorities: v3AuthorityIdentities(SOURCES) });
  const network = new FakeAuthorities(clock, AUTHS);
  const outcomes: [string, DirectoryFetchOutcome][] = [];
  const fetcher = new DirectoryFetcher(
    { authorities: SOURCES, ...options },
    {
      store,
      fetch: network.fetch,
      storage,
      clock,
      scheduler,
      random: new SeededRandom(99),
      metrics: { fetch: (kind, outcome) => outcomes.push([kind, outcome]) },
    },
  );
  /** Fires timers (moving the clock) until `done()` or `limit` timers have fired. */
  const runUntil = async (done: () => boolean, limit = 500) => {
    for (let i = 0; i < limit && !done(); i++) {
      if (!scheduler.fireNext()) break;
      await settle();
    }
  };
  return { clock, scheduler, store, network, fetcher, storage, outcomes, runUntil };
}

const mds = (n: number, from = 0) => Array.from({ length: n }, (_, i) => makeMicrodescriptor(from + i));

describe('DirectoryFetcher', () => {
  it('fetches the consensus, the certificates it needs and every listed microdescriptor, then persists them', async () => {
    const { network, fetcher, store, storage, outcomes, scheduler } = setup();
    const list = mds(300);
    network.consensus = makeConsensus({
      listed: AUTHS,
      signers: AUTHS,
      validAfter: START,
      microdescriptors: list,
    });
    network.addMicrodescriptors(list);

    await fetcher.start();
    assert.equal(store.consensus(), undefined, 'nothing stored yet');
    await fetcher.runNow();

    assert.ok(store.consensus(), 'consensus accepted');
    assert.equal(store.consensus()!.tally.good.length, 5);
    // It learned which certificates it lacked from the signatures and asked for exactly those.
    const certPaths = network.paths('/tor/keys/fp-sk/');
    assert.equal(certPaths.length, 1);
    assert.equal(splitFingerprintPairs(certPaths[0]!.slice(16, -2)).length, 5);
    assert.equal(store.certificates().length, 5);
    // 300 digests: at most 90 per request, "-"-separated, each asked for once.
    const mdPaths = network.paths('/tor/micro/d/');
    assert.deepEqual(
      mdPaths.map((p) => p.slice(13, -2).split('-').length),
      [90, 90, 90, 30],
    );
    assert.equal(new Set(mdPaths.flatMap((p) => p.slice(13, -2).split('-'))).size, 300);
    assert.equal(store.microdescriptorCount, 300);
    assert.deepEqual(store.missingMicrodescriptors(), []);
    // One request per authority at a time: four batches went to four different authorities.
    const mdPorts = network.requests.filter((r) => r.path.startsWith('/tor/micro/d/')).map((r) => r.port);
    assert.equal(new Set(mdPorts).size, 4);
    assert.ok(
      network.requests.every(
        (r) => r.timeoutMs === 300_000 && r.headers['Accept-Encoding'] === 'deflate, identity',
      ),
    );

    assert.deepEqual(storage.files.get(DIRECTORY_STORAGE_NAMES.consensus), network.consensus);
    assert.equal(
      storage.files.get(DIRECTORY_STORAGE_NAMES.certificates)?.length,
      store.certificatesBytes().length,
    );
    assert.deepEqual(
      storage.files.get(DIRECTORY_STORAGE_NAMES.microdescriptors),
      store.microdescriptorsBytes(),
    );
    assert.deepEqual(
      outcomes.filter(([, o]) => o !== 'ok'),
      [],
    );

    const status = fetcher.status();
    assert.equal(status.consensus?.validAfter, START);
    assert.equal(status.consensus?.routers, 300);
    assert.equal(status.consensus?.goodSignatures, 5);
    assert.equal(status.certificates, 5);
    assert.deepEqual(status.microdescriptors, { held: 300, listed: 300, missing: 0 });
    assert.equal(status.consensusFailures, 0);
    assert.equal(status.lastError, undefined);
    // Next consensus: in [fresh-until + 2 min, fresh-until + 2 min + 30 min).
    const next = status.nextConsensusFetchAtMs! / 1000;
    assert.ok(next >= START + 3600 + 120 && next < START + 3600 + 120 + 1800, `${next - START}`);
    assert.equal(scheduler.pending().length, 1);
    fetcher.stop();
    assert.equal(scheduler.pending().length, 0);
  });

  it('refreshes at a random time between fresh-until and valid-until, and sends If-Modified-Since', async () => {
    // A TestingTorNetwork-like schedule: 20 s intervals, valid for 40 s.
    const { network, fetcher, store, clock, runUntil } = setup();
    const list = mds(3);
    network.addMicrodescriptors(list);
    const spec = {
      listed: AUTHS,
      signers: AUTHS,
      microdescriptors: list,
      intervalSeconds: 20,
      lifetimeSeconds: 40,
    };
    network.consensus = makeConsensus({ ...spec, validAfter: START });
    await fetcher.start();
    await settle();
    await runUntil(() => store.consensus() !== undefined);
    assert.equal(store.consensus()?.consensus.validAfter, START);

    for (let round = 1; round <= 5; round++) {
      const validAfter = START + 20 * round;
      network.consensus = makeConsensus({ ...spec, validAfter });
      const before = network.paths('/tor/status-vote/').length;
      await runUntil(() => store.consensus()?.consensus.validAfter === validAfter);
      assert.equal(store.consensus()?.consensus.validAfter, validAfter, `round ${round}`);
      const fetches = network.requests.filter((r) => r.path.startsWith('/tor/status-vote/')).slice(before);
      // The first attempt falls in the window after the previous consensus stopped being fresh (20 s + 1 s slop, 10 s long).
      const firstAt = fetches[0]!.atMs / 1000;
      const previousFresh = validAfter; // previous valid-after + 20
      assert.ok(
        firstAt >= previousFresh + 1 && firstAt < previousFresh + 11,
        `round ${round}: ${firstAt - previousFresh}`,
      );
      assert.equal(
        fetches[0]!.headers['If-Modified-Since'],
        new Date((validAfter - 10) * 1000).toUTCString(),
      );
      assert.ok(clock.now / 1000 < validAfter + 40);
    }
    fetcher.stop();
  });

  it('backs off and rotates authorities while fetches fail, then recovers', async () => {
    const { network, fetcher, store, runUntil } = setup({
      consensusRetry: { baseDelaySeconds: 1, maxDelaySeconds: 30 },
    });
    const list = mds(2);
    network.addMicrodescriptors(list);
    network.consensus = makeConsensus({
      listed: AUTHS,
      signers: AUTHS,
      validAfter: START,
      microdescriptors: list,
    });
    for (const s of SOURCES) network.down.add(s.dirPort);

    await fetcher.start();
    await runUntil(() => network.requests.length >= 12);
    const attempts = network.requests.slice(0, 12);
    // Each attempt goes to the next authority in turn.
    for (let i = 1; i < attempts.length; i++) {
      const step = (attempts[i]!.port - attempts[i - 1]!.port + 5) % 5;
      assert.equal(step, 1, `attempt ${i} rotates`);
    }
    const gaps = attempts.slice(1).map((r, i) => (r.atMs - attempts[i]!.atMs) / 1000);
    assert.equal(gaps[0], 1, 'the first retry waits the base delay');
    assert.ok(
      gaps.every((g) => g >= 1 && g <= 30),
      gaps.join(','),
    );
    assert.ok(Math.max(...gaps) > 3, `delays grow: ${gaps.join(',')}`);
    const failing = fetcher.status();
    assert.equal(failing.consensusFailures, 12);
    assert.equal(failing.lastError?.code, 'FETCH_FAILED');
    assert.match(failing.lastError?.message ?? '', /ECONNREFUSED/);

    network.down.clear();
    await runUntil(() => store.microdescriptorCount === 2);
    assert.ok(store.consensus());
    assert.equal(fetcher.status().consensusFailures, 0);
    fetcher.stop();
  });

  it('never replaces a good consensus with a badly signed one', async () => {
    const { network, fetcher, store, outcomes } = setup();
    const list = mds(2);
    network.addMicrodescriptors(list);
    const good = makeConsensus({ listed: AUTHS, signers: AUTHS, validAfter: START, microdescriptors: list });
    network.consensus = good;
    await fetcher.start();
    await fetcher.runNow();
    assert.deepEqual(store.consensus()?.consensus.raw, good);

    // A newer consensus with only 2 of 5 signatures, and one whose signatures do not verify.
    const forgedBy = AUTHS.map((a, i) => (i < 3 ? { ...a, signingKey: AUTHS[4]!.signingKey } : a));
    for (const bad of [
      makeConsensus({
        listed: AUTHS,
        signers: AUTHS.slice(0, 2),
        validAfter: START + 3600,
        microdescriptors: list,
      }),
      makeConsensus({ listed: AUTHS, signers: forgedBy, validAfter: START + 3600, microdescriptors: list }),
    ]) {
      network.consensus = bad;
      fetcher.requestConsensusFetch();
      await fetcher.runNow();
      assert.deepEqual(store.consensus()?.consensus.raw, good);
      assert.equal(fetcher.status().lastError?.code, 'INSUFFICIENT_SIGNATURES');
    }
    assert.deepEqual(
      outcomes.filter(([k]) => k === 'consensus').map(([, o]) => o),
      ['ok', 'rejected', 'rejected'],
    );
    fetcher.stop();
  });

  it('retries microdescriptors an authority did not deliver, and discards ones it did not ask for', async () => {
    const { network, fetcher, store, runUntil } = setup();
    const list = mds(40);
    network.addMicrodescriptors(list);
    network.consensus = makeConsensus({
      listed: AUTHS,
      signers: AUTHS,
      validAfter: START,
      microdescriptors: list,
    });
    network.withheld.add(list[3]!.digestBase64);
    network.withheld.add(list[7]!.digestBase64);
    const stranger = makeMicrodescriptor(1000);
    network.extraMicrodescs = stranger.raw;
    await fetcher.start();
    await fetcher.runNow();
    assert.equal(store.microdescriptorCount, 38);
    assert.equal(store.microdescriptor(stranger.digestBase64), undefined, 'not asked for: discarded');
    assert.deepEqual(
      store.missingMicrodescriptors().sort(),
      [list[3]!.digestBase64, list[7]!.digestBase64].sort(),
    );
    assert.match(
      fetcher.status().lastError?.message ?? '',
      /2 of (32|8) microdescriptors asked for were not delivered/,
    );

    network.withheld.clear();
    const before = network.requests.length;
    await runUntil(() => store.microdescriptorCount === 40);
    assert.equal(store.microdescriptorCount, 40);
    const retry = network.requests.slice(before).filter((r) => r.path.startsWith('/tor/micro/d/'));
    assert.equal(retry.length, 1);
    assert.equal(retry[0]!.path.slice(13, -2).split('-').length, 2, 'only the missing two');
    fetcher.stop();
  });

  it('reloads the last good copies at start, and refuses a stored consensus that is no longer live', async () => {
    const first = setup();
    const list = mds(5);
    first.network.addMicrodescriptors(list);
    first.network.consensus = makeConsensus({
      listed: AUTHS,
      signers: AUTHS,
      validAfter: START,
      microdescriptors: list,
    });
    await first.fetcher.start();
    await first.fetcher.runNow();
    first.fetcher.stop();

    // Restart half an hour later with every authority down: everything comes from storage.
    const again = setup({}, first.storage, GENCERT_NOW_MS + 1800_000);
    for (const s of SOURCES) again.network.down.add(s.dirPort);
    await again.fetcher.start();
    assert.equal(again.store.consensus()?.consensus.validAfter, START);
    assert.equal(again.store.certificates().length, 5);
    assert.equal(again.store.microdescriptorCount, 5);
    await again.fetcher.runNow();
    assert.equal(again.network.requests.length, 0, 'nothing is due: the reloaded consensus is fresh');
    assert.ok(again.fetcher.status().nextConsensusFetchAtMs! > again.clock.now);
    again.fetcher.stop();

    // Two days after valid-until: the stored consensus is refused and a fetch starts at once.
    const late = setup({}, first.storage, GENCERT_NOW_MS + (3 * 3600 + 49 * 3600) * 1000);
    await late.fetcher.start();
    assert.equal(late.store.consensus(), undefined);
    await late.fetcher.runNow();
    assert.equal(late.network.paths('/tor/status-vote/').length, 1);
    late.fetcher.stop();

    // A damaged file is refused like any bad document.
    const damaged = new MemoryDirectoryStorage();
    await damaged.write(DIRECTORY_STORAGE_NAMES.consensus, new TextEncoder().encode('not a consensus'));
    const broken = setup({}, damaged);
    await broken.fetcher.start();
    assert.equal(broken.store.consensus(), undefined);
    broken.fetcher.stop();
  });

  it('reports a storage failure without losing the fetched documents', async () => {
    const storage = new MemoryDirectoryStorage();
    storage.write = async () => {
      throw new Error('EACCES: permission denied');
    };
    const { network, fetcher, store } = setup({}, storage);
    const list = mds(1);
    network.addMicrodescriptors(list);
    network.consensus = makeConsensus({
      listed: AUTHS,
      signers: AUTHS,
      validAfter: START,
      microdescriptors: list,
    });
    await fetcher.start();
    await fetcher.runNow();
    assert.ok(store.consensus());
    assert.equal(store.microdescriptorCount, 1);
    assert.equal(fetcher.status().lastError?.code, 'STORAGE_FAILED');
    fetcher.stop();
  });
});
