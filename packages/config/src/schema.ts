/**
 * The options relayd implements: for each, whether it may repeat, its value
 * type, its default and its documentation. docs/configuration.md is rendered
 * from this table (reference-doc.ts) and a test keeps the two equal.
 *
 * Options named like C tor's mean what they mean in tor (origin 'tor');
 * relayd's own options have origin 'relayd'. How values combine into a
 * RelaydConfig, and the checks across options, live in relayd-config.ts.
 */
import { err, ok } from '@relayd/common';
import { type AddressPolicyRule, parsePolicyLine } from './address-policy.js';
import { type IpAddress, isHostname, parseIpAddress } from './addresses.js';
import {
  parseBalancerBackendLine,
  parseSourceAddressesLine,
  type SourceAddressRange,
} from './balancer-options.js';
import type { DiagnosticCode } from './diagnostics.js';
import { type DirAuthority, parseDirAuthorityLine } from './dir-authority.js';
import { type LogSetting, parseLogLine } from './log-option.js';
import { isLegalNickname } from './nickname.js';
import {
  type MetricsPortSetting,
  parseMetricsPortLine,
  parseServerPortLine,
  type ServerPortSetting,
} from './ports.js';
import {
  parseTransportListenAddrLine,
  parseTransportOptionsLine,
  parseTransportPluginLine,
} from './transports.js';
import {
  absolutePathType,
  booleanType,
  enumType,
  integerType,
  intervalType,
  makeType,
  memunitType,
  stringType,
  type ValueType,
} from './value-types.js';

export interface OptionSpec<T> {
  /** 'single': the last occurrence counts; 'list': every occurrence adds an entry. */
  readonly kind: 'single' | 'list';
  /** 'tor': C tor's option of the same name and meaning; 'relayd': relayd's own. */
  readonly origin: 'tor' | 'relayd';
  readonly type: ValueType<T>;
  /** The default as torrc text, parsed like a configured value; null when none or when it depends on other options. */
  readonly default: string | null;
  /** The default as the documentation shows it. */
  readonly defaultText: string;
  readonly summary: string;
  /** How a value that fails to parse is classified (default 'bad-value'). */
  readonly failureCode?: DiagnosticCode;
}

function single<T>(spec: Omit<OptionSpec<T>, 'kind'>): OptionSpec<T> & { readonly kind: 'single' } {
  return { ...spec, kind: 'single' };
}

function list<T>(spec: Omit<OptionSpec<T>, 'kind'>): OptionSpec<T> & { readonly kind: 'list' } {
  return { ...spec, kind: 'list' };
}

/** A configured `Address`: an IP literal or a host name to resolve. */
export type ConfiguredAddress = IpAddress | { readonly family: null; readonly address: string };

const addressType = makeType<ConfiguredAddress>('IPv4|IPv6|HOSTNAME', (text) => {
  const ip = parseIpAddress(text);
  if (ip) return ok(ip);
  if (isHostname(text)) return ok({ family: null, address: text.toLowerCase() });
  return err(`"${text}" is neither an IP address nor a host name`);
});

const ipAddressType = makeType<IpAddress>('IPv4|[IPv6]', (text) => {
  const ip = parseIpAddress(text);
  return ip ? ok(ip) : err(`"${text}" is not an IP address`);
});

const nicknameType = makeType('NAME', (text) =>
  isLegalNickname(text)
    ? ok(text)
    : err(`nickname '${text}' is invalid: nicknames must be 1 to 19 characters from [A-Za-z0-9]`),
);

const serverPortType = (optionName: string): ValueType<ServerPortSetting> => ({
  syntax: '[ADDRESS:]PORT|auto [flags]',
  parse: (text) => {
    const parsed = parseServerPortLine(text, optionName);
    return parsed.ok ? ok({ value: parsed.value.setting, warnings: parsed.value.warnings }) : parsed;
  },
});

const dirAuthorityType: ValueType<DirAuthority> = {
  syntax: '[NICKNAME] [FLAGS] IPV4:DIRPORT FINGERPRINT',
  parse: (text) => {
    const parsed = parseDirAuthorityLine(text);
    return parsed.ok ? ok({ value: parsed.value.authority, warnings: parsed.value.warnings }) : parsed;
  },
};

