/**
 * torrc generation for every role in the private network: directory
 * authority, relay (middle or exit), bridge and client. Pure: specs in, text
 * out; nothing here touches the disk or spawns anything.
 *
 * Every node runs with `TestingTorNetwork 1` (tor refuses to talk to a
 * private-address network without it, and it shortens every download delay),
 * binds only to its own 127.0.0.x address, and sends all its outgoing
 * connections from that address (`OutboundBindAddress`), so each node is
 * distinguishable by source address and nothing leaves loopback.
 */
import { TESTNET_ERROR, TestnetError } from './errors.js';

/** One torrc line: a keyword and its value (possibly empty). */
export type TorrcEntry = readonly [keyword: string, value: string];

/** Log levels the harness lets a node write to its extra log file. */
export type TorLogLevel = 'notice' | 'info' | 'debug';

/**
 * Voting schedule of the authorities. The defaults are the fastest schedule
 * tor 0.4.9 accepts in a testing network (dirvote.h MIN_VOTE_INTERVAL_TESTING
 * = (2+2+1)*2 = 10 s, MIN_VOTE_INTERVAL_TESTING_INITIAL = 5 s, and the vote
 * and distribution delays must stay under half the interval,
 * dirauth_config.c): a first consensus appears about 10 s after start.
 */
export interface VotingSchedule {
  readonly votingIntervalSeconds: number;
  readonly voteDelaySeconds: number;
  readonly distDelaySeconds: number;
  readonly initialVotingIntervalSeconds: number;
  readonly initialVoteDelaySeconds: number;
  readonly initialDistDelaySeconds: number;
  /** How many voting intervals a consensus stays valid (tor's minimum is 2). */
  readonly intervalsValid: number;
}

export const FAST_VOTING: VotingSchedule = {
  votingIntervalSeconds: 10,
  voteDelaySeconds: 2,
  distDelaySeconds: 2,
  initialVotingIntervalSeconds: 5,
  initialVoteDelaySeconds: 2,
  initialDistDelaySeconds: 2,
  intervalsValid: 3,
};

/** What every node's torrc needs, whatever its role. */
export interface NodeSpec {
  /** 1–19 alphanumeric characters (tor's nickname rule). */
  readonly nickname: string;
  readonly dataDir: string;
  /** The node's own loopback address: every listener binds to it, every outgoing connection comes from it. */
  readonly address: string;
  /** Full `DirAuthority ...` torrc lines naming the network's authorities. */
  readonly dirAuthorityLines: readonly string[];
  /** Where tor writes notice-level messages (the file the harness watches). */
  readonly noticeLogPath: string;
  /** An optional second, more verbose log. */
  readonly extraLog?: { readonly level: TorLogLevel; readonly path: string };
  /** tor exits by itself once this process is gone (a backstop for a crashed test run). */
  readonly owningPid?: number;
  /**
   * GeoIP database for both address families. The harness passes an empty
   * file: nothing in a test network needs countries, and parsing the real
   * database costs every tor process about 0.2 s of CPU at start-up.
   */
  readonly geoIpFile?: string;
  /** Appended last, so they override anything above. */
  readonly extraTorrc?: readonly TorrcEntry[];
}

/** A node with an ORPort: authority, relay or bridge. */
export interface ServerSpec extends NodeSpec {
  readonly orPort: number;
  /**
   * The file tor reads nameservers from. The harness points it at a loopback
   * port nobody listens on, so an exit never sends a DNS query off the machine.
   */
  readonly resolvConfPath: string;
}

export interface AuthoritySpec extends ServerSpec {
  readonly dirPort: number;
  readonly voting?: VotingSchedule;
}

export interface RelaySpec extends ServerSpec {
  /**
   * Makes the relay an exit to all of 127.0.0.0/8 and to these ports on any
   * IPv4 address; absent or empty, the relay is a middle-only relay.
   */
  readonly exitPorts?: readonly number[];
}

export type BridgeSpec = ServerSpec;

export interface ClientSpec extends NodeSpec {
  readonly socksPort: number;
  /** Full `Bridge ...` torrc lines; when non-empty the client runs with `UseBridges 1`. */
  readonly bridgeLines: readonly string[];
}

/** What identifies an authority in everyone else's `DirAuthority` line. */
export interface AuthorityIdentity {
  readonly nickname: string;
  readonly address: string;
  readonly orPort: number;
  readonly dirPort: number;
  /** Hex SHA-1 of the authority's v3 identity key (`fingerprint` in its authority certificate). */
  readonly v3Identity: string;
  /** Hex SHA-1 of its relay RSA identity key. */
  readonly fingerprint: string;
}

const KEYWORD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NICKNAME = /^[A-Za-z0-9]{1,19}$/;
const FINGERPRINT = /^[0-9A-F]{40}$/;

