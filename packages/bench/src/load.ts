/**
 * A measured load run: the load generator on N threads (load-thread.ts),
 * the bridge's process tree and this process sampled from /proc on the
 * main thread, and the measurement window (after every thread's warm-up,
 * before the first thread's end) cut from the samples. The thread reports
 * are merged (merge.ts) and the bridge's CPU over the same window turns
 * rates into rates per core.
 */
import { Worker } from 'node:worker_threads';
import type { LoadOptionsInput, LoadReport } from '@relayd/loadgen';
import { BenchError } from './errors.js';
import type { ConnectorSpec, LoadThreadData, LoadThreadMessage } from './load-thread.js';
import { mergeLoadReports } from './merge.js';
import { absoluteNowMs, ProcessTreeSampler, type TreeUsage } from './proc-tree.js';

/** Mean CPU of one load thread above which the load generator, not the bridge, may be what limits. */
export const LOADGEN_SATURATED_PERCENT = 90;

export interface LoadPlan {
  /** Totals over all threads: connections, circuitRate and maxCircuits are split between them. */
  readonly options: LoadOptionsInput;
  readonly connector: ConnectorSpec;
  readonly threads: number;
}

export interface LoadRunResult {
  readonly report: LoadReport;
  readonly threads: number;
  /** The bridge's tree over the measurement window. */
  readonly bridge: TreeUsage | null;
  /** This process (all load threads) over the window. */
  readonly loadgen: TreeUsage | null;
  /** Whether the load threads were busy enough to be the limit. */
  readonly loadgenSaturated: boolean;
  /** Absolute ms. */
  readonly window: { readonly fromMs: number; readonly toMs: number };
}

export interface RunLoadOptions {
  /** The bridge's PID: its whole process tree is sampled. */
  readonly bridgePid: number;
  /** Default 250 ms. */
  readonly sampleIntervalMs?: number;
  /** Called once every thread is launching circuits, with the window to come. */
  readonly onRunning?: (window: { fromMs: number; toMs: number }) => void;
  /** Bound on the whole run (default: duration + drain + 120 s for connecting). */
  readonly timeoutMs?: number;
}

/** Splits `total` into `parts` integers that differ by at most one. */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

const THREAD_URL = new URL('./load-thread.js', import.meta.url);

export async function runMeasuredLoad(plan: LoadPlan, opts: RunLoadOptions): Promise<LoadRunResult> {
  const total = plan.options.connections ?? 1;
  const threads = Math.max(1, Math.min(plan.threads, total));
  const connections = splitEvenly(total, threads);
  const maxCircuits = splitEvenly(plan.options.maxCircuits ?? 0, threads);
  const durationMs = plan.options.durationMs ?? 10_000;
  const warmupMs = plan.options.warmupMs ?? 0;
  const interval = opts.sampleIntervalMs ?? 250;
  const bridgeSampler = new ProcessTreeSampler(opts.bridgePid, { intervalMs: interval });
  const selfSampler = new ProcessTreeSampler(process.pid, {
    intervalMs: interval,
    includeDescendants: false,
  });
  bridgeSampler.start();
  selfSampler.start();
  const workers: Worker[] = [];
  const runStarts: number[] = [];
  let offset = 0;
  try {
    const results = connections.map((count, i) => {
      const data: LoadThreadData = {
        options: {
          ...plan.options,
          connections: count,
          circuitRate: (plan.options.circuitRate ?? 0) / threads,
          maxCircuits: maxCircuits[i]!,
          progressIntervalMs: 100,
          bridgePid: undefined,
        },
        connector: plan.connector,
        connectionOffset: offset,
      };
      offset += count;
      const worker = new Worker(THREAD_URL, { workerData: data });
      workers.push(worker);
      return new Promise<LoadReport>((resolve, reject) => {
        worker.on('message', (message: LoadThreadMessage) => {
          if (message.type === 'running') {
            runStarts.push(message.runStartMs);
            if (runStarts.length === threads) {
              const fromMs = Math.max(...runStarts) + warmupMs;
              opts.onRunning?.({ fromMs, toMs: Math.min(...runStarts) + durationMs });
            }
          } else if (message.type === 'report') resolve(message.report);
          else reject(new BenchError('LOAD', `load thread ${i}: ${message.code}: ${message.message}`));
        });
        worker.on('error', (error) =>
          reject(new BenchError('LOAD', `load thread ${i} failed: ${error.message}`)),
        );
        worker.on('exit', (code) =>
          reject(new BenchError('LOAD', `load thread ${i} exited (${code}) without a report`)),
        );
      });
    });
    const bound =
      opts.timeoutMs ?? durationMs + (plan.options.drainTimeoutMs ?? 10_000) + 120_000 + total * 20;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BenchError('LOAD', `the load run did not finish within ${bound} ms`)),
        bound,
      );
    });
    let reports: LoadReport[];
    try {
      reports = await Promise.race([Promise.all(results), timeout]);
    } finally {
      clearTimeout(timer);
    }
    bridgeSampler.sample();
    selfSampler.sample();
    const report = mergeLoadReports(reports);
    const starts = runStarts.length > 0 ? runStarts : [absoluteNowMs()];
    const fromMs = Math.max(...starts) + warmupMs;
    const toMs = Math.min(...starts) + warmupMs + report.window.measuredSeconds * 1000;
    const bridge = bridgeSampler.usage(fromMs, toMs) ?? null;
    const loadgen = selfSampler.usage(fromMs, toMs) ?? null;
    return {
      report,
      threads,
      bridge,
      loadgen,
      loadgenSaturated: loadgen !== null && loadgen.cpuPercent >= LOADGEN_SATURATED_PERCENT * threads,
      window: { fromMs, toMs },
    };
  } finally {
    bridgeSampler.stop();
    selfSampler.stop();
    await Promise.all(workers.map((w) => w.terminate().catch(() => 0)));
  }
}

/** `rate` per core of the bridge: rate ÷ (bridge CPU percent / 100). Undefined without a CPU figure. */
export function perCore(rate: number, bridge: TreeUsage | null): number | undefined {
  if (!bridge || bridge.cpuPercent <= 0) return undefined;
  return rate / (bridge.cpuPercent / 100);
}
