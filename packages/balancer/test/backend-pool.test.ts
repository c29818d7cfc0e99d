/**
 * Backend choice and health on fake time: fewest active connections with
 * round-robin ties, out after 3 failures in a row, back after 2 passed
 * checks, and the health checker's rounds driving those transitions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Backend, BackendPool, type BackendSpec, HealthChecker } from '../src/index.js';
import { FakeTime, flush } from './helpers.js';

function spec(id: string): BackendSpec {
  return { id, host: '127.0.0.1', port: 1000 + id.charCodeAt(0), cookie: { bytes: new Uint8Array(32) } };
}

describe('BackendPool', () => {
  it('chooses the backend with the fewest active connections; ties go round-robin', () => {
    const pool = new BackendPool(new FakeTime());
    const a = pool.add(spec('a'));
    const b = pool.add(spec('b'));
    const c = pool.add(spec('c'));
    // An idle pool fills evenly.
    const first = [pool.pick(), pool.pick(), pool.pick()].map((x) => x?.id);
    assert.deepEqual([...first].sort(), ['a', 'b', 'c']);
    assert.deepEqual([a.active, b.active, c.active], [1, 1, 1]);
    // b's connection ends: b is now the least loaded, and is chosen twice in a row until it is level.
    pool.release(b);
    assert.equal(pool.pick()?.id, 'b');
    pool.release(a);
    pool.release(c);
    const next = [pool.pick()?.id, pool.pick()?.id];
    assert.deepEqual([...next].sort(), ['a', 'c']);
    assert.deepEqual([a.active, b.active, c.active], [1, 1, 1]);
    assert.deepEqual([a.connections, b.connections, c.connections], [2, 2, 2]);
  });

  it('skips unhealthy and excluded backends, and says so when none is left', () => {
    const pool = new BackendPool(new FakeTime());
    const a = pool.add(spec('a'));
    const b = pool.add(spec('b'));
    for (let i = 0; i < 3; i++) pool.connectionFailed(a, 'ECONNREFUSED');
    assert.equal(a.healthy, false);
    for (let i = 0; i < 5; i++) {
      const chosen = pool.pick();
      assert.equal(chosen, b);
    }
    assert.equal(pool.pick(new Set([b])), undefined);
    pool.remove('b');
    assert.equal(pool.pick(), undefined);
    assert.equal(pool.healthyCount, 0);
  });

  it('goes down after 3 failures in a row, not after interrupted ones, and comes back after 2 passed checks', () => {
    const time = new FakeTime();
    const pool = new BackendPool(time);
    const a = pool.add(spec('a'));
    const transitions: Array<[string, boolean, number]> = [];
    pool.onHealthChange((backend, healthy) => transitions.push([backend.id, healthy, time.nowMs()]));

    pool.checkFailed(a, 'timeout');
    pool.connectionFailed(a, 'ECONNREFUSED');
    pool.checkPassed(a); // the run is broken
    pool.checkFailed(a, 'timeout');
    pool.checkFailed(a, 'timeout');
    assert.equal(a.healthy, true);
    pool.connectionSucceeded(a); // so is this one
    pool.checkFailed(a, 'x');
    pool.checkFailed(a, 'y');
    assert.equal(a.healthy, true);
    void time.advance(1234);
    pool.connectionFailed(a, 'SERVER_HASH_MISMATCH');
    assert.equal(a.healthy, false);
    assert.equal(a.lastError, 'SERVER_HASH_MISMATCH');
    assert.deepEqual(transitions, [['a', false, time.nowMs()]]);

    pool.checkPassed(a);
    assert.equal(a.healthy, false);
    pool.checkFailed(a, 'still down');
    pool.checkPassed(a);
    assert.equal(a.healthy, false);
    pool.checkPassed(a);
    assert.equal(a.healthy, true);
    assert.equal(transitions.length, 2);
    assert.deepEqual(transitions[1]!.slice(0, 2), ['a', true]);
    const stats = a.stats();
    assert.equal(stats.failures, 2);
    assert.equal(stats.checksFailed, 6);
    assert.equal(stats.checksPassed, 4);
    assert.equal(stats.lastTransitionMs, transitions[1]![2]);
  });

  it('thresholds are configurable and must be positive', () => {
    const pool = new BackendPool(new FakeTime(), { failuresToDown: 1, successesToUp: 1 });
    const a = pool.add(spec('a'));
    pool.checkFailed(a, 'x');
    assert.equal(a.healthy, false);
    pool.checkPassed(a);
    assert.equal(a.healthy, true);
    assert.throws(() => new BackendPool(new FakeTime(), { failuresToDown: 0 }), RangeError);
  });
});

describe('HealthChecker on fake time', () => {
  it('probes every backend each interval, takes a failing one out and puts it back when it recovers', async () => {
    const time = new FakeTime();
    const pool = new BackendPool(time);
    const a = pool.add(spec('a'));
    const b = pool.add(spec('b'));
    const up = new Map<Backend, boolean>([
      [a, true],
      [b, false],
    ]);
    const probes: string[] = [];
    const checker = new HealthChecker({
      pool,
      intervalMs: 10_000,
      timers: time,
      probe: async (backend) => {
        probes.push(backend.id);
        if (!up.get(backend)) throw new Error('ECONNREFUSED');
      },
    });
    checker.start();
    await flush();
    assert.deepEqual(probes, ['a', 'b']);
    await time.advance(9_999);
    assert.equal(checker.roundsStarted, 1);
    await time.advance(1);
    assert.equal(checker.roundsStarted, 2);
    assert.equal(b.healthy, true, 'two failures are not enough');
    await time.advance(10_000);
    assert.equal(b.healthy, false, 'three are');
    assert.equal(a.healthy, true);
    assert.equal(pool.pick(), a);
    pool.release(a);

    up.set(b, true);
    await time.advance(10_000);
    assert.equal(b.healthy, false, 'one passed check is not enough');
    await time.advance(10_000);
    assert.equal(b.healthy, true);
    assert.equal(probes.filter((p) => p === 'b').length, 5);

    checker.stop();
    await time.advance(60_000);
    assert.equal(probes.length, 10);
    assert.equal(time.pending, 0);
  });

  it('never runs two probes of one backend at once', async () => {
    const time = new FakeTime();
    const pool = new BackendPool(time);
    const a = pool.add(spec('a'));
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const checker = new HealthChecker({
      pool,
      intervalMs: 1_000,
      timers: time,
      probe: () => {
        running++;
        most = Math.max(most, running);
        return new Promise<void>((resolve) =>
          releases.push(() => {
            running--;
            resolve();
          }),
        );
      },
    });
    checker.start();
    await time.advance(5_000);
    await checker.checkNow(a);
    assert.equal(most, 1);
    assert.equal(releases.length, 1);
    releases[0]!();
    await flush();
    assert.equal(a.checksPassed, 1);
    checker.stop();
  });
});
