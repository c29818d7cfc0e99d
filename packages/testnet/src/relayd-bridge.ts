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
 *
 * Options beyond a vanilla single-worker bridge: `workers` (Workers N),
 * `balancerMode` (BalancerMode), `extOrPort` (ExtORPort), and `transports`:
 * managed pluggable transports (`ServerTransportPlugin NAME exec PATH`),
 * each listening on a loopback address and port allocated for it
 * (`ServerTransportListenAddr`); the bridge is ready once each of them has
 * its line in bridge-lines.txt (`RelaydBridgeNode.bridgeLines`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TESTNET_ERROR, TestnetError } from './errors.js';
import { describeLogs, waitForLogLine } from './log-watch.js';
import type { TestNetwork } from './network.js';
import type { ExitStatus, ManagedProcess } from './process-registry.js';
import { createNodeLayout, type NodeLayout } from './tor-node.js';

/** `bin/relayd` of this checkout. */
export const RELAYD_BIN = fileURLToPath(new URL('../../../../bin/relayd', import.meta.url));

/** The log line relayd writes once it can serve a bootstrapping client. */
export const RELAYD_READY = /directory cache ready/;

/** A managed pluggable transport for relayd to run. */
export interface RelaydTransportSpec {
  /** The transport name, e.g. "obfs4". */
  readonly name: string;
  /** The executable, e.g. /usr/bin/obfs4proxy. */
  readonly path: string;
}

/** A transport as written into the torrc, with where it listens. */
export interface RelaydTransportListen extends RelaydTransportSpec {
  readonly address: string;
  readonly port: number;
}

export interface StartRelaydBridgeOptions {
  /** Default `relayd<n>`. */
  readonly nickname?: string;
  /** `Workers N` (worker processes); relayd's default when absent. */
  readonly workers?: number;
  /** `BalancerMode`. */
  readonly balancerMode?: 'handoff' | 'proxy';
  /** The `ExtORPort` value, e.g. "auto" or "127.0.0.1:auto"; none when absent. */
  readonly extOrPort?: string;
  /** Managed transports, each given a loopback address and port of its own. */
  readonly transports?: readonly RelaydTransportSpec[];
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
  readonly workers?: number;
  readonly balancerMode?: 'handoff' | 'proxy';
  readonly extOrPort?: string;
  readonly transports?: readonly RelaydTransportListen[];
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
    ...(spec.workers !== undefined ? [`Workers ${spec.workers}`] : []),
    ...(spec.balancerMode ? [`BalancerMode ${spec.balancerMode}`] : []),
    ...(spec.extOrPort !== undefined ? [`ExtORPort ${spec.extOrPort}`] : []),
    ...(spec.transports ?? []).flatMap((t) => [
      `ServerTransportPlugin ${t.name} exec ${t.path}`,
      `ServerTransportListenAddr ${t.name} ${t.address}:${t.port}`,
    ]),
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
    /** Every line of bridge-lines.txt at readiness: the vanilla one, then one per transport. */
    readonly bridgeLines: readonly string[] = [bridgeLine],
    /** The managed transports and where they listen. */
    readonly transports: readonly RelaydTransportListen[] = [],
  ) {}

  /** The `Bridge <name> …` line of transport `name`; throws if relayd published none. */
  transportBridgeLine(name: string): string {
    const line = this.bridgeLines.find((l) => l.startsWith(`Bridge ${name} `));
    if (!line) {
      throw new TestnetError(
        TESTNET_ERROR.badToolOutput,
        `${this.nickname}: no ${name} line in bridge-lines.txt (${this.bridgeLines.join(' | ')})`,
      );
    }
    return line;
  }

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
  const transports: RelaydTransportListen[] = [];
  for (const t of opts.transports ?? []) {
    const listen = await network.allocateAddress();
    transports.push({ ...t, address: listen, port: await network.allocatePort(listen) });
  }
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
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      ...(opts.balancerMode ? { balancerMode: opts.balancerMode } : {}),
      ...(opts.extOrPort !== undefined ? { extOrPort: opts.extOrPort } : {}),
      ...(transports.length > 0 ? { transports } : {}),
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
  const bridgeLines = readFileSync(join(layout.dataDir, 'bridge-lines.txt'), 'latin1')
    .split('\n')
    .filter((l) => l !== '');
  const bridgeLine = bridgeLines[0] ?? '';
  if (!/^[0-9A-F]{40}$/.test(fingerprint) || !bridgeLine.startsWith('Bridge ')) {
    throw new TestnetError(
      TESTNET_ERROR.badToolOutput,
      `${nickname}: unexpected fingerprint or bridge-lines.txt ("${fingerprint}", "${bridgeLine}")`,
    );
  }
  const node = new RelaydBridgeNode(
    address,
    orPort,
    layout,
    child,
    fingerprint,
    bridgeLine,
    readyMs,
    bridgeLines,
    transports,
  );
  // The supervisor writes its first bridge lines once every transport started or failed: a missing line is a failure.
  for (const t of transports) {
    try {
      node.transportBridgeLine(t.name);
    } catch (error) {
      throw new TestnetError(
        TESTNET_ERROR.badToolOutput,
        `${(error as Error).message}\n${describeLogs(layout.noticeLogPath, [layout.stdoutPath, layout.stderrPath])}`,
      );
    }
  }
  return node;
}
