/**
 * The private Tor network: directory authorities, relays (one or more exits)
 * and a payload HTTP server, all real C tor processes on loopback under one
 * temporary directory, plus the bridges and clients a test adds to it.
 *
 * `startNetwork` returns once the authorities serve a consensus that lists
 * every relay as Running and Valid with the exits flagged Exit and accepting
 * the payload port, and every relay has bootstrapped. `close()` stops every
 * process by PID and removes the directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConsensusSummary, parseConsensusSummary, policySummaryAllows } from './consensus-summary.js';
import { TESTNET_ERROR, TestnetError } from './errors.js';
import { sleep } from './log-watch.js';
import { LoopbackAllocator } from './loopback.js';
import { PayloadServer } from './payload-server.js';
import { isPidAlive, ProcessRegistry } from './process-registry.js';
import { AuthorityNode, BridgeNode, ClientNode, RelayNode } from './roles.js';
import { createNodeLayout, launchTor, type NodeLayout } from './tor-node.js';
import {
  checkBinaries,
  createEmptyFile,
  createRelayIdentity,
  DEBIAN_TOR_BINARIES,
  generateAuthorityKeys,
  type TorBinaries,
} from './tor-tools.js';
import {
  authorityTorrc,
  bridgeLine,
  bridgeTorrc,
  clientTorrc,
  dirAuthorityLine,
  FAST_VOTING,
  type NodeSpec,
  relayTorrc,
  resolvConf,
  type TorLogLevel,
  type TorrcEntry,
  type VotingSchedule,
} from './torrc.js';

export interface StartNetworkOptions {
  /** Directory authorities (default 3; a majority must sign each consensus). */
  readonly authorities?: number;
  /** Middle-only relays (default 2). */
  readonly middleRelays?: number;
  /**
   * Exit relays (default 2). With a single exit, that exit keeps failing to
   * find an exit for its own predicted circuits (a relay never uses itself),
   * logs "Failed to choose an exit server" every second and builds doomed
   * paths that make other relays warn "Client asked me to extend back to the
   * previous hop"; with two exits each uses the other.
   */
  readonly exitRelays?: number;
  /** Size of the random payload the HTTP server serves (default 4 MiB). */
  readonly payloadBytes?: number;
  /** Where the network's temporary directory is created (default: the OS temp dir). */
  readonly parentDir?: string;
  /** Keep the directory after close() (default: when RELAYD_TESTNET_KEEP=1). */
  readonly keepFiles?: boolean;
  /** Bound on the wait for a usable consensus and bootstrapped relays (default 90 s). */
  readonly readyTimeoutMs?: number;
  /** Also write `<level>.log` for every node of the network (default: notice log only). */
  readonly extraLogLevel?: TorLogLevel;
  readonly binaries?: TorBinaries;
  readonly voting?: VotingSchedule;
}

export interface StartBridgeOptions {
  /** Default `bridge<n>`. */
  readonly nickname?: string;
  /** Appended to the generated torrc (e.g. ServerTransportPlugin lines). */
  readonly extraTorrc?: readonly TorrcEntry[];
  /** Also write `<level>.log` (e.g. `info`, to follow its circuits and directory fetches). */
  readonly extraLogLevel?: TorLogLevel;
  /** Wait for the bridge's `Bootstrapped 100%` (default true), bounded by `bootstrapTimeoutMs` (default 60 s). */
  readonly waitForBootstrap?: boolean;
  readonly bootstrapTimeoutMs?: number;
}

export interface StartClientOptions {
  /** Full `Bridge ...` lines; empty means an ordinary client choosing its own guards. */
  readonly bridgeLines: readonly string[];
  /** Default `client<n>`. */
  readonly nickname?: string;
  readonly extraTorrc?: readonly TorrcEntry[];
  readonly extraLogLevel?: TorLogLevel;
}

/** Milliseconds from `startNetwork` to each milestone. */
export interface NetworkTimings {
  readonly keysMs: number;
  readonly consensusMs: number;
  readonly relaysBootstrappedMs: number;
}

const DEFAULTS = {
  authorities: 3,
  middleRelays: 2,
  exitRelays: 2,
  payloadBytes: 4 * 1024 * 1024,
  readyTimeoutMs: 90_000,
  bridgeBootstrapTimeoutMs: 60_000,
} as const;

