/**
 * RelaydConfig: the typed configuration every relayd process works from,
 * and its composition from the parsed options — defaults (including those
 * TestingTorNetwork changes), values that depend on other options, and the
 * checks across options that C tor's `options_validate` makes and that
 * matter to a bridge. Plain data: it survives structured cloning to workers.
 */
import { InternalError } from '@relayd/common';
import type { AddressPolicyRule } from './address-policy.js';
import { isInternalAddress } from './addresses.js';
import type { BalancerBackendSetting, SourceAddressRange } from './balancer-options.js';
import type { ConfigDiagnostic, DiagnosticCode } from './diagnostics.js';
import { type DirAuthority, defaultDirAuthorities } from './dir-authority.js';
import type { LogSetting } from './log-option.js';
import type { MetricsPortSetting, ServerPortSetting } from './ports.js';
import {
  type ConfiguredAddress,
  type ControlSocketSetting,
  MAX_WORKERS,
  OPTION_SPECS,
  type OptionName,
  type OptionValue,
  optionSpec,
  type ThrottleAlgorithm,
} from './schema.js';
import type { TransportListenAddr, TransportOptions, TransportPlugin } from './transports.js';

export type { ConfiguredAddress, ControlSocketSetting };

/** The Extended ORPort relayd opens for its pluggable transports when none is configured. */
export const DEFAULT_TRANSPORT_EXT_OR_PORT: ServerPortSetting = {
  address: '127.0.0.1',
  family: 4,
  port: 'auto',
  noAdvertise: false,
  noListen: false,
  ipv4Only: false,
  ipv6Only: false,
};

/** Bandwidth limits in bytes per second, after tor's adjustments. */
export interface BandwidthConfig {
  readonly rate: number;
  readonly burst: number;
  /** 0: relayed traffic has no separate limit. */
  readonly relayRate: number;
  readonly relayBurst: number;
  readonly maxAdvertised: number;
}

/**
 * Values C tor's TestingTorNetwork changes (src/app/config/testnet.inc)
 * that relayd uses; each is tor's normal default unless TestingTorNetwork is 1.
 */
export interface TestingNetworkDefaults {
  /** tor CountPrivateBandwidth: rate-limit traffic from private addresses too (0 → 1). */
  readonly countPrivateBandwidth: boolean;
  /** tor DirAllowPrivateAddresses: accept descriptors that list private addresses (0 → 1). */
  readonly dirAllowPrivateAddresses: boolean;
  /** tor TestingDirConnectionMaxStall: give up on a stalled directory fetch after this (5 minutes → 30 seconds). */
  readonly dirConnectionMaxStallSeconds: number;
  /** tor TestingMinTimeToReportBandwidth: bandwidth history period before reporting (1 day → 0). */
  readonly minTimeToReportBandwidthSeconds: number;
}

