import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RESTART_BACKOFF, RestartBackoff, restartBackoffPolicy } from '../src/index.js';

describe('RestartBackoff', () => {
  it('doubles from 1 s up to the 60 s cap', () => {
    const b = new RestartBackoff();
    const delays = Array.from({ length: 9 }, () => b.nextDelay(0));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    assert.equal(b.consecutiveFailures, 9);
  });

  it('a run of stableAfterMs or more starts over; a shorter one does not', () => {
    const b = new RestartBackoff(restartBackoffPolicy({ initialMs: 100, maxMs: 1000, stableAfterMs: 5000 }));
    assert.deepEqual([b.nextDelay(0), b.nextDelay(4999), b.nextDelay(10)], [100, 200, 400]);
    assert.equal(b.nextDelay(5000), 100);
    assert.equal(b.nextDelay(0), 200);
    b.reset();
    assert.equal(b.nextDelay(0), 100);
  });

  it('refuses policies that make no sense', () => {
    assert.deepEqual(restartBackoffPolicy(), DEFAULT_RESTART_BACKOFF);
    assert.throws(() => restartBackoffPolicy({ initialMs: 0 }), /initialMs/);
    assert.throws(() => restartBackoffPolicy({ multiplier: 0.5 }), /multiplier/);
    assert.throws(() => restartBackoffPolicy({ initialMs: 5000, maxMs: 1000 }), /maxMs/);
    assert.throws(() => restartBackoffPolicy({ stableAfterMs: -1 }), /stableAfterMs/);
  });
});