/** Address of the payload server and the dead-end DNS "server". */
const SERVICES_ADDRESS = '127.0.0.1';
const CONSENSUS_POLL_MS = 500;
/**
 * Every tor predicts port 443 at start-up and keeps trying to build an exit
 * circuit for it ("Failed to choose an exit server" each second) unless some
 * exit's summary accepts it. Accepting it costs nothing: a connection from a
 * 127.0.0.x source to a non-loopback address fails in the kernel (EINVAL),
 * so the exit cannot reach anything outside the machine.
 */
const PREDICTED_PORT = 443;
const CONSENSUS_FETCH_TIMEOUT_MS = 3_000;

export class TestNetwork {
  /** The temporary directory holding every node's directory. */
  readonly baseDir: string;
  readonly processes = new ProcessRegistry();
  readonly binaries: TorBinaries;
  /** An empty file: every node's `--defaults-torrc` and GeoIP database. */
  readonly emptyFile: string;
  readonly resolvConfPath: string;
  readonly authorities: AuthorityNode[] = [];
  /** Middle relays and exits (authorities are relays too, but listed apart). */
  readonly relays: RelayNode[] = [];
  readonly bridges: BridgeNode[] = [];
  readonly clients: ClientNode[] = [];
  /** Full `DirAuthority ...` torrc lines for anything that joins this network. */
  dirAuthorityLines: readonly string[] = [];
  payload!: PayloadServer;
  /** The last consensus seen by the readiness wait. */
  consensus: ConsensusSummary | undefined;
  timings: NetworkTimings | undefined;
  private readonly allocator = new LoopbackAllocator();
  private readonly keepFiles: boolean;
  private readonly extraLogLevel: TorLogLevel | undefined;
  private closing: Promise<void> | undefined;
  private readonly nicknames = new Set<string>();
  private readonly nextIndex = new Map<string, number>();

  /** @internal use startNetwork() */
  constructor(baseDir: string, opts: StartNetworkOptions) {
    this.baseDir = baseDir;
    this.binaries = opts.binaries ?? DEBIAN_TOR_BINARIES;
    this.keepFiles = opts.keepFiles ?? process.env['RELAYD_TESTNET_KEEP'] === '1';
    this.extraLogLevel = opts.extraLogLevel;
    this.emptyFile = createEmptyFile(baseDir);
    this.resolvConfPath = join(baseDir, 'resolv.conf');
  }

  /** Exit relays only. */
  get exits(): RelayNode[] {
    return this.relays.filter((r) => r.role === 'exit');
  }

  /** Every node's PID, in start order, including short-lived key tools. */
  get pids(): number[] {
    return this.processes.pids;
  }

  /** PIDs spawned by this network that are still alive (by `kill(pid, 0)`). */
  livePids(): number[] {
    return this.pids.filter(isPidAlive);
  }

  /** A fresh loopback address (127.0.0.x) for something joining the network, e.g. a relayd bridge. */
  allocateAddress(): Promise<string> {
    return this.allocator.allocateAddress();
  }

  /** A currently free port on `address` not handed out before by this network. */
  allocatePort(address: string): Promise<number> {
    return this.allocator.allocatePort(address);
  }

  /**
   * Starts a C tor bridge (BridgeRelay 1, PublishServerDescriptor 0,
   * AssumeReachable 1) on its own address; by default waits for its
   * `Bootstrapped 100%`. Its `bridgeLine` goes into clients' torrc.
   */
  async startBridge(opts: StartBridgeOptions = {}): Promise<BridgeNode> {
    this.checkOpen();
    const nickname = this.claimNickname(opts.nickname, 'bridge');
    const address = await this.allocateAddress();
    const orPort = await this.allocatePort(address);
    const layout = createNodeLayout(this.baseDir, nickname, opts.extraLogLevel ?? this.extraLogLevel);
    const fingerprint = await createRelayIdentity(this.processes, this.binaries, {
      name: nickname,
      dataDir: layout.dataDir,
      defaultsTorrc: this.emptyFile,
    });
    const torrc = bridgeTorrc({
      ...this.nodeSpec(layout, address),
      orPort,
      resolvConfPath: this.resolvConfPath,
      ...(opts.extraTorrc ? { extraTorrc: opts.extraTorrc } : {}),
    });
    const child = launchTor(this.processes, this.binaries, layout, torrc, this.emptyFile);
    const bridge = new BridgeNode(
      address,
      layout,
      child,
      orPort,
      fingerprint,
      bridgeLine(address, orPort, fingerprint),
    );
    this.bridges.push(bridge);
    if (opts.waitForBootstrap ?? true) {
      await bridge.waitForBootstrap(opts.bootstrapTimeoutMs ?? DEFAULTS.bridgeBootstrapTimeoutMs);
    }
    return bridge;
  }

