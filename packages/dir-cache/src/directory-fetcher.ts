/**
 * Keeps the store's consensus, authority certificates and microdescriptors
 * current by fetching them from the directory authorities' DirPorts, with
 * all I/O injected: an HTTP GET function, a storage for the last good
 * copies, a clock, a scheduler and randomness.
 *
 * One cycle at a time:
 *
 *   consensus due? ── GET /tor/status-vote/current/consensus-microdesc.z from the next authority
 *        │               └─ signatures need certificates we lack? GET /tor/keys/fp-sk/<id>-<sk>+….z, offer again
 *        │          accepted → persist, next fetch at a random time in the cache window (fetch-schedule.ts)
 *        │          refused or failed → the held consensus stays; retry after a backoff, from the next authority
 *        ▼
 *   microdescriptors the consensus lists and the store lacks (and not backing off)?
 *        └─ batches of ≤ 90, GET /tor/micro/d/<d>-<d>….z, one request per authority at a time;
 *           digests not delivered back off individually
 *        ▼
 *   sleep until the next consensus fetch or microdescriptor retry
 *
 * `start()` first reloads the copies from storage through the store's
 * ordinary checks, so a stale or forged file is refused like a fetched
 * document. Nothing here throws out of a cycle: failures are counted, logged
 * and shown in `status()`.
 */
import { type Clock, describeError, type Logger, type Random, silentLogger } from '@relayd/common';
import type { Scheduler, TimerHandle } from '@relayd/engine';
import {
  type ConsensusAuthority,
  consensusAuthorities,
  type DirectoryAuthoritySource,
} from './authorities.js';
import type { DirectoryStore } from './directory-store.js';
import { DirCacheError, MissingCertificatesError } from './errors.js';
import {
  consensusIfModifiedSince,
  DEFAULT_RETRY_SCHEDULE,
  DownloadStatus,
  MAX_MICRODESCRIPTORS_PER_REQUEST,
  nextConsensusFetchTime,
  type RetrySchedule,
  splitMicrodescriptorBatches,
} from './fetch-schedule.js';
import { formatHttpDate } from './http-response.js';
import {
  type DirectoryFetcherMetrics,
  type DirectoryFetchKind,
  type DirectoryFetchOutcome,
  noopDirectoryFetcherMetrics,
} from './metrics.js';
import { joinFingerprintPairs } from './resource-list.js';
import { DIRECTORY_STORAGE_NAMES, type DirectoryStorage } from './storage.js';

/** One HTTP GET to an authority's DirPort. */
export interface DirectoryFetchRequest {
  readonly method: 'GET';
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The whole exchange must finish within this. */
  readonly timeoutMs: number;
  /** Refuse a (decoded) body larger than this. */
  readonly maxResponseBytes: number;
}

/** The answer; the body is already decoded from its Content-Encoding. */
export interface DirectoryFetchResponse {
  readonly status: number;
  readonly body: Uint8Array;
}

/**
 * Performs one request. It must decode `Content-Encoding: deflate` (the
 * fetcher asks for it) and reject on timeout, connection failure or an
 * oversized body. `@relayd/net`'s `httpRequest` has this shape.
 */
export type DirectoryFetch = (request: DirectoryFetchRequest) => Promise<DirectoryFetchResponse>;

/** The size caps on answers (tor: MAX_DIR_DL_SIZE is 16 MiB for any directory download). */
export const DEFAULT_MAX_RESPONSE_BYTES = {
  consensus: 16 * 1024 * 1024,
  certificates: 1024 * 1024,
  microdescriptors: 4 * 1024 * 1024,
} as const;

/** tor TestingDirConnectionMaxStall: 5 minutes (30 seconds with TestingTorNetwork). */
export const DEFAULT_DIRECTORY_REQUEST_TIMEOUT_MS = 5 * 60 * 1000;

/** The longest the fetcher sleeps before looking at the clock again (a suspended host wakes up to stale times). */
const MAX_SLEEP_MS = 60 * 1000;