export interface RelaydConfig {
  readonly dataDirectory: string;
  readonly nickname: string;
  readonly contactInfo: string | null;
  /** Address lines: at most one per family; a host name has family null. */
  readonly addresses: readonly ConfiguredAddress[];
  /**
   * ORPorts to open (never empty; `ORPort 0` lines removed). address null means
   * all interfaces: 0.0.0.0 and [::], unless ipv4Only/ipv6Only say otherwise.
   */
  readonly orPorts: readonly ServerPortSetting[];
  /** Always true: relayd only runs as a bridge. */
  readonly bridgeRelay: true;
  /** Publish the descriptor to the bridge authority (PublishServerDescriptor 1/bridge). */
  readonly publishServerDescriptor: boolean;
  /** The effective directory authorities: configured ones, or tor's defaults with any Alternate* replacements. */
  readonly dirAuthorities: readonly DirAuthority[];
  /** True when dirAuthorities are tor's built-in ones, unchanged. */
  readonly usingDefaultDirAuthorities: boolean;
  readonly testingTorNetwork: boolean;
  readonly extendAllowPrivateAddresses: boolean;
  readonly testing: TestingNetworkDefaults;
  readonly logs: readonly LogSetting[];
  /** SafeLogging: 'all' (1), 'relay', or 'none' (0). */
  readonly safeLogging: 'all' | 'relay' | 'none';
  readonly assumeReachable: boolean;
  readonly bandwidth: BandwidthConfig;
  readonly outboundBindAddresses: { readonly ipv4: string | null; readonly ipv6: string | null };
  /**
   * Extended ORPorts, address defaulted to 127.0.0.1 (`ExtORPort 0` lines removed);
   * DEFAULT_TRANSPORT_EXT_OR_PORT (127.0.0.1:auto) when a ServerTransportPlugin needs one and none is set.
   */
  readonly extOrPorts: readonly ServerPortSetting[];
  readonly extOrPortCookieAuthFile: string;
  readonly serverTransportPlugins: readonly TransportPlugin[];
  /** First line per transport wins, as in tor. */
  readonly serverTransportListenAddrs: readonly TransportListenAddr[];
  /** First line per transport wins, as in tor. */
  readonly serverTransportOptions: readonly TransportOptions[];
  readonly bridgeDistribution: string | null;
  /** Number of worker processes (resolved from `auto`). */
  readonly workers: number;
  /** Workers was `auto` (one per CPU core). */
  readonly workersAuto: boolean;
  readonly balancerMode: 'handoff' | 'proxy';
  /** BalancerBackend lines: external Extended ORPorts the balancer proxies to (BalancerMode proxy). */
  readonly balancerBackends: readonly BalancerBackendSetting[];
  /** Source addresses for connections to loopback backends, merged in order; empty: the system's choice. */
  readonly balancerSourceAddresses: readonly SourceAddressRange[];
  /** Concurrent connections per client address before DENY; 0: no limit. */
  readonly balancerMaxConnectionsPerAddress: number;
  readonly balancerHealthCheckIntervalSeconds: number;
  readonly onionKeyRotation: 'coordinated' | 'frozen';
  /** null when disabled with `ControlSocket 0`. */
  readonly controlSocket: ControlSocketSetting | null;
  readonly controlSocketGroup: string | null;
  readonly metricsPort: MetricsPortSetting | null;
  /** Empty: every scrape is refused. */
  readonly metricsPortPolicy: readonly AddressPolicyRule[];
  readonly throttleAlgorithm: ThrottleAlgorithm;
  /** Every configuration file read, top-level first. */
  readonly files: readonly string[];
}

/** A value and the line it came from. */
export interface Located<T> {
  readonly value: T;
  readonly file: string;
  readonly line: number;
}

/** The options as collected from the file: the last value of each single option, every value of each list. */
export interface CollectedOptions {
  single<K extends OptionName>(name: K): Located<OptionValue<K>> | undefined;
  list<K extends OptionName>(name: K): Located<OptionValue<K>>[];
}

export interface ComposeContext {
  readonly fileName: string;
  readonly files: readonly string[];
  readonly cpuCount: number;
  /** Options whose value failed to parse: checks that would only repeat that error stay quiet. */
  readonly failedOptions: ReadonlySet<OptionName>;
}

/** tor: ROUTER_MAX_DECLARED_BANDWIDTH (or.h). */
const MAX_DECLARED_BANDWIDTH = 2 ** 31 - 1;
/** tor: BRIDGE_REQUIRED_MIN_BANDWIDTH (or.h). */
const BRIDGE_MIN_BANDWIDTH = 50 * 1024;
/** sockaddr_un.sun_path holds 108 bytes including the terminating NUL on Linux. */
const MAX_UNIX_SOCKET_PATH_BYTES = 107;