  /**
   * Starts a tor client with a fresh DataDirectory, its own address and
   * SocksPort, and `UseBridges 1` with `bridgeLines`. Does not wait: call
   * `waitForBootstrap()` on the result.
   */
  async startClient(opts: StartClientOptions): Promise<ClientNode> {
    this.checkOpen();
    const nickname = this.claimNickname(opts.nickname, 'client');
    const address = await this.allocateAddress();
    const socksPort = await this.allocatePort(address);
    const layout = createNodeLayout(this.baseDir, nickname, opts.extraLogLevel ?? this.extraLogLevel);
    const torrc = clientTorrc({
      ...this.nodeSpec(layout, address),
      socksPort,
      bridgeLines: opts.bridgeLines,
      ...(opts.extraTorrc ? { extraTorrc: opts.extraTorrc } : {}),
    });
    const child = launchTor(this.processes, this.binaries, layout, torrc, this.emptyFile);
    const client = new ClientNode(address, layout, child, socksPort, opts.bridgeLines, this.payload.url);
    this.clients.push(client);
    return client;
  }

  /**
   * Polls every authority's DirPort until each serves a consensus listing all
   * authorities and relays as Running and Valid, with every exit flagged Exit
   * and its policy summary accepting the payload port. Bounded; the error
   * says what was still missing and quotes the first authority's log.
   */
  async waitForConsensus(timeoutMs: number): Promise<ConsensusSummary> {
    const deadline = Date.now() + timeoutMs;
    const expected = [...this.authorities, ...this.relays];
    let lastProblem = 'no consensus fetched yet';
    for (;;) {
      const problems: string[] = [];
      let summary: ConsensusSummary | undefined;
      for (const auth of this.authorities) {
        const fetched = await fetchConsensus(auth.address, auth.dirPort);
        if (typeof fetched === 'string') {
          problems.push(`${auth.nickname}: ${fetched}`);
          continue;
        }
        summary ??= fetched;
        const missing = this.readinessProblems(fetched, expected);
        if (missing.length > 0)
          problems.push(`${auth.nickname} (valid-after ${fetched.validAfter}): ${missing.join(', ')}`);
      }
      if (problems.length === 0 && summary) {
        this.consensus = summary;
        return summary;
      }
      lastProblem = problems.join('; ');
      for (const node of expected) {
        const status = node.process.exitStatus;
        if (status) {
          throw new TestnetError(
            TESTNET_ERROR.processExited,
            `waiting for a consensus: ${node.nickname} exited\n${node.describeLogs()}`,
          );
        }
      }
      if (Date.now() >= deadline) {
        throw new TestnetError(
          TESTNET_ERROR.timeout,
          `no usable consensus within ${timeoutMs} ms: ${lastProblem}\n${this.authorities[0]?.describeLogs() ?? ''}`,
        );
      }
      await sleep(CONSENSUS_POLL_MS);
    }
  }

  /**
   * Stops every process this network started (bridges and clients included)
   * by PID, closes the payload server and removes the directory unless kept.
   * Idempotent; safe to call from `after()` hooks even after a failed start.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.processes.stopAll();
      } finally {
        await this.payload?.close();
        if (!this.keepFiles) rmSync(this.baseDir, { recursive: true, force: true });
      }
    })();
    return this.closing;
  }

  /** A multi-line description of every node: addresses, ports, PIDs and log paths. */
  describe(): string {
    const lines = [`private tor network in ${this.baseDir}`];
    for (const a of this.authorities) {
      lines.push(
        `  ${a.nickname.padEnd(8)} authority ${a.address} or=${a.orPort} dir=${a.dirPort} pid=${a.pid} ${a.noticeLogPath}`,
      );
    }
    for (const r of this.relays) {
      lines.push(
        `  ${r.nickname.padEnd(8)} ${r.role.padEnd(9)} ${r.address} or=${r.orPort} pid=${r.pid} ${r.noticeLogPath}`,
      );
    }
    for (const b of this.bridges) {
      lines.push(
        `  ${b.nickname.padEnd(8)} bridge    ${b.address} or=${b.orPort} pid=${b.pid} ${b.noticeLogPath}`,
      );
    }
    for (const c of this.clients) {
      lines.push(
        `  ${c.nickname.padEnd(8)} client    ${c.address} socks=${c.socksPort} pid=${c.pid} ${c.noticeLogPath}`,
      );
    }
    if (this.payload) lines.push(`  payload  ${this.payload.url} sha256=${this.payload.sha256Hex}`);
    return lines.join('\n');
  }

