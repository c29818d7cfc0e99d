/**
 * relayd as a bridge of the private network: its torrc (what a test or the
 * demo runs it with), the process started from `bin/relayd` through the
 * network's ProcessRegistry (so it is stopped by PID with everything else),
 * and the bounded wait until it serves clients: its ORPort is open, it wrote
 * `bridge-lines.txt`, and its directory cache holds a consensus and every
 * microdescriptor that consensus lists ("directory cache ready" in its log).
 *
 * relayd's logs are JSON lines; the harness watches its notice log the way
 * it watches a tor node's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TESTNET_ERROR, TestnetError } from './errors.js';
import { waitForLogLine } from './log-watch.js';
import type { TestNetwork } from './network.js';
import type { ExitStatus, ManagedProcess } from './process-registry.js';
import { createNodeLayout, type NodeLayout } from './tor-node.js';

/** `bin/relayd` of this checkout. */
export const RELAYD_BIN = fileURLToPath(new URL('../../../../bin/relayd', import.meta.url));

/** The log line relayd writes once it can serve a bootstrapping client. */
export const RELAYD_READY = /directory cache ready/;

export interface StartRelaydBridgeOptions {
  /** Default `relayd<n>`. */
  readonly nickname?: string;
  /** Extra torrc lines (`Keyword value`). */
  readonly extraTorrc?: readonly string[];
  /** Also write `<level>.log` (info or debug). */
  readonly extraLogLevel?: 'info' | 'debug';
  /** Bound on the wait for readiness (default 60 s). */
  readonly readyTimeoutMs?: number;
  /** Default: RELAYD_BIN. */
  readonly relaydBin?: string;
}

export interface RelaydTorrcSpec {
  readonly nickname: string;
  readonly dataDir: string;
  readonly address: string;
  readonly orPort: number;
  readonly dirAuthorityLines: readonly string[];
  readonly noticeLogPath: string;
  readonly extraLog?: { readonly level: string; readonly path: string };
  readonly extraTorrc?: readonly string[];
}

/** The torrc relayd runs with on the private network. */
export function relaydTorrc(spec: RelaydTorrcSpec): string {
  return [
    `DataDirectory ${spec.dataDir}`,
    `Nickname ${spec.nickname}`,
    'ContactInfo relayd test bridge <nobody@example.org>',
    `ORPort ${spec.address}:${spec.orPort}`,
    `Address ${spec.address}`,
    'BridgeRelay 1',
    'PublishServerDescriptor 0',
    'TestingTorNetwork 1',
    'ExtendAllowPrivateAddresses 1',
    'AssumeReachable 1',
    'SafeLogging 0',
    `Log notice file ${spec.noticeLogPath}`,
    ...(spec.extraLog ? [`Log ${spec.extraLog.level} file ${spec.extraLog.path}`] : []),
    ...spec.dirAuthorityLines,
    ...(spec.extraTorrc ?? []),
    '',
  ].join('\n');
}

export class RelaydBridgeNode {
  constructor(
    readonly address: string,
    readonly orPort: number,
    readonly layout: NodeLayout,
    readonly process: ManagedProcess,
    /** Upper-case hex RSA fingerprint, from DataDirectory/fingerprint. */
    readonly fingerprint: string,
    /** The vanilla line from DataDirectory/bridge-lines.txt. */
    readonly bridgeLine: string,
    /** Milliseconds from spawn to "directory cache ready". */
    readonly readyMs: number,
  ) {}

  get nickname(): string {
    return this.layout.nickname;
  }

  get dataDir(): string {
    return this.layout.dataDir;
  }

  get noticeLogPath(): string {
    return this.layout.noticeLogPath;
  }

  get pid(): number {
    return this.process.pid;
  }

  /** SIGTERM (relayd shuts down cleanly and exits 0), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<ExitStatus> {
    return this.process.stop(graceMs);
  }
}

/**
 * Starts relayd as a bridge of `network` on a fresh 127.0.0.x address and
 * waits until it is ready. On failure the error quotes its logs; the process
 * stays in the network's registry and is stopped by `network.close()`.
 */
export async function startRelaydBridge(
  network: TestNetwork,
  opts: StartRelaydBridgeOptions = {},
): Promise<RelaydBridgeNode> {
  const nickname = network.claimNickname(opts.nickname, 'relayd');
  const address = await network.allocateAddress();
  const orPort = await network.allocatePort(address);
  const layout = createNodeLayout(network.baseDir, nickname, opts.extraLogLevel);
  writeFileSync(
    layout.torrcPath,
    relaydTorrc({
      nickname,
      dataDir: layout.dataDir,
      address,
      orPort,
      dirAuthorityLines: network.dirAuthorityLines,
      noticeLogPath: layout.noticeLogPath,
      ...(layout.extraLog ? { extraLog: layout.extraLog } : {}),
      ...(opts.extraTorrc ? { extraTorrc: opts.extraTorrc } : {}),
    }),
  );
  const child = network.processes.spawn(
    nickname,
    process.execPath,
    [opts.relaydBin ?? RELAYD_BIN, '-f', layout.torrcPath],
    {
      stdoutPath: layout.stdoutPath,
      stderrPath: layout.stderrPath,
    },
  );
  await waitForLogLine(layout.noticeLogPath, RELAYD_READY, {
    timeoutMs: opts.readyTimeoutMs ?? 60_000,
    process: child,
    alsoShow: [layout.stdoutPath, layout.stderrPath],
    what: `${nickname} (relayd) to be ready`,
  });
  const readyMs = Date.now() - child.startedAtMs;
  const fingerprint = readFileSync(join(layout.dataDir, 'fingerprint'), 'latin1').trim().split(' ')[1] ?? '';
  const bridgeLine = readFileSync(join(layout.dataDir, 'bridge-lines.txt'), 'latin1').split('\n')[0] ?? '';
  if (!/^[0-9A-F]{40}$/.test(fingerprint) || !bridgeLine.startsWith('Bridge ')) {
    throw new TestnetError(
      TESTNET_ERROR.badToolOutput,
      `${nickname}: unexpected fingerprint or bridge-lines.txt ("${fingerprint}", "${bridgeLine}")`,
    );
  }
  return new RelaydBridgeNode(address, orPort, layout, child, fingerprint, bridgeLine, readyMs);
}
