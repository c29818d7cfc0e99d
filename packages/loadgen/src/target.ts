/**
 * What the load generator knows about the relays it talks to: the bridge it
 * connects to and the next hop it extends circuits to. Owns parsing them
 * from the forms operators write (host:port, 40-hex fingerprints, base64
 * Ed25519 identities as in `fingerprint-ed25519`, base64 ntor keys as in
 * descriptors) and turning a next hop into EXTEND2 link specifiers.
 */
import { type LinkSpecifier, parseIpAddress } from '@relayd/cells';
import { fromBase64, fromHex, toBase64Unpadded, toHex } from '@relayd/common';
import { LoadgenError } from './errors.js';

/** A relay reachable at an IPv4 or IPv6 address, with the identities it must prove. */
export interface RelayAddress {
  readonly address: string;
  readonly port: number;
  /** SHA-1 of the RSA identity key (20 bytes): the fingerprint. */
  readonly rsaIdentity: Uint8Array;
  /** The Ed25519 identity (32 bytes); when absent it is learned from the link handshake. */
  readonly ed25519Identity?: Uint8Array | undefined;
}

/** The bridge under load. */
export interface BridgeTarget extends RelayAddress {
  /**
   * The bridge's current ntor onion key (32 bytes). Needed for CREATE2; when
   * absent it is read from the descriptor the bridge serves at
   * /tor/server/authority.
   */
  readonly ntorOnionKey?: Uint8Array | undefined;
}

/** A relay circuits are extended to: everything EXTEND2 and its handshake need. */
export interface NextHop {
  readonly address: string;
  readonly port: number;
  readonly rsaIdentity: Uint8Array;
  readonly ed25519Identity: Uint8Array;
  readonly ntorOnionKey: Uint8Array;
}

/** A next hop as JSON (what `loadgen sink --info-file` writes and `--sink-info` reads). */
export interface NextHopJson {
  readonly address: string;
  readonly port: number;
  /** 40 upper-case hex digits. */
  readonly fingerprint: string;
  /** base64 without padding. */
  readonly ed25519Identity: string;
  /** base64 without padding. */
  readonly ntorOnionKey: string;
}

export function nextHopToJson(hop: NextHop): NextHopJson {
  return {
    address: hop.address,
    port: hop.port,
    fingerprint: toHex(hop.rsaIdentity).toUpperCase(),
    ed25519Identity: toBase64Unpadded(hop.ed25519Identity),
    ntorOnionKey: toBase64Unpadded(hop.ntorOnionKey),
  };
}

export function nextHopFromJson(json: unknown): NextHop {
  if (typeof json !== 'object' || json === null) throw badOption('sink info', 'is not a JSON object');
  const o = json as Record<string, unknown>;
  const text = (name: string): string => {
    const value = o[name];
    if (typeof value !== 'string') throw badOption(`sink info field ${name}`, 'is missing or not a string');
    return value;
  };
  const port = o.port;
  if (typeof port !== 'number') throw badOption('sink info field port', 'is missing or not a number');
  return {
    address: checkAddress(text('address'), 'sink info address'),
    port: checkPort(port, 'sink info port'),
    rsaIdentity: parseFingerprint(text('fingerprint'), 'sink info fingerprint'),
    ed25519Identity: parseEd25519Identity(text('ed25519Identity'), 'sink info ed25519Identity'),
    ntorOnionKey: parseCurve25519Key(text('ntorOnionKey'), 'sink info ntorOnionKey'),
  };
}

/** The link specifiers C tor clients send: address, RSA identity, Ed25519 identity (tor-spec 5.1.2). */
export function extendLinkSpecifiers(hop: NextHop): LinkSpecifier[] {
  const ip = parseIpAddress(hop.address);
  if (!ip) throw badOption('next hop address', `${hop.address} is not an IP address`);
  const address: LinkSpecifier =
    ip.family === 'ipv4'
      ? { kind: 'ipv4', address: ip, port: hop.port }
      : { kind: 'ipv6', address: ip, port: hop.port };
  return [
    address,
    { kind: 'legacy-id', rsaIdentity: hop.rsaIdentity },
    { kind: 'ed25519-id', ed25519Identity: hop.ed25519Identity },
  ];
}

function badOption(what: string, problem: string): LoadgenError {
  return new LoadgenError('BAD_OPTION', `${what} ${problem}`);
}

/** 40 hex digits, spaces allowed (as tor prints them), optionally with a leading "$". */
export function parseFingerprint(text: string, what = 'fingerprint'): Uint8Array {
  const compact = text.replace(/\s+/g, '').replace(/^\$/, '');
  const bytes = /^[0-9A-Fa-f]{40}$/.test(compact) ? fromHex(compact) : undefined;
  if (!bytes) throw badOption(what, `must be 40 hex digits, not ${JSON.stringify(text)}`);
  return bytes;
}

/** An Ed25519 identity: base64 (padded or not, as in fingerprint-ed25519) or 64 hex digits. */
export function parseEd25519Identity(text: string, what = 'Ed25519 identity'): Uint8Array {
  return parse32(text, what);
}

/** A Curve25519 public key: base64 (as in descriptors' ntor-onion-key) or 64 hex digits. */
export function parseCurve25519Key(text: string, what = 'ntor onion key'): Uint8Array {
  return parse32(text, what);
}

function parse32(text: string, what: string): Uint8Array {
  const trimmed = text.trim();
  const bytes = /^[0-9A-Fa-f]{64}$/.test(trimmed) ? fromHex(trimmed) : fromBase64(trimmed.replace(/=+$/, ''));
  if (bytes?.length !== 32) {
    throw badOption(what, `must be 32 bytes in base64 or hex, not ${JSON.stringify(text)}`);
  }
  return bytes;
}

export function checkPort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw badOption(what, `must be 1..65535, not ${port}`);
  return port;
}

export function checkAddress(address: string, what: string): string {
  if (!parseIpAddress(address)) throw badOption(what, `must be an IPv4 or IPv6 address, not ${address}`);
  return address;
}

/** "HOST:PORT" or "[IPv6]:PORT" with a literal IP address. */
export function parseHostPort(text: string, what = 'address'): { address: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!match) throw badOption(what, `must be HOST:PORT or [IPv6]:PORT, not ${JSON.stringify(text)}`);
  return { address: checkAddress(match[1]!, what), port: checkPort(Number(match[2]), what) };
}
