/**
 * RELAY_END body (tor-spec 6.3): a reason byte, and for EXITPOLICY the
 * refused address and a TTL.
 *
 * Following C tor: an empty body means REASON_MISC; for EXITPOLICY, 4 or 8
 * bytes after the reason are IPv4 (+TTL), 16 or 20 are IPv6 (+TTL), a
 * missing TTL reads as 0xffffffff, and any other length carries no address
 * ("the RELAY_END message should be processed anyway"). Bytes after the
 * reason of any other END are ignored.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { InternalError, IPV4_LENGTH, IPV6_LENGTH, type IpAddress } from '@relayd/common';

/** Stream close reasons (tor-spec 6.3; ENTRYPOLICY 15 from C tor's or.h). Others must be accepted. */
export const EndReason = {
  MISC: 1,
  RESOLVEFAILED: 2,
  CONNECTREFUSED: 3,
  EXITPOLICY: 4,
  DESTROY: 5,
  DONE: 6,
  TIMEOUT: 7,
  NOROUTE: 8,
  HIBERNATING: 9,
  INTERNAL: 10,
  RESOURCELIMIT: 11,
  CONNRESET: 12,
  TORPROTOCOL: 13,
  NOTDIRECTORY: 14,
  ENTRYPOLICY: 15,
} as const;

export type EndReasonName = keyof typeof EndReason;

const NAMES = new Map<number, EndReasonName>(
  Object.entries(EndReason).map(([name, value]) => [value, name as EndReasonName]),
);

/** The spec name of a stream close reason, or undefined for a value outside the table. */
export function endReasonName(reason: number): EndReasonName | undefined {
  return NAMES.get(reason);
}

/** "If the TTL is absent, it should be treated as if it were 0xffffffff." */
export const END_DEFAULT_TTL = 0xffffffff;

export interface EndMessage {
  readonly type: 'end';
  readonly reason: number;
  /** Only for EXITPOLICY, and only when the sender included an address. */
  readonly exitPolicy: { readonly address: IpAddress; readonly ttl: number } | null;
}

export function readEnd(r: ByteReader): EndMessage {
  if (r.remaining === 0) return { type: 'end', reason: EndReason.MISC, exitPolicy: null };
  const reason = r.u8('reason');
  if (reason !== EndReason.EXITPOLICY) return { type: 'end', reason, exitPolicy: null };
  const n = r.remaining;
  let address: IpAddress;
  if (n === IPV4_LENGTH || n === IPV4_LENGTH + 4)
    address = { family: 'ipv4', bytes: r.take(IPV4_LENGTH).slice() };
  else if (n === IPV6_LENGTH || n === IPV6_LENGTH + 4)
    address = { family: 'ipv6', bytes: r.take(IPV6_LENGTH).slice() };
  else return { type: 'end', reason, exitPolicy: null };
  const ttl = r.remaining === 4 ? r.u32('TTL') : END_DEFAULT_TTL;
  return { type: 'end', reason, exitPolicy: { address, ttl } };
}

export function writeEnd(w: ByteWriter, message: EndMessage): void {
  w.u8(message.reason);
  const policy = message.exitPolicy;
  if (!policy) return;
  if (message.reason !== EndReason.EXITPOLICY) {
    throw new InternalError(`END reason ${message.reason} cannot carry an exit-policy address`);
  }
  const expected = policy.address.family === 'ipv4' ? IPV4_LENGTH : IPV6_LENGTH;
  if (policy.address.bytes.length !== expected) throw new InternalError('END address has the wrong length');
  w.bytes(policy.address.bytes).u32(policy.ttl);
}
