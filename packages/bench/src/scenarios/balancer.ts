/**
 * Scenario 5, the balancer: what the way a connection reaches a worker
 * costs. The same load (the many-connections throughput shape, so
 * per-connection costs show) runs against
 *
 *   relayd  direct    its ORPort
 *           handoff   its Extended ORPort, `BalancerMode handoff` (the
 *                     supervisor passes the socket to a worker: no extra hop)
 *           proxy     its Extended ORPort, `BalancerMode proxy` (the
 *                     supervisor relays the bytes to a worker over TCP)
 *   C tor   direct    its ORPort
 *           ExtORPort its Extended ORPort (the same process: no hop at all)
 *
 * Extended ORPort connections are made as a pluggable transport makes them
 * (loadgen's ExtORPort connector: SAFE_COOKIE, USERADDR, TRANSPORT, then
 * the link). The cost of a mode is 1 − its MB/s per core ÷ direct's; the
 * extra hop's latency shows in the connection setup time (TCP connect to
 * the peer's NETINFO, ExtORPort exchange included).
 *
 * Half-way through each relayd run the bench looks at which relayd
 * process holds the client connections and whether TCP connections run
 * between relayd's own processes (sockets.ts). A mode relayd does not
 * demonstrably perform — no Extended ORPort listener, no worker processes
 * to hand to, or connections all held by one process — is reported as
 * pending with what was seen, never with a number.
 */
import type { RunningBridge } from '../bridges.js';
import type { BenchContext, ScenarioOutcome } from '../context.js';
import type { LoadRunResult } from '../load.js';
import { perCore } from '../load.js';
import type { ConnectorSpec } from '../load-thread.js';
import { absoluteNowMs } from '../proc-tree.js';
import { latencyOf, type PendingItem, type ResultRow, row } from '../results.js';
import {
  type BalancerBehaviour,
  balancerBehaviour,
  type ConnectionPlacement,
  observeConnections,
} from '../sockets.js';
import { relayedMegabytesPerSecond, throughputRun } from './throughput.js';

export const BALANCER_MODES = ['direct', 'handoff', 'proxy'] as const;
export type BalancerModeName = (typeof BALANCER_MODES)[number];

interface ModeRun {
  readonly result: LoadRunResult | undefined;
  /** Why there is no number. */
  readonly pending: string | undefined;
  readonly placement: ConnectionPlacement | undefined;
  readonly behaviour: BalancerBehaviour | undefined;
}

/** What a placement must show for a mode to count as performed; the reason when it does not. */
export function modeProblem(
  mode: BalancerModeName,
  behaviour: BalancerBehaviour | undefined,
  placement: ConnectionPlacement | undefined,
): string | undefined {
  if (mode === 'direct') return undefined;
  if (!placement || !behaviour) return 'the connections could not be observed during the run';
  if (behaviour === mode) return undefined;
  const seen =
    behaviour === 'none'
      ? `one process held them (${JSON.stringify(placement.clientFacingByPid)}), no internal hop`
      : `relayd did ${behaviour} instead`;
  return `asked for BalancerMode ${mode}, but ${seen}`;
}

/** Runs the load through `connector` and looks at where the connections are half-way through. */
async function observedRun(
  ctx: BenchContext,
  bridge: RunningBridge,
  variant: string,
  connector: ConnectorSpec,
  front: { address: string; port: number },
): Promise<{ result: LoadRunResult; placement: ConnectionPlacement | undefined }> {
  let placement: ConnectionPlacement | undefined;
  let timer: NodeJS.Timeout | undefined;
  const shape = ctx.settings.throughput.manyConnections;
  try {
    const result = await throughputRun(ctx, 'balancer', variant, bridge, shape, connector, (window) => {
      const at = (window.fromMs + window.toMs) / 2;
      timer = setTimeout(
        () => {
          placement = observeConnections(bridge.pid, front);
        },
        Math.max(0, at - absoluteNowMs()),
      );
    });
    return { result, placement };
  } finally {
    clearTimeout(timer);
  }
}

async function relaydMode(ctx: BenchContext, mode: BalancerModeName): Promise<ModeRun> {
  const workers = ctx.settings.balancerWorkers;
  return ctx.withBridge(
    {
      kind: 'relayd',
      workers,
      ...(mode === 'direct' ? {} : { balancerMode: mode, withExtOrPort: true }),
    },
    async (bridge) => {
      let connector: ConnectorSpec = { kind: 'orport' };
      let front = { address: bridge.target.address, port: bridge.target.port };
      if (mode !== 'direct') {
        if (!bridge.extOrPort) {
          return {
            result: undefined,
            pending: bridge.extOrPortProblem,
            placement: undefined,
            behaviour: undefined,
          };
        }
        const e = bridge.extOrPort;
        connector = { kind: 'ext-orport', address: e.address, port: e.port, cookie: e.cookie };
        front = { address: e.address, port: e.port };
      }
      let run: Awaited<ReturnType<typeof observedRun>>;
      try {
        run = await observedRun(ctx, bridge, `relayd ${mode}`, connector, front);
      } catch (error) {
        if (mode === 'direct') throw error;
        return {
          result: undefined,
          pending: `no load could run through relayd's Extended ORPort: ${(error as Error).message}`,
          placement: undefined,
          behaviour: undefined,
        };
      }
      const shape = ctx.settings.throughput.manyConnections;
      const behaviour = run.placement ? balancerBehaviour(run.placement, shape.connections) : undefined;
      const problem = modeProblem(mode, behaviour, run.placement);
      return {
        result: problem ? undefined : run.result,
        pending: problem,
        placement: run.placement,
        behaviour,
      };
    },
  );
}

