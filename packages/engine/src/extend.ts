/**
 * EXTEND2 (tor-spec 5.1.2, 5.3): checking a request and finding the channel
 * to carry it. Mirrors C tor's circuit_extend() and the checks it calls
 * (circuitbuild_relay.c, onion.c) in what is refused and with which reason:
 *
 *   - link specifiers: a second legacy or Ed25519 identity, no legacy
 *     identity, an all-zero legacy identity, or no IPv4/IPv6 address → PROTOCOL;
 *     only the first IPv4 and the first IPv6 specifier count;
 *   - the handshake: CREATE_FAST's type 1, or TAP/ntor with the wrong HLEN
 *     → PROTOCOL; unknown types are passed on for the next hop to judge;
 *   - addresses: zero address or port, or private/loopback without
 *     `extendAllowPrivateAddresses` (tor_addr_is_internal) → PROTOCOL when
 *     no address is left;
 *   - extending back to the previous hop (by either identity) → PROTOCOL;
 *   - extending to ourselves → CONNECTFAILED (connection_or_connect()
 *     refuses, so channel_connect_for_circuit() fails).
 *
 * Also owns the index of open channels by proven RSA identity, for reuse
 * (5.3.1: a channel we opened is canonical; one a relay opened to us is used
 * only if its IP address is one the client asked for, since relayd does not
 * see the NETINFO addresses that would make it canonical).
 */
import {
  type Create2Message,
  DestroyReason,
  type Extend2Message,
  formatIpAddress,
  HandshakeType,
  type IpAddress,
  parseIpAddress,
  TAP_CLIENT_HANDSHAKE_LENGTH,
} from '@relayd/cells';
import {
  bytesEqual,
  err,
  isInternalAddress,
  isUnspecifiedAddress,
  ok,
  type Result,
  toHex,
} from '@relayd/common';
import { NTOR_ONIONSKIN_LENGTH } from '@relayd/handshakes';
import type { Channel } from './channel.js';
import type { ChannelPeer, ExtendTarget } from './channel-types.js';

/** CREATE_FAST's handshake type number, never valid inside CREATE2/EXTEND2. */
const HANDSHAKE_TYPE_FAST = 0x0001;

export interface ExtendPlan {
  readonly target: ExtendTarget;
  /** The CREATE2 to send: the EXTEND2's HTYPE and HDATA unchanged. */
  readonly create: Create2Message;
}

export interface ExtendRefusal {
  /** The DESTROY reason (tor-spec 5.4). */
  readonly reason: number;
  readonly detail: string;
}

export interface ExtendContext {
  readonly allowPrivateAddresses: boolean;
  /** The previous hop's proven identities (a client channel has none). */
  readonly previousHop: ChannelPeer;
  readonly ourRsaIdentity: Uint8Array;
  readonly ourEd25519Identity: Uint8Array;
}