export interface DirectoryFetcherOptions {
  readonly authorities: readonly DirectoryAuthoritySource[];
  /** Per-request deadline; default 5 minutes (pass 30 s on a TestingTorNetwork, as tor does). */
  readonly requestTimeoutMs?: number;
  /** Consensus retry backoff; default 1 s base, 10 min cap. */
  readonly consensusRetry?: RetrySchedule;
  /** Per-microdescriptor retry backoff; default 1 s base, 10 min cap. */
  readonly microdescriptorRetry?: RetrySchedule;
  /** Digests per `/tor/micro/d/` request; default 90 (tor's DirPort limit). */
  readonly microdescriptorsPerRequest?: number;
  readonly maxResponseBytes?: Partial<Record<DirectoryFetchKind, number>>;
}

export interface DirectoryFetcherModules {
  readonly store: DirectoryStore;
  readonly fetch: DirectoryFetch;
  readonly storage: DirectoryStorage;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly logger?: Logger;
  readonly metrics?: DirectoryFetcherMetrics;
}

/** The last thing that went wrong. */
export interface DirectoryFetchProblem {
  readonly atMs: number;
  readonly kind: DirectoryFetchKind | 'storage';
  /** Who was asked (an authority's nickname), when a request failed. */
  readonly authority: string | undefined;
  readonly code: string;
  readonly message: string;
}

/** What an operator wants to know about the directory. */
export interface DirectoryFetcherStatus {
  readonly running: boolean;
  readonly consensus:
    | {
        readonly validAfter: number;
        readonly freshUntil: number;
        readonly validUntil: number;
        /** Seconds since valid-after. */
        readonly ageSeconds: number;
        readonly obtainedAtMs: number;
        readonly routers: number;
        /** Authorities whose signatures verified. */
        readonly goodSignatures: number;
      }
    | undefined;
  /** When the next consensus fetch is due (ms since the epoch). */
  readonly nextConsensusFetchAtMs: number | undefined;
  /** Consensus fetch failures since the last success. */
  readonly consensusFailures: number;
  readonly certificates: number;
  readonly microdescriptors: {
    readonly held: number;
    /** Listed in the current consensus. */
    readonly listed: number;
    /** Listed and not held. */
    readonly missing: number;
  };
  readonly lastConsensusSuccessAtMs: number | undefined;
  readonly lastError: DirectoryFetchProblem | undefined;
}

/** How a single consensus attempt ended. */
type ConsensusAttempt = { readonly ok: true } | { readonly ok: false; readonly error: DirCacheError };

export class DirectoryFetcher {
  private readonly store: DirectoryStore;
  private readonly fetch: DirectoryFetch;
  private readonly storage: DirectoryStorage;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly metrics: DirectoryFetcherMetrics;
  private readonly authorities: ConsensusAuthority[];
  private readonly timeoutMs: number;
  private readonly consensusRetry: RetrySchedule;
  private readonly microdescRetry: RetrySchedule;
  private readonly perRequest: number;
  private readonly maxBytes: Record<DirectoryFetchKind, number>;

  private running = false;
  private timer: TimerHandle | undefined;
  private cycling: Promise<void> | undefined;
  /** Index into `authorities` of the next one to ask for the consensus. */
  private nextAuthority = 0;
  private consensusDueMs = 0;
  private readonly consensusStatus = new DownloadStatus();
  private readonly microdescStatus = new Map<string, DownloadStatus>();
  /** The consensus (sha3 hex) the microdescriptor statuses were kept for. */
  private microdescStatusFor: string | undefined;
  private lastConsensusSuccessAtMs: number | undefined;
  private lastError: DirectoryFetchProblem | undefined;

  constructor(options: DirectoryFetcherOptions, modules: DirectoryFetcherModules) {
    this.store = modules.store;
    this.fetch = modules.fetch;
    this.storage = modules.storage;
    this.clock = modules.clock;
    this.scheduler = modules.scheduler;
    this.random = modules.random;
    this.logger = modules.logger ?? silentLogger;
    this.metrics = modules.metrics ?? noopDirectoryFetcherMetrics;
    this.authorities = consensusAuthorities(options.authorities);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_DIRECTORY_REQUEST_TIMEOUT_MS;
    this.consensusRetry = options.consensusRetry ?? DEFAULT_RETRY_SCHEDULE;
    this.microdescRetry = options.microdescriptorRetry ?? DEFAULT_RETRY_SCHEDULE;
    this.perRequest = Math.max(1, options.microdescriptorsPerRequest ?? MAX_MICRODESCRIPTORS_PER_REQUEST);
    this.maxBytes = { ...DEFAULT_MAX_RESPONSE_BYTES, ...options.maxResponseBytes };
    // Start with a random authority so a fleet of bridges does not all ask the first one.
    if (this.authorities.length > 0) this.nextAuthority = this.randomIndex(this.authorities.length);
  }

