/**
 * Where a worker listens: the config's ORPort lines turned into concrete
 * (host, port) pairs to bind.
 *
 * - `NoListen` ports are advertised only (something else forwards to us).
 * - `ORPort 9001` (no address) listens on all interfaces. One dual-stack
 *   "::" socket takes IPv4 and IPv6 alike (net reports IPv4 peers by their
 *   plain address); `IPv4Only` binds "0.0.0.0" instead. Hosts without IPv6
 *   fall back to "0.0.0.0" when the listener is opened (see worker.ts).
 * - `auto` asks the system for a free port (0).
 */
import type { RelaydConfig } from '@relayd/config';

export interface ListenTarget {
  readonly host: string;
  /** 0: let the system choose. */
  readonly port: number;
  /** For a wildcard IPv6 bind: the IPv4 wildcard to use when the host has no IPv6. */
  readonly ipv4Fallback?: string;
  /** Which `orPorts` entry asked for it. */
  readonly orPortIndex: number;
}

export const ALL_IPV4 = '0.0.0.0';
export const ALL_INTERFACES = '::';

/** The listeners the ORPort lines ask for, in config order, without duplicates. */
export function planListeners(orPorts: RelaydConfig['orPorts']): ListenTarget[] {
  const out: ListenTarget[] = [];
  const seen = new Set<string>();
  for (const [orPortIndex, p] of orPorts.entries()) {
    if (p.noListen) continue;
    const port = p.port === 'auto' ? 0 : p.port;
    let target: ListenTarget;
    if (p.address !== null) target = { host: p.address, port, orPortIndex };
    else if (p.ipv4Only) target = { host: ALL_IPV4, port, orPortIndex };
    else target = { host: ALL_INTERFACES, port, ipv4Fallback: ALL_IPV4, orPortIndex };
    // Two 'auto' lines are two listeners; equal fixed ports are one.
    const key = port === 0 ? `${out.length}` : `${target.host}|${port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(target);
  }
  return out;
}