  /** @internal */
  nodeSpec(layout: NodeLayout, address: string): NodeSpec {
    return {
      nickname: layout.nickname,
      dataDir: layout.dataDir,
      address,
      dirAuthorityLines: this.dirAuthorityLines,
      noticeLogPath: layout.noticeLogPath,
      ...(layout.extraLog ? { extraLog: layout.extraLog } : {}),
      owningPid: process.pid,
      geoIpFile: this.emptyFile,
    };
  }

  private checkOpen(): void {
    if (this.closing) throw new TestnetError(TESTNET_ERROR.badOption, 'this network has been closed');
  }

  /**
   * Reserves a nickname synchronously, so that concurrent startClient() calls
   * never share one (and with it a directory).
   */
  /** @internal */
  claimNickname(requested: string | undefined, prefix: string): string {
    let nickname = requested;
    if (nickname === undefined) {
      const next = this.nextIndex.get(prefix) ?? 0;
      this.nextIndex.set(prefix, next + 1);
      nickname = `${prefix}${next}`;
    }
    if (this.nicknames.has(nickname)) {
      throw new TestnetError(TESTNET_ERROR.badOption, `nickname ${nickname} is already used in this network`);
    }
    this.nicknames.add(nickname);
    return nickname;
  }

  private readinessProblems(summary: ConsensusSummary, expected: readonly RelayNode[]): string[] {
    const byFingerprint = new Map(summary.routers.map((r) => [r.fingerprint, r]));
    const problems: string[] = [];
    for (const node of expected) {
      const router = byFingerprint.get(node.fingerprint);
      if (!router) {
        problems.push(`${node.nickname} missing`);
        continue;
      }
      const lacking = ['Running', 'Valid', ...(node.role === 'exit' ? ['Exit'] : [])].filter(
        (f) => !router.flags.includes(f),
      );
      if (lacking.length > 0) problems.push(`${node.nickname} lacks ${lacking.join('/')}`);
      if (node.role === 'exit' && !policySummaryAllows(router.policy, this.payload.port)) {
        problems.push(`${node.nickname} policy summary does not accept port ${this.payload.port}`);
      }
    }
    return problems;
  }
}

/**
 * Starts the network and waits until it is usable (see TestNetwork). On any
 * failure everything already started is stopped before the error propagates.
 */
export async function startNetwork(opts: StartNetworkOptions = {}): Promise<TestNetwork> {
  const authorities = opts.authorities ?? DEFAULTS.authorities;
  const middles = opts.middleRelays ?? DEFAULTS.middleRelays;
  const exits = opts.exitRelays ?? DEFAULTS.exitRelays;
  if (!Number.isInteger(authorities) || authorities < 1 || !Number.isInteger(middles) || middles < 0) {
    throw new TestnetError(
      TESTNET_ERROR.badOption,
      'need at least one authority and a non-negative relay count',
    );
  }
  if (!Number.isInteger(exits) || exits < 1) {
    throw new TestnetError(
      TESTNET_ERROR.badOption,
      'need at least one exit relay to reach the payload server',
    );
  }
  checkBinaries(opts.binaries ?? DEBIAN_TOR_BINARIES);
  const started = Date.now();
  const baseDir = mkdtempSync(join(opts.parentDir ?? tmpdir(), 'relayd-testnet-'));
  const network = new TestNetwork(baseDir, opts);
  try {
    await launchNetwork(network, opts, { authorities, middles, exits }, started);
    return network;
  } catch (e) {
    await network.close().catch(() => {});
    throw e;
  }
}