/** A loopback address as the config writes it (what MetricsPort binds). */
function isLoopbackText(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

export function composeConfig(
  options: CollectedOptions,
  context: ComposeContext,
): { config: RelaydConfig | null; diagnostics: ConfigDiagnostic[] } {
  const diagnostics: ConfigDiagnostic[] = [];
  const report = (
    severity: 'error' | 'warning',
    code: DiagnosticCode,
    option: OptionName | null,
    where: { file: string; line: number } | null,
    message: string,
  ) => {
    if (option !== null && context.failedOptions.has(option)) return;
    diagnostics.push({
      severity,
      code,
      file: where?.file ?? context.fileName,
      line: where?.line ?? null,
      option,
      message,
    });
  };
  const error = (option: OptionName | null, where: { file: string; line: number } | null, message: string) =>
    report('error', 'conflict', option, where, message);
  const warn = (option: OptionName | null, where: { file: string; line: number } | null, message: string) =>
    report('warning', 'questionable', option, where, message);

  /** The configured value, or the spec's default parsed as torrc text. */
  const settingOf = <K extends OptionName>(name: K): OptionValue<K> => {
    const set = options.single(name);
    if (set) return set.value;
    const spec = optionSpec(name);
    if (spec.default === null) throw new InternalError(`option ${name} has no static default`);
    const parsed = spec.type.parse(spec.default);
    if (!parsed.ok) throw new InternalError(`default of ${name} does not parse: ${parsed.error}`);
    return parsed.value.value as OptionValue<K>;
  };

  const dataDirectory = settingOf('DataDirectory');
  const testingTorNetwork = settingOf('TestingTorNetwork');

  // BridgeRelay: relayd is a bridge daemon.
  const bridgeRelay = options.single('BridgeRelay');
  if (bridgeRelay && !bridgeRelay.value) {
    report(
      'error',
      'unsupported',
      'BridgeRelay',
      bridgeRelay,
      'relayd runs only as a bridge; BridgeRelay 0 (a public relay) is not supported',
    );
  }

  // ORPort (tor: port_parse_config, check_and_prune_server_ports).
  const orPortLines = options.list('ORPort');
  const orPorts = orPortLines.filter((p) => p.value.port !== 0);
  const firstZeroOrPort = orPortLines.find((p) => p.value.port === 0);
  if (firstZeroOrPort && orPorts.length > 0) {
    error(
      'ORPort',
      firstZeroOrPort,
      "a nonzero ORPort is set along with 'ORPort 0'; did you mean to disable ORPort or not?",
    );
  } else if (orPorts.length === 0) {
    error(
      'ORPort',
      firstZeroOrPort ?? null,
      'relayd needs an ORPort: a bridge must accept relay connections',
    );
  } else {
    const advertised = orPorts.filter((p) => !p.value.noAdvertise);
    const listening = orPorts.filter((p) => !p.value.noListen);
    if (advertised.length > 0 && listening.length === 0)
      error('ORPort', advertised[0]!, 'an ORPort is advertised but none is listened on (all NoListen)');
    if (listening.length > 0 && advertised.length === 0)
      error(
        'ORPort',
        listening[0]!,
        'ORPorts are listened on but none is advertised (all NoAdvertise): nobody could use the bridge',
      );
  }

  // Address: one per family.
  const addresses = options.list('Address');
  for (const family of [4, 6, null] as const) {
    const same = addresses.filter((a) => a.value.family === family);
    if (same.length > 1) {
      const what = family === null ? 'host name' : `IPv${family}`;
      error('Address', same[1]!, `more than one ${what} Address (first on line ${same[0]!.line})`);
    }
  }

  // PublishServerDescriptor (tor: compute_publishserverdescriptor, options_validate_publish_server).
  const publishTokens = settingOf('PublishServerDescriptor');
  const publishSetting = options.single('PublishServerDescriptor');
  if (publishTokens.includes('v3')) {
    error(
      'PublishServerDescriptor',
      publishSetting ?? null,
      'bridges must not publish to the public directory authorities; remove v3 from PublishServerDescriptor',
    );
  }
  const publishServerDescriptor = publishTokens.includes('1') || publishTokens.includes('bridge');

  // Directory authorities (tor: validate_dir_servers, consider_adding_dir_servers).
  const dirAuths = options.list('DirAuthority');
  const altDir = options.list('AlternateDirAuthority');
  const altBridge = options.list('AlternateBridgeAuthority');
  if (dirAuths.length > 0 && (altDir.length > 0 || altBridge.length > 0)) {
    error(
      'DirAuthority',
      (altDir[0] ?? altBridge[0])!,
      'DirAuthority and Alternate*Authority cannot both be set',
    );
  }
  let dirAuthorities: DirAuthority[];
  if (dirAuths.length > 0) {
    dirAuthorities = dirAuths.map((d) => d.value);
  } else {
    const defaults = defaultDirAuthorities().filter((a) =>
      a.isBridgeAuthority ? altBridge.length === 0 : altDir.length === 0,
    );
    dirAuthorities = [...defaults, ...altBridge.map((d) => d.value), ...altDir.map((d) => d.value)];
  }
  const usingDefaultDirAuthorities = dirAuths.length === 0 && altDir.length === 0 && altBridge.length === 0;
  const testingSetting = options.single('TestingTorNetwork');
  if (testingTorNetwork && !(dirAuths.length > 0 || (altDir.length > 0 && altBridge.length > 0))) {
    error(
      'TestingTorNetwork',
      testingSetting ?? null,
      'TestingTorNetwork may only be configured together with DirAuthority, or with both AlternateDirAuthority and AlternateBridgeAuthority',
    );
  }
  if (!testingTorNetwork && (dirAuths.length > 0 || altDir.length > 0)) {
    warn(
      dirAuths.length > 0 ? 'DirAuthority' : 'AlternateDirAuthority',
      (dirAuths[0] ?? altDir[0])!,
      'alternate directory authorities make this bridge look different from every other; be sure this is what you want',
    );
  }
  if (publishServerDescriptor && !dirAuthorities.some((a) => a.isBridgeAuthority)) {
    warn(
      'PublishServerDescriptor',
      publishSetting ?? null,
      'no bridge authority is configured (no DirAuthority line has the "bridge" flag), so the descriptor will not be published',
    );
  }

  // Bandwidth (tor: config_ensure_bandwidth_cap, options_validate_relay_bandwidth).
  let bandwidthOverCap = false;
  const bandwidthValue = (
    name:
      | 'BandwidthRate'
      | 'BandwidthBurst'
      | 'RelayBandwidthRate'
      | 'RelayBandwidthBurst'
      | 'MaxAdvertisedBandwidth',
  ) => {
    let v = settingOf(name);
    // tor's special case: "2 GB" means the maximum, 2^31 - 1.
    if (v === MAX_DECLARED_BANDWIDTH + 1) v = MAX_DECLARED_BANDWIDTH;
    if (v > MAX_DECLARED_BANDWIDTH) {
      bandwidthOverCap = true;
      report(
        'error',
        'bad-value',
        name,
        options.single(name) ?? null,
        `${name} (${v}) must be at most ${MAX_DECLARED_BANDWIDTH}`,
      );
    }
    return v;
  };
  let rate = bandwidthValue('BandwidthRate');
  let burst = bandwidthValue('BandwidthBurst');
  let relayRate = bandwidthValue('RelayBandwidthRate');
  let relayBurst = bandwidthValue('RelayBandwidthBurst');
  const maxAdvertised = bandwidthValue('MaxAdvertisedBandwidth');
  if (relayRate && !relayBurst) relayBurst = relayRate;
  if (relayBurst && !relayRate) relayRate = relayBurst;
  // As in tor, a value over the cap stops the bandwidth checks: the rest would only echo it.
  if (bandwidthOverCap) {
    // reported above
  } else if (rate < BRIDGE_MIN_BANDWIDTH) {
    error(
      'BandwidthRate',
      options.single('BandwidthRate') ?? null,
      `BandwidthRate is ${rate} bytes/second; for bridges it must be at least ${BRIDGE_MIN_BANDWIDTH}`,
    );
  } else if (maxAdvertised < BRIDGE_MIN_BANDWIDTH / 2) {
    error(
      'MaxAdvertisedBandwidth',
      options.single('MaxAdvertisedBandwidth') ?? null,
      `MaxAdvertisedBandwidth is ${maxAdvertised} bytes/second; for bridges it must be at least ${BRIDGE_MIN_BANDWIDTH / 2}`,
    );
  }
  if (!bandwidthOverCap && relayRate && relayRate < BRIDGE_MIN_BANDWIDTH) {
    error(
      'RelayBandwidthRate',
      options.single('RelayBandwidthRate') ?? options.single('RelayBandwidthBurst') ?? null,
      `RelayBandwidthRate is ${relayRate} bytes/second; for bridges it must be at least ${BRIDGE_MIN_BANDWIDTH}`,
    );
  }
  if (!bandwidthOverCap && relayRate > relayBurst) {
    error(
      'RelayBandwidthBurst',
      options.single('RelayBandwidthBurst') ?? null,
      'RelayBandwidthBurst must be at least equal to RelayBandwidthRate',
    );
  }
  if (relayRate > rate) rate = relayRate;
  if (relayBurst > burst) burst = relayBurst;
  if (!bandwidthOverCap && rate > burst) {
    error(
      'BandwidthBurst',
      options.single('BandwidthBurst') ?? options.single('BandwidthRate') ?? null,
      'BandwidthBurst must be at least equal to BandwidthRate',
    );
  }

  // OutboundBindAddress: one per family (tor: parse_outbound_address_lines).
  const outbound = options.list('OutboundBindAddress');
  const outboundOf = (family: 4 | 6) => {
    const same = outbound.filter((a) => a.value.family === family);
    if (same.length > 1)
      error(
        'OutboundBindAddress',
        same[1]!,
        `multiple IPv${family} outbound bind addresses (first on line ${same[0]!.line})`,
      );
    return same[0]?.value.address ?? null;
  };
  const outboundBindAddresses = { ipv4: outboundOf(4), ipv6: outboundOf(6) };

  // ExtORPort (tor: port_parse_config with CL_PORT_WARN_NONLOCAL, default address 127.0.0.1).
  const extLines = options.list('ExtORPort');
  const extOrPortLines = extLines.filter((p) => p.value.port !== 0);
  const firstZeroExt = extLines.find((p) => p.value.port === 0);
  if (firstZeroExt && extOrPortLines.length > 0) {
    error('ExtORPort', firstZeroExt, "a nonzero ExtORPort is set along with 'ExtORPort 0'");
  }
  const extOrPorts: ServerPortSetting[] = extOrPortLines.map((p) => {
    if (
      p.value.address !== null &&
      p.value.family !== null &&
      !isInternalAddress({ family: p.value.family, address: p.value.address })
    ) {
      warn(
        'ExtORPort',
        p,
        `ExtORPort on public address ${p.value.address}: it should only be reachable by local pluggable transports`,
      );
    }
    return p.value.address === null ? { ...p.value, address: '127.0.0.1', family: 4 as const } : p.value;
  });

  // Pluggable transports.
  const plugins = options.list('ServerTransportPlugin');
  const providedBy = new Map<string, Located<unknown>>();
  for (const p of plugins) {
    for (const name of p.value.transports) {
      const earlier = providedBy.get(name);
      if (earlier)
        error('ServerTransportPlugin', p, `transport ${name} is already provided on line ${earlier.line}`);
      else providedBy.set(name, p);
    }
  }
  const firstPerTransport = <T extends { transport: string }>(
    name: 'ServerTransportListenAddr' | 'ServerTransportOptions',
    lines: Located<T>[],
  ) => {
    const seen = new Map<string, Located<T>>();
    for (const l of lines) {
      const earlier = seen.get(l.value.transport);
      if (earlier) {
        warn(
          name,
          l,
          `${name} for ${l.value.transport} repeats line ${earlier.line}; only the first is used`,
        );
        continue;
      }
      seen.set(l.value.transport, l);
      if (!providedBy.has(l.value.transport))
        warn(
          name,
          l,
          `no ServerTransportPlugin provides transport ${l.value.transport}; this line is unused`,
        );
    }
    return [...seen.values()].map((l) => l.value);
  };
  const serverTransportListenAddrs = firstPerTransport(
    'ServerTransportListenAddr',
    options.list('ServerTransportListenAddr'),
  );
  const serverTransportOptions = firstPerTransport(
    'ServerTransportOptions',
    options.list('ServerTransportOptions'),
  );
  // relayd's transports always reach it through the Extended ORPort (the supervisor's front). C tor
  // only suggests one ("set 'ExtORPort auto'") and otherwise lets transports use the plain ORPort;
  // relayd opens 127.0.0.1:auto when none is configured, and refuses an explicit "ExtORPort 0".
  if (plugins.length > 0 && extOrPorts.length === 0) {
    if (firstZeroExt) {
      error(
        'ExtORPort',
        firstZeroExt,
        "pluggable transports reach relayd through the Extended ORPort: remove 'ExtORPort 0' (or set 'ExtORPort auto')",
      );
    } else {
      extOrPorts.push(DEFAULT_TRANSPORT_EXT_OR_PORT);
      const external = plugins.find((p) => p.value.kind === 'proxy');
      if (external) {
        warn(
          'ServerTransportPlugin',
          external,
          'a transport started beside relayd needs a fixed ExtORPort to connect to (e.g. "ExtORPort 127.0.0.1:10001"); without one relayd picks a new port at every start',
        );
      }
    }
  }

  // ContactInfo (tor warns for every server).
  const contactInfo = options.single('ContactInfo')?.value ?? null;
  if (contactInfo === null) {
    warn(
      null,
      null,
      'ContactInfo is not set; please set it so the Tor Project can reach you if the bridge misbehaves',
    );
  }

  // Metrics.
  const metricsSetting = options.single('MetricsPort');
  const metricsPort = metricsSetting?.value ?? null;
  const metricsPortPolicy = options.list('MetricsPortPolicy').flatMap((l) => l.value);
  if (
    metricsSetting &&
    metricsPort &&
    metricsPortPolicy.length === 0 &&
    !isLoopbackText(metricsPort.address)
  ) {
    // Without a policy only loopback peers may scrape (unlike C tor, which then refuses everyone).
    warn(
      'MetricsPort',
      metricsSetting,
      `MetricsPort listens on ${metricsPort.address} but without MetricsPortPolicy only loopback peers may scrape it (add e.g. "MetricsPortPolicy accept 192.0.2.10" for your Prometheus)`,
    );
  }

  // Control socket.
  const controlSetting = options.single('ControlSocket');
  const controlSocket = controlSetting
    ? controlSetting.value
    : { path: joinPath(dataDirectory, 'control.sock'), groupWritable: false, worldWritable: false };
  if (
    controlSocket !== null &&
    new TextEncoder().encode(controlSocket.path).length > MAX_UNIX_SOCKET_PATH_BYTES
  ) {
    error(
      controlSetting ? 'ControlSocket' : 'DataDirectory',
      controlSetting ?? options.single('DataDirectory') ?? null,
      `control socket path ${controlSocket.path} is longer than the ${MAX_UNIX_SOCKET_PATH_BYTES} bytes a unix socket address holds`,
    );
  }

  const workersSetting = settingOf('Workers');
  const workers =
    workersSetting === 'auto' ? Math.max(1, Math.min(context.cpuCount, MAX_WORKERS)) : workersSetting;

  // Balancer.
  const balancerMode = settingOf('BalancerMode');
  const backendLines = options.list('BalancerBackend');
  const backendsSeen = new Map<string, Located<unknown>>();
  for (const b of backendLines) {
    const key = `${b.value.address}:${b.value.port}`;
    const earlier = backendsSeen.get(key);
    if (earlier) error('BalancerBackend', b, `backend ${key} is already listed on line ${earlier.line}`);
    else backendsSeen.set(key, b);
  }
  if (backendLines.length > 0 && balancerMode !== 'proxy') {
    warn(
      'BalancerBackend',
      backendLines[0]!,
      'BalancerBackend lines are used only with "BalancerMode proxy"; they are ignored',
    );
  }
  const sourceLines = options.list('BalancerSourceAddresses');
  const balancerSourceAddresses =
    sourceLines.length > 0 ? sourceLines.flatMap((l) => l.value) : settingOfList('BalancerSourceAddresses');
  const healthInterval = settingOf('BalancerHealthCheckInterval');
  if (healthInterval < 1) {
    error(
      'BalancerHealthCheckInterval',
      options.single('BalancerHealthCheckInterval') ?? null,
      'BalancerHealthCheckInterval must be at least 1 second',
    );
  }

  const extendSetting = options.single('ExtendAllowPrivateAddresses');
  const config: RelaydConfig = {
    dataDirectory,
    nickname: settingOf('Nickname'),
    contactInfo,
    addresses: addresses.map((a) => a.value),
    orPorts: orPorts.map((p) => p.value),
    bridgeRelay: true,
    publishServerDescriptor,
    dirAuthorities,
    usingDefaultDirAuthorities,
    testingTorNetwork,
    extendAllowPrivateAddresses: extendSetting ? extendSetting.value : testingTorNetwork,
    testing: {
      countPrivateBandwidth: testingTorNetwork,
      dirAllowPrivateAddresses: testingTorNetwork,
      dirConnectionMaxStallSeconds: testingTorNetwork ? 30 : 300,
      minTimeToReportBandwidthSeconds: testingTorNetwork ? 0 : 86400,
    },
    logs: options.list('Log').length > 0 ? options.list('Log').map((l) => l.value) : [valueOfDefaultLog()],
    safeLogging: settingOf('SafeLogging'),
    assumeReachable: settingOf('AssumeReachable'),
    bandwidth: { rate, burst, relayRate, relayBurst, maxAdvertised },
    outboundBindAddresses,
    extOrPorts,
    extOrPortCookieAuthFile:
      options.single('ExtORPortCookieAuthFile')?.value ??
      joinPath(dataDirectory, 'extended_orport_auth_cookie'),
    serverTransportPlugins: plugins.map((p) => p.value),
    serverTransportListenAddrs,
    serverTransportOptions,
    bridgeDistribution: options.single('BridgeDistribution')?.value ?? null,
    workers,
    workersAuto: workersSetting === 'auto',
    balancerMode,
    balancerBackends: backendLines.map((b) => b.value),
    balancerSourceAddresses,
    balancerMaxConnectionsPerAddress: settingOf('BalancerMaxConnectionsPerAddress'),
    balancerHealthCheckIntervalSeconds: healthInterval,
    onionKeyRotation: settingOf('OnionKeyRotation'),
    controlSocket,
    controlSocketGroup: options.single('ControlSocketGroup')?.value ?? null,
    metricsPort,
    metricsPortPolicy,
    throttleAlgorithm: settingOf('ThrottleAlgorithm'),
    files: context.files,
  };
  return { config: diagnostics.some((d) => d.severity === 'error') ? null : config, diagnostics };
}

/** The default of a list option whose one default line parses to a list (BalancerSourceAddresses). */
function settingOfList(name: 'BalancerSourceAddresses'): SourceAddressRange[] {
  const text = OPTION_SPECS[name].default;
  if (text === null) throw new InternalError(`${name} has no default`);
  const parsed = OPTION_SPECS[name].type.parse(text);
  if (!parsed.ok) throw new InternalError(`default of ${name} does not parse: ${parsed.error}`);
  return parsed.value.value;
}

function valueOfDefaultLog(): LogSetting {
  const text = OPTION_SPECS.Log.default;
  if (text === null) throw new InternalError('Log has no default');
  const parsed = OPTION_SPECS.Log.type.parse(text);
  if (!parsed.ok) throw new InternalError(`default Log does not parse: ${parsed.error}`);
  return parsed.value.value;
}