async function torRuns(ctx: BenchContext): Promise<{ direct: LoadRunResult; extOr: LoadRunResult }> {
  return ctx.withBridge({ kind: 'tor', withExtOrPort: true }, async (bridge) => {
    const direct = await throughputRun(
      ctx,
      'balancer',
      'C tor direct',
      bridge,
      ctx.settings.throughput.manyConnections,
    );
    const e = bridge.extOrPort!;
    const extOr = await throughputRun(
      ctx,
      'balancer',
      'C tor ExtORPort',
      bridge,
      ctx.settings.throughput.manyConnections,
      { kind: 'ext-orport', address: e.address, port: e.port, cookie: e.cookie },
    );
    return { direct, extOr };
  });
}

const perCoreOf = (r: LoadRunResult | undefined) =>
  r ? perCore(relayedMegabytesPerSecond(r), r.bridge) : undefined;

/** 1 − mode ÷ direct, in percent. */
function costPercent(mode: number | undefined, direct: number | undefined): number | undefined {
  if (mode === undefined || direct === undefined || direct <= 0) return undefined;
  return (1 - mode / direct) * 100;
}

export async function runBalancer(ctx: BenchContext): Promise<ScenarioOutcome> {
  ctx.log(
    `balancer: direct ORPort vs Extended ORPort handoff vs proxy (relayd Workers ${ctx.settings.balancerWorkers})`,
  );
  const relayd: Partial<Record<BalancerModeName, ModeRun>> = {};
  for (const mode of BALANCER_MODES) {
    relayd[mode] = await relaydMode(ctx, mode);
    if (relayd[mode]!.pending) ctx.log(`  balancer ${mode}: pending — ${relayd[mode]!.pending}`);
  }
  const tor = await torRuns(ctx);
  const rows: ResultRow[] = [];
  const pending: PendingItem[] = [];
  const torDirect = perCoreOf(tor.direct);
  const torExt = perCoreOf(tor.extOr);
  const relaydDirect = perCoreOf(relayd.direct?.result);
  for (const mode of BALANCER_MODES) {
    const run = relayd[mode]!;
    const torResult = mode === 'direct' ? tor.direct : tor.extOr;
    const label = mode === 'direct' ? 'direct ORPort' : `ExtORPort, ${mode} (C tor: ExtORPort)`;
    const placement = run.placement
      ? `seen: ${run.behaviour}; client connections by PID ${JSON.stringify(run.placement.clientFacingByPid)}, ${run.placement.internalConnections} internal`
      : undefined;
    const status = run.pending ? ('pending' as const) : undefined;
    if (run.pending)
      pending.push({ scenario: 'balancer', what: `relayd BalancerMode ${mode}`, reason: run.pending });
    rows.push(
      row({
        id: `balancer.${mode}.mbps-per-core`,
        scenario: 'balancer',
        metric: `MB/s per bridge core, ${label}`,
        unit: 'MB/s/core',
        better: 'higher',
        relayd: perCoreOf(run.result),
        tor: perCoreOf(torResult),
        ...(status ? { status } : {}),
        ...(run.pending ? { note: run.pending } : placement ? { note: placement } : {}),
      }),
      row({
        id: `balancer.${mode}.link-p50`,
        scenario: 'balancer',
        metric: `connection setup p50 (TCP to NETINFO), ${label}`,
        unit: 'ms',
        better: 'lower',
        relayd: latencyOf(run.result?.report.connections.linkHandshakeMs, 'p50'),
        tor: latencyOf(torResult.report.connections.linkHandshakeMs, 'p50'),
        ...(status ? { status, note: run.pending } : {}),
      }),
    );
    if (mode !== 'direct') {
      const torCost = costPercent(torExt, torDirect);
      rows.push(
        row({
          id: `balancer.${mode}.cost`,
          scenario: 'balancer',
          metric: `cost of ${mode} vs direct (1 − per-core ÷ direct's)`,
          unit: '%',
          better: 'lower',
          relayd: costPercent(perCoreOf(run.result), relaydDirect),
          tor: null,
          ...(status ? { status } : {}),
          note: `${run.pending ? `${run.pending}; ` : ''}C tor's ExtORPort vs its ORPort: ${torCost === undefined ? '?' : `${torCost.toFixed(1)}%`}`,
        }),
      );
    }
  }
  return { rows, pending };
}
