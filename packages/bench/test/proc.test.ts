/**
 * The /proc readers behind the bench's CPU, memory and socket figures:
 * stat parsing (comm with spaces and parentheses), process trees, the
 * tree sampler's cumulative CPU and interpolated windows over a fake
 * /proc, the connection table and where connections are held, and the
 * limits and cpuinfo parsers. Plus one live read of this very process.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  absoluteNowMs,
  balancerBehaviour,
  descendantsOf,
  ProcessTreeSampler,
  type ProcReader,
  parseCpuModel,
  parseOpenFileLimit,
  parseProcNetTcp,
  parseProcStatFields,
  placeConnections,
  readProcessTree,
} from '../src/index.js';

function stat(pid: number, comm: string, ppid: number, utime: number, stime: number): string {
  // Fields 3..: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
  return `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194304 100 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 123 456 789\n`;
}

function status(rssKb: number | undefined): string {
  return `Name:\tx\nState:\tS (sleeping)\n${rssKb === undefined ? '' : `VmRSS:\t    ${rssKb} kB\n`}Threads:\t1\n`;
}

/** A fake /proc whose processes the test changes between samples. */
class FakeProc implements ProcReader {
  processes = new Map<number, { comm: string; ppid: number; ticks: number; rssKb: number }>();
  readText(path: string): string {
    const m = /^\/proc\/(\d+)\/(stat|status)$/.exec(path);
    const p = m ? this.processes.get(Number(m[1])) : undefined;
    if (!m || !p) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
    return m[2] === 'stat' ? stat(Number(m[1]), p.comm, p.ppid, p.ticks, 0) : status(p.rssKb);
  }
  listPids(): number[] {
    return [...this.processes.keys()];
  }
}

describe('parseProcStatFields', () => {
  it('reads pid, comm, ppid and utime + stime, even when comm holds spaces and parentheses', () => {
    assert.deepEqual(parseProcStatFields(stat(42, 'node', 7, 150, 25)), {
      pid: 42,
      comm: 'node',
      ppid: 7,
      cpuTicks: 175,
    });
    assert.deepEqual(parseProcStatFields(stat(9, 'a (b) c)', 1, 3, 4))?.comm, 'a (b) c)');
  });

  it('refuses what is not a stat line', () => {
    for (const bad of ['', 'garbage', '12 (x) S', '12 (x) S -1 1 1 0 -1 0 0 0 0 0 x y', 'x (y) S 1']) {
      assert.equal(parseProcStatFields(bad), undefined, JSON.stringify(bad));
    }
  });

  it('reads this process from the real /proc', () => {
    const [self] = readProcessTree(process.pid);
    assert.equal(self?.pid, process.pid);
    assert.equal(self?.ppid, process.ppid);
    assert.ok((self?.cpuTicks ?? -1) >= 0);
  });
});

describe('descendantsOf', () => {
  it('walks children breadth first and ignores other trees', () => {
    const parents = new Map([
      [1, 0],
      [10, 1],
      [11, 10],
      [12, 10],
      [13, 11],
      [20, 1],
    ]);
    assert.deepEqual(descendantsOf(10, parents), [10, 11, 12, 13]);
    assert.deepEqual(descendantsOf(20, parents), [20]);
    assert.deepEqual(descendantsOf(99, parents), []);
  });
});

