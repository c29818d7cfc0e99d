/**
 * When to fetch directory documents, as pure functions of the documents
 * held, the time and injected randomness.
 *
 * - The next consensus: a directory cache fetches at a random time in the
 *   first half-interval after its consensus stops being fresh (dir-spec
 *   4.1), with tor's adjustments for fast test networks (tor:
 *   networkstatus.c update_consensus_networkstatus_fetch_time_impl, the
 *   "fetches dir info early" branch). With no live consensus: now.
 * - Retries after a failure: tor's "decorrelated jitter" backoff (tor:
 *   dlstatus.c next_random_exponential_delay): each delay is uniform in
 *   [base, 3 × previous), never below the base, here also capped.
 * - Microdescriptor batches: tor's split (routerlist.c
 *   launch_descriptor_downloads, max_dl_per_request): at least 3 requests,
 *   at least 32 digests per request, at most 90 digests per request to a
 *   DirPort.
 */
import type { Random } from '@relayd/common';
import { decodeBase64Digest256 } from './resource-list.js';

/** CONSENSUS_MIN_SECONDS_BEFORE_CACHING: wait this long after fresh-until so authorities have the next one. */
export const CONSENSUS_MIN_SECONDS_BEFORE_CACHING = 120;

/** DEFAULT_IF_MODIFIED_SINCE_DELAY (dirclient.c): If-Modified-Since is valid-after plus this, or half the interval. */
export const IF_MODIFIED_SINCE_DELAY_SECONDS = 180;

/**
 * Microdescriptor digests per request to a DirPort (routerlist.c
 * max_dl_per_request: 90 keeps a URL under the 4096 bytes squid accepts;
 * dir-spec 4.3 says 92).
 */
export const MAX_MICRODESCRIPTORS_PER_REQUEST = 90;
/** MIN_DL_PER_REQUEST: never split more finely than this. */
export const MIN_MICRODESCRIPTORS_PER_REQUEST = 32;
/** MIN_REQUESTS: split into at least this many requests, so one bad cache cannot skew what we learn. */
export const MIN_MICRODESCRIPTOR_REQUESTS = 3;

/** The times of a consensus, seconds since the epoch. */
export interface ConsensusTimes {
  readonly validAfter: number;
  readonly freshUntil: number;
  readonly validUntil: number;
}

/** A uniform integer in [low, highExclusive) from 32 random bits. */
export function randomInt(random: Random, low: number, highExclusive: number): number {
  const span = highExclusive - low;
  if (span <= 1) return low;
  const b = random.bytes(4);
  const u32 = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  return low + Math.floor((u32 / 2 ** 32) * span);
}

/**
 * The window [start, start + length) (seconds) in which a cache fetches
 * the consensus that follows `c`.
 */
export function consensusFetchWindow(c: ConsensusTimes): { start: number; length: number } {
  const interval = c.freshUntil - c.validAfter;
  // "Usually we allow 2-minutes slop factor": on fast test networks, 1/16 of the interval, at least 1 s.
  let slop = CONSENSUS_MIN_SECONDS_BEFORE_CACHING;
  if (slop > Math.floor(interval / 16)) slop = Math.max(1, Math.floor(interval / 16));
  let start = c.freshUntil + slop;
  let length = Math.floor(interval / 2);
  if (length < 1) length = 1;
  // Catch a late start on very fast networks: finish before the consensus expires.
  if (start + length >= c.validUntil) start = c.validUntil - length - 1;
  return { start, length };
}

/**
 * When to fetch the next consensus (seconds): a random time in the cache
 * window if `held` is live at `now`, else `now`.
 */
export function nextConsensusFetchTime(
  held: ConsensusTimes | undefined,
  now: number,
  random: Random,
): number {
  if (!held || now < held.validAfter || now > held.validUntil) return now;
  const { start, length } = consensusFetchWindow(held);
  return start + randomInt(random, 0, length);
}

/** The If-Modified-Since to send when we hold `held` (dirclient.c directory_get_from_dirserver). */
export function consensusIfModifiedSince(held: ConsensusTimes): number {
  let delay = IF_MODIFIED_SINCE_DELAY_SECONDS;
  const interval = held.freshUntil - held.validAfter;
  if (interval > 0 && delay > Math.floor(interval / 2)) delay = Math.floor(interval / 2);
  return held.validAfter + delay;
}

/** Retry schedule limits, in seconds. */
export interface RetrySchedule {
  /** The first delay and the floor of every delay (tor's *DownloadInitialDelay, 0 by default, used as 1). */
  readonly baseDelaySeconds: number;
  /** No delay exceeds this (tor has no cap below INT_MAX; a bridge must not go quiet for hours). */
  readonly maxDelaySeconds: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { baseDelaySeconds: 1, maxDelaySeconds: 10 * 60 };

/** The delay after a failure, given the previous delay (0 before the first failure). */
export function nextRetryDelay(
  previousDelaySeconds: number,
  schedule: RetrySchedule,
  random: Random,
): number {
  const base = Math.max(1, schedule.baseDelaySeconds);
  const tripled = previousDelaySeconds * 3;
  const high = tripled > base ? tripled : base + 1;
  const delay = Math.max(base, randomInt(random, base, high));
  return Math.min(delay, Math.max(base, schedule.maxDelaySeconds));
}

/**
 * The download state of one document (tor: download_status_t): failures
 * so far, the delay last used, and when the next attempt may start.
 */
export class DownloadStatus {
  failures = 0;
  lastDelaySeconds = 0;
  nextAttemptAtMs = 0;

  /** True when an attempt may start at `nowMs`. */
  isReady(nowMs: number): boolean {
    return nowMs >= this.nextAttemptAtMs;
  }

  /** Records a failure at `nowMs` and schedules the next attempt; returns the delay in seconds. */
  failed(nowMs: number, schedule: RetrySchedule, random: Random): number {
    this.failures++;
    this.lastDelaySeconds = nextRetryDelay(this.lastDelaySeconds, schedule, random);
    this.nextAttemptAtMs = nowMs + this.lastDelaySeconds * 1000;
    return this.lastDelaySeconds;
  }

  /** Back to the initial state after a success. */
  reset(): void {
    this.failures = 0;
    this.lastDelaySeconds = 0;
    this.nextAttemptAtMs = 0;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Splits microdescriptor digests (unpadded base64) into request batches,
 * sorted by digest bytes as tor sorts them.
 */
export function splitMicrodescriptorBatches(
  digests: readonly string[],
  maxPerRequest: number = MAX_MICRODESCRIPTORS_PER_REQUEST,
): string[][] {
  const n = digests.length;
  if (n === 0) return [];
  let perRequest = Math.ceil(n / MIN_MICRODESCRIPTOR_REQUESTS);
  if (perRequest > maxPerRequest) perRequest = maxPerRequest;
  if (perRequest < MIN_MICRODESCRIPTORS_PER_REQUEST)
    perRequest = Math.min(MIN_MICRODESCRIPTORS_PER_REQUEST, n);
  // Never more than the caller's cap, whatever the minimum says.
  perRequest = Math.max(1, Math.min(perRequest, maxPerRequest));
  const sorted = digests
    .map((d) => ({ d, bytes: decodeBase64Digest256(d) ?? new Uint8Array(0) }))
    .sort((a, b) => compareBytes(a.bytes, b.bytes))
    .map((x) => x.d);
  const batches: string[][] = [];
  for (let i = 0; i < n; i += perRequest) batches.push(sorted.slice(i, i + perRequest));
  return batches;
}
