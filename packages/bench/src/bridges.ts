/**
 * The two bridges under test, started the same way for every scenario:
 * a fresh DataDirectory, an ORPort (and optionally an Extended ORPort) on
 * a loopback address of their own, no consensus, nothing published, and a
 * directory authority that does not exist, so neither ever talks to
 * anything beyond this machine.
 *
 *   C tor   BridgeRelay 1, AssumeReachable 1, PublishServerDescriptor 0,
 *           ExtendAllowPrivateAddresses 1, ExitRelay 0, NumCPUs 1
 *           (+ the unreachable DirAuthority and __OwningControllerProcess
 *           that startStandaloneTor adds)
 *   relayd  testnet's relaydTorrc (BridgeRelay 1, AssumeReachable 1,
 *           PublishServerDescriptor 0, TestingTorNetwork 1,
 *           ExtendAllowPrivateAddresses 1) with the same unreachable
 *           DirAuthority, plus Workers (default 1) and BalancerMode
 *
 * Ready means: C tor logged its open OR listener and wrote its keys;
 * relayd logged its bridge line (it serves clients without a consensus).
 * The identities and the ntor onion key are read from the key files both
 * write in C tor's formats, so the load needs no descriptor fetch. Every
 * process belongs to the caller's ProcessRegistry and is stopped by PID.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBase64, fromHex } from '@relayd/common';
import { decodeCookieFile } from '@relayd/ext-orport';
import { decodeCurve25519KeypairFile, KeyTag } from '@relayd/keys';
import type { BridgeTarget } from '@relayd/loadgen';
import {
  type ExitStatus,
  type ManagedProcess,
  type ProcessRegistry,
  RELAYD_BIN,
  readTail,
  relaydTorrc,
  startStandaloneTor,
  UNREACHABLE_DIR_AUTHORITY,
  waitForLogLine,
} from '@relayd/testnet';
import { BenchError } from './errors.js';
import { readProcessTree } from './proc-tree.js';

export type BridgeKind = 'relayd' | 'tor';
export const BRIDGE_KINDS: readonly BridgeKind[] = ['relayd', 'tor'];
export const BRIDGE_LABELS: Record<BridgeKind, string> = { relayd: 'relayd', tor: 'C tor' };

export interface BridgeConfig {
  readonly kind: BridgeKind;
  readonly address: string;
  readonly orPort: number;
  /** Also listen on this Extended ORPort (same address). */
  readonly extOrPort?: number;
  /** relayd's `Workers`; default 1 (one core, like C tor's main loop). */
  readonly workers?: number;
  /** relayd's `BalancerMode`. */
  readonly balancerMode?: 'handoff' | 'proxy';
  /**
   * relayd runs under `node --cpu-prof` and writes its profile here on
   * exit, with its worker in its own process (relayd-in-process.js): forked
   * workers do not inherit node flags.
   */
  readonly cpuProfileDir?: string;
}

export interface LaunchEnvironment {
  readonly registry: ProcessRegistry;
  /** Each bridge gets a fresh directory below this one. */
  readonly baseDir: string;
  readonly torBinary: string;
  readonly relaydBin?: string | undefined;
  /** Default 60 s. */
  readonly readyTimeoutMs?: number;
}

export interface ExtOrPortAccess {
  readonly address: string;
  readonly port: number;
  /** The CookieString from the bridge's cookie file. */
  readonly cookie: Uint8Array;
}

export class RunningBridge {
  constructor(
    readonly config: BridgeConfig,
    readonly process: ManagedProcess,
    readonly dataDir: string,
    /** relayd's notice log, or C tor's stdout (its notice log). */
    readonly logPath: string,
    readonly target: BridgeTarget,
    /** How to reach the Extended ORPort, when one was asked for and it is there. */
    readonly extOrPort: ExtOrPortAccess | undefined,
    /** Why not, when one was asked for and it is not. */
    readonly extOrPortProblem: string | undefined,
  ) {}

  get kind(): BridgeKind {
    return this.config.kind;
  }

