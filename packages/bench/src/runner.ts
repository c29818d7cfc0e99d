/**
 * One bench run, start to finish:
 *
 *   machine details and load average → a temporary directory → the sink
 *   relay (its own process, `loadgen sink`) → each selected scenario in
 *   turn (each starts and stops its own bridges) → optionally a CPU profile
 *   of relayd on the hottest workload → results.
 *
 * A scenario that throws does not end the run: it gets a `failed` row with
 * the error and the next scenario runs. Every child process (bridges,
 * sink) is in one ProcessRegistry and stopped by PID in `finally`, and
 * the temporary directory is removed unless `keepDir` is set.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError } from '@relayd/common';
import { type BridgeTarget, type LoadOptionsInput, type NextHop, nextHopFromJson } from '@relayd/loadgen';
import { describeExit, type ExitStatus, LoopbackAllocator, ProcessRegistry } from '@relayd/testnet';
import { launchBridge } from './bridges.js';
import { BenchContext, BRIDGE_ADDRESSES, type ScenarioOutcome, SINK_ADDRESS } from './context.js';
import { BenchError } from './errors.js';
import { runMeasuredLoad } from './load.js';
import { collectMachineInfo } from './machine.js';
import { absoluteToMonotonicUs } from './proc-tree.js';
import { isCpuProfile, summarizeCpuProfiles } from './profile.js';
import {
  BENCH_RESULTS_VERSION,
  type BenchResults,
  type Incident,
  type ProfileSummary,
  type ResultRow,
  type RunRecord,
  resultsFileStamp,
} from './results.js';
import { runBalancer } from './scenarios/balancer.js';
import { runCreation } from './scenarios/creation.js';
import { runScale } from './scenarios/scale.js';
import { runThroughput } from './scenarios/throughput.js';
import { runWorkers } from './scenarios/workers.js';
import type { BenchSettings, ScenarioName } from './settings.js';

/** The checkout this bench belongs to (packages/bench/dist/src → root). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** relayd's own shutdown bound is 15 s; SIGKILL only after that, or there is no profile. */
const PROFILE_STOP_GRACE_MS = 20_000;

/** Attempts per scenario: a failed one is run once more from scratch. */
export const SCENARIO_ATTEMPTS = 2;

const SCENARIO_RUNNERS: Record<ScenarioName, (ctx: BenchContext) => Promise<ScenarioOutcome>> = {
  creation: runCreation,
  throughput: runThroughput,
  scale: runScale,
  workers: runWorkers,
  balancer: runBalancer,
};

export interface BenchRunOptions {
  /** Progress lines. */
  readonly log: (line: string) => void;
  /** Keep the temporary directory (bridges' logs and torrcs) and say where it is. */
  readonly keepDir?: boolean;
}

function relaydVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', 'relayd', 'package.json'), 'utf8'));
    return String(pkg.version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

async function startSink(registry: ProcessRegistry, dir: string): Promise<NextHop> {
  const port = await new LoopbackAllocator().allocatePort(SINK_ADDRESS);
  const infoFile = join(dir, 'sink.json');
  const cli = fileURLToPath(new URL('./cli.js', import.meta.resolve('@relayd/loadgen')));
  const child = registry.spawn(
    'sink',
    process.execPath,
    [cli, 'sink', '--host', SINK_ADDRESS, '--port', String(port), '--info-file', infoFile],
    { stdoutPath: join(dir, 'sink.stdout.log'), stderrPath: join(dir, 'sink.stderr.log') },
  );
  const deadline = Date.now() + 30_000;
  while (!existsSync(infoFile)) {
    if (!child.running || Date.now() > deadline) {
      throw new BenchError(
        'BRIDGE_START',
        `the sink relay did not start: ${readFileSync(join(dir, 'sink.stderr.log'), 'utf8').slice(-2000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The file is written in one call; a partial read is retried once.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return nextHopFromJson(JSON.parse(readFileSync(infoFile, 'utf8')));
}

/**
 * Profiles relayd (node --cpu-prof, worker in process) under the workload
 * of its busiest creation or throughput run (or of the scenario asked for),
 * counting only the samples of the measured window.
 */
async function profileHottest(ctx: BenchContext, dir: string): Promise<ProfileSummary | null> {
  // Runs that go through the ORPort of a one-worker relayd, so the replay is the same workload.
  const wanted = ctx.settings.profileScenario;
  const relaydRuns = ctx.runs.filter(
    (r) =>
      r.bridge === 'relayd' &&
      r.bridgeUsage &&
      (r.scenario === 'creation' || r.scenario === 'throughput') &&
      (wanted === undefined || r.scenario === wanted),
  );
  if (relaydRuns.length === 0) return null;
  const hottest = relaydRuns.reduce((a, b) =>
    b.bridgeUsage!.cpuPercent > a.bridgeUsage!.cpuPercent ? b : a,
  );
  const profileDir = join(dir, 'cpu-profile');
  mkdirSync(profileDir, { recursive: true });
  // A ramp step is short; the profile gets at least a whole measured run's worth of samples.
  const minimumMs = Math.round((ctx.settings.durationSeconds + ctx.settings.warmupSeconds) * 1000);
  const workload = `${hottest.scenario} ${hottest.variant} (relayd at ${hottest.bridgeUsage!.cpuPercent}% CPU)`;
  ctx.log(`profile: relayd under node --cpu-prof, replaying ${workload}`);
  const address = BRIDGE_ADDRESSES.relayd;
  const bridge = await launchBridge(
    {
      kind: 'relayd',
      address,
      orPort: await new LoopbackAllocator().allocatePort(address),
      workers: 1,
      cpuProfileDir: profileDir,
    },
    {
      registry: ctx.registry,
      baseDir: dir,
      torBinary: ctx.settings.torBinary,
      relaydBin: ctx.settings.relaydBin,
    },
  );
  let window: { fromUs: number; toUs: number };
  let exit: ExitStatus;
  try {
    const run = await runMeasuredLoad(
      {
        options: replayOptions(hottest, bridge.target, ctx.sink, ctx.sourceAddresses, minimumMs),
        connector: { kind: 'orport' },
        threads: hottest.threads,
      },
      { bridgePid: bridge.pid },
    );
    window = {
      fromUs: absoluteToMonotonicUs(run.window.fromMs),
      toUs: absoluteToMonotonicUs(run.window.toMs),
    };
  } finally {
    // The profile is written on a clean exit: give relayd its whole shutdown time (15 s) and more.
    exit = await bridge.stop(PROFILE_STOP_GRACE_MS);
  }
  const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) {
    ctx.log(`profile: relayd wrote no profile (it exited with ${describeExit(exit)})`);
    return null;
  }
  const profiles = files
    .map((f) => JSON.parse(readFileSync(join(profileDir, f), 'utf8')) as unknown)
    .filter(isCpuProfile);
  if (profiles.length === 0) return null;
  const keep = join(ctx.settings.outDir, 'profiles');
  mkdirSync(keep, { recursive: true });
  const kept = files.map((f) => {
    const target = join(keep, `relayd-${resultsFileStamp(new Date())}-${f}`);
    writeFileSync(target, readFileSync(join(profileDir, f)));
    return target;
  });
  return summarizeCpuProfiles(profiles, workload, kept.join(', '), { window });
}

/** The load options of a recorded run, to run it again against another bridge. */
export function replayOptions(
  run: RunRecord,
  target: BridgeTarget,
  sink: NextHop,
  sourceAddresses: readonly string[],
  /** Run at least this long (ms), keeping the recorded warm-up. */
  minimumDurationMs = 0,
): LoadOptionsInput {
  const c = run.report.config;
  const w = run.report.window;
  return {
    target,
    nextHop: c.nextHop ? sink : undefined,
    connections: c.connections,
    circuitsPerConnection: c.circuitsPerConnection,
    circuitRate: c.circuitRate,
    handshake: c.handshake as 'ntor' | 'ntor-v3' | 'fast',
    extendHandshake: (c.extendHandshake ?? 'ntor') as 'ntor' | 'ntor-v3',
    downloadBytes: c.downloadBytes,
    uploadBytes: c.uploadBytes,
    uploadCells: c.uploadCells as 'data' | 'drop',
    durationMs: Math.max(Math.round(w.durationSeconds * 1000), minimumDurationMs),
    warmupMs: Math.round(w.warmupSeconds * 1000),
    drainTimeoutMs: 30_000,
    sourceAddresses,
  };
}

export async function runBench(settings: BenchSettings, options: BenchRunOptions): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const machine = collectMachineInfo({
    torBinary: settings.torBinary,
    repoRoot: REPO_ROOT,
    relaydVersion: relaydVersion(),
  });
  const dir = mkdtempSync(join(tmpdir(), 'relayd-bench-'));
  const registry = new ProcessRegistry();
  const rows: ResultRow[] = [];
  const pending: BenchResults['pending'][number][] = [];
  const incidents: Incident[] = [];
  let profile: ProfileSummary | null = null;
  let ctx: BenchContext | undefined;
  try {
    const sink = await startSink(registry, dir);
    ctx = new BenchContext(settings, registry, dir, sink, options.log);
    for (const scenario of settings.scenarios) {
      const started = Date.now();
      // A shared machine sometimes breaks a run (a bridge stalls, a port is taken): one fresh
      // attempt, with new bridges, before the scenario counts as failed. Every failure is kept.
      for (let attempt = 1; attempt <= SCENARIO_ATTEMPTS; attempt++) {
        const runsBefore = ctx.runs.length;
        try {
          const outcome = await SCENARIO_RUNNERS[scenario](ctx);
          rows.push(...outcome.rows);
          pending.push(...outcome.pending);
          break;
        } catch (error) {
          const message = describeError(error).split('\n')[0]!;
          options.log(`${scenario}: attempt ${attempt} FAILED — ${describeError(error)}`);
          incidents.push({ scenario, attempt, error: message });
          // The broken attempt's runs are dropped; the incident says what happened.
          ctx.runs.splice(runsBefore);
          if (attempt === SCENARIO_ATTEMPTS) {
            rows.push({
              id: `${scenario}.error`,
              scenario,
              metric: 'the scenario could not run',
              unit: '',
              better: 'higher',
              relayd: null,
              tor: null,
              ratio: null,
              status: 'failed',
              note: message,
            });
          }
        }
      }
      options.log(`${scenario}: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    if (settings.profile) {
      try {
        profile = await profileHottest(ctx, dir);
      } catch (error) {
        options.log(`profile: FAILED — ${describeError(error)}`);
      }
    }
  } finally {
    await registry.stopAll();
    if (options.keepDir) options.log(`bridges' directories kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  const [a, b, c] = loadavg();
  return {
    version: BENCH_RESULTS_VERSION,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    loadAverageAtEnd: [round2(a ?? 0), round2(b ?? 0), round2(c ?? 0)],
    settings,
    rows,
    pending,
    incidents,
    runs: ctx?.runs ?? [],
    profile,
  };
}

/** Writes `<outDir>/<timestamp>.json` (or `path` when given) and returns where. */
export function writeResults(results: BenchResults, outDir: string, path?: string): string {
  const file = path ?? join(outDir, `${resultsFileStamp(new Date(results.startedAt))}.json`);
  const parent = join(file, '..');
  if (!existsSync(parent) || !statSync(parent).isDirectory()) mkdirSync(parent, { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
