/**
 * The environment of an external server transport: one that relayd does
 * not launch, started beside it (by systemd, as the published Snowflake
 * bridge runs snowflake-server) with the same TOR_PT_* variables a managed
 * launch would set, so that it forwards its clients to relayd's Extended
 * ORPort with relayd's cookie. In the configuration it is a
 * `ServerTransportPlugin <name> proxy <address:port>` line, the address
 * being where the transport listens.
 *
 * Differences from a managed launch:
 * - no TOR_PT_EXIT_ON_STDIN_CLOSE: under systemd stdin is /dev/null, and a
 *   transport told to exit when stdin closes would exit at once;
 * - the ExtORPort must be a fixed port (not `auto`): the file is written
 *   once and read when the sibling starts;
 * - nothing reads the transport's stdout: its SMETHOD line (and ARGS) are
 *   not seen by relayd, so it gets no extra-info `transport` line (C tor
 *   publishes none for `proxy` transports either).
 *
 * The file is in systemd's EnvironmentFile= syntax (`KEY=value` lines,
 * `#` comments, double quotes for values with spaces), which `sh` also
 * reads with `set -a; . file`.
 */
import type { PtTransportOption } from '@relayd/ext-orport';
import { ptServerEnvironment } from '@relayd/ext-orport';
import { TransportError } from './errors.js';
import {
  endpointAddress,
  type ListenEndpoint,
  ptStateLocation,
  type ServerTransportEndpoints,
  type TransportConfig,
} from './launch-plan.js';

export interface ExternalTransportEnvironmentOptions {
  /** TOR_PT_SERVER_TRANSPORTS, e.g. ["snowflake"]. */
  readonly transports: readonly string[];
  /** TOR_PT_SERVER_BINDADDR: where each transport listens (e.g. 0.0.0.0:443). */
  readonly bindAddresses?: ReadonlyArray<{ readonly transport: string; readonly address: ListenEndpoint }>;
  /** TOR_PT_SERVER_TRANSPORT_OPTIONS. */
  readonly transportOptions?: readonly PtTransportOption[];
  /** relayd's ExtORPort front (a fixed port), its cookie file, and TOR_PT_ORPORT. */
  readonly endpoints: ServerTransportEndpoints;
  /** TOR_PT_STATE_LOCATION: a directory the transport's own user may write. */
  readonly stateLocation: string;
}

/** The TOR_PT_* variables of an external transport. */
export function externalTransportEnvironment(
  opts: ExternalTransportEnvironmentOptions,
): Record<string, string> {
  const orPort = opts.endpoints.orPort;
  return ptServerEnvironment({
    stateLocation: opts.stateLocation,
    transports: opts.transports,
    bindAddresses: (opts.bindAddresses ?? []).map((b) => ({
      transport: b.transport,
      address: endpointAddress(b.address, `bind address of ${b.transport}`, true),
    })),
    transportOptions: opts.transportOptions ?? [],
    ...(orPort ? { orPort: endpointAddress(orPort, 'TOR_PT_ORPORT') } : {}),
    extendedServerPort: {
      address: endpointAddress(opts.endpoints.extOrPort, 'ExtORPort for the transports'),
      authCookieFile: opts.endpoints.authCookieFile,
    },
    exitOnStdinClose: false,
  });
}

/** A control character (newlines included), or one that sh or systemd would interpret: $ ` " '. */
function hasUnsafeCharacter(value: string): boolean {
  for (const c of value) {
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || '$`"\''.includes(c)) return true;
  }
  return false;
}

/** A value systemd and sh both read back unchanged without quotes. */
const BARE_VALUE = /^[A-Za-z0-9_@%+=:,./[\]-]*$/;

/**
 * Renders variables as an environment file, in the given order, after
 * `comments` (each becomes a `# ` line). A value holding a newline or
 * another control character, `$`, a backquote or a quote cannot be written
 * safely for both readers: TransportError BAD_ENVIRONMENT_VALUE.
 */
export function renderEnvironmentFile(
  variables: Readonly<Record<string, string>>,
  comments: readonly string[] = [],
): string {
  let out = comments.map((c) => (c === '' ? '#\n' : `# ${c}\n`)).join('');
  for (const [name, value] of Object.entries(variables)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new TransportError(
        'BAD_ENVIRONMENT_VALUE',
        `not an environment variable name: ${JSON.stringify(name)}`,
      );
    }
    if (hasUnsafeCharacter(value)) {
      throw new TransportError(
        'BAD_ENVIRONMENT_VALUE',
        `${name}: ${JSON.stringify(value)} holds a character an environment file cannot carry safely`,
      );
    }
    out += BARE_VALUE.test(value) ? `${name}=${value}\n` : `${name}="${value.replace(/\\/g, '\\\\')}"\n`;
  }
  return out;
}

/** The complete environment file for one external transport. */
export function externalTransportEnvironmentFile(opts: ExternalTransportEnvironmentOptions): string {
  return renderEnvironmentFile(externalTransportEnvironment(opts), [
    `Environment of the ${opts.transports.join(',')} pluggable transport, started beside relayd`,
    "(systemd EnvironmentFile=). It forwards clients to relayd's Extended ORPort",
    "and authenticates with relayd's cookie file. Written by relayd; do not edit.",
  ]);
}

/** One file per `ServerTransportPlugin … proxy` line. */
export interface ExternalTransportEnvironmentFile {
  readonly transports: readonly string[];
  /** A file name for it: `pt-<first transport>.env`. */
  readonly fileName: string;
  readonly text: string;
}

/**
 * The environment files for every external (`proxy`) transport of the
 * configuration: bound where the `proxy` line says, with the
 * ServerTransportOptions of its transports, state under
 * `stateLocation` (default `DataDirectory/pt_state/`).
 */
export function externalTransportEnvironmentFiles(
  config: TransportConfig,
  endpoints: ServerTransportEndpoints,
  stateLocation = ptStateLocation(config.dataDirectory),
): ExternalTransportEnvironmentFile[] {
  const files: ExternalTransportEnvironmentFile[] = [];
  for (const plugin of config.serverTransportPlugins) {
    if (plugin.kind !== 'proxy') continue;
    if (plugin.transports.length !== 1) {
      // C tor: "You can't have an external proxy with more than one transport."
      throw new TransportError(
        'EXTERNAL_TRANSPORT_COUNT',
        `ServerTransportPlugin ${plugin.transports.join(',')} proxy: an external transport line names exactly one transport`,
      );
    }
    const text = externalTransportEnvironmentFile({
      transports: plugin.transports,
      bindAddresses: plugin.transports.map((transport) => ({
        transport,
        address: { address: plugin.address, port: plugin.port },
      })),
      transportOptions: config.serverTransportOptions
        .filter((o) => plugin.transports.includes(o.transport))
        .flatMap((o) => o.options.map((kv) => ({ transport: o.transport, key: kv.key, value: kv.value }))),
      endpoints,
      stateLocation,
    });
    files.push({ transports: plugin.transports, fileName: `pt-${plugin.transports[0]}.env`, text });
  }
  return files;
}
