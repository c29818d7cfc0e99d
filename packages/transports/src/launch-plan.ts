/**
 * What to launch for each `ServerTransportPlugin … exec …` line, and the
 * TOR_PT_* environment of each launch (pt-spec 3.2), as C tor builds them
 * (transports.c `create_managed_proxy_environment`,
 * statefile.c `get_stored_bindaddr_for_server_transport`):
 *
 *   TOR_PT_MANAGED_TRANSPORT_VER=1
 *   TOR_PT_STATE_LOCATION=<DataDirectory>/pt_state/
 *   TOR_PT_SERVER_TRANSPORTS=obfs4[,…]
 *   TOR_PT_SERVER_BINDADDR=obfs4-<address:port>[,…]   (every transport; see below)
 *   TOR_PT_SERVER_TRANSPORT_OPTIONS=obfs4:k=v;…        (ServerTransportOptions, when set)
 *   TOR_PT_ORPORT=127.0.0.1:<ORPort>                   (when known)
 *   TOR_PT_EXTENDED_SERVER_PORT=<the supervisor's ExtORPort front>
 *   TOR_PT_AUTH_COOKIE_FILE=<its cookie file>
 *   TOR_PT_EXIT_ON_STDIN_CLOSE=1
 *   TOR_PT_OUTBOUND_BIND_ADDRESS_V4 / _V6               (OutboundBindAddress, when set)
 *
 * The bind address of a transport is, in tor's order: its
 * ServerTransportListenAddr; else the port it listened on last time (so
 * the bridge line survives restarts) on every interface; else every
 * interface on a port of the transport's choosing (0.0.0.0:0).
 *
 * Pure: no process, file or socket is touched here.
 */
import { formatIpAddress, isUnspecifiedAddress, parseIpAddress } from '@relayd/common';
import type { RelaydConfig, ServerPortSetting } from '@relayd/config';
import {
  type AddressPort,
  formatAddressPort,
  type PtTransportOption,
  parseAddressPort,
  ptServerEnvironment,
} from '@relayd/ext-orport';
import { TransportError } from './errors.js';

/** The parts of the configuration the transports read. */
export type TransportConfig = Pick<
  RelaydConfig,
  | 'dataDirectory'
  | 'serverTransportPlugins'
  | 'serverTransportListenAddrs'
  | 'serverTransportOptions'
  | 'outboundBindAddresses'
>;

/** An IP literal (IPv6 with or without brackets) and a port. */
export interface ListenEndpoint {
  readonly address: string;
  readonly port: number;
}

/** Where the transports forward their clients. */
export interface ServerTransportEndpoints {
  /** TOR_PT_EXTENDED_SERVER_PORT: the supervisor's Extended ORPort front. */
  readonly extOrPort: ListenEndpoint;
  /** TOR_PT_AUTH_COOKIE_FILE: the cookie file of that ExtORPort (absolute path). */
  readonly authCookieFile: string;
  /**
   * TOR_PT_ORPORT: the plain ORPort, as tor sets it (see `ptOrPortTarget`).
   * Transports that speak ExtORPort never use it; omitted when unknown.
   */
  readonly orPort?: ListenEndpoint;
}

/** One managed proxy to run: one `ServerTransportPlugin … exec` line. */
export interface ManagedProxyPlan {
  /** A name for logs and states: the transports it provides, e.g. "obfs4" or "obfs4,meek_lite". */
  readonly id: string;
  /** TOR_PT_SERVER_TRANSPORTS, in the order of the configuration line. */
  readonly transports: readonly string[];
  readonly path: string;
  readonly args: readonly string[];
  /** ServerTransportListenAddr of each of its transports that has one. */
  readonly configuredBindAddresses: ReadonlyMap<string, AddressPort>;
  /** ServerTransportOptions of its transports, in order. */
  readonly transportOptions: readonly PtTransportOption[];
  /** TOR_PT_STATE_LOCATION. */
  readonly stateLocation: string;
  readonly extOrPort: AddressPort;
  readonly authCookieFile: string;
  readonly orPort: AddressPort | undefined;
  readonly outboundBindAddresses: { readonly ipv4: string | null; readonly ipv6: string | null };
}

/** Where a launch asks a transport to listen, and why there. */
export interface BindChoice {
  readonly address: AddressPort;
  readonly source: 'configured' | 'remembered' | 'default';
}

/** C tor's default when nothing says where to listen: every interface, any port. */
export const DEFAULT_TRANSPORT_BIND_HOST = '0.0.0.0';

/** `DataDirectory/pt_state/`, with C tor's trailing slash (`get_datadir_fname("pt_state/")`). */
export function ptStateLocation(dataDirectory: string): string {
  return dataDirectory.endsWith('/') ? `${dataDirectory}pt_state/` : `${dataDirectory}/pt_state/`;
}

/** Parses an endpoint into ext-orport's AddressPort; TransportError BAD_ADDRESS if it is not an IP literal. */
export function endpointAddress(endpoint: ListenEndpoint, what: string, allowZeroPort = false): AddressPort {
  const host = endpoint.address.startsWith('[') ? endpoint.address.slice(1, -1) : endpoint.address;
  const ip = parseIpAddress(host);
  if (!ip) throw new TransportError('BAD_ADDRESS', `${what}: "${endpoint.address}" is not an IP address`);
  const text = ip.family === 'ipv4' ? `${host}:${endpoint.port}` : `[${host}]:${endpoint.port}`;
  const parsed = parseAddressPort(text, what, { allowZeroPort });
  if (!parsed.ok) throw new TransportError('BAD_ADDRESS', `${what}: ${parsed.error.message}`);
  return parsed.value;
}