  get label(): string {
    return BRIDGE_LABELS[this.config.kind];
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Processes below the bridge's own right now (relayd's forked workers; C tor has none). */
  childProcesses(): number {
    return Math.max(0, readProcessTree(this.pid).length - 1);
  }

  /** The last lines of its log, for error messages. */
  logTail(lines = 20): string {
    return readTail(this.logPath, lines);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs = 10_000): Promise<ExitStatus> {
    return this.process.stop(graceMs);
  }
}

/** relayd with its worker in the supervisor's process, for profiling. */
const IN_PROCESS_RELAYD = fileURLToPath(new URL('./relayd-in-process.js', import.meta.url));

let launches = 0;

/** Starts one bridge and waits (bounded) until it serves clients. */
export async function launchBridge(config: BridgeConfig, env: LaunchEnvironment): Promise<RunningBridge> {
  const name = `${config.kind}-${++launches}`;
  const dir = join(env.baseDir, name);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return config.kind === 'tor'
    ? launchCTor(config, env, name, dir, dataDir)
    : launchRelayd(config, env, name, dir, dataDir);
}

async function launchCTor(
  config: BridgeConfig,
  env: LaunchEnvironment,
  name: string,
  dir: string,
  dataDir: string,
): Promise<RunningBridge> {
  const timeoutMs = env.readyTimeoutMs ?? 60_000;
  const tor = startStandaloneTor({
    registry: env.registry,
    dir,
    name,
    torBinary: env.torBinary,
    torrcLines: [
      `DataDirectory ${dataDir}`,
      'BridgeRelay 1',
      `ORPort ${config.address}:${config.orPort}`,
      ...(config.extOrPort !== undefined ? [`ExtORPort ${config.address}:${config.extOrPort}`] : []),
      'SocksPort 0',
      'AssumeReachable 1',
      'PublishServerDescriptor 0',
      'ExtendAllowPrivateAddresses 1',
      'ExitRelay 0',
      'NumCPUs 1',
      'Nickname benchCTor',
      'ContactInfo relayd bench <nobody@example.org>',
      'SafeLogging 0',
      'Log notice stdout',
    ],
  });
  try {
    await tor.waitForLog(/Opened OR listener connection \(ready\)/, timeoutMs, `${name}: an open ORPort`);
    if (config.extOrPort !== undefined) {
      await tor.waitForLog(
        /Opened Extended OR listener connection \(ready\)/,
        timeoutMs,
        `${name}: an open Extended ORPort`,
      );
    }
    const keysReady = () =>
      existsSync(join(dataDir, 'fingerprint-ed25519')) &&
      existsSync(join(dataDir, 'keys', 'secret_onion_key_ntor'));
    await waitUntil(keysReady, timeoutMs, `${name} to write its keys`, () => tor.describeLogs());
    const target = readTarget(config, dataDir);
    let extOrPort: ExtOrPortAccess | undefined;
    let problem: string | undefined;
    if (config.extOrPort !== undefined) {
      const cookiePath = join(dataDir, 'extended_orport_auth_cookie');
      await waitUntil(
        () => existsSync(cookiePath),
        timeoutMs,
        `${name} to write its ExtORPort cookie`,
        () => tor.describeLogs(),
      );
      ({ extOrPort, problem } = readCookie(config, cookiePath));
    }
    return new RunningBridge(config, tor.process, dataDir, tor.stdoutPath, target, extOrPort, problem);
  } catch (error) {
    await tor.stop().catch(() => undefined);
    throw startError(name, error);
  }
}