const logType: ValueType<LogSetting> = {
  syntax: 'MINSEVERITY[-MAXSEVERITY] stderr|stdout|syslog|file FILENAME',
  parse: (text) => {
    const parsed = parseLogLine(text);
    if (!parsed.ok) return parsed;
    const { setting } = parsed.value;
    if (setting.destination.kind === 'file' && !setting.destination.path.startsWith('/')) {
      return err(`log file "${setting.destination.path}" is not an absolute path`);
    }
    return ok({ value: setting, warnings: parsed.value.warnings });
  },
};

/** PublishServerDescriptor tokens (tor: relay_config.c `compute_publishserverdescriptor`). */
export type PublishToken = '0' | '1' | 'v3' | 'bridge';

const publishType: ValueType<PublishToken[]> = {
  syntax: '0|1|v3|bridge[,…]',
  parse: (text) => {
    const tokens: PublishToken[] = [];
    const warnings: string[] = [];
    for (const raw of text.split(',')) {
      const token = raw.trim();
      const lower = token.toLowerCase();
      if (token === '') continue;
      if (token === '0' || token === '1') tokens.push(token);
      else if (lower === 'v3' || lower === 'bridge') tokens.push(lower);
      else if (lower === 'v1' || lower === 'v2')
        warnings.push(
          `PublishServerDescriptor ${token} has no effect: there are no ${lower} directory authorities`,
        );
      else if (lower === 'hidserv') warnings.push('PublishServerDescriptor hidserv is invalid and ignored');
      else return err(`unrecognized value '${token}' in PublishServerDescriptor (use 0, 1, v3 or bridge)`);
    }
    if (tokens.length > 1 && (tokens.includes('0') || tokens.includes('1'))) {
      warnings.push('0 or 1 should only be used as the sole argument of PublishServerDescriptor');
    }
    return ok({ value: tokens, warnings });
  },
};

const safeLoggingType = makeType('0|1|relay', (text) => {
  const lower = text.toLowerCase();
  if (lower === '0') return ok('none' as const);
  if (lower === '1') return ok('all' as const);
  if (lower === 'relay') return ok('relay' as const);
  return err(`"${text}" is not a SafeLogging value (use 0, 1 or relay)`);
});

/** The values tor 0.4.8 recognises (relay_config.c `check_bridge_distribution_setting`). */
const RECOGNIZED_DISTRIBUTIONS = ['none', 'any', 'https', 'email', 'moat'];

const bridgeDistributionType: ValueType<string> = {
  syntax: 'none|any|https|email|moat|…',
  parse: (text) => {
    // tor: relay_config.c check_bridge_distribution_setting.
    if (!/^[A-Za-z0-9_-]+$/.test(text)) return err(`invalid BridgeDistribution value '${text}'`);
    const known = RECOGNIZED_DISTRIBUTIONS.includes(text.toLowerCase());
    return ok({
      value: text.toLowerCase(),
      warnings: known ? [] : [`unrecognized BridgeDistribution value '${text}'; it is published as given`],
    });
  },
};

const socksPortType = makeType('0', (text) =>
  text === '0'
    ? ok(0 as const)
    : err(
        `relayd is a bridge, not a Tor client: it has no SocksPort (remove the line, or write "SocksPort 0")`,
      ),
);

/** Workers: a count, or 'auto' for one worker per CPU core. */
export const MAX_WORKERS = 256;

const workersType = makeType<number | 'auto'>(`N (1–${MAX_WORKERS})|auto`, (text) => {
  if (text.toLowerCase() === 'auto') return ok('auto');
  const n = integerType(1, MAX_WORKERS).parse(text);
  return n.ok ? ok(n.value.value) : n;
});

/** The control socket and its permission flags (tor's unix-socket flags on ControlSocket). */
export interface ControlSocketSetting {
  readonly path: string;
  /** Mode 0660 instead of 0600: members of ControlSocketGroup may use relayctl. */
  readonly groupWritable: boolean;
  /** Mode 0666: anyone on the machine may control the bridge. */
  readonly worldWritable: boolean;
}

