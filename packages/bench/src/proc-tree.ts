/**
 * CPU and memory of a bridge as a whole: the process the bench started and
 * every process below it (relayd's forked workers; C tor is one process with
 * threads, which /proc already sums). Linux /proc only (proc(5)):
 * `/proc/<pid>/stat` gives the parent (field 4) and utime + stime (fields
 * 14, 15, in USER_HZ ticks, every thread included); `/proc/<pid>/status`
 * gives VmRSS.
 *
 * CPU is cumulative: a process that exits keeps the ticks it was last seen
 * with, so a worker that dies mid-run does not make time run backwards.
 * Windows are cut by linear interpolation between samples, so a window
 * need not start on a sample. RSS is summed over the tree (pages shared
 * between forked workers count once per process, as `ps` shows them).
 *
 * Times are absolute milliseconds (`absoluteNowMs`), comparable across
 * threads of this process (the load runs on worker threads).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { DEFAULT_CLOCK_TICKS_PER_SECOND, parseProcStatusRss } from '@relayd/loadgen';

/** Milliseconds since the epoch, with sub-millisecond resolution and monotonic within a run. */
export function absoluteNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * An absoluteNowMs() time as CLOCK_MONOTONIC microseconds (`process.hrtime`),
 * the time base of V8 CPU profiles of any process on this machine.
 */
export function absoluteToMonotonicUs(absoluteMs: number): number {
  const offsetUs = Number(process.hrtime.bigint() / 1000n) - absoluteNowMs() * 1000;
  return absoluteMs * 1000 + offsetUs;
}

export interface ProcStatFields {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  /** utime + stime. */
  readonly cpuTicks: number;
}

/** Parses `/proc/<pid>/stat`; undefined for anything that is not one. comm may hold spaces and ')'. */
export function parseProcStatFields(text: string): ProcStatFields | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // After "pid (comm)": index 0 is field 3 (state), 1 is ppid (4), 11 utime (14), 12 stime (15).
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (![pid, ppid, utime, stime].every((n) => Number.isInteger(n) && n >= 0)) return undefined;
  return { pid, comm: text.slice(open + 1, close), ppid, cpuTicks: utime + stime };
}

/** `root` and every process whose chain of parents leads to it, root first. */
export function descendantsOf(root: number, parents: ReadonlyMap<number, number>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  if (!parents.has(root)) return [];
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    for (const child of children.get(pid) ?? []) queue.push(child);
  }
  return out;
}

export interface ProcReader {
  readText(path: string): string;
  listPids(): number[];
}

export const systemProcReader: ProcReader = {
  readText: (path) => readFileSync(path, 'latin1'),
  listPids: () =>
    readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number),
};

/** The processes of the tree rooted at `root` right now, with their stat fields. */
export function readProcessTree(root: number, reader: ProcReader = systemProcReader): ProcStatFields[] {
  const stats = new Map<number, ProcStatFields>();
  for (const pid of reader.listPids()) {
    try {
      const parsed = parseProcStatFields(reader.readText(`/proc/${pid}/stat`));
      if (parsed) stats.set(pid, parsed);
    } catch {
      // Gone between the listing and the read.
    }
  }
  const parents = new Map([...stats.values()].map((s) => [s.pid, s.ppid]));
  return descendantsOf(root, parents).map((pid) => stats.get(pid)!);
}

function readOneProcess(pid: number, reader: ProcReader): ProcStatFields[] {
  try {
    const parsed = parseProcStatFields(reader.readText(`/proc/${pid}/stat`));
    return parsed ? [parsed] : [];
  } catch {
    return [];
  }
}

export interface TreeSample {
  /** absoluteNowMs() of the sample. */
  readonly atMs: number;
  /** Cumulative CPU ticks of every process ever seen in the tree. */
  readonly cpuTicks: number;
  /** Summed VmRSS of the processes alive now. */
  readonly rssBytes: number;
  readonly processes: number;
}

export interface TreeUsage {
  readonly rootPid: number;
  /** Most processes seen at once in the window. */
  readonly processes: number;
  readonly samples: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  /** CPU over the window in percent of one core (200: two cores busy). */
  readonly cpuPercent: number;
  readonly rssBytesMean: number;
  readonly rssBytesMax: number;
}

export interface ProcessTreeSamplerOptions {
  /** Default 250 ms. */
  readonly intervalMs?: number;
  readonly clockTicksPerSecond?: number;
  readonly reader?: ProcReader;
  readonly nowMs?: () => number;
  /** Sample the root alone, not its descendants (the bench process, whose children are the bridges). Default true. */
  readonly includeDescendants?: boolean;
}

