/**
 * What every scenario shares within one bench run: the settings, the
 * process registry (every child is stopped by PID when the run ends, also
 * on failure), the sink relay both bridges extend to, the loopback
 * addresses, and the record of every load run. `withBridge` starts a
 * bridge on a fresh port, hands it to the scenario and always stops it.
 */
import type { NextHop } from '@relayd/loadgen';
import { LoopbackAllocator, type ProcessRegistry } from '@relayd/testnet';
import { type BridgeConfig, type BridgeKind, launchBridge, type RunningBridge } from './bridges.js';
import type { LoadPlan, LoadRunResult } from './load.js';
import { runMeasuredLoad } from './load.js';
import type { PendingItem, ResultRow, RunRecord } from './results.js';
import type { BenchSettings, ScenarioName } from './settings.js';

/** Each bridge listens on its own address; the sink on a third; the load connects from a fourth /24. */
export const BRIDGE_ADDRESSES: Record<BridgeKind, string> = { relayd: '127.0.3.1', tor: '127.0.3.2' };
export const SINK_ADDRESS = '127.0.3.3';

/** 127.0.4.1 ... 127.0.4.n. */
export function sourceAddressList(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.4.${i + 1}`);
}

export interface ScenarioOutcome {
  readonly rows: ResultRow[];
  readonly pending: PendingItem[];
}

export type BridgeOptions = Omit<BridgeConfig, 'address' | 'orPort' | 'extOrPort'> & {
  /** Also open an Extended ORPort. */
  readonly withExtOrPort?: boolean;
};

export class BenchContext {
  readonly runs: RunRecord[] = [];
  readonly sourceAddresses: string[];
  private readonly ports = new LoopbackAllocator();

  constructor(
    readonly settings: BenchSettings,
    readonly registry: ProcessRegistry,
    /** Bridges' directories go below this one. */
    readonly baseDir: string,
    readonly sink: NextHop,
    /** Progress lines (stderr in the CLI). */
    readonly log: (line: string) => void,
  ) {
    this.sourceAddresses = sourceAddressList(settings.sourceAddresses);
  }

  /** Starts a bridge, runs `fn` with it, and stops it whatever happens. */
  async withBridge<T>(options: BridgeOptions, fn: (bridge: RunningBridge) => Promise<T>): Promise<T> {
    const address = BRIDGE_ADDRESSES[options.kind];
    const orPort = await this.ports.allocatePort(address);
    const extOrPort = options.withExtOrPort ? await this.ports.allocatePort(address) : undefined;
    const { withExtOrPort: _ignored, ...rest } = options;
    const bridge = await launchBridge(
      { ...rest, address, orPort, ...(extOrPort !== undefined ? { extOrPort } : {}) },
      {
        registry: this.registry,
        baseDir: this.baseDir,
        torBinary: this.settings.torBinary,
        relaydBin: this.settings.relaydBin,
      },
    );
    try {
      return await fn(bridge);
    } finally {
      await bridge.stop();
    }
  }

  /** Runs a load against `bridge` and records it under `scenario`/`variant`. */
  async measure(
    scenario: ScenarioName,
    variant: string,
    bridge: RunningBridge,
    plan: Omit<LoadPlan, 'threads'> & { readonly threads?: number },
    onRunning?: (window: { fromMs: number; toMs: number }) => void,
  ): Promise<LoadRunResult> {
    const result = await runMeasuredLoad(
      {
        ...plan,
        options: { sourceAddresses: this.sourceAddresses, ...plan.options },
        threads: plan.threads ?? this.settings.loadThreads,
      },
      { bridgePid: bridge.pid, ...(onRunning ? { onRunning } : {}) },
    );
    if (!bridge.process.running) {
      throw new Error(`${bridge.label} exited during the ${scenario} ${variant} run:\n${bridge.logTail()}`);
    }
    this.runs.push({
      scenario,
      variant,
      bridge: bridge.kind,
      report: result.report,
      bridgeUsage: result.bridge,
      loadgenUsage: result.loadgen,
      loadgenSaturated: result.loadgenSaturated,
      threads: result.threads,
    });
    this.log(describeRun(scenario, variant, bridge.label, result));
    return result;
  }
}

/** One line per load run for the progress output. */
export function describeRun(scenario: string, variant: string, label: string, r: LoadRunResult): string {
  const c = r.report.circuits;
  const mb = r.report.throughput.forward.megabytesPerSecond + r.report.throughput.backward.megabytesPerSecond;
  const cpu = r.bridge ? `${r.bridge.cpuPercent}%` : '?';
  const lg = r.loadgen ? `${r.loadgen.cpuPercent}%${r.loadgenSaturated ? ' (saturated)' : ''}` : '?';
  return (
    `  ${scenario} ${variant} [${label}]: ${c.createsPerSecond} creates/s, ${c.failed} failed, ` +
    `${mb.toFixed(2)} MB/s, create p99 ${c.createMs.p99} ms, bridge CPU ${cpu}, load generator CPU ${lg}`
  );
}