const controlSocketType: ValueType<ControlSocketSetting | null> = {
  syntax: '/ABSOLUTE/PATH [GroupWritable] [WorldWritable] [RelaxDirModeCheck] | 0',
  parse: (text) => {
    if (text === '0') return ok({ value: null, warnings: [] });
    let rest = text;
    let path: string;
    if (rest.startsWith('unix:')) rest = rest.slice('unix:'.length);
    const words = rest.split(/\s+/);
    path = words.shift()!;
    const flagWords = words.filter((w) => w !== '');
    const checked = absolutePathType.parse(path);
    if (!checked.ok) return checked;
    path = checked.value.value;
    let groupWritable = false;
    let worldWritable = false;
    const warnings: string[] = [];
    for (const flag of flagWords) {
      const negated = /^no/i.test(flag);
      const bare = negated ? flag.slice(2).toLowerCase() : flag.toLowerCase();
      if (bare === 'groupwritable') groupWritable = !negated;
      else if (bare === 'worldwritable') worldWritable = !negated;
      else if (bare === 'relaxdirmodecheck') continue;
      else
        return err(
          `unknown ControlSocket flag '${flag}' (known: GroupWritable, WorldWritable, RelaxDirModeCheck)`,
        );
    }
    if (worldWritable)
      warnings.push('a WorldWritable control socket lets every local user control the bridge');
    return ok({ value: { path, groupWritable, worldWritable }, warnings });
  },
};

const groupNameType = makeType('GROUP', (text) =>
  /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(text) || /^\d+$/.test(text)
    ? ok(text)
    : err(`"${text}" is not a group name or number`),
);

const metricsPortType: ValueType<MetricsPortSetting | null> = {
  syntax: '[ADDRESS:]PORT [prometheus]',
  parse: (text) => {
    const parsed = parseMetricsPortLine(text);
    return parsed.ok ? ok({ value: parsed.value, warnings: [] }) : parsed;
  },
};

const policyType: ValueType<AddressPolicyRule[]> = {
  syntax: 'accept|reject ADDRESS[/MASK][,…]',
  parse: (text) => {
    const parsed = parsePolicyLine(text);
    return parsed.ok ? ok({ value: parsed.value.rules, warnings: parsed.value.warnings }) : parsed;
  },
};

export const THROTTLE_ALGORITHMS = ['off', 'static', 'bit-splitting', 'flagging', 'threshold'] as const;
export type ThrottleAlgorithm = (typeof THROTTLE_ALGORITHMS)[number];

