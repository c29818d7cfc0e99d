/**
 * What a bench run does: which scenarios, how big, how long. Every number
 * has a default sized for a small machine (this project's reference box has
 * two cores) and a range; `resolveBenchSettings` fills defaults and refuses
 * anything out of range with a BAD_OPTION BenchError. `QUICK_SIZES` is the
 * smoke-test shape: seconds per scenario, tiny counts, the same code paths.
 */
import { BenchError } from './errors.js';

export const SCENARIOS = ['creation', 'throughput', 'scale', 'workers', 'balancer'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface CreationSettings {
  /** Link connections carrying the creation load. */
  readonly connections: number;
  /** Circuits in flight per connection at most (bounds the open-loop queue). */
  readonly circuitsPerConnection: number;
  /** The first offered rate of the ramp (CREATE2 per second). */
  readonly startRate: number;
  /** Each step offers this many times the previous rate. */
  readonly rateFactor: number;
  /** The ramp stops after this many steps even if every step held. */
  readonly maxSteps: number;
  /** Length of one ramp step (s), of which the first `warmupSeconds` are not measured. */
  readonly stepSeconds: number;
  /** A step holds when p99 CREATE→CREATED stays under this (ms)... */
  readonly p99LimitMs: number;
  /** ...at most this fraction of its circuits failed... */
  readonly maxFailureFraction: number;
  /** ...and it achieved at least this fraction of the offered rate. */
  readonly minAchievedFraction: number;
  /** The handshake under test. */
  readonly handshake: 'ntor' | 'ntor-v3';
}

export interface ThroughputShape {
  readonly connections: number;
  readonly circuitsPerConnection: number;
}

export interface ThroughputSettings {
  /** Bytes each circuit downloads and, at the same time, uploads. */
  readonly bytesPerCircuit: number;
  /** Many circuits multiplexed on few connections. */
  readonly manyCircuits: ThroughputShape;
  /** One or two circuits on each of many connections. */
  readonly manyConnections: ThroughputShape;
}

export interface ScaleSettings {
  /** Idle client connections held open at once (the memory figure is per connection). */
  readonly connections: number;
  /** Circuits (two hops, to the sink) held on each of them afterwards. */
  readonly circuitsPerConnection: number;
  /** Link handshakes in flight at once while connecting. */
  readonly connectConcurrency: number;
  /** The count the per-connection figures are projected to when fewer were measured. */
  readonly projectTo: number;
}

export interface BenchSettings {
  readonly scenarios: readonly ScenarioName[];
  /** Measured length of throughput, worker and balancer runs and of the latency run (s). */
  readonly durationSeconds: number;
  /** The unmeasured start of each run (s). */
  readonly warmupSeconds: number;
  /** Threads the load generator runs on (each its own event loop, connections split between them). */
  readonly loadThreads: number;
  /** 127.0.4.1 ... 127.0.4.n: source addresses the load connects from, against ephemeral-port exhaustion. */
  readonly sourceAddresses: number;
  readonly creation: CreationSettings;
  readonly throughput: ThroughputSettings;
  readonly scale: ScaleSettings;
  /** relayd's worker count in the scaling scenario (compared with Workers 1). */
  readonly workers: number;
  /** relayd's worker count behind the balancer (BalancerMode needs worker processes to hand to). */
  readonly balancerWorkers: number;
  /** Profile relayd (`node --cpu-prof`) on the hottest workload afterwards. */
  readonly profile: boolean;
  /** Profile the busiest run of this scenario instead of the busiest of both. */
  readonly profileScenario: 'creation' | 'throughput' | undefined;
  /** Where `<timestamp>.json` is written. */
  readonly outDir: string;
  readonly torBinary: string;
  /** relayd's launcher (`bin/relayd`). */
  readonly relaydBin: string | undefined;
}

export const DEFAULT_SETTINGS: Omit<BenchSettings, 'outDir' | 'relaydBin' | 'profileScenario'> = {
  scenarios: SCENARIOS,
  durationSeconds: 10,
  warmupSeconds: 2,
  loadThreads: 1,
  sourceAddresses: 8,
  creation: {
    connections: 8,
    circuitsPerConnection: 64,
    startRate: 250,
    rateFactor: 1.4,
    maxSteps: 10,
    stepSeconds: 5,
    p99LimitMs: 500,
    maxFailureFraction: 0.01,
    minAchievedFraction: 0.95,
    handshake: 'ntor',
  },
  throughput: {
    bytesPerCircuit: 2_000_000,
    manyCircuits: { connections: 2, circuitsPerConnection: 25 },
    manyConnections: { connections: 50, circuitsPerConnection: 1 },
  },
  scale: { connections: 10_000, circuitsPerConnection: 1, connectConcurrency: 128, projectTo: 10_000 },
  workers: 2,
  balancerWorkers: 2,
  profile: false,
  torBinary: '/usr/bin/tor',
};

/** Smoke-test sizes: every scenario in a few seconds, the same code paths. */
export const QUICK_SIZES = {
  durationSeconds: 1.5,
  warmupSeconds: 0.5,
  creation: {
    ...DEFAULT_SETTINGS.creation,
    connections: 2,
    circuitsPerConnection: 8,
    startRate: 40,
    rateFactor: 2,
    maxSteps: 2,
    stepSeconds: 1.5,
    p99LimitMs: 5_000,
    maxFailureFraction: 0.5,
    minAchievedFraction: 0.5,
  },
  throughput: {
    bytesPerCircuit: 60_000,
    manyCircuits: { connections: 1, circuitsPerConnection: 4 },
    manyConnections: { connections: 4, circuitsPerConnection: 1 },
  },
  scale: { connections: 40, circuitsPerConnection: 1, connectConcurrency: 16, projectTo: 10_000 },
} as const satisfies Partial<BenchSettings>;

function bad(message: string): BenchError {
  return new BenchError('BAD_OPTION', message);
}

function check(name: string, value: number, min: number, max: number, integer = true): void {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw bad(`${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, not ${value}`);
  }
}