  /**
   * Reloads the last good copies from storage, then starts fetching (the
   * first cycle runs at once). Resolves when the reload is done.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.reload();
    if (this.authorities.length === 0) {
      this.noteProblem(
        'consensus',
        undefined,
        new DirCacheError('NO_AUTHORITIES', 'no v3 directory authority with a DirPort is configured'),
      );
    }
    this.scheduleIn(0);
  }

  /** Stops fetching. A request in flight completes, but its outcome schedules nothing. */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Runs a cycle now (or joins the one running) and resolves when it is
   * done. The next cycle is scheduled as usual.
   */
  runNow(): Promise<void> {
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
    return this.cycle();
  }

  /** Makes the next cycle fetch a consensus, whatever the schedule says. */
  requestConsensusFetch(): void {
    this.consensusDueMs = 0;
    this.consensusStatus.nextAttemptAtMs = 0;
  }

  status(): DirectoryFetcherStatus {
    const nowMs = this.clock.nowMs();
    const stored = this.store.consensus();
    const c = stored?.consensus;
    const listed = stored?.listedMicrodescriptors.size ?? 0;
    const held = this.store.listedMicrodescriptorsHeld();
    return {
      running: this.running,
      consensus:
        c && stored
          ? {
              validAfter: c.validAfter,
              freshUntil: c.freshUntil,
              validUntil: c.validUntil,
              ageSeconds: Math.floor(nowMs / 1000) - c.validAfter,
              obtainedAtMs: stored.obtainedAtMs,
              routers: c.routers.length,
              goodSignatures: stored.tally.good.length,
            }
          : undefined,
      nextConsensusFetchAtMs: this.running
        ? Math.max(this.consensusDueMs, this.consensusStatus.nextAttemptAtMs)
        : undefined,
      consensusFailures: this.consensusStatus.failures,
      certificates: this.store.certificates().length,
      microdescriptors: { held: this.store.microdescriptorCount, listed, missing: listed - held },
      lastConsensusSuccessAtMs: this.lastConsensusSuccessAtMs,
      lastError: this.lastError,
    };
  }

  // ---- the cycle ------------------------------------------------------------

  private scheduleIn(delayMs: number): void {
    if (!this.running) return;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = this.scheduler.setTimeout(
      () => {
        this.timer = undefined;
        void this.cycle();
      },
      Math.max(0, Math.min(delayMs, MAX_SLEEP_MS)),
    );
  }

  private cycle(): Promise<void> {
    if (!this.cycling) {
      this.cycling = this.runCycle().finally(() => {
        this.cycling = undefined;
        this.scheduleNext();
      });
    }
    return this.cycling;
  }

  private async runCycle(): Promise<void> {
    try {
      if (this.authorities.length === 0) return;
      const nowMs = this.clock.nowMs();
      if (nowMs >= this.consensusDueMs && this.consensusStatus.isReady(nowMs)) await this.updateConsensus();
      await this.updateMicrodescriptors();
    } catch (error) {
      // Every expected failure is handled below; anything reaching here is a bug, kept out of the event loop.
      this.logger.error({ error: describeError(error) }, 'bug: directory fetch cycle failed');
    }
  }

  private scheduleNext(): void {
    if (!this.running) return;
    const nowMs = this.clock.nowMs();
    let wakeMs = Math.max(this.consensusDueMs, this.consensusStatus.nextAttemptAtMs);
    const missing = this.store.missingMicrodescriptors();
    for (const d of missing) {
      const s = this.microdescStatus.get(d);
      wakeMs = Math.min(wakeMs, s ? s.nextAttemptAtMs : nowMs);
    }
    this.scheduleIn(wakeMs - nowMs);
  }