/** The managed proxies the configuration asks for (the `exec` lines; `proxy` lines run elsewhere). */
export function managedProxyPlans(
  config: TransportConfig,
  endpoints: ServerTransportEndpoints,
): ManagedProxyPlan[] {
  const extOrPort = endpointAddress(endpoints.extOrPort, 'ExtORPort for the transports');
  const orPort = endpoints.orPort ? endpointAddress(endpoints.orPort, 'TOR_PT_ORPORT') : undefined;
  const plans: ManagedProxyPlan[] = [];
  for (const plugin of config.serverTransportPlugins) {
    if (plugin.kind !== 'exec') continue;
    const configuredBindAddresses = new Map<string, AddressPort>();
    for (const listen of config.serverTransportListenAddrs) {
      if (!plugin.transports.includes(listen.transport)) continue;
      configuredBindAddresses.set(
        listen.transport,
        endpointAddress(listen, `ServerTransportListenAddr ${listen.transport}`),
      );
    }
    const transportOptions = config.serverTransportOptions
      .filter((o) => plugin.transports.includes(o.transport))
      .flatMap((o) => o.options.map((kv) => ({ transport: o.transport, key: kv.key, value: kv.value })));
    plans.push({
      id: plugin.transports.join(','),
      transports: plugin.transports,
      path: plugin.path,
      args: plugin.args,
      configuredBindAddresses,
      transportOptions,
      stateLocation: ptStateLocation(config.dataDirectory),
      extOrPort,
      authCookieFile: endpoints.authCookieFile,
      orPort,
      outboundBindAddresses: config.outboundBindAddresses,
    });
  }
  return plans;
}

/**
 * Where `transport` of `plan` should listen on this launch: configured,
 * else `rememberedPort` on every interface, else every interface on any port.
 */
export function chooseBindAddress(
  plan: ManagedProxyPlan,
  transport: string,
  rememberedPort: number | undefined,
): BindChoice {
  const configured = plan.configuredBindAddresses.get(transport);
  if (configured) return { address: configured, source: 'configured' };
  if (rememberedPort !== undefined && rememberedPort > 0 && rememberedPort <= 0xffff) {
    return {
      address: endpointAddress({ address: DEFAULT_TRANSPORT_BIND_HOST, port: rememberedPort }, transport),
      source: 'remembered',
    };
  }
  return {
    address: endpointAddress({ address: DEFAULT_TRANSPORT_BIND_HOST, port: 0 }, transport, true),
    source: 'default',
  };
}

/** The TOR_PT_* variables of one launch of `plan`, each transport bound where `bind` says. */
export function managedProxyEnvironment(
  plan: ManagedProxyPlan,
  bind: ReadonlyMap<string, AddressPort>,
): Record<string, string> {
  const env = ptServerEnvironment({
    stateLocation: plan.stateLocation,
    transports: plan.transports,
    bindAddresses: plan.transports.flatMap((transport) => {
      const address = bind.get(transport);
      return address ? [{ transport, address }] : [];
    }),
    transportOptions: plan.transportOptions,
    ...(plan.orPort ? { orPort: plan.orPort } : {}),
    extendedServerPort: { address: plan.extOrPort, authCookieFile: plan.authCookieFile },
    exitOnStdinClose: true,
  });
  // pt-spec 3.2.1; C tor takes OutboundBindAddressPT, then OutboundBindAddress.
  const { ipv4, ipv6 } = plan.outboundBindAddresses;
  if (ipv4 !== null) env['TOR_PT_OUTBOUND_BIND_ADDRESS_V4'] = ipv4;
  // "IPv6 addresses MUST always be wrapped in square brackets."
  if (ipv6 !== null) env['TOR_PT_OUTBOUND_BIND_ADDRESS_V6'] = `[${ipv6}]`;
  return env;
}

/** An ORPort as the worker opened it (the supervisor's `BoundOrPort`). */
export interface BoundListenerPort {
  readonly orPortIndex: number;
  readonly port: number;
}

/**
 * TOR_PT_ORPORT as C tor sets it (config.c `get_first_listener_addrport_string`):
 * the first ORPort that listens; one on every interface is reached at
 * 127.0.0.1 (or [::1] for an IPv6-only one); `auto` becomes the port the
 * worker bound. Undefined when there is no such port or it is not bound yet.
 */
export function ptOrPortTarget(
  orPorts: readonly ServerPortSetting[],
  bound: readonly BoundListenerPort[],
): ListenEndpoint | undefined {
  const index = orPorts.findIndex((p) => !p.noListen);
  if (index < 0) return undefined;
  const setting = orPorts[index]!;
  const port = setting.port === 'auto' ? bound.find((b) => b.orPortIndex === index)?.port : setting.port;
  if (port === undefined || port === 0) return undefined;
  let address: string;
  if (setting.address === null) {
    address = setting.ipv6Only ? '::1' : '127.0.0.1';
  } else {
    const ip = parseIpAddress(setting.address);
    if (ip && isUnspecifiedAddress(ip)) address = ip.family === 'ipv4' ? '127.0.0.1' : '::1';
    else address = ip ? formatIpAddress(ip) : setting.address;
  }
  return { address, port };
}

/** `address:port` text of an endpoint, brackets around IPv6. */
export function formatEndpoint(endpoint: ListenEndpoint): string {
  return formatAddressPort(endpointAddress(endpoint, 'endpoint', true));
}
