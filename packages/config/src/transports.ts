/**
 * Pluggable-transport options (tor: src/app/config/config.c
 * `pt_parse_transport_line`, src/feature/relay/transport_config.c; pt-spec.txt):
 *
 *     ServerTransportPlugin name[,name…] exec PATH [ARGS…]
 *     ServerTransportPlugin name[,name…] proxy ADDRESS:PORT
 *     ServerTransportListenAddr name ADDRESS:PORT
 *     ServerTransportOptions name key=value [key=value…]
 *
 * Transport names must be C identifiers (pt-spec.txt 3.2). Arguments are
 * split at white space, as tor does; quote the whole value to use C escapes.
 */
import { err, ok, type Result } from '@relayd/common';
import { type IpFamily, parseHostPort } from './addresses.js';

export type TransportPlugin =
  /** A managed proxy relayd starts itself, speaking pt-spec to it. */
  | {
      readonly kind: 'exec';
      readonly transports: readonly string[];
      readonly path: string;
      readonly args: readonly string[];
    }
  /** An external proxy already running at an address (tor's "proxy" form). */
  | {
      readonly kind: 'proxy';
      readonly transports: readonly string[];
      readonly address: string;
      readonly family: IpFamily;
      readonly port: number;
    };

export interface TransportListenAddr {
  readonly transport: string;
  readonly address: string;
  readonly family: IpFamily;
  readonly port: number;
}

export interface TransportOptions {
  readonly transport: string;
  /** In order, as `key=value` pairs split at the first '='. */
  readonly options: readonly { readonly key: string; readonly value: string }[];
}

/** pt-spec.txt: transport names are C identifiers. */
export function isTransportName(text: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text);
}

function words(value: string): string[] {
  return value.split(/\s+/).filter((s) => s !== '');
}

export function parseTransportPluginLine(value: string): Result<TransportPlugin, string> {
  const items = words(value);
  if (items.length < 3) {
    return err(
      'too few arguments on ServerTransportPlugin line (need NAME exec PATH [ARGS] or NAME proxy ADDR:PORT)',
    );
  }
  const transports = items[0]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const name of transports) {
    if (!isTransportName(name)) return err(`transport name '${name}' is not a C identifier`);
  }
  if (transports.length === 0) return err('no transport name on ServerTransportPlugin line');
  // tor compares the type case-sensitively.
  const type = items[1]!;
  if (type === 'exec') return ok({ kind: 'exec', transports, path: items[2]!, args: items.slice(3) });
  if (type === 'proxy') {
    if (items.length > 3) return err(`unexpected text after the proxy address in '${value}'`);
    const hp = parseHostPort(items[2]!, { portRequired: true });
    if (!hp.ok) return err(`bad proxy address on ServerTransportPlugin line: ${hp.error}`);
    return ok({
      kind: 'proxy',
      transports,
      address: hp.value.address,
      family: hp.value.family!,
      port: hp.value.port!,
    });
  }
  return err(`strange ServerTransportPlugin type '${type}' (use exec or proxy)`);
}

export function parseTransportListenAddrLine(value: string): Result<TransportListenAddr, string> {
  const items = words(value);
  if (items.length < 2)
    return err('too few arguments on ServerTransportListenAddr line (need NAME ADDRESS:PORT)');
  if (items.length > 2)
    return err(`unexpected text after the address in ServerTransportListenAddr '${value}'`);
  if (!isTransportName(items[0]!)) return err(`transport name '${items[0]}' is not a C identifier`);
  const hp = parseHostPort(items[1]!, { portRequired: true });
  if (!hp.ok) return err(`bad ServerTransportListenAddr address: ${hp.error}`);
  return ok({
    transport: items[0]!,
    address: hp.value.address,
    family: hp.value.family!,
    port: hp.value.port!,
  });
}

export function parseTransportOptionsLine(value: string): Result<TransportOptions, string> {
  const items = words(value);
  if (items.length < 2)
    return err('too few arguments on ServerTransportOptions line (need NAME key=value …)');
  if (!isTransportName(items[0]!)) return err(`transport name '${items[0]}' is not a C identifier`);
  const options: { key: string; value: string }[] = [];
  for (const item of items.slice(1)) {
    const eq = item.indexOf('=');
    if (eq <= 0) return err(`'${item}' is not a key=value pair`);
    options.push({ key: item.slice(0, eq), value: item.slice(eq + 1) });
  }
  return ok({ transport: items[0]!, options });
}
