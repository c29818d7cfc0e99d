/**
 * RELAY_CONNECTED body (tor-spec 6.2): empty, or the address connected to
 * and a TTL.
 *
 *   IPv4: ADDRESS [4] | TTL [4]
 *   IPv6: 00000000 [4] | 06 [1] | ADDRESS [16] | TTL [4]
 *
 * Answers to BEGIN_DIR are empty ("clients MUST ignore the payload").
 * Bytes after the TTL are ignored, as C tor does.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { InternalError, IPV4_LENGTH, IPV6_LENGTH, type IpAddress } from '@relayd/common';

/** The address type byte of the IPv6 form. */
const CONNECTED_IPV6_TYPE = 6;

export interface ConnectedMessage {
  readonly type: 'connected';
  /** null for the empty form. */
  readonly resolved: { readonly address: IpAddress; readonly ttl: number } | null;
}

export function readConnected(r: ByteReader): ConnectedMessage {
  if (r.remaining === 0) return { type: 'connected', resolved: null };
  const first = r.take(IPV4_LENGTH, 'IPv4 address');
  let address: IpAddress;
  if (first.some((b) => b !== 0)) {
    address = { family: 'ipv4', bytes: first.slice() };
  } else {
    const addressType = r.u8('address type');
    if (addressType !== CONNECTED_IPV6_TYPE) r.fail(`unknown address type ${addressType}`);
    address = { family: 'ipv6', bytes: r.take(IPV6_LENGTH, 'IPv6 address').slice() };
  }
  const ttl = r.u32('TTL');
  return { type: 'connected', resolved: { address, ttl } };
}

export function writeConnected(w: ByteWriter, message: ConnectedMessage): void {
  const resolved = message.resolved;
  if (!resolved) return;
  const { address, ttl } = resolved;
  if (address.family === 'ipv4') {
    if (address.bytes.length !== IPV4_LENGTH) throw new InternalError('IPv4 address must be 4 bytes');
    // Four zero bytes introduce the IPv6 form, so 0.0.0.0 cannot be said.
    if (address.bytes.every((b) => b === 0)) throw new InternalError('CONNECTED cannot carry 0.0.0.0');
    w.bytes(address.bytes);
  } else {
    if (address.bytes.length !== IPV6_LENGTH) throw new InternalError('IPv6 address must be 16 bytes');
    w.zeros(4).u8(CONNECTED_IPV6_TYPE).bytes(address.bytes);
  }
  w.u32(ttl);
}