  // ---- consensus ------------------------------------------------------------

  private async updateConsensus(): Promise<void> {
    const authority = this.authorities[this.nextAuthority % this.authorities.length]!;
    this.nextAuthority = (this.nextAuthority + 1) % this.authorities.length;
    const attempt = await this.fetchConsensusFrom(authority);
    const nowMs = this.clock.nowMs();
    if (attempt.ok) {
      this.consensusStatus.reset();
      this.lastConsensusSuccessAtMs = nowMs;
      this.scheduleConsensusAfterSuccess(nowMs);
      return;
    }
    const delay = this.consensusStatus.failed(nowMs, this.consensusRetry, this.random);
    // A held consensus that is still live keeps its own schedule as the earliest next try.
    this.consensusDueMs = Math.min(this.consensusDueMs, nowMs + delay * 1000);
    this.noteProblem('consensus', authority.name, attempt.error);
    // One line per failure is for developers; an operator hears about a run of them.
    if (this.consensusStatus.failures % 10 === 0 && !this.holdsLiveConsensus(nowMs)) {
      this.logger.warn(
        { failures: this.consensusStatus.failures, lastAuthority: authority.name, code: attempt.error.code },
        'no live consensus, and the directory authorities keep failing to provide one',
      );
    }
    this.logger.info(
      { authority: authority.name, code: attempt.error.code, retryInSeconds: delay },
      `consensus fetch failed: ${attempt.error.message}`,
    );
  }

  private holdsLiveConsensus(nowMs: number): boolean {
    const c = this.store.consensus()?.consensus;
    const now = Math.floor(nowMs / 1000);
    return c !== undefined && c.validAfter <= now && now <= c.validUntil;
  }

  private scheduleConsensusAfterSuccess(nowMs: number): void {
    const held = this.store.consensus()?.consensus;
    const next = nextConsensusFetchTime(held, Math.floor(nowMs / 1000), this.random);
    this.consensusDueMs = next * 1000;
  }

  private async fetchConsensusFrom(authority: ConsensusAuthority): Promise<ConsensusAttempt> {
    const held = this.store.consensus()?.consensus;
    const headers: Record<string, string> = { 'Accept-Encoding': 'deflate, identity' };
    if (held) headers['If-Modified-Since'] = formatHttpDate(consensusIfModifiedSince(held));
    const response = await this.get(
      authority,
      'consensus',
      '/tor/status-vote/current/consensus-microdesc.z',
      headers,
    );
    if (!response.ok) return response;
    const body = response.body;
    let offered = this.store.offerConsensus(body, this.clock.nowMs());
    if (!offered.ok && offered.error instanceof MissingCertificatesError) {
      await this.fetchCertificates(offered.error.missing, authority);
      offered = this.store.offerConsensus(body, this.clock.nowMs());
    }
    if (!offered.ok) {
      const outcome: DirectoryFetchOutcome = offered.error.code === 'NOT_NEWER' ? 'not-modified' : 'rejected';
      this.metrics.fetch('consensus', outcome, body.length);
      return { ok: false, error: offered.error };
    }
    this.metrics.fetch('consensus', 'ok', body.length);
    const c = offered.value.consensus;
    this.logger.info(
      {
        authority: authority.name,
        validAfter: c.validAfter,
        routers: c.routers.length,
        good: offered.value.tally.good.length,
      },
      'accepted a new consensus',
    );
    await this.persist(DIRECTORY_STORAGE_NAMES.consensus, c.raw);
    return { ok: true };
  }