export class ProcessTreeSampler {
  readonly samples: TreeSample[] = [];
  private readonly lastTicks = new Map<number, number>();
  private readonly reader: ProcReader;
  private readonly nowMs: () => number;
  private readonly ticksPerSecond: number;
  private timer: NodeJS.Timeout | undefined;
  private gone = false;

  constructor(
    readonly rootPid: number,
    private readonly options: ProcessTreeSamplerOptions = {},
  ) {
    this.reader = options.reader ?? systemProcReader;
    this.nowMs = options.nowMs ?? absoluteNowMs;
    this.ticksPerSecond = options.clockTicksPerSecond ?? DEFAULT_CLOCK_TICKS_PER_SECOND;
  }

  /** True once the root process is gone. */
  get exited(): boolean {
    return this.gone;
  }

  /** Takes one sample; returns it, or undefined once the root process is gone. */
  sample(): TreeSample | undefined {
    if (this.gone) return undefined;
    const atMs = this.nowMs();
    const tree =
      this.options.includeDescendants === false
        ? readOneProcess(this.rootPid, this.reader)
        : readProcessTree(this.rootPid, this.reader);
    if (tree.length === 0) {
      this.gone = true;
      this.stop();
      return undefined;
    }
    let rssBytes = 0;
    let alive = 0;
    for (const process of tree) {
      this.lastTicks.set(process.pid, Math.max(this.lastTicks.get(process.pid) ?? 0, process.cpuTicks));
      let rss: number | undefined;
      try {
        rss = parseProcStatusRss(this.reader.readText(`/proc/${process.pid}/status`));
      } catch {
        rss = undefined;
      }
      if (rss !== undefined) {
        rssBytes += rss;
        alive++;
      }
    }
    let cpuTicks = 0;
    for (const ticks of this.lastTicks.values()) cpuTicks += ticks;
    const sample = { atMs, cpuTicks, rssBytes, processes: alive };
    this.samples.push(sample);
    return sample;
  }

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.options.intervalMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every PID seen in the tree so far. */
  get pidsSeen(): number[] {
    return [...this.lastTicks.keys()];
  }

  /** Cumulative CPU ticks at `atMs`, interpolated between the samples around it (clamped at the ends). */
  cpuTicksAt(atMs: number): number | undefined {
    const s = this.samples;
    if (s.length === 0) return undefined;
    if (atMs <= s[0]!.atMs) return s[0]!.cpuTicks;
    const last = s[s.length - 1]!;
    if (atMs >= last.atMs) return last.cpuTicks;
    let hi = s.findIndex((x) => x.atMs >= atMs);
    if (hi <= 0) hi = 1;
    const a = s[hi - 1]!;
    const b = s[hi]!;
    const f = b.atMs > a.atMs ? (atMs - a.atMs) / (b.atMs - a.atMs) : 1;
    return a.cpuTicks + f * (b.cpuTicks - a.cpuTicks);
  }

  /** Usage between two absolute times (clamped to the sampled span); undefined without two samples in reach. */
  usage(fromMs: number, toMs: number): TreeUsage | undefined {
    const s = this.samples;
    if (s.length < 2) return undefined;
    const from = Math.max(fromMs, s[0]!.atMs);
    const to = Math.min(toMs, s[s.length - 1]!.atMs);
    if (to <= from) return undefined;
    const cpuSeconds = (this.cpuTicksAt(to)! - this.cpuTicksAt(from)!) / this.ticksPerSecond;
    const wallSeconds = (to - from) / 1000;
    let inWindow = s.filter((x) => x.atMs >= from && x.atMs <= to);
    if (inWindow.length === 0) {
      // A window shorter than the interval: the sample nearest its middle.
      const mid = (from + to) / 2;
      inWindow = [s.reduce((best, x) => (Math.abs(x.atMs - mid) < Math.abs(best.atMs - mid) ? x : best))];
    }
    let rssSum = 0;
    let rssMax = 0;
    let processes = 0;
    for (const x of inWindow) {
      rssSum += x.rssBytes;
      rssMax = Math.max(rssMax, x.rssBytes);
      processes = Math.max(processes, x.processes);
    }
    return {
      rootPid: this.rootPid,
      processes,
      samples: inWindow.length,
      wallSeconds: round3(wallSeconds),
      cpuSeconds: round3(cpuSeconds),
      cpuPercent: Math.round((cpuSeconds / wallSeconds) * 1000) / 10,
      rssBytesMean: Math.round(rssSum / inWindow.length),
      rssBytesMax: rssMax,
    };
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