async function launchNetwork(
  network: TestNetwork,
  opts: StartNetworkOptions,
  counts: { readonly authorities: number; readonly middles: number; readonly exits: number },
  started: number,
): Promise<void> {
  const payloadPort = await network.allocatePort(SERVICES_ADDRESS);
  network.payload = await PayloadServer.start({
    host: SERVICES_ADDRESS,
    port: payloadPort,
    sizeBytes: opts.payloadBytes ?? DEFAULTS.payloadBytes,
  });
  // Nothing listens here: an exit's DNS queries go nowhere and nothing leaves the machine.
  writeFileSync(
    network.resolvConfPath,
    resolvConf(SERVICES_ADDRESS, await network.allocatePort(SERVICES_ADDRESS)),
  );

  interface Planned {
    readonly layout: NodeLayout;
    readonly address: string;
    readonly orPort: number;
  }
  const plan = async (nickname: string): Promise<Planned> => {
    const address = await network.allocateAddress();
    return {
      layout: createNodeLayout(
        network.baseDir,
        network.claimNickname(nickname, nickname),
        opts.extraLogLevel,
      ),
      address,
      orPort: await network.allocatePort(address),
    };
  };
  const identity = (p: Planned) =>
    createRelayIdentity(network.processes, network.binaries, {
      name: p.layout.nickname,
      dataDir: p.layout.dataDir,
      defaultsTorrc: network.emptyFile,
    });

  // Authorities: keys first, since everyone's torrc names every authority.
  const authPlans: Array<Planned & { readonly dirPort: number }> = [];
  for (let i = 0; i < counts.authorities; i++) {
    const p = await plan(`auth${i}`);
    authPlans.push({ ...p, dirPort: await network.allocatePort(p.address) });
  }
  const relayPlans: Array<Planned & { readonly exit: boolean }> = [];
  for (let i = 0; i < counts.middles; i++) relayPlans.push({ ...(await plan(`relay${i}`)), exit: false });
  for (let i = 0; i < counts.exits; i++) relayPlans.push({ ...(await plan(`exit${i}`)), exit: true });

  const [authIds, relayFingerprints] = await Promise.all([
    Promise.all(
      authPlans.map(async (p) => {
        const v3Identity = await generateAuthorityKeys(network.processes, network.binaries, {
          name: p.layout.nickname,
          dataDir: p.layout.dataDir,
          dirAddress: `${p.address}:${p.dirPort}`,
        });
        return { v3Identity, fingerprint: await identity(p) };
      }),
    ),
    Promise.all(relayPlans.map(identity)),
  ]);
  const keysMs = Date.now() - started;

  network.dirAuthorityLines = authPlans.map((p, i) =>
    dirAuthorityLine({
      nickname: p.layout.nickname,
      address: p.address,
      orPort: p.orPort,
      dirPort: p.dirPort,
      v3Identity: authIds[i]!.v3Identity,
      fingerprint: authIds[i]!.fingerprint,
    }),
  );

  for (const [i, p] of authPlans.entries()) {
    const torrc = authorityTorrc({
      ...network.nodeSpec(p.layout, p.address),
      orPort: p.orPort,
      dirPort: p.dirPort,
      resolvConfPath: network.resolvConfPath,
      voting: opts.voting ?? FAST_VOTING,
    });
    const child = launchTor(network.processes, network.binaries, p.layout, torrc, network.emptyFile);
    network.authorities.push(
      new AuthorityNode(p.address, p.layout, child, {
        orPort: p.orPort,
        dirPort: p.dirPort,
        fingerprint: authIds[i]!.fingerprint,
        v3Identity: authIds[i]!.v3Identity,
        dirAuthorityLine: network.dirAuthorityLines[i]!,
      }),
    );
  }
  for (const [i, p] of relayPlans.entries()) {
    const torrc = relayTorrc({
      ...network.nodeSpec(p.layout, p.address),
      orPort: p.orPort,
      resolvConfPath: network.resolvConfPath,
      ...(p.exit ? { exitPorts: [network.payload.port, PREDICTED_PORT] } : {}),
    });
    const child = launchTor(network.processes, network.binaries, p.layout, torrc, network.emptyFile);
    network.relays.push(
      new RelayNode(p.exit ? 'exit' : 'relay', p.address, p.layout, child, p.orPort, relayFingerprints[i]!),
    );
  }

  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs;
  const deadline = started + keysMs + readyTimeoutMs;
  await network.waitForConsensus(readyTimeoutMs);
  const consensusMs = Date.now() - started;
  for (const node of [...network.authorities, ...network.relays]) {
    await node.waitForBootstrap(Math.max(1, deadline - Date.now()));
  }
  network.timings = { keysMs, consensusMs, relaysBootstrappedMs: Date.now() - started };
}

/** GETs an authority's current ns consensus; a string says why not. */
function fetchConsensus(address: string, dirPort: number): Promise<ConsensusSummary | string> {
  return new Promise((resolve) => {
    const request = get(
      {
        host: address,
        port: dirPort,
        path: '/tor/status-vote/current/consensus',
        timeout: CONSENSUS_FETCH_TIMEOUT_MS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('error', (e) => resolve(`fetch failed: ${e.message}`));
        response.on('end', () => {
          if (response.statusCode !== 200) {
            resolve(`HTTP ${response.statusCode} (no consensus yet)`);
            return;
          }
          const parsed = parseConsensusSummary(Buffer.concat(chunks).toString('utf8'));
          resolve(parsed.ok ? parsed.value : `unreadable consensus: ${parsed.error.message}`);
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (e) => resolve(`fetch failed: ${e.message}`));
  });
}