  /**
   * Fetches the missing certificates, from `first` and then the other
   * authorities, until none is missing or every authority was asked.
   */
  private async fetchCertificates(
    missing: readonly { readonly identity: Uint8Array; readonly signingKeyDigest: Uint8Array }[],
    first: ConsensusAuthority,
  ): Promise<void> {
    const order = [first, ...this.authorities.filter((a) => a !== first)];
    let wanted = [...missing];
    for (const authority of order) {
      if (wanted.length === 0) return;
      const path = `/tor/keys/fp-sk/${joinFingerprintPairs(wanted)}.z`;
      const response = await this.get(authority, 'certificates', path, {
        'Accept-Encoding': 'deflate, identity',
      });
      if (!response.ok) {
        this.noteProblem('certificates', authority.name, response.error);
        continue;
      }
      const added = this.store.addCertificates(response.body, this.clock.nowMs());
      if (!added.ok) {
        this.metrics.fetch('certificates', 'rejected', response.body.length);
        this.noteProblem('certificates', authority.name, added.error);
        continue;
      }
      for (const problem of added.value.rejected) this.noteProblem('certificates', authority.name, problem);
      this.metrics.fetch('certificates', added.value.added > 0 ? 'ok' : 'rejected', response.body.length);
      if (added.value.added > 0)
        await this.persist(DIRECTORY_STORAGE_NAMES.certificates, this.store.certificatesBytes());
      wanted = wanted.filter((w) => !this.store.certificateByPair(w.identity, w.signingKeyDigest));
    }
  }

  // ---- microdescriptors -----------------------------------------------------

  private async updateMicrodescriptors(): Promise<void> {
    const stored = this.store.consensus();
    if (!stored) return;
    if (this.microdescStatusFor !== stored.digestSha3Hex) {
      // A newer consensus: digests that failed before are worth asking for again (dir-spec 4.2).
      this.microdescStatus.clear();
      this.microdescStatusFor = stored.digestSha3Hex;
    }
    const nowMs = this.clock.nowMs();
    const ready = this.store
      .missingMicrodescriptors()
      .filter((d) => this.microdescStatus.get(d)?.isReady(nowMs) ?? true);
    if (ready.length === 0) return;
    const queue = splitMicrodescriptorBatches(ready, this.perRequest);
    const total = queue.length;
    let added = 0;
    // One request at a time per authority (tor: PDS_NO_EXISTING_MICRODESC_FETCH), starting with a random one.
    const start = this.randomIndex(this.authorities.length);
    const workers = this.authorities.map(async (_, i) => {
      const authority = this.authorities[(start + i) % this.authorities.length]!;
      for (let batch = queue.shift(); batch; batch = queue.shift()) {
        added += await this.fetchMicrodescriptorBatch(authority, batch);
      }
    });
    await Promise.all(workers);
    this.logger.debug({ batches: total, requested: ready.length, added }, 'microdescriptor fetch round done');
    if (added > 0)
      await this.persist(DIRECTORY_STORAGE_NAMES.microdescriptors, this.store.microdescriptorsBytes());
  }

  /** Fetches one batch; returns how many microdescriptors were stored. */
  private async fetchMicrodescriptorBatch(
    authority: ConsensusAuthority,
    batch: readonly string[],
  ): Promise<number> {
    const path = `/tor/micro/d/${batch.join('-')}.z`;
    const response = await this.get(authority, 'microdescriptors', path, {
      'Accept-Encoding': 'deflate, identity',
    });
    const nowMs = this.clock.nowMs();
    const failAll = (error: DirCacheError) => {
      for (const d of batch) this.microdescFailed(d, nowMs);
      this.noteProblem('microdescriptors', authority.name, error);
    };
    if (!response.ok) {
      failAll(response.error);
      return 0;
    }
    const result = this.store.addMicrodescriptors(response.body, nowMs, new Set(batch));
    if (!result.ok) {
      this.metrics.fetch('microdescriptors', 'rejected', response.body.length);
      failAll(result.error);
      return 0;
    }
    this.metrics.fetch(
      'microdescriptors',
      result.value.added.length > 0 ? 'ok' : 'rejected',
      response.body.length,
    );
    let undelivered = 0;
    for (const d of batch) {
      if (this.store.microdescriptor(d)) this.microdescStatus.delete(d);
      else {
        undelivered++;
        this.microdescFailed(d, nowMs);
      }
    }
    if (undelivered > 0) {
      this.noteProblem(
        'microdescriptors',
        authority.name,
        new DirCacheError(
          'FETCH_FAILED',
          `${undelivered} of ${batch.length} microdescriptors asked for were not delivered intact` +
            (result.value.invalid.length > 0 ? ` (${result.value.invalid.length} did not parse)` : ''),
        ),
      );
    }
    return result.value.added.length;
  }

