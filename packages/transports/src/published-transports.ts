/**
 * What the bridge publishes about its running transports, as pure text:
 *
 * - the extra-info `transport` lines (dir-spec 2.1.2), for netdoc's
 *   `buildBridgeExtraInfo` (`transports`, and `transportInfo` when a
 *   transport named itself), laid out as C tor writes them
 *   (transports.c `pt_get_extra_info_descriptor_string`):
 *       transport obfs4 203.0.113.5:43521 cert=…,iat-mode=0
 * - the lines of `bridge-lines.txt`, the vanilla one first:
 *       Bridge 203.0.113.5:443 <FINGERPRINT>
 *       Bridge obfs4 203.0.113.5:43521 <FINGERPRINT> cert=… iat-mode=0
 *   (a torrc Bridge line takes the ARGS as separate `key=value` words).
 *
 * The address: a transport listening on one address (ServerTransportListenAddr
 * 198.51.100.7:443) is published at that address. One listening on every
 * interface (0.0.0.0 or [::], the default) is published at the bridge's
 * public IPv4 address with the transport's port, as C tor does ("If the
 * transport proxy returned "0.0.0.0" as its address, and we know our
 * external IP address, use it").
 */
import { InternalError, isUnspecifiedAddress, parseIpAddress } from '@relayd/common';
import type { BridgeTransport } from '@relayd/netdoc';
import { type RunningTransport, runningTransports, type ServerTransportState } from './transport-state.js';

/** The addresses the descriptor publishes (the supervisor's PublicEndpoint has both). */
export interface PublishedAddresses {
  /** The bridge's public IPv4 address. */
  readonly ipv4: string;
}

/** Where clients reach a transport. */
export interface TransportEndpoint {
  readonly family: 4 | 6;
  /** IPv6 without brackets. */
  readonly address: string;
  readonly port: number;
}

/** The address and port clients use for `transport` (see the module comment). */
export function publicTransportEndpoint(
  transport: Pick<RunningTransport, 'address' | 'family' | 'port'>,
  published: PublishedAddresses,
): TransportEndpoint {
  const ip = parseIpAddress(transport.address);
  if (!ip || isUnspecifiedAddress(ip)) return { family: 4, address: published.ipv4, port: transport.port };
  return { family: transport.family === 'ipv4' ? 4 : 6, address: transport.address, port: transport.port };
}

function formatEndpoint(endpoint: TransportEndpoint): string {
  return endpoint.family === 6
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}

/** The running transports as netdoc's `BridgeExtraInfoOptions.transports`. */
export function extraInfoTransports(
  states: readonly ServerTransportState[],
  published: PublishedAddresses,
): BridgeTransport[] {
  return runningTransports(states).map((t) => ({
    name: t.name,
    address: publicTransportEndpoint(t, published),
    ...(t.args.length > 0 ? { arguments: t.args.map((a) => [a.key, a.value] as const) } : {}),
  }));
}

/**
 * The extra-info `transport` lines exactly as C tor writes them (ARGS
 * copied verbatim). netdoc's builder re-encodes the decoded ARGS, which
 * gives the same text unless a transport escapes characters that need no
 * escaping; compare with these to see what a C tor bridge would publish.
 */
export function extraInfoTransportLines(
  states: readonly ServerTransportState[],
  published: PublishedAddresses,
): string[] {
  return runningTransports(states).map((t) => {
    const args = t.argsText ? ` ${t.argsText}` : '';
    return `transport ${t.name} ${formatEndpoint(publicTransportEndpoint(t, published))}${args}`;
  });
}

/**
 * netdoc's `transportInfo` (tor 0.4.9's "transport-info" line): what the
 * first running transport that named itself said it is; undefined if none did.
 */
export function extraInfoTransportInfo(
  states: readonly ServerTransportState[],
): { readonly implementation: string; readonly version: string } | undefined {
  const named = runningTransports(states).find((t) => t.implementation !== undefined);
  return named?.implementation
    ? { implementation: named.implementation.name, version: named.implementation.version }
    : undefined;
}

/** A relay fingerprint as bridge lines write it: 40 upper-case hex digits. */
const FINGERPRINT = /^[0-9A-F]{40}$/;

function checkFingerprint(fingerprint: string): void {
  if (!FINGERPRINT.test(fingerprint)) {
    throw new InternalError(`not a fingerprint for a bridge line: ${JSON.stringify(fingerprint)}`);
  }
}

/** `Bridge <address>:<port> <FINGERPRINT>`: the vanilla (ORPort) line. */
export function vanillaBridgeLine(
  published: PublishedAddresses,
  orPort: number,
  fingerprint: string,
): string {
  checkFingerprint(fingerprint);
  return `Bridge ${published.ipv4}:${orPort} ${fingerprint}`;
}

/** One transport's bridge line, or why it cannot have one. */
export type TransportBridgeLine =
  | { readonly ok: true; readonly line: string }
  | { readonly ok: false; readonly reason: string };

/**
 * `Bridge <transport> <address>:<port> <FINGERPRINT> k=v k=v`. A Bridge
 * line splits at white space, so an argument holding white space (or an
 * empty key) cannot be written; that transport gets no line.
 */
export function transportBridgeLine(
  transport: RunningTransport,
  published: PublishedAddresses,
  fingerprint: string,
): TransportBridgeLine {
  checkFingerprint(fingerprint);
  const words: string[] = [];
  for (const { key, value } of transport.args) {
    if (key === '' || /\s/.test(key) || /\s/.test(value)) {
      return { ok: false, reason: `argument ${JSON.stringify(key)} cannot be written in a Bridge line` };
    }
    words.push(`${key}=${value}`);
  }
  const endpoint = formatEndpoint(publicTransportEndpoint(transport, published));
  const args = words.length > 0 ? ` ${words.join(' ')}` : '';
  return { ok: true, line: `Bridge ${transport.name} ${endpoint} ${fingerprint}${args}` };
}

export interface BridgeLinesInput {
  /** The bridge's RSA fingerprint, 40 upper-case hex digits. */
  readonly fingerprint: string;
  readonly addresses: PublishedAddresses;
  /** The published ORPort, for the vanilla line. */
  readonly orPort: number;
  /** The transport states (only running ones get a line). */
  readonly transports: readonly ServerTransportState[];
}

/** The lines of bridge-lines.txt: vanilla first, then one per running transport, in configuration order. */
export function bridgeLines(input: BridgeLinesInput): {
  readonly lines: string[];
  readonly skipped: { readonly transport: string; readonly reason: string }[];
} {
  const lines = [vanillaBridgeLine(input.addresses, input.orPort, input.fingerprint)];
  const skipped: { transport: string; reason: string }[] = [];
  for (const t of runningTransports(input.transports)) {
    const line = transportBridgeLine(t, input.addresses, input.fingerprint);
    if (line.ok) lines.push(line.line);
    else skipped.push({ transport: t.name, reason: line.reason });
  }
  return { lines, skipped };
}
