/**
 * Samples another process's CPU time and resident memory from Linux's
 * /proc (proc(5)): `/proc/<pid>/stat` fields 14 and 15 (utime, stime, in
 * clock ticks) and `/proc/<pid>/status` "VmRSS:" (kB). The parsers are pure
 * and total; the sampler reads the files on a timer and summarises the
 * samples that fall in a measurement window.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '@relayd/common';

/**
 * USER_HZ, the unit of utime/stime. It is 100 on every Linux architecture
 * Node supports (the kernel fixes it for user space; `getconf CLK_TCK`).
 */
export const DEFAULT_CLOCK_TICKS_PER_SECOND = 100;

export interface ProcCpuTimes {
  readonly userTicks: number;
  readonly systemTicks: number;
}

/**
 * Reads utime and stime from /proc/<pid>/stat. The second field (comm) is
 * in parentheses and may itself contain spaces and parentheses, so fields
 * are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcCpuTimes | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After "pid (comm)": field 3 (state) is index 0, so utime (field 14) is index 11.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isInteger(userTicks) || !Number.isInteger(systemTicks) || userTicks < 0 || systemTicks < 0) {
    return undefined;
  }
  return { userTicks, systemTicks };
}

/** Reads "VmRSS:  1234 kB" from /proc/<pid>/status, in bytes. */
export function parseProcStatusRss(text: string): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

export interface ProcSample {
  /** Monotonic time of the sample (ms). */
  readonly atMs: number;
  /** utime + stime, in clock ticks. */
  readonly cpuTicks: number;
  readonly rssBytes: number;
}

export interface ProcessUsageSummary {
  readonly pid: number;
  readonly samples: number;
  /** Average CPU over the window, percent of one core (200 = two cores busy). */
  readonly cpuPercentMean: number;
  /** The busiest interval between two samples. */
  readonly cpuPercentMax: number;
  readonly cpuSeconds: number;
  readonly rssBytesMean: number;
  readonly rssBytesMax: number;
  readonly rssBytesLast: number;
  /** The process was gone before the sampling stopped. */
  readonly exited: boolean;
}

export interface ProcessSamplerOptions {
  readonly intervalMs?: number;
  readonly clockTicksPerSecond?: number;
  readonly clock: Clock;
  /** Reads a /proc file (tests pass a fake); default readFileSync. */
  readonly readText?: (path: string) => string;
}

export class ProcessSampler {
  readonly samples: ProcSample[] = [];
  exited = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly ticksPerSecond: number;
  private readonly readText: (path: string) => string;

  constructor(
    readonly pid: number,
    private readonly opts: ProcessSamplerOptions,
  ) {
    this.intervalMs = opts.intervalMs ?? 1_000;
    this.ticksPerSecond = opts.clockTicksPerSecond ?? DEFAULT_CLOCK_TICKS_PER_SECOND;
    this.readText = opts.readText ?? ((path) => readFileSync(path, 'latin1'));
  }

  /**
   * Takes one sample now, stamped `atMs` (default: the clock's now; the
   * load generator stamps the samples it takes at the measurement window's
   * edges with the edge itself). Returns false (and stops) once the
   * process is gone or unreadable.
   */
  sample(atMs?: number): boolean {
    if (this.exited) return false;
    let stat: ProcCpuTimes | undefined;
    let rss: number | undefined;
    try {
      stat = parseProcStat(this.readText(`/proc/${this.pid}/stat`));
      rss = parseProcStatusRss(this.readText(`/proc/${this.pid}/status`));
    } catch {
      stat = undefined;
    }
    // A zombie has no VmRSS line: it is as gone as a missing file.
    if (!stat || rss === undefined) {
      this.exited = true;
      this.stop();
      return false;
    }
    this.samples.push({
      atMs: atMs ?? this.opts.clock.monotonicMs(),
      cpuTicks: stat.userTicks + stat.systemTicks,
      rssBytes: rss,
    });
    return true;
  }

  start(): void {
    if (this.timer) return;
    this.sample();
    if (this.exited) return;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Summarises the samples taken between `fromMs` and `toMs` (monotonic); undefined with fewer than two. */
  summary(fromMs: number, toMs: number): ProcessUsageSummary | undefined {
    const inWindow = this.samples
      .filter((s) => s.atMs >= fromMs && s.atMs <= toMs)
      .sort((a, b) => a.atMs - b.atMs);
    if (inWindow.length < 2) return undefined;
    const first = inWindow[0]!;
    const last = inWindow[inWindow.length - 1]!;
    const cpuSeconds = (last.cpuTicks - first.cpuTicks) / this.ticksPerSecond;
    const wallSeconds = (last.atMs - first.atMs) / 1000;
    let cpuMax = 0;
    let rssSum = 0;
    let rssMax = 0;
    for (let i = 0; i < inWindow.length; i++) {
      const s = inWindow[i]!;
      rssSum += s.rssBytes;
      rssMax = Math.max(rssMax, s.rssBytes);
      if (i === 0) continue;
      const prev = inWindow[i - 1]!;
      const dt = (s.atMs - prev.atMs) / 1000;
      if (dt > 0) cpuMax = Math.max(cpuMax, ((s.cpuTicks - prev.cpuTicks) / this.ticksPerSecond / dt) * 100);
    }
    return {
      pid: this.pid,
      samples: inWindow.length,
      cpuPercentMean: wallSeconds > 0 ? round1((cpuSeconds / wallSeconds) * 100) : 0,
      cpuPercentMax: round1(cpuMax),
      cpuSeconds: Math.round(cpuSeconds * 100) / 100,
      rssBytesMean: Math.round(rssSum / inWindow.length),
      rssBytesMax: rssMax,
      rssBytesLast: last.rssBytes,
      exited: this.exited,
    };
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