export type BenchSettingsInput = Partial<Omit<BenchSettings, 'creation' | 'throughput' | 'scale'>> & {
  readonly outDir: string;
  readonly creation?: Partial<CreationSettings>;
  readonly throughput?: Partial<ThroughputSettings>;
  readonly scale?: Partial<ScaleSettings>;
  /** Start from QUICK_SIZES instead of the defaults. */
  readonly quick?: boolean;
};

/** Defaults (or the quick sizes), then the given values, then range checks. */
export function resolveBenchSettings(input: BenchSettingsInput): BenchSettings {
  const base = input.quick ? { ...DEFAULT_SETTINGS, ...QUICK_SIZES } : DEFAULT_SETTINGS;
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  const top = defined(input);
  const settings: BenchSettings = {
    ...base,
    relaydBin: undefined,
    profileScenario: undefined,
    ...top,
    outDir: input.outDir,
    creation: { ...base.creation, ...defined(input.creation) },
    throughput: { ...base.throughput, ...defined(input.throughput) },
    scale: { ...base.scale, ...defined(input.scale) },
  };
  delete (settings as { quick?: boolean }).quick;
  const unknown = settings.scenarios.filter((s) => !SCENARIOS.includes(s));
  if (unknown.length > 0)
    throw bad(`unknown scenario(s) ${unknown.join(', ')}: choose from ${SCENARIOS.join(', ')}`);
  if (settings.scenarios.length === 0) throw bad('no scenario selected');
  check('duration', settings.durationSeconds, 0.5, 3600, false);
  check('warmup', settings.warmupSeconds, 0, 600, false);
  check('load threads', settings.loadThreads, 1, 64);
  check('source addresses', settings.sourceAddresses, 1, 254);
  const c = settings.creation;
  check('creation connections', c.connections, 1, 10_000);
  check('creation circuits per connection', c.circuitsPerConnection, 1, 10_000);
  check('creation start rate', c.startRate, 1, 1_000_000, false);
  check('creation rate factor', c.rateFactor, 1.05, 10, false);
  check('creation steps', c.maxSteps, 1, 100);
  check('creation step length', c.stepSeconds, 0.5, 600, false);
  check('creation p99 limit', c.p99LimitMs, 1, 600_000, false);
  check('creation failure fraction', c.maxFailureFraction, 0, 1, false);
  check('creation achieved fraction', c.minAchievedFraction, 0, 1, false);
  if (c.handshake !== 'ntor' && c.handshake !== 'ntor-v3') throw bad(`creation handshake ${c.handshake}`);
  const t = settings.throughput;
  check('throughput bytes per circuit', t.bytesPerCircuit, 498, 256 * 1024 * 1024);
  for (const [name, shape] of [
    ['many-circuits', t.manyCircuits],
    ['many-connections', t.manyConnections],
  ] as const) {
    check(`${name} connections`, shape.connections, 1, 10_000);
    check(`${name} circuits per connection`, shape.circuitsPerConnection, 1, 10_000);
  }
  const s = settings.scale;
  check('scale connections', s.connections, 1, 100_000);
  check('scale circuits per connection', s.circuitsPerConnection, 0, 100);
  check('scale connect concurrency', s.connectConcurrency, 1, 10_000);
  check('scale projection', s.projectTo, 1, 1_000_000);
  check('workers', settings.workers, 2, 64);
  check('balancer workers', settings.balancerWorkers, 1, 64);
  return settings;
}

/** The warm-up of a creation step: the run's warm-up, but never more than half the step. */
export function stepWarmupSeconds(settings: BenchSettings): number {
  return Math.min(settings.warmupSeconds, settings.creation.stepSeconds / 2);
}