function refuse(reason: number, detail: string): Result<ExtendPlan, ExtendRefusal> {
  return err({ reason, detail });
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

/**
 * tor refuses port 0 and the all-zero address (tor_addr_port_is_valid), and
 * internal addresses unless ExtendAllowPrivateAddresses.
 */
function usable(address: IpAddress, port: number, allowPrivate: boolean): boolean {
  if (port === 0 || isUnspecifiedAddress(address)) return false;
  return allowPrivate || !isInternalAddress(address);
}

/** Checks an EXTEND2 and turns it into where to go and what to send there. */
export function planExtend(
  message: Extend2Message,
  context: ExtendContext,
): Result<ExtendPlan, ExtendRefusal> {
  let ipv4: { address: IpAddress; port: number } | undefined;
  let ipv6: { address: IpAddress; port: number } | undefined;
  let rsaIdentity: Uint8Array | undefined;
  let ed25519Identity: Uint8Array | undefined;
  for (const spec of message.linkSpecifiers) {
    switch (spec.kind) {
      case 'ipv4':
        ipv4 ??= { address: spec.address, port: spec.port };
        break;
      case 'ipv6':
        ipv6 ??= { address: spec.address, port: spec.port };
        break;
      case 'legacy-id':
        if (rsaIdentity) return refuse(DestroyReason.PROTOCOL, 'two legacy identities');
        rsaIdentity = spec.rsaIdentity;
        break;
      case 'ed25519-id':
        if (ed25519Identity) return refuse(DestroyReason.PROTOCOL, 'two Ed25519 identities');
        ed25519Identity = spec.ed25519Identity;
        break;
      case 'unrecognized':
        break;
    }
  }
  if (!rsaIdentity) return refuse(DestroyReason.PROTOCOL, 'no legacy identity');
  if (!ipv4 && !ipv6) return refuse(DestroyReason.PROTOCOL, 'no address');
  if (isZero(rsaIdentity)) return refuse(DestroyReason.PROTOCOL, 'all-zero legacy identity');
  // "Ed25519 identity keys are not required in EXTEND2 cells, so all zero keys SHOULD be accepted."
  if (ed25519Identity && isZero(ed25519Identity)) ed25519Identity = undefined;

  const { handshakeType, handshakeData } = message;
  if (handshakeType === HANDSHAKE_TYPE_FAST) return refuse(DestroyReason.PROTOCOL, 'CREATE_FAST in EXTEND2');
  if (handshakeType === HandshakeType.TAP && handshakeData.length !== TAP_CLIENT_HANDSHAKE_LENGTH) {
    return refuse(DestroyReason.PROTOCOL, `TAP HLEN ${handshakeData.length}`);
  }
  if (handshakeType === HandshakeType.NTOR && handshakeData.length !== NTOR_ONIONSKIN_LENGTH) {
    return refuse(DestroyReason.PROTOCOL, `ntor HLEN ${handshakeData.length}`);
  }

  const addresses: Array<{ address: string; port: number }> = [];
  for (const candidate of [ipv4, ipv6]) {
    if (candidate && usable(candidate.address, candidate.port, context.allowPrivateAddresses)) {
      addresses.push({ address: formatIpAddress(candidate.address), port: candidate.port });
    }
  }
  if (addresses.length === 0) return refuse(DestroyReason.PROTOCOL, 'no usable address');

  const previous = context.previousHop;
  if (previous.rsaIdentity && bytesEqual(previous.rsaIdentity, rsaIdentity)) {
    return refuse(DestroyReason.PROTOCOL, 'extend back to the previous hop');
  }
  if (ed25519Identity && previous.ed25519Identity && bytesEqual(previous.ed25519Identity, ed25519Identity)) {
    return refuse(DestroyReason.PROTOCOL, 'extend back to the previous hop (Ed25519)');
  }
  if (
    bytesEqual(rsaIdentity, context.ourRsaIdentity) ||
    (ed25519Identity !== undefined && bytesEqual(ed25519Identity, context.ourEd25519Identity))
  ) {
    return refuse(DestroyReason.CONNECTFAILED, 'extend to ourselves');
  }

  return ok({
    target: { addresses, rsaIdentity: rsaIdentity.slice(), ed25519Identity: ed25519Identity?.slice() },
    create: { type: 'create2', handshakeType, handshakeData },
  });
}

/** The key under which launches to the same identities are shared. */
export function targetKey(target: ExtendTarget): string {
  return `${toHex(target.rsaIdentity)}/${target.ed25519Identity ? toHex(target.ed25519Identity) : ''}`;
}

/** Whether a channel's proven identities satisfy a target (channel_remote_identity_matches()). */
export function peerMatchesTarget(peer: ChannelPeer, target: ExtendTarget): boolean {
  if (!peer.rsaIdentity || !bytesEqual(peer.rsaIdentity, target.rsaIdentity)) return false;
  if (!target.ed25519Identity) return true;
  return peer.ed25519Identity !== undefined && bytesEqual(peer.ed25519Identity, target.ed25519Identity);
}

function sameAddress(a: string, b: string): boolean {
  const x = parseIpAddress(a);
  const y = parseIpAddress(b);
  return x !== undefined && y !== undefined && x.family === y.family && bytesEqual(x.bytes, y.bytes);
}

/** Open channels by proven RSA identity. */
export class IdentityChannelIndex {
  private readonly byRsa = new Map<string, Set<Channel>>();

  add(channel: Channel): void {
    const rsa = channel.peer.rsaIdentity;
    if (!rsa) return;
    const key = toHex(rsa);
    let set = this.byRsa.get(key);
    if (!set) {
      set = new Set();
      this.byRsa.set(key, set);
    }
    set.add(channel);
  }

  remove(channel: Channel): void {
    const rsa = channel.peer.rsaIdentity;
    if (!rsa) return;
    const key = toHex(rsa);
    const set = this.byRsa.get(key);
    if (!set) return;
    set.delete(channel);
    if (set.size === 0) this.byRsa.delete(key);
  }

  /**
   * An open channel usable for `target`: identities match, and either we
   * opened it or the peer's address is one the target lists. Prefers the
   * channel with the most circuits, as a stand-in for C tor's "oldest
   * canonical" choice, so traffic concentrates on one channel per relay.
   */
  find(target: ExtendTarget): Channel | undefined {
    const set = this.byRsa.get(toHex(target.rsaIdentity));
    if (!set) return undefined;
    let best: Channel | undefined;
    for (const channel of set) {
      if (channel.isClosed || !peerMatchesTarget(channel.peer, target)) continue;
      const canonical =
        channel.peer.initiatedLocally ||
        target.addresses.some((a) => sameAddress(a.address, channel.peer.remoteAddress));
      if (!canonical) continue;
      if (!best || channel.circuits.size > best.circuits.size) best = channel;
    }
    return best;
  }
}
