import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIsoTime } from '@relayd/netdoc';
import fc from 'fast-check';
import {
  consensusFetchWindow,
  consensusIfModifiedSince,
  DownloadStatus,
  nextConsensusFetchTime,
  nextRetryDelay,
  randomInt,
  splitMicrodescriptorBatches,
} from '../src/fetch-schedule.js';
import { makeMicrodescriptor, SeededRandom } from './helpers.js';

const t = (s: string) => parseIsoTime(s)!;

describe('consensus fetch schedule (dir-spec 4.1, tor update_consensus_networkstatus_fetch_time)', () => {
  it('fetches in the first half-interval after fresh-until, after 2 minutes of slop', () => {
    // dir-spec 4.1's example: valid 1:00, fresh until 2:00 → between 2:00 and 2:30 (tor adds 2 minutes).
    const c = {
      validAfter: t('2026-01-01 01:00:00'),
      freshUntil: t('2026-01-01 02:00:00'),
      validUntil: t('2026-01-01 04:00:00'),
    };
    assert.deepEqual(consensusFetchWindow(c), { start: t('2026-01-01 02:02:00'), length: 1800 });
    const random = new SeededRandom(7);
    for (let i = 0; i < 200; i++) {
      const next = nextConsensusFetchTime(c, t('2026-01-01 01:30:00'), random);
      assert.ok(next >= t('2026-01-01 02:02:00') && next < t('2026-01-01 02:32:00'), `${next}`);
    }
  });

  it('scales to a TestingTorNetwork consensus (20 s interval, as in the real fixture)', () => {
    const c = {
      validAfter: t('2026-11-21 14:21:20'),
      freshUntil: t('2026-11-21 14:21:40'),
      validUntil: t('2026-11-21 14:22:00'),
    };
    // interval/16 = 1 s of slop; half an interval = 10 s.
    assert.deepEqual(consensusFetchWindow(c), { start: t('2026-11-21 14:21:41'), length: 10 });
    // If-Modified-Since: valid-after + min(180 s, interval/2).
    assert.equal(consensusIfModifiedSince(c), t('2026-11-21 14:21:30'));
  });

  it('pulls the window back so it ends before valid-until on very fast networks', () => {
    const c = { validAfter: 1000, freshUntil: 1010, validUntil: 1012 };
    const w = consensusFetchWindow(c);
    assert.ok(w.start > c.freshUntil - 10 && w.start + w.length < c.validUntil, JSON.stringify(w));
  });

  it('fetches at once without a live consensus', () => {
    const c = { validAfter: 1000, freshUntil: 2000, validUntil: 3000 };
    const random = new SeededRandom(1);
    assert.equal(nextConsensusFetchTime(undefined, 500, random), 500);
    assert.equal(nextConsensusFetchTime(c, 3001, random), 3001);
    assert.equal(nextConsensusFetchTime(c, 999, random), 999);
  });
});

describe('retry backoff (tor dlstatus.c decorrelated jitter)', () => {
  it('draws each delay from [base, 3 × previous), capped', () => {
    const schedule = { baseDelaySeconds: 1, maxDelaySeconds: 600 };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        (previous, seed) => {
          const d = nextRetryDelay(previous, schedule, new SeededRandom(seed));
          assert.ok(d >= 1 && d <= 600);
          if (previous * 3 > 1) assert.ok(d < Math.max(previous * 3, 2) || d === 600);
        },
      ),
    );
  });

  it('grows from the base over repeated failures and resets on success', () => {
    const status = new DownloadStatus();
    const random = new SeededRandom(42);
    const schedule = { baseDelaySeconds: 1, maxDelaySeconds: 600 };
    assert.equal(status.isReady(0), true);
    assert.equal(status.failed(0, schedule, random), 1); // [1, 2) is always 1
    assert.equal(status.isReady(999), false);
    assert.equal(status.isReady(1000), true);
    const delays = [1];
    for (let i = 0; i < 30; i++) delays.push(status.failed(0, schedule, random));
    assert.ok(delays.every((d, i) => i === 0 || d < delays[i - 1]! * 3 || d === 600));
    assert.ok(Math.max(...delays) >= 100, `thirty failures back off to minutes: ${delays.join(',')}`);
    const capped = new DownloadStatus();
    const small = { baseDelaySeconds: 1, maxDelaySeconds: 5 };
    const cappedDelays = Array.from({ length: 30 }, () => capped.failed(0, small, random));
    assert.ok(
      cappedDelays.every((d) => d >= 1 && d <= 5) && cappedDelays.includes(5),
      cappedDelays.join(','),
    );
    assert.equal(status.failures, 31);
    status.reset();
    assert.equal(status.failures, 0);
    assert.equal(status.isReady(0), true);
  });

  it('randomInt is uniform enough and stays in range', () => {
    const random = new SeededRandom(3);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[randomInt(random, 0, 4)]!++;
    for (const c of counts) assert.ok(c > 850 && c < 1150, counts.join(','));
    assert.equal(randomInt(random, 5, 6), 5);
  });
});

describe('microdescriptor batches (tor launch_descriptor_downloads)', () => {
  const digests = (n: number) => Array.from({ length: n }, (_, i) => makeMicrodescriptor(i).digestBase64);

  it('asks for at least 32 per request, in at least 3 requests, at most 90 per request', () => {
    assert.deepEqual(
      splitMicrodescriptorBatches(digests(10)).map((b) => b.length),
      [10],
    );
    assert.deepEqual(
      splitMicrodescriptorBatches(digests(50)).map((b) => b.length),
      [32, 18],
    );
    assert.deepEqual(
      splitMicrodescriptorBatches(digests(100)).map((b) => b.length),
      [34, 34, 32],
    );
    const big = splitMicrodescriptorBatches(digests(1000));
    assert.equal(big.length, 12);
    assert.ok(big.every((b) => b.length <= 90));
    assert.equal(new Set(big.flat()).size, 1000);
    assert.deepEqual(
      splitMicrodescriptorBatches(digests(10), 4).map((b) => b.length),
      [4, 4, 2],
    );
    assert.deepEqual(splitMicrodescriptorBatches([]), []);
  });

  it('orders digests by their bytes, as tor sorts them', () => {
    const all = splitMicrodescriptorBatches(digests(40)).flat();
    const bytes = all.map((d) => Buffer.from(`${d}=`, 'base64'));
    for (let i = 1; i < bytes.length; i++) assert.ok(Buffer.compare(bytes[i - 1]!, bytes[i]!) < 0);
  });
});
