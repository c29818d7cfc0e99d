/** /proc parsing and the CPU/RSS summary over a window. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcessSampler, parseProcStat, parseProcStatusRss } from '../src/stats/proc-sampler.js';

const STAT = (utime: number, stime: number) =>
  `4242 (tor (a) b) S 1 4242 4242 0 -1 4194560 1000 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 100 10000 500 18446744073709551615\n`;

describe('/proc parsing', () => {
  it('reads utime and stime after the last parenthesis of comm', () => {
    assert.deepEqual(parseProcStat(STAT(150, 25)), { userTicks: 150, systemTicks: 25 });
    assert.equal(parseProcStat('4242 (tor) S 1'), undefined);
    assert.equal(parseProcStat('garbage'), undefined);
  });

  it('reads VmRSS in bytes', () => {
    assert.equal(
      parseProcStatusRss('Name:\ttor\nVmHWM:\t  9000 kB\nVmRSS:\t  8192 kB\nThreads:\t3\n'),
      8192 * 1024,
    );
    assert.equal(parseProcStatusRss('Name:\tzombie\nState:\tZ (zombie)\n'), undefined);
  });

  it('reads this very process', () => {
    const sampler = new ProcessSampler(process.pid, { clock: { nowMs: Date.now, monotonicMs: () => 0 } });
    assert.equal(sampler.sample(), true);
    assert.ok(sampler.samples[0]!.rssBytes > 1024 * 1024);
  });
});

describe('ProcessSampler', () => {
  it('summarises CPU over the window from clock ticks, and RSS', () => {
    let now = 0;
    let ticks = 0;
    let rssKb = 1000;
    const sampler = new ProcessSampler(7, {
      clock: { nowMs: () => now, monotonicMs: () => now },
      readText: (path) => (path.endsWith('/stat') ? STAT(ticks, 0) : `VmRSS:\t${rssKb} kB\n`),
    });
    // Half a core for 2 s, then a full core for 1 s; a sample before the window is ignored.
    const steps: Array<[number, number, number]> = [
      [0, 0, 900],
      [1000, 50, 1000],
      [2000, 100, 1100],
      [3000, 150, 1200],
      [4000, 250, 1300],
    ];
    for (const [at, t, rss] of steps) {
      now = at;
      ticks = t;
      rssKb = rss;
      sampler.sample();
    }
    const summary = sampler.summary(1000, 4000)!;
    assert.equal(summary.samples, 4);
    assert.equal(summary.cpuSeconds, 2);
    assert.equal(summary.cpuPercentMean, 66.7);
    assert.equal(summary.cpuPercentMax, 100);
    assert.equal(summary.rssBytesMax, 1300 * 1024);
    assert.equal(summary.rssBytesLast, 1300 * 1024);
    assert.equal(summary.rssBytesMean, 1150 * 1024);
    assert.equal(sampler.summary(3500, 4000), undefined);
  });

  it('stops once the process is gone', () => {
    const sampler = new ProcessSampler(7, {
      clock: { nowMs: () => 0, monotonicMs: () => 0 },
      readText: () => {
        throw new Error('ENOENT');
      },
    });
    assert.equal(sampler.sample(), false);
    assert.equal(sampler.exited, true);
  });
});
