/**
 * The address and ORPort relayd publishes: what goes on the descriptor's
 * "router" (and "or-address") line and into the bridge line. In tor's order
 * (relay_find_addr / resolve_my_address):
 *
 *   1. an `Address` line (an IP address, or a host name looked up once);
 *   2. the address of an advertised `ORPort` line, if it names one;
 *   3. the first IPv4 address of a network interface that is not loopback.
 *
 * IPv6 is published only when configured (an IPv6 `Address` or an
 * advertised IPv6 ORPort), as C tor does for bridges. The ORPort published
 * is the first advertised one; `auto` resolves to the port the worker bound.
 */
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { type IpAddress, parseIpAddress, RelayError } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';

export interface PublicEndpoint {
  readonly ipv4: string;
  readonly orPort: number;
  /** An IPv6 ORPort to publish as "or-address", if configured. */
  readonly ipv6?: { readonly address: string; readonly port: number };
  /** Where the IPv4 address came from, for the start-up log line. */
  readonly source: 'Address' | 'ORPort' | 'interface';
}

/** A network interface address, as node:os `networkInterfaces()` reports them. */
export interface InterfaceAddress {
  readonly address: string;
  readonly family: string | number;
  readonly internal: boolean;
}

export interface AddressEnvironment {
  /** Every interface address of the host. */
  interfaceAddresses(): readonly InterfaceAddress[];
  /** Looks a host name up (IPv4), or resolves to undefined. */
  lookupIPv4(hostname: string): Promise<string | undefined>;
}

/** An ORPort as the worker opened it. */
export interface BoundOrPort {
  readonly orPortIndex: number;
  readonly port: number;
}

function addressError(message: string): RelayError {
  return new RelayError('bad-config', 'NO_PUBLIC_ADDRESS', message);
}

function isWildcard(ip: IpAddress): boolean {
  return ip.bytes.every((b) => b === 0);
}

/** The port an ORPort line publishes: its own, or what the system gave an `auto` port. */
function publishedPort(config: RelaydConfig, index: number, bound: readonly BoundOrPort[]): number {
  const port = config.orPorts[index]!.port;
  if (port !== 'auto') return port;
  const listener = bound.find((b) => b.orPortIndex === index);
  if (!listener) throw addressError('an ORPort set to auto is advertised but was not opened (NoListen)');
  return listener.port;
}

/** The addresses to publish, before any port is known. */
export interface PublicAddresses {
  readonly ipv4: string;
  /** Published only when configured (an IPv6 Address, or an advertised IPv6 ORPort). */
  readonly ipv6: string | undefined;
  /** Where the IPv4 address came from, for the start-up log line. */
  readonly source: PublicEndpoint['source'];
}

function advertisedOrPorts(config: RelaydConfig) {
  return config.orPorts
    .map((setting, index) => ({ setting, index }))
    .filter(({ setting }) => !setting.noAdvertise);
}

function firstIPv4OrPort(config: RelaydConfig) {
  const found = advertisedOrPorts(config).find(({ setting }) => setting.family !== 6 && !setting.ipv6Only);
  if (!found)
    throw addressError('no advertised IPv4 ORPort: a bridge needs one (check NoAdvertise/IPv6Only)');
  return found;
}

/** Works out the addresses to publish; a RelayError (bad-config) when there is no IPv4 address. */
export async function resolvePublicAddresses(
  config: RelaydConfig,
  env: AddressEnvironment,
): Promise<PublicAddresses> {
  const v4Port = firstIPv4OrPort(config);
  let ipv4: string | undefined;
  let source: PublicEndpoint['source'] = 'Address';
  const configured4 = config.addresses.find((a) => a.family === 4);
  const configuredName = config.addresses.find((a) => a.family === null);
  if (configured4) {
    ipv4 = configured4.address;
  } else if (configuredName) {
    ipv4 = await env.lookupIPv4(configuredName.address);
    if (!ipv4) throw addressError(`Address ${configuredName.address}: the host name has no IPv4 address`);
  } else {
    const fromPort = v4Port.setting.address !== null ? parseIpAddress(v4Port.setting.address) : undefined;
    if (fromPort && fromPort.family === 'ipv4' && !isWildcard(fromPort)) {
      ipv4 = v4Port.setting.address!;
      source = 'ORPort';
    } else {
      const found = env
        .interfaceAddresses()
        .find((a) => !a.internal && (a.family === 'IPv4' || a.family === 4));
      if (!found) {
        throw addressError(
          'could not find an IPv4 address to publish: set Address (or give the ORPort an address)',
        );
      }
      ipv4 = found.address;
      source = 'interface';
    }
  }
  const v6Port = advertisedOrPorts(config).find(({ setting }) => setting.family === 6);
  const own6 = v6Port ? parseIpAddress(v6Port.setting.address!) : undefined;
  const ipv6 =
    own6 && !isWildcard(own6)
      ? v6Port!.setting.address!
      : config.addresses.find((a) => a.family === 6)?.address;
  return { ipv4, ipv6, source };
}

/**
 * The endpoint to publish once the ORPorts are open: the addresses, the
 * first advertised IPv4 ORPort, and an IPv6 ORPort when an IPv6 address is
 * published (an advertised IPv6 ORPort, or a bare ORPort, which listens on
 * IPv6 too).
 */
export function publishedEndpoint(
  config: RelaydConfig,
  addresses: PublicAddresses,
  bound: readonly BoundOrPort[],
): PublicEndpoint {
  const v4Port = firstIPv4OrPort(config);
  const orPort = publishedPort(config, v4Port.index, bound);
  let ipv6: PublicEndpoint['ipv6'];
  if (addresses.ipv6 !== undefined) {
    const v6Port = advertisedOrPorts(config).find(({ setting }) => setting.family === 6);
    if (v6Port) ipv6 = { address: addresses.ipv6, port: publishedPort(config, v6Port.index, bound) };
    else if (v4Port.setting.family === null && !v4Port.setting.ipv4Only) {
      ipv6 = { address: addresses.ipv6, port: orPort };
    }
  }
  return { ipv4: addresses.ipv4, orPort, ...(ipv6 ? { ipv6 } : {}), source: addresses.source };
}

/** `Bridge <address>:<port> <FINGERPRINT>` — the vanilla bridge line. */
export function vanillaBridgeLine(endpoint: PublicEndpoint, fingerprint: string): string {
  return `Bridge ${endpoint.ipv4}:${endpoint.orPort} ${fingerprint}`;
}

/** The host's interfaces (node:os) and resolver (node:dns). */
export const systemAddressEnvironment: AddressEnvironment = {
  interfaceAddresses: () => Object.values(networkInterfaces()).flatMap((list) => list ?? []),
  lookupIPv4: async (hostname) => {
    try {
      return (await lookup(hostname, { family: 4 })).address;
    } catch {
      return undefined;
    }
  },
};