describe('ProcessTreeSampler', () => {
  it('sums CPU and RSS over the tree, keeps the ticks of a worker that exited, and cuts windows by interpolation', () => {
    const proc = new FakeProc();
    let now = 1_000;
    proc.processes.set(100, { comm: 'node', ppid: 1, ticks: 0, rssKb: 1000 });
    proc.processes.set(101, { comm: 'node', ppid: 100, ticks: 0, rssKb: 500 });
    proc.processes.set(200, { comm: 'other', ppid: 1, ticks: 999, rssKb: 9999 });
    const sampler = new ProcessTreeSampler(100, { reader: proc, nowMs: () => now });
    assert.equal(sampler.sample()?.rssBytes, 1500 * 1024);
    // One second: supervisor 10 ticks, worker 50 ticks (0.6 s of CPU).
    now = 2_000;
    proc.processes.get(100)!.ticks = 10;
    proc.processes.get(101)!.ticks = 50;
    assert.equal(sampler.sample()?.cpuTicks, 60);
    // The worker exits; its 50 ticks stay counted.
    now = 3_000;
    proc.processes.delete(101);
    proc.processes.get(100)!.ticks = 30;
    const third = sampler.sample();
    assert.equal(third?.cpuTicks, 80);
    assert.equal(third?.processes, 1);
    const whole = sampler.usage(1_000, 3_000)!;
    assert.equal(whole.cpuSeconds, 0.8);
    assert.equal(whole.cpuPercent, 40);
    assert.equal(whole.processes, 2);
    assert.equal(whole.rssBytesMax, 1500 * 1024);
    // Half-way into the first second to half-way into the second: 30 + 10 ticks.
    const middle = sampler.usage(1_500, 2_500)!;
    assert.equal(middle.cpuSeconds, 0.4);
    assert.equal(middle.wallSeconds, 1);
    // Windows are clamped to what was sampled.
    assert.equal(sampler.usage(0, 10_000)!.wallSeconds, 2);
    assert.equal(sampler.usage(5_000, 6_000), undefined);
  });

  it('stops when the root process is gone', () => {
    const proc = new FakeProc();
    proc.processes.set(7, { comm: 'tor', ppid: 1, ticks: 1, rssKb: 1 });
    const sampler = new ProcessTreeSampler(7, { reader: proc, nowMs: () => 0 });
    assert.ok(sampler.sample());
    proc.processes.delete(7);
    assert.equal(sampler.sample(), undefined);
    assert.equal(sampler.exited, true);
  });

  it('samples the root alone when asked (the bench process, whose children are the bridges)', () => {
    const proc = new FakeProc();
    proc.processes.set(5, { comm: 'bench', ppid: 1, ticks: 3, rssKb: 10 });
    proc.processes.set(6, { comm: 'tor', ppid: 5, ticks: 300, rssKb: 100 });
    const alone = new ProcessTreeSampler(5, { reader: proc, nowMs: () => 0, includeDescendants: false });
    assert.equal(alone.sample()?.cpuTicks, 3);
    const tree = new ProcessTreeSampler(5, { reader: proc, nowMs: () => 0 });
    assert.equal(tree.sample()?.cpuTicks, 303);
  });

  it('reads the live tree of this process', () => {
    const sampler = new ProcessTreeSampler(process.pid);
    const first = sampler.sample();
    assert.ok(first && first.rssBytes > 1024 * 1024 && first.processes >= 1);
    assert.ok(Math.abs(first.atMs - absoluteNowMs()) < 1_000);
  });
});

const TCP_TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0103007F:3A98 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0103007F:3A98 0104007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1
   2: 0103007F:3A98 0204007F:D432 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1
   3: 0103007F:9C40 0103007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 1004 1 0000000000000000 20 4 30 10 -1
   4: 0103007F:A000 0103007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1005 1 0000000000000000 20 4 30 10 -1
   5: garbage line
`;

describe('the connection table', () => {
  it('parses /proc/net/tcp endpoints (little-endian hex), states and inodes', () => {
    const entries = parseProcNetTcp(TCP_TABLE, true);
    assert.equal(entries.length, 5);
    assert.deepEqual(entries[1], {
      local: { address: '127.0.3.1', port: 15000 },
      remote: { address: '127.0.4.1', port: 54321 },
      state: 1,
      inode: 1002,
    });
    assert.equal(entries[0]!.state, 0x0a);
    assert.deepEqual(parseProcNetTcp(TCP_TABLE, false)[1]!.local, { address: '1.3.0.127', port: 15000 });
  });

  it('says who holds the client connections and counts internal hops', () => {
    const entries = parseProcNetTcp(TCP_TABLE, true);
    const front = { address: '127.0.3.1', port: 15000 };
    // Handoff: workers 11 and 12 hold the two client connections.
    const handoff = placeConnections(
      entries,
      new Map([
        [1001, 10],
        [1002, 11],
        [1003, 12],
      ]),
      10,
      front,
    );
    assert.deepEqual(handoff.clientFacingByPid, { 11: 1, 12: 1 });
    assert.equal(handoff.clientFacingByOthers, 2);
    assert.equal(handoff.internalConnections, 0);
    assert.equal(balancerBehaviour(handoff, 2), 'handoff');
    // Proxy: the supervisor holds the client side, and one supervisor-worker connection (both ends inside).
    const proxy = placeConnections(
      entries,
      new Map([
        [1002, 10],
        [1003, 10],
        [1004, 10],
        [1005, 11],
      ]),
      10,
      front,
    );
    assert.equal(proxy.clientFacingBySupervisor, 2);
    assert.equal(proxy.internalConnections, 1);
    assert.equal(balancerBehaviour(proxy, 1), 'proxy');
    assert.equal(balancerBehaviour(proxy, 2), 'none');
  });
});

describe('machine parsers', () => {
  it('reads the CPU model and the open-file limit', () => {
    assert.equal(parseCpuModel('processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: x\n'), 'AMD EPYC 7B13');
    assert.equal(parseCpuModel('processor: 0\n'), undefined);
    const limits =
      'Limit  Soft Limit  Hard Limit  Units\nMax open files            20000                20000                files\n';
    assert.deepEqual(parseOpenFileLimit(limits), { soft: 20000, hard: 20000 });
    assert.deepEqual(parseOpenFileLimit('Max open files  unlimited  unlimited  files'), {
      soft: null,
      hard: null,
    });
    assert.deepEqual(parseOpenFileLimit(''), { soft: null, hard: null });
  });
});