async function launchRelayd(
  config: BridgeConfig,
  env: LaunchEnvironment,
  name: string,
  dir: string,
  dataDir: string,
): Promise<RunningBridge> {
  const timeoutMs = env.readyTimeoutMs ?? 60_000;
  const torrcPath = join(dir, 'torrc');
  const noticeLogPath = join(dir, 'notice.log');
  const stdoutPath = join(dir, 'stdout.log');
  const stderrPath = join(dir, 'stderr.log');
  writeFileSync(
    torrcPath,
    relaydTorrc({
      nickname: 'benchRelayd',
      dataDir,
      address: config.address,
      orPort: config.orPort,
      dirAuthorityLines: [UNREACHABLE_DIR_AUTHORITY],
      noticeLogPath,
      extraTorrc: [
        `Workers ${config.workers ?? 1}`,
        ...(config.balancerMode ? [`BalancerMode ${config.balancerMode}`] : []),
        ...(config.extOrPort !== undefined ? [`ExtORPort ${config.address}:${config.extOrPort}`] : []),
      ],
    }),
  );
  const command = config.cpuProfileDir
    ? ['--cpu-prof', '--cpu-prof-dir', config.cpuProfileDir, IN_PROCESS_RELAYD]
    : [env.relaydBin ?? RELAYD_BIN];
  const child = env.registry.spawn(name, process.execPath, [...command, '-f', torrcPath], {
    stdoutPath,
    stderrPath,
  });
  try {
    await waitForLogLine(noticeLogPath, /bridge line: /, {
      timeoutMs,
      process: child,
      alsoShow: [stdoutPath, stderrPath],
      what: `${name} (relayd) to serve clients`,
    });
    const target = readTarget(config, dataDir);
    let extOrPort: ExtOrPortAccess | undefined;
    let problem: string | undefined;
    if (config.extOrPort !== undefined) {
      // The cookie comes with the Extended ORPort listener; give it a moment after the bridge line.
      const cookiePath = join(dataDir, 'extended_orport_auth_cookie');
      const deadline = Date.now() + 3_000;
      while (!existsSync(cookiePath) && Date.now() < deadline) await sleep(100);
      if (existsSync(cookiePath)) ({ extOrPort, problem } = readCookie(config, cookiePath));
      else
        problem = `relayd wrote no Extended ORPort cookie (${cookiePath}): it has no Extended ORPort listener`;
    }
    return new RunningBridge(config, child, dataDir, noticeLogPath, target, extOrPort, problem);
  } catch (error) {
    await child.stop().catch(() => undefined);
    throw startError(name, error);
  }
}

/** The identities and the current ntor onion key, from the files both bridges write in C tor's formats. */
function readTarget(config: BridgeConfig, dataDir: string): BridgeTarget {
  const second = (file: string) => readFileSync(join(dataDir, file), 'latin1').trim().split(/\s+/)[1] ?? '';
  const rsaIdentity = fromHex(second('fingerprint'));
  const ed25519Identity = fromBase64(second('fingerprint-ed25519').replace(/=+$/, ''));
  const ntor = decodeCurve25519KeypairFile(
    new Uint8Array(readFileSync(join(dataDir, 'keys', 'secret_onion_key_ntor'))),
    KeyTag.NTOR_ONION,
  );
  if (rsaIdentity?.length !== 20 || ed25519Identity?.length !== 32 || !ntor.ok) {
    throw new BenchError('BRIDGE_START', `unreadable fingerprint or ntor key files in ${dataDir}`);
  }
  return {
    address: config.address,
    port: config.orPort,
    rsaIdentity,
    ed25519Identity,
    ntorOnionKey: ntor.value.publicKey,
  };
}

function readCookie(
  config: BridgeConfig,
  cookiePath: string,
): { extOrPort: ExtOrPortAccess | undefined; problem: string | undefined } {
  const decoded = decodeCookieFile(new Uint8Array(readFileSync(cookiePath)));
  if (!decoded.ok) return { extOrPort: undefined, problem: `${cookiePath}: ${decoded.error.message}` };
  return {
    extOrPort: { address: config.address, port: config.extOrPort!, cookie: decoded.value },
    problem: undefined,
  };
}

function startError(name: string, error: unknown): BenchError {
  if (error instanceof BenchError) return error;
  return new BenchError('BRIDGE_START', `${name} did not start: ${(error as Error).message}`, {
    cause: error,
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
  logs: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new BenchError('BRIDGE_START', `timed out after ${timeoutMs} ms waiting for ${what}\n${logs()}`);
    }
    await sleep(100);
  }
}