/**
 * Renders entries as torrc text, one `Keyword value` per line.
 *
 * Rejects what torrc would read differently from what was meant: a newline
 * (a second option), `#` (starts a comment) and a trailing backslash (joins
 * the next line).
 */
export function renderTorrc(entries: readonly TorrcEntry[]): string {
  const lines = entries.map(([keyword, value]) => {
    if (!KEYWORD.test(keyword)) {
      throw new TestnetError(TESTNET_ERROR.badOption, `invalid torrc keyword ${JSON.stringify(keyword)}`);
    }
    if (/[\r\n\0#]/.test(value) || value.endsWith('\\')) {
      throw new TestnetError(
        TESTNET_ERROR.badOption,
        `torrc value for ${keyword} would be misread: ${JSON.stringify(value)}`,
      );
    }
    return value === '' ? keyword : `${keyword} ${value}`;
  });
  return `${lines.join('\n')}\n`;
}

/** The `DirAuthority` torrc line that makes other nodes trust `auth` (no-v2: v3 directory only). */
export function dirAuthorityLine(auth: AuthorityIdentity): string {
  checkNickname(auth.nickname);
  checkFingerprint(auth.v3Identity, 'v3 identity');
  checkFingerprint(auth.fingerprint, 'fingerprint');
  return (
    `DirAuthority ${auth.nickname} orport=${auth.orPort} no-v2 v3ident=${auth.v3Identity} ` +
    `${auth.address}:${auth.dirPort} ${auth.fingerprint}`
  );
}

/** The `Bridge` torrc line a client uses for a vanilla (no transport) bridge. */
export function bridgeLine(address: string, orPort: number, fingerprint: string): string {
  checkFingerprint(fingerprint, 'bridge fingerprint');
  return `Bridge ${address}:${orPort} ${fingerprint}`;
}

/** Splits a full `Keyword value` line (as in `dirAuthorityLines`) into an entry. */
export function torrcLineToEntry(line: string, expectedKeyword: string): TorrcEntry {
  const match = /^(\S+)\s+(.+)$/.exec(line.trim());
  if (!match || match[1] !== expectedKeyword) {
    throw new TestnetError(
      TESTNET_ERROR.badOption,
      `expected a "${expectedKeyword} ..." torrc line, got ${JSON.stringify(line)}`,
    );
  }
  return [expectedKeyword, match[2]!];
}

/** Options every node shares. */
export function baseEntries(spec: NodeSpec): TorrcEntry[] {
  checkNickname(spec.nickname);
  const entries: TorrcEntry[] = [
    ['TestingTorNetwork', '1'],
    ['DataDirectory', spec.dataDir],
    ['Nickname', spec.nickname],
    // The harness holds the PID of the process it spawned: tor must not fork away.
    ['RunAsDaemon', '0'],
    ['Log', `notice file ${spec.noticeLogPath}`],
  ];
  if (spec.extraLog) entries.push(['Log', `${spec.extraLog.level} file ${spec.extraLog.path}`]);
  entries.push(
    // Addresses in logs are what a test needs to read; warn about peers that break the protocol.
    ['SafeLogging', '0'],
    ['ProtocolWarnings', '1'],
    ['LogTimeGranularity', '1'],
    // SIGTERM already exits at once; this also makes SIGINT (relays wait 30 s by default) quick.
    ['ShutdownWaitLength', '0'],
    ['OutboundBindAddress', spec.address],
    // In a network of a handful of relays, waiting for the default share of paths stalls bootstrap.
    ['PathsNeededToBuildCircuits', '0.67'],
  );
  if (spec.geoIpFile !== undefined)
    entries.push(['GeoIPFile', spec.geoIpFile], ['GeoIPv6File', spec.geoIpFile]);
  for (const line of spec.dirAuthorityLines) entries.push(torrcLineToEntry(line, 'DirAuthority'));
  if (spec.owningPid !== undefined) entries.push(['__OwningControllerProcess', String(spec.owningPid)]);
  return entries;
}

/** Options of every node with an ORPort. */
export function serverEntries(spec: ServerSpec): TorrcEntry[] {
  return [
    ...baseEntries(spec),
    ['SocksPort', '0'],
    ['Address', spec.address],
    ['AddressDisableIPv6', '1'],
    ['ORPort', `${spec.address}:${spec.orPort}`],
    // Skip the self-reachability test: descriptors are published (and the bridge
    // descriptor built) at once instead of after a circuit to ourselves.
    ['AssumeReachable', '1'],
    ['ContactInfo', `${spec.nickname}@testnet.invalid`],
    ['NumCPUs', '1'],
    ['ServerDNSResolvConfFile', spec.resolvConfPath],
    ['ServerDNSDetectHijacking', '0'],
    // Empty: no test lookups of well-known names at start-up.
    ['ServerDNSTestAddresses', ''],
    ['ServerDNSAllowBrokenConfig', '1'],
  ];
}

export function exitPolicyEntries(exitPorts: readonly number[] | undefined): TorrcEntry[] {
  if (!exitPorts || exitPorts.length === 0) return [['ExitRelay', '0']];
  const entries: TorrcEntry[] = [
    ['ExitRelay', '1'],
    ['ExitPolicyRejectPrivate', '0'],
    ['ExitPolicyRejectLocalInterfaces', '0'],
    ['ExitPolicy', 'accept 127.0.0.0/8:*'],
  ];
  // A microdescriptor client picks an exit only if the policy *summary*
  // accepts the port, and a summary ignores accept rules narrower than
  // "every IPv4 address" (dir-spec "p" line; policies.c
  // policy_summarize): 127.0.0.0/8 alone summarises to "reject 1-65535".
  for (const port of exitPorts) {
    checkPort(port);
    entries.push(['ExitPolicy', `accept *4:${port}`]);
  }
  entries.push(['ExitPolicy', 'reject *:*']);
  return entries;
}

export function authorityTorrc(spec: AuthoritySpec): string {
  const v = spec.voting ?? FAST_VOTING;
  return renderTorrc([
    ...serverEntries(spec),
    ['DirPort', `${spec.address}:${spec.dirPort}`],
    ['ExitRelay', '0'],
    ['AuthoritativeDirectory', '1'],
    ['V3AuthoritativeDirectory', '1'],
    ['V3AuthVotingInterval', String(v.votingIntervalSeconds)],
    ['V3AuthVoteDelay', String(v.voteDelaySeconds)],
    ['V3AuthDistDelay', String(v.distDelaySeconds)],
    ['TestingV3AuthInitialVotingInterval', String(v.initialVotingIntervalSeconds)],
    ['TestingV3AuthInitialVoteDelay', String(v.initialVoteDelaySeconds)],
    ['TestingV3AuthInitialDistDelay', String(v.initialDistDelaySeconds)],
    ['V3AuthNIntervalsValid', String(v.intervalsValid)],
    // Hand out the flags a young, unmeasured network would otherwise never earn.
    ['TestingDirAuthVoteGuard', '*'],
    ['TestingDirAuthVoteExit', '*'],
    ['TestingDirAuthVoteHSDir', '*'],
    ['TestingMinExitFlagThreshold', '0'],
    ...(spec.extraTorrc ?? []),
  ]);
}

export function relayTorrc(spec: RelaySpec): string {
  return renderTorrc([
    ...serverEntries(spec),
    ...exitPolicyEntries(spec.exitPorts),
    ...(spec.extraTorrc ?? []),
  ]);
}

export function bridgeTorrc(spec: BridgeSpec): string {
  return renderTorrc([
    ...serverEntries(spec),
    ['ExitRelay', '0'],
    ['BridgeRelay', '1'],
    // Clients are given the bridge line directly and fetch the descriptor from
    // the bridge itself; no bridge authority is needed.
    ['PublishServerDescriptor', '0'],
    ['BridgeRecordUsageByCountry', '0'],
    ...(spec.extraTorrc ?? []),
  ]);
}

export function clientTorrc(spec: ClientSpec): string {
  checkPort(spec.socksPort);
  const entries: TorrcEntry[] = [...baseEntries(spec), ['SocksPort', `${spec.address}:${spec.socksPort}`]];
  if (spec.bridgeLines.length > 0) {
    entries.push(['UseBridges', '1']);
    for (const line of spec.bridgeLines) entries.push(torrcLineToEntry(line, 'Bridge'));
  }
  entries.push(...(spec.extraTorrc ?? []));
  return renderTorrc(entries);
}

/** resolv.conf naming one nameserver (tor's resolver accepts `address:port`). */
export function resolvConf(nameserverAddress: string, nameserverPort: number): string {
  checkPort(nameserverPort);
  return `nameserver ${nameserverAddress}:${nameserverPort}\n`;
}

function checkNickname(nickname: string): void {
  if (!NICKNAME.test(nickname)) {
    throw new TestnetError(
      TESTNET_ERROR.badOption,
      `invalid nickname ${JSON.stringify(nickname)}: 1-19 letters and digits`,
    );
  }
}

function checkFingerprint(fingerprint: string, what: string): void {
  if (!FINGERPRINT.test(fingerprint)) {
    throw new TestnetError(
      TESTNET_ERROR.badOption,
      `invalid ${what} ${JSON.stringify(fingerprint)}: 40 upper-case hex digits`,
    );
  }
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TestnetError(TESTNET_ERROR.badOption, `invalid port ${port}`);
  }
}
