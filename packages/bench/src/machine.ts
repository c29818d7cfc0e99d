/**
 * What the numbers were measured on, recorded with every result so runs can
 * be compared: CPU model and cores, memory, kernel, Node and tor versions,
 * the relayd checkout, the open-file limit and the load average when the
 * run started (a busy or shared machine shows there).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, type as osType, release, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpuModel: string;
  /** Cores the bench may use (os.availableParallelism). */
  readonly cores: number;
  readonly memoryBytes: number;
  readonly os: string;
  readonly node: string;
  /** `tor --version`, first line. */
  readonly tor: string;
  readonly relayd: {
    readonly version: string;
    readonly commit: string | null;
    readonly dirty: boolean | null;
  };
  /** Soft and hard RLIMIT_NOFILE of the bench process (the bridges inherit them). */
  readonly openFiles: { readonly soft: number | null; readonly hard: number | null };
  /** 1, 5 and 15 minute load averages at the start. */
  readonly loadAverageAtStart: readonly [number, number, number];
}

/** "model name" from /proc/cpuinfo, falling back to Node's view. */
export function parseCpuModel(cpuinfo: string): string | undefined {
  const m = /^model name\s*:\s*(.+)$/m.exec(cpuinfo);
  return m?.[1]?.trim();
}

/** "Max open files  <soft>  <hard>  files" from /proc/<pid>/limits. */
export function parseOpenFileLimit(limits: string): { soft: number | null; hard: number | null } {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const value = (text: string | undefined) =>
    text === undefined || text === 'unlimited' ? null : Number.isFinite(Number(text)) ? Number(text) : null;
  return { soft: value(m?.[1]), hard: value(m?.[2]) };
}

function tryRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function tryRun(command: string, args: string[], cwd?: string): string | undefined {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
      ...(cwd ? { cwd } : {}),
    }).trim();
  } catch {
    return undefined;
  }
}

export function collectMachineInfo(opts: {
  readonly torBinary: string;
  readonly repoRoot: string;
  readonly relaydVersion: string;
}): MachineInfo {
  const [one, five, fifteen] = loadavg();
  const commit = tryRun('git', ['rev-parse', '--short=12', 'HEAD'], opts.repoRoot) ?? null;
  const status = commit
    ? tryRun('git', ['status', '--porcelain', '--untracked-files=no'], opts.repoRoot)
    : undefined;
  return {
    cpuModel: parseCpuModel(tryRead('/proc/cpuinfo')) ?? cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    os: `${osType()} ${release()}`,
    node: process.version,
    tor: tryRun(opts.torBinary, ['--version'])?.split('\n')[0] ?? 'not found',
    relayd: { version: opts.relaydVersion, commit, dirty: status === undefined ? null : status.length > 0 },
    openFiles: parseOpenFileLimit(tryRead('/proc/self/limits')),
    loadAverageAtStart: [round2(one ?? 0), round2(five ?? 0), round2(fifteen ?? 0)],
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