export const OPTION_SPECS = {
  DataDirectory: single({
    origin: 'tor',
    type: absolutePathType,
    default: '/var/lib/relayd',
    defaultText: '/var/lib/relayd',
    summary:
      'Where relayd keeps its state. Keys live in `DataDirectory/keys/` in C tor’s formats and names, so an existing bridge keeps its fingerprint.',
  }),
  Nickname: single({
    origin: 'tor',
    type: nicknameType,
    default: 'Unnamed',
    defaultText: 'Unnamed',
    summary: 'The bridge’s nickname: 1 to 19 characters from [A-Za-z0-9].',
  }),
  ContactInfo: single({
    origin: 'tor',
    type: stringType,
    default: null,
    defaultText: '(none; a warning asks for one)',
    summary: 'Administrative contact published in the descriptor.',
  }),
  Address: list({
    origin: 'tor',
    type: addressType,
    default: null,
    defaultText: '(guessed)',
    summary:
      'The address to publish: an IPv4 address, an IPv6 address or a host name. At most one line per address family.',
  }),
  ORPort: list({
    origin: 'tor',
    type: serverPortType('ORPort'),
    default: null,
    defaultText: '(required)',
    summary:
      'Where to accept relay (TLS) connections. A bare port listens on all IPv4 and IPv6 interfaces; `ADDRESS:PORT` on one address (`[IPv6]:PORT`); `auto` lets the system choose. Flags: `NoAdvertise`, `NoListen`, `IPv4Only`, `IPv6Only`. May repeat; `0` means none.',
  }),
  BridgeRelay: single({
    origin: 'tor',
    type: booleanType,
    default: '1',
    defaultText: '1',
    summary:
      'relayd always runs as a bridge: `1` is accepted (and the default), `0` is an error because relayd cannot run as a public relay.',
  }),
  PublishServerDescriptor: single({
    origin: 'tor',
    type: publishType,
    default: '1',
    defaultText: '1',
    summary:
      'Where to publish the descriptor: `1` or `bridge` to the bridge authority, `0` nowhere (a private bridge). `v3` (publishing to the public directory authorities) is an error for a bridge.',
  }),
  DirAuthority: list({
    origin: 'tor',
    type: dirAuthorityType,
    default: null,
    defaultText: '(tor 0.4.9.11’s authorities)',
    summary:
      'Replaces all default directory authorities, as in C tor: `[nickname] [flags] IPV4:DIRPORT FINGERPRINT` with flags `orport=N`, `v3ident=HEX`, `bridge`, `ipv6=[ADDR]:PORT`, `weight=N`, `upload=`/`download=`/`vote=http://ADDR:PORT/` and the obsolete `no-v2`, `hs`, `no-hs`.',
  }),
  AlternateDirAuthority: list({
    origin: 'tor',
    type: dirAuthorityType,
    default: null,
    defaultText: '(none)',
    summary:
      'Replaces the default v3 directory authorities but keeps the default bridge authority. Same syntax as DirAuthority.',
  }),
  AlternateBridgeAuthority: list({
    origin: 'tor',
    type: dirAuthorityType,
    default: null,
    defaultText: '(none)',
    summary:
      'Replaces the default bridge authority but keeps the default v3 authorities. Same syntax as DirAuthority.',
  }),
  TestingTorNetwork: single({
    origin: 'tor',
    type: booleanType,
    default: '0',
    defaultText: '0',
    summary:
      'For private test networks: changes the defaults listed under “TestingTorNetwork” below. Requires DirAuthority, or both AlternateDirAuthority and AlternateBridgeAuthority.',
  }),
  ExtendAllowPrivateAddresses: single({
    origin: 'tor',
    type: booleanType,
    default: null,
    defaultText: '0 (1 with TestingTorNetwork)',
    summary: 'Allow EXTEND2 to relays on private and loopback addresses.',
  }),
  Log: list({
    origin: 'tor',
    type: logType,
    default: 'notice stdout',
    defaultText: 'notice stdout',
    summary:
      'Where log messages go: `MINSEVERITY[-MAXSEVERITY] stderr|stdout|syslog|file /PATH`, severities debug, info, notice, warn, err. May repeat. Domain-qualified ranges (`[handshake]debug`) are accepted but relayd has no log domains.',
  }),
  SafeLogging: single({
    origin: 'tor',
    type: safeLoggingType,
    default: '1',
    defaultText: '1',
    summary:
      'Scrub client addresses from logs: `1` always, `relay` for relayed traffic (everything a bridge does), `0` never.',
  }),
  AssumeReachable: single({
    origin: 'tor',
    type: booleanType,
    default: '0',
    defaultText: '0',
    summary: 'Skip the ORPort self-reachability test and publish the descriptor at once (test networks).',
  }),
  BandwidthRate: single({
    origin: 'tor',
    type: memunitType,
    default: '1 GB',
    defaultText: '1 GByte',
    summary:
      'Average bandwidth limit, per direction, in bytes per second (units are powers of two; `KBits` etc. divide by 8). At least 50 KBytes for a bridge; at most 2^31 − 1.',
  }),
  BandwidthBurst: single({
    origin: 'tor',
    type: memunitType,
    default: '1 GB',
    defaultText: '1 GByte',
    summary: 'Token-bucket size for BandwidthRate; at least BandwidthRate.',
  }),
  RelayBandwidthRate: single({
    origin: 'tor',
    type: memunitType,
    default: '0',
    defaultText: '0 (no separate limit)',
    summary:
      'A separate limit for relayed traffic. If only one of RelayBandwidthRate/RelayBandwidthBurst is set, the other takes its value; BandwidthRate/Burst are raised to them if lower.',
  }),
  RelayBandwidthBurst: single({
    origin: 'tor',
    type: memunitType,
    default: '0',
    defaultText: '0 (no separate limit)',
    summary: 'Token-bucket size for RelayBandwidthRate; at least RelayBandwidthRate.',
  }),
  MaxAdvertisedBandwidth: single({
    origin: 'tor',
    type: memunitType,
    default: '1 GB',
    defaultText: '1 GByte',
    summary: 'Never advertise more than this bandwidth in the descriptor.',
  }),
  OutboundBindAddress: list({
    origin: 'tor',
    type: ipAddressType,
    default: null,
    defaultText: '(system choice)',
    summary:
      'Source address of outgoing connections to relays: once for IPv4 and once for IPv6 at most. Not used for loopback destinations.',
  }),
  ExtORPort: list({
    origin: 'tor',
    type: serverPortType('ExtORPort'),
    default: null,
    defaultText: '(none)',
    summary:
      'Extended ORPort for pluggable transports (ext-orport-spec.txt): `[ADDRESS:]PORT|auto`, address 127.0.0.1 by default. relayd’s supervisor accepts these connections (SAFE_COOKIE, USERADDR, TRANSPORT) and hands them to workers (`BalancerMode`). With a `ServerTransportPlugin` and no `ExtORPort` line, relayd opens `127.0.0.1:auto` (C tor only suggests it); `ExtORPort 0` with transports is an error.',
  }),
  ExtORPortCookieAuthFile: single({
    origin: 'tor',
    type: absolutePathType,
    default: null,
    defaultText: 'DataDirectory/extended_orport_auth_cookie',
    summary: 'Where the Extended ORPort authentication cookie is written for the transports to read.',
  }),
  ServerTransportPlugin: list({
    origin: 'tor',
    type: makeType(
      'NAME[,NAME…] exec PATH [ARGS…] | NAME[,NAME…] proxy ADDRESS:PORT',
      parseTransportPluginLine,
    ),
    default: null,
    defaultText: '(none)',
    summary:
      'A pluggable transport server: `exec` starts it as a managed proxy (pt-spec.txt), `proxy` names one already running. Each transport name may appear in only one line.',
  }),
  ServerTransportListenAddr: list({
    origin: 'tor',
    type: makeType('NAME ADDRESS:PORT', parseTransportListenAddrLine),
    default: null,
    defaultText: '(transport’s choice)',
    summary: 'Where the named transport should listen (passed as TOR_PT_SERVER_BINDADDR).',
  }),
  ServerTransportOptions: list({
    origin: 'tor',
    type: makeType('NAME KEY=VALUE [KEY=VALUE…]', parseTransportOptionsLine),
    default: null,
    defaultText: '(none)',
    summary: 'Parameters for the named transport (passed as TOR_PT_SERVER_TRANSPORT_OPTIONS).',
  }),
  BridgeDistribution: single({
    origin: 'tor',
    type: bridgeDistributionType,
    default: null,
    defaultText: '(any)',
    summary:
      'How BridgeDB should hand out this bridge: none, any, https, email, moat. Other words of [A-Za-z0-9_-] (newer distributors) are published as given, with a warning.',
  }),
  SocksPort: list({
    origin: 'tor',
    type: socksPortType,
    default: null,
    defaultText: '0',
    summary: 'relayd is not a Tor client and has no SOCKS port: only `SocksPort 0` is accepted.',
    failureCode: 'unsupported',
  }),
  Workers: single({
    origin: 'relayd',
    type: workersType,
    default: 'auto',
    defaultText: 'auto (one per CPU core)',
    summary: 'How many worker processes share the bridge identity and its connections.',
  }),
  BalancerMode: single({
    origin: 'relayd',
    type: enumType(['handoff', 'proxy'] as const),
    default: 'handoff',
    defaultText: 'handoff',
    summary:
      'How the supervisor gives an accepted connection to a worker: `handoff` passes the socket itself (no extra hop), `proxy` relays bytes over TCP from spread 127.x source addresses.',
  }),
  BalancerBackend: list({
    origin: 'relayd',
    type: makeType('ADDRESS:PORT cookie=/ABSOLUTE/PATH', parseBalancerBackendLine),
    default: null,
    defaultText: '(none)',
    summary:
      'With `BalancerMode proxy`: an Extended ORPort to balance connections over, such as a C tor instance with `ExtORPort` and `ExtORPortCookieAuthFile`, and the cookie file that backend writes (read again for every connection). May repeat. Backends are health-checked and chosen by fewest connections; see docs/balancer.md.',
  }),
  BalancerSourceAddresses: list({
    origin: 'relayd',
    type: makeType<SourceAddressRange[]>('ADDRESS|FIRST-LAST|ADDRESS/BITS[,…] | 0', parseSourceAddressesLine),
    default: '127.0.1.1-127.0.1.254',
    defaultText: '127.0.1.1-127.0.1.254',
    summary:
      'Source addresses (inside 127.0.0.0/8) the balancer’s connections to loopback backends are spread over, round-robin: each address holds one connection per ephemeral port, so N addresses hold N times `net.ipv4.ip_local_port_range`. May repeat; `0`: no binding, the system picks 127.0.0.1 and one address’s ports are the limit.',
  }),
  BalancerMaxConnectionsPerAddress: single({
    origin: 'relayd',
    type: integerType(0, 1_000_000),
    default: '100',
    defaultText: '100',
    summary:
      'Connections one client address (ExtORPort USERADDR, or the peer of a vanilla connection the balancer accepts) may hold at once; the next one is answered DENY (ExtORPort) or closed. `0`: no limit. Connections whose transport sends no USERADDR are not limited.',
  }),
  BalancerHealthCheckInterval: single({
    origin: 'relayd',
    type: intervalType,
    default: '10 seconds',
    defaultText: '10 seconds',
    summary:
      'How often each balancer backend is checked (connect and authenticate). A backend is taken out of rotation after 3 failures in a row (checks or real connections) and put back after 2 successful checks.',
  }),
  OnionKeyRotation: single({
    origin: 'relayd',
    type: enumType(['coordinated', 'frozen'] as const),
    default: 'coordinated',
    defaultText: 'coordinated',
    summary:
      '`coordinated`: the supervisor rotates the ntor onion key for all workers at once, keeping the previous key valid for the grace period. `frozen`: never rotate (the multi-instance practice of blocking rotation).',
  }),
  ControlSocket: single({
    origin: 'relayd',
    type: controlSocketType,
    default: null,
    defaultText: 'DataDirectory/control.sock',
    summary:
      'Unix socket where `relayctl` talks to the supervisor (relayctl’s protocol, not tor’s control protocol); `0` disables it. Flags as in tor: `GroupWritable` (mode 0660, for ControlSocketGroup), `WorldWritable` (0666, with a warning), `RelaxDirModeCheck` (accepted, no effect).',
  }),
  ControlSocketGroup: single({
    origin: 'relayd',
    type: groupNameType,
    default: null,
    defaultText: '(the daemon’s group)',
    summary: 'Group that owns the control socket; with `GroupWritable` its members can run relayctl.',
  }),
  MetricsPort: single({
    origin: 'tor',
    type: metricsPortType,
    default: null,
    defaultText: '(none)',
    summary:
      'Serve Prometheus metrics over HTTP at `/metrics`: `[ADDRESS:]PORT [prometheus]`, address 127.0.0.1 by default; `0` disables it. (C tor reads only the first MetricsPort line; relayd, like every single-valued option, the last, with a warning.)',
  }),
  MetricsPortPolicy: list({
    origin: 'tor',
    type: policyType,
    default: null,
    defaultText: 'accept 127.0.0.0/8, accept [::1], reject *',
    summary:
      'Who may scrape the MetricsPort: `accept|reject ADDRESS[/MASK]` items, comma-separated or on repeated lines, first match wins, ports ignored. Without it only loopback peers may scrape (C tor refuses everyone then).',
  }),
  ThrottleAlgorithm: single({
    origin: 'relayd',
    type: enumType(THROTTLE_ALGORITHMS),
    default: 'off',
    defaultText: 'off',
    summary:
      'Per-client-connection throttling: `off`; `static` (each connection limited to a fixed share); the adaptive algorithms of Jansen, Syverson and Hopper: `bit-splitting` (equal share of BandwidthRate per active connection), `flagging` (throttle connections whose EWMA throughput exceeds the fair share), `threshold` (throttle the loudest connections to the throughput at a quantile).',
  }),
} as const;

export type OptionName = keyof typeof OPTION_SPECS;

type SpecOf<K extends OptionName> = (typeof OPTION_SPECS)[K];
/** The typed value one occurrence of option K parses to. */
export type OptionValue<K extends OptionName> = SpecOf<K> extends OptionSpec<infer T> ? T : never;

/** All option names, in documentation order. */
export const OPTION_NAMES = Object.keys(OPTION_SPECS) as OptionName[];

/** The spec of an option, typed loosely for generic code (docs, assignment). */
export function optionSpec(name: OptionName): OptionSpec<unknown> {
  return OPTION_SPECS[name] as OptionSpec<unknown>;
}
