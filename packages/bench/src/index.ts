/**
 * @relayd/bench: relayd against C tor, side by side on one machine, in one
 * run, under the same load, reported as ratios. `runBench` runs the
 * scenarios (creation, throughput, scale, workers, balancer) and returns
 * `BenchResults`; the CLI (cli.js, `pnpm bench`) prints them and writes
 * them as JSON for later comparison.
 */
export {
  BRIDGE_KINDS,
  BRIDGE_LABELS,
  type BridgeConfig,
  type BridgeKind,
  launchBridge,
  RunningBridge,
} from './bridges.js';
export { BENCH_VERSION, BenchUsageError, getBenchCli, parseScenarios, parseShape } from './commands.js';
export {
  BenchContext,
  BRIDGE_ADDRESSES,
  type ScenarioOutcome,
  SINK_ADDRESS,
  sourceAddressList,
} from './context.js';
export { BenchError, type BenchErrorCode } from './errors.js';
export { ConnectionHolder, type HoldResult } from './holder.js';
export { type LoadPlan, type LoadRunResult, perCore, runMeasuredLoad, splitEvenly } from './load.js';
export type { ConnectorSpec } from './load-thread.js';
export { collectMachineInfo, type MachineInfo, parseCpuModel, parseOpenFileLimit } from './machine.js';
export { mergeLatency, mergeLoadReports } from './merge.js';
export {
  absoluteNowMs,
  absoluteToMonotonicUs,
  descendantsOf,
  ProcessTreeSampler,
  type ProcReader,
  parseProcStatFields,
  readProcessTree,
  type TreeUsage,
} from './proc-tree.js';
export { areaOf, type CpuProfile, isCpuProfile, summarizeCpuProfiles } from './profile.js';
export {
  BENCH_RESULTS_VERSION,
  type BenchResults,
  type Incident,
  latencyOf,
  type PendingItem,
  parseBenchResults,
  type ResultRow,
  type RowStatus,
  type RunRecord,
  ratioOf,
  resultsFileStamp,
  row,
} from './results.js';
export { REPO_ROOT, replayOptions, runBench, SCENARIO_ATTEMPTS, writeResults } from './runner.js';
export { BALANCER_MODES, modeProblem } from './scenarios/balancer.js';
export { judgeStep, type RampStep } from './scenarios/creation.js';
export { checkOpenFileLimit, isSettled, SCALE_MIN_HELD_FRACTION, scaleProblem } from './scenarios/scale.js';
export { accountingProblem, relayedMegabytesPerSecond, THROUGHPUT_VARIANTS } from './scenarios/throughput.js';
export { workerProcessesProblem } from './scenarios/workers.js';
export {
  type BenchSettings,
  type BenchSettingsInput,
  DEFAULT_SETTINGS,
  QUICK_SIZES,
  resolveBenchSettings,
  SCENARIOS,
  type ScenarioName,
} from './settings.js';
export {
  balancerBehaviour,
  type ConnectionPlacement,
  observeConnections,
  parseProcNetTcp,
  placeConnections,
} from './sockets.js';
export { changePercent, formatComparison, formatResults, formatResultsMarkdown } from './table.js';