  private microdescFailed(digest: string, nowMs: number): void {
    let s = this.microdescStatus.get(digest);
    if (!s) {
      s = new DownloadStatus();
      this.microdescStatus.set(digest, s);
    }
    s.failed(nowMs, this.microdescRetry, this.random);
  }

  // ---- plumbing -------------------------------------------------------------

  /** One GET; any status but 200, and any transport failure, becomes a DirCacheError. */
  private async get(
    authority: ConsensusAuthority,
    kind: DirectoryFetchKind,
    path: string,
    headers: Record<string, string>,
  ): Promise<{ ok: true; body: Uint8Array } | { ok: false; error: DirCacheError }> {
    let response: DirectoryFetchResponse;
    try {
      response = await this.fetch({
        method: 'GET',
        host: authority.address,
        port: authority.dirPort,
        path,
        headers,
        timeoutMs: this.timeoutMs,
        maxResponseBytes: this.maxBytes[kind],
      });
    } catch (error) {
      this.metrics.fetch(kind, 'failed', 0);
      return {
        ok: false,
        error: new DirCacheError(
          'FETCH_FAILED',
          `GET ${path} from ${authority.name}: ${describeError(error)}`,
          {
            cause: error,
          },
        ),
      };
    }
    if (response.status === 304) {
      this.metrics.fetch(kind, 'not-modified', 0);
      return { ok: false, error: new DirCacheError('NOT_MODIFIED', `${authority.name} has nothing newer`) };
    }
    if (response.status !== 200) {
      this.metrics.fetch(kind, 'http-error', response.body.length);
      return {
        ok: false,
        error: new DirCacheError(
          'FETCH_FAILED',
          `GET ${path} from ${authority.name}: HTTP status ${response.status}`,
        ),
      };
    }
    return { ok: true, body: response.body };
  }

  private async reload(): Promise<void> {
    const nowMs = this.clock.nowMs();
    const certs = await this.read(DIRECTORY_STORAGE_NAMES.certificates);
    if (certs && certs.length > 0) {
      const r = this.store.addCertificates(certs, nowMs);
      if (!r.ok) this.logger.info({ error: r.error.message }, 'ignoring the stored authority certificates');
    }
    const consensus = await this.read(DIRECTORY_STORAGE_NAMES.consensus);
    if (consensus && consensus.length > 0) {
      const r = this.store.offerConsensus(consensus, nowMs);
      if (r.ok) {
        this.logger.info({ validAfter: r.value.consensus.validAfter }, 'reloaded the stored consensus');
        this.scheduleConsensusAfterSuccess(nowMs);
      } else {
        this.logger.info({ code: r.error.code, error: r.error.message }, 'not using the stored consensus');
      }
    }
    const mds = await this.read(DIRECTORY_STORAGE_NAMES.microdescriptors);
    if (mds && mds.length > 0) {
      const r = this.store.addMicrodescriptors(mds, nowMs);
      if (!r.ok) this.logger.info({ error: r.error.message }, 'ignoring the stored microdescriptors');
    }
  }

  private async read(name: string): Promise<Uint8Array | undefined> {
    try {
      return await this.storage.read(name);
    } catch (error) {
      this.noteProblem(
        'storage',
        undefined,
        new DirCacheError('STORAGE_FAILED', `reading ${name}: ${describeError(error)}`),
      );
      return undefined;
    }
  }

  private async persist(name: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.storage.write(name, bytes);
    } catch (error) {
      this.noteProblem(
        'storage',
        undefined,
        new DirCacheError('STORAGE_FAILED', `writing ${name}: ${describeError(error)}`),
      );
      this.logger.warn(
        { file: name, error: describeError(error) },
        'could not keep a copy of a directory document',
      );
    }
  }

  private noteProblem(
    kind: DirectoryFetchProblem['kind'],
    authority: string | undefined,
    error: DirCacheError,
  ): void {
    this.lastError = { atMs: this.clock.nowMs(), kind, authority, code: error.code, message: error.message };
  }

  private randomIndex(n: number): number {
    if (n <= 1) return 0;
    const b = this.random.bytes(2);
    return ((b[0]! << 8) | b[1]!) % n;
  }
}
