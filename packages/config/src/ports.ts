/**
 * Listener options in tor's port syntax (tor: src/app/config/config.c
 * `port_parse_config`, src/feature/metrics/metrics.c `metrics_parse_ports`):
 *
 *     ORPort    [address:]port|auto [NoAdvertise|NoListen|IPv4Only|IPv6Only …]
 *     ExtORPort [address:]port|auto
 *     MetricsPort [address:]port [prometheus]
 *
 * `0` means "no such port". IPv6 addresses are written in brackets
 * (`[::1]:9001`). Unlike tor, host names are not resolved here: a listener
 * address must be an IP literal.
 */
import { err, ok, type Result } from '@relayd/common';
import { type IpFamily, parseHostPort, parseIpAddress } from './addresses.js';

export interface ListenSpec {
  /** An IP literal (IPv6 without brackets), or null for the option's default address. */
  readonly address: string | null;
  readonly family: IpFamily | null;
  /** A TCP port, 0 for "none", or 'auto' to let the system pick one. */
  readonly port: number | 'auto';
}

/** Parses the address part of a port line: `port`, `auto`, `addr:port`, `addr:auto`. */
export function parseListenSpec(token: string, optionName: string): Result<ListenSpec, string> {
  if (/^unix:/i.test(token)) return err(`${optionName} does not support unix sockets`);
  if (token.toLowerCase() === 'auto') return ok({ address: null, family: null, port: 'auto' });
  if (/^\d+$/.test(token)) {
    const port = Number(token);
    if (port > 65535) return err(`${optionName} port ${token} is out of range (0-65535)`);
    return ok({ address: null, family: null, port });
  }
  if (/:auto$/i.test(token)) {
    const ip = parseIpAddress(token.slice(0, -':auto'.length));
    if (!ip) return err(`invalid address '${token}' for ${optionName}`);
    return ok({ address: ip.address, family: ip.family, port: 'auto' });
  }
  const hp = parseHostPort(token, { portRequired: true });
  if (!hp.ok) return err(`couldn't parse address '${token}' for ${optionName}: ${hp.error}`);
  return ok({ address: hp.value.address, family: hp.value.family, port: hp.value.port! });
}

/** An ORPort (or ExtORPort) line with tor's server-port flags. */
export interface ServerPortSetting extends ListenSpec {
  /** Listen but do not put this port in the descriptor. */
  readonly noAdvertise: boolean;
  /** Advertise but do not listen (something else forwards to us). */
  readonly noListen: boolean;
  /** With no address (or a name), bind IPv4 only. */
  readonly ipv4Only: boolean;
  /** With no address (or a name), bind IPv6 only. */
  readonly ipv6Only: boolean;
}

export interface ParsedServerPort {
  readonly setting: ServerPortSetting;
  readonly warnings: string[];
}

/** Parses an ORPort or ExtORPort value. */
export function parseServerPortLine(value: string, optionName: string): Result<ParsedServerPort, string> {
  const [first, ...flags] = value.split(/\s+/).filter((s) => s !== '');
  if (first === undefined) return err(`${optionName} needs a port`);
  const spec = parseListenSpec(first, optionName);
  if (!spec.ok) return spec;
  const warnings: string[] = [];
  let noAdvertise = false;
  let noListen = false;
  let ipv4Only = false;
  let ipv6Only = false;
  for (const flag of flags) {
    switch (flag.toLowerCase()) {
      case 'noadvertise':
        noAdvertise = true;
        break;
      case 'nolisten':
        noListen = true;
        break;
      case 'ipv4only':
        ipv4Only = true;
        break;
      case 'ipv6only':
        ipv6Only = true;
        break;
      default:
        // tor warns and carries on.
        warnings.push(
          `unrecognized ${optionName} flag '${flag}' (known: NoAdvertise, NoListen, IPv4Only, IPv6Only)`,
        );
    }
  }
  if (noAdvertise && noListen) return err(`both NoListen and NoAdvertise on ${optionName} line '${value}'`);
  if (ipv4Only && ipv6Only) return err(`both IPv4Only and IPv6Only on ${optionName} line '${value}'`);
  if (ipv4Only && spec.value.family === 6)
    return err(`${optionName} address of '${value}' is not IPv4 (IPv4Only)`);
  if (ipv6Only && spec.value.family === 4)
    return err(`${optionName} address of '${value}' is not IPv6 (IPv6Only)`);
  return ok({ setting: { ...spec.value, noAdvertise, noListen, ipv4Only, ipv6Only }, warnings });
}

/** tor's MetricsPort: one listener and an optional format, of which only "prometheus" exists. */
export interface MetricsPortSetting {
  readonly address: string;
  readonly family: IpFamily;
  readonly port: number;
  readonly format: 'prometheus';
}

/** Parses a MetricsPort value; port 0 yields null (disabled). The default address is 127.0.0.1. */
export function parseMetricsPortLine(value: string): Result<MetricsPortSetting | null, string> {
  const words = value.split(/\s+/).filter((s) => s !== '');
  if (words.length === 0) return err('MetricsPort is missing port');
  if (words.length > 2) return err(`unexpected text after the format in MetricsPort '${value}'`);
  if (words[1] !== undefined && words[1].toLowerCase() !== 'prometheus') {
    return err(`MetricsPort unknown format: ${words[1]} (the only format is prometheus)`);
  }
  if (/^\d+$/.test(words[0]!)) {
    const port = Number(words[0]);
    if (port > 65535) return err(`MetricsPort port ${words[0]} is out of range (0-65535)`);
    return ok(port === 0 ? null : { address: '127.0.0.1', family: 4, port, format: 'prometheus' });
  }
  const hp = parseHostPort(words[0]!, { portRequired: true });
  if (!hp.ok) return err(`MetricsPort address/port failed to parse: ${hp.error}`);
  return ok({
    address: hp.value.address,
    family: hp.value.family!,
    port: hp.value.port!,
    format: 'prometheus',
  });
}
