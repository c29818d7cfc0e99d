/**
 * The NETINFO exchange that ends a link handshake (tor-spec 4.5; C tor
 * connection_or.c `connection_or_send_netinfo`, channeltls.c
 * `channel_tls_process_netinfo_cell`).
 *
 * What each side sends:
 * - a responder, and an initiator that authenticated as a relay: its clock,
 *   the peer's address, and its own addresses;
 * - an initiator that did not authenticate (a client, or a bridge extending
 *   a circuit): time 0, the peer's address, no addresses of its own.
 * What is refused on receipt: an OTHERADDR that is not a well-formed IPv4 or
 * IPv6 address (C tor closes the connection); bad MYADDR entries are skipped.
 */
import {
  type CellFraming,
  ChannelCommand,
  decodeChannelMessage,
  encodeChannelMessageCell,
  type IpAddress,
  type NetinfoAddress,
} from '@relayd/cells';
import { err, ok, type Result } from '@relayd/common';
import { LinkHandshakeError } from './link-error.js';

/** What the peer's NETINFO cell said. */
export interface PeerNetinfo {
  /** The peer's clock in seconds since the epoch, or 0 when it sent none (clients send 0). */
  readonly timestampSeconds: number;
  /** The address the peer sees for us (its OTHERADDR). */
  readonly ourAddress: IpAddress;
  /** The addresses the peer claims as its own; unrecognized entries are dropped. */
  readonly peerAddresses: readonly IpAddress[];
}

export interface NetinfoToSend {
  /** Seconds since the epoch, or 0 to not reveal our clock. */
  readonly timestampSeconds: number;
  /** The peer's address as we see it. */
  readonly otherAddress: IpAddress;
  readonly myAddresses: readonly IpAddress[];
}

/** Encodes a NETINFO cell (circuit ID 0) for the negotiated framing. */
export function encodeNetinfoCell(netinfo: NetinfoToSend, framing: CellFraming): Uint8Array {
  return encodeChannelMessageCell(
    0,
    {
      type: 'netinfo',
      timestamp: netinfo.timestampSeconds >>> 0,
      otherAddress: netinfo.otherAddress,
      myAddresses: netinfo.myAddresses,
    },
    framing,
  );
}

function isIp(address: NetinfoAddress): address is IpAddress {
  return address.family === 'ipv4' || address.family === 'ipv6';
}

/** Reads a received NETINFO cell body. Total. */
export function readPeerNetinfo(body: Uint8Array): Result<PeerNetinfo, LinkHandshakeError> {
  const decoded = decodeChannelMessage(ChannelCommand.NETINFO, body);
  if (!decoded.ok) {
    return err(new LinkHandshakeError('MALFORMED_CELL', decoded.error.message, { cause: decoded.error }));
  }
  const message = decoded.value;
  if (message.type !== 'netinfo') {
    return err(new LinkHandshakeError('MALFORMED_CELL', 'NETINFO cell did not decode as NETINFO'));
  }
  const ourAddress = message.otherAddress;
  if (!isIp(ourAddress)) {
    return err(
      new LinkHandshakeError(
        'BAD_NETINFO',
        `NETINFO OTHERADDR has address type ${ourAddress.addressType} and length ${ourAddress.value.length}`,
      ),
    );
  }
  return ok({
    timestampSeconds: message.timestamp,
    ourAddress,
    peerAddresses: message.myAddresses.filter(isIp),
  });
}
