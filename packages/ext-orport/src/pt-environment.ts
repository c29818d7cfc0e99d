/**
 * The environment a parent sets when it launches a managed pluggable
 * transport (pt-spec 3.2), built the way C tor builds it
 * (transports.c `create_managed_proxy_environment`). Returns only the
 * TOR_PT_* variables; merging them into the process environment and
 * spawning are the caller's.
 */
import { InternalError } from '@relayd/common';
import { type AddressPort, formatAddressPort } from './address-port.js';
import { encodeServerTransportOptions, type PtTransportOption } from './pt-args.js';
import { isValidTransportName } from './transport-name.js';

/** "The version of the Pluggable Transport specification as of this document is "1"." (pt-spec 3.2.1) */
export const PT_MANAGED_TRANSPORT_VERSION = '1';

export interface PtCommonEnvironmentOptions {
  /** TOR_PT_STATE_LOCATION: an absolute directory the transport may create and keep state in. */
  readonly stateLocation: string;
  /**
   * TOR_PT_EXIT_ON_STDIN_CLOSE=1: the transport exits when its stdin
   * closes, so it cannot outlive a parent that died without signalling it.
   * Default true (C tor always sets it).
   */
  readonly exitOnStdinClose?: boolean;
}

export interface PtServerEnvironmentOptions extends PtCommonEnvironmentOptions {
  /** TOR_PT_SERVER_TRANSPORTS. */
  readonly transports: readonly string[];
  /** TOR_PT_SERVER_BINDADDR: where each transport listens (port 0: any free port, reported in SMETHOD). */
  readonly bindAddresses?: ReadonlyArray<{ readonly transport: string; readonly address: AddressPort }>;
  /** TOR_PT_SERVER_TRANSPORT_OPTIONS. */
  readonly transportOptions?: readonly PtTransportOption[];
  /** TOR_PT_ORPORT: the plain ORPort, for transports that cannot speak ExtORPort. */
  readonly orPort?: AddressPort;
  /** TOR_PT_EXTENDED_SERVER_PORT and TOR_PT_AUTH_COOKIE_FILE, given together. */
  readonly extendedServerPort?: { readonly address: AddressPort; readonly authCookieFile: string };
}

export interface PtClientEnvironmentOptions extends PtCommonEnvironmentOptions {
  /** TOR_PT_CLIENT_TRANSPORTS. */
  readonly transports: readonly string[];
  /** TOR_PT_PROXY, e.g. "socks5://127.0.0.1:9050". */
  readonly proxy?: string;
}

/**
 * The TOR_PT_* variables for a server transport. Throws InternalError for
 * what configuration must already have refused: a bad or missing transport
 * name, a bind address for a transport not launched, or neither an ORPort
 * nor an Extended ORPort (goptlib's ServerSetup refuses that with ENV-ERROR).
 */
export function ptServerEnvironment(opts: PtServerEnvironmentOptions): Record<string, string> {
  const env = commonEnvironment(opts);
  env['TOR_PT_SERVER_TRANSPORTS'] = transportList(opts.transports);
  const bindAddresses = opts.bindAddresses ?? [];
  // "The keys holding transport names MUST be in the same order as they
  // appear in TOR_PT_SERVER_TRANSPORTS." (pt-spec 3.2.3)
  const ordered = [...bindAddresses].sort(
    (a, b) => opts.transports.indexOf(a.transport) - opts.transports.indexOf(b.transport),
  );
  const seen = new Set<string>();
  for (const { transport } of ordered) {
    if (!opts.transports.includes(transport)) {
      throw new InternalError(`bind address for transport ${transport}, which is not launched`);
    }
    // "Applications MUST NOT set more than one <address>:<port> pair per PT name."
    if (seen.has(transport)) throw new InternalError(`two bind addresses for transport ${transport}`);
    seen.add(transport);
  }
  if (ordered.length > 0) {
    env['TOR_PT_SERVER_BINDADDR'] = ordered
      .map((b) => `${b.transport}-${formatAddressPort(b.address)}`)
      .join(',');
  }
  const options = encodeServerTransportOptions(opts.transportOptions ?? []);
  if (options !== undefined) env['TOR_PT_SERVER_TRANSPORT_OPTIONS'] = options;
  if (opts.orPort !== undefined) env['TOR_PT_ORPORT'] = formatAddressPort(opts.orPort);
  if (opts.extendedServerPort !== undefined) {
    env['TOR_PT_EXTENDED_SERVER_PORT'] = formatAddressPort(opts.extendedServerPort.address);
    env['TOR_PT_AUTH_COOKIE_FILE'] = opts.extendedServerPort.authCookieFile;
  } else {
    // "If the parent process does not support the ExtORPort protocol, it
    // MUST set "TOR_PT_EXTENDED_SERVER_PORT" to an empty string."
    env['TOR_PT_EXTENDED_SERVER_PORT'] = '';
    if (opts.orPort === undefined) {
      throw new InternalError('a server transport needs an ORPort or an Extended ORPort to forward to');
    }
  }
  return env;
}

/** The TOR_PT_* variables for a client transport. Throws InternalError for a bad or missing transport name. */
export function ptClientEnvironment(opts: PtClientEnvironmentOptions): Record<string, string> {
  const env = commonEnvironment(opts);
  env['TOR_PT_CLIENT_TRANSPORTS'] = transportList(opts.transports);
  if (opts.proxy !== undefined) env['TOR_PT_PROXY'] = opts.proxy;
  return env;
}

function commonEnvironment(opts: PtCommonEnvironmentOptions): Record<string, string> {
  const env: Record<string, string> = {
    TOR_PT_MANAGED_TRANSPORT_VER: PT_MANAGED_TRANSPORT_VERSION,
    TOR_PT_STATE_LOCATION: opts.stateLocation,
  };
  if (opts.exitOnStdinClose ?? true) env['TOR_PT_EXIT_ON_STDIN_CLOSE'] = '1';
  return env;
}

function transportList(transports: readonly string[]): string {
  if (transports.length === 0) throw new InternalError('no pluggable transports to launch');
  for (const t of transports) {
    if (!isValidTransportName(t))
      throw new InternalError(`not a pluggable transport name: ${JSON.stringify(t)}`);
  }
  return transports.join(',');
}
