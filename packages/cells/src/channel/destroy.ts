/**
 * DESTROY cell body (tor-spec 5.4): one reason byte. The same reason table
 * is used by RELAY_TRUNCATED.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';

/** Circuit close reasons (tor-spec 5.4). Receivers must accept values outside this table. */
export const DestroyReason = {
  NONE: 0,
  PROTOCOL: 1,
  INTERNAL: 2,
  REQUESTED: 3,
  HIBERNATING: 4,
  RESOURCELIMIT: 5,
  CONNECTFAILED: 6,
  OR_IDENTITY: 7,
  CHANNEL_CLOSED: 8,
  FINISHED: 9,
  TIMEOUT: 10,
  DESTROYED: 11,
  NOSUCHSERVICE: 12,
} as const;

export type DestroyReasonName = keyof typeof DestroyReason;

const NAMES = new Map<number, DestroyReasonName>(
  Object.entries(DestroyReason).map(([name, value]) => [value, name as DestroyReasonName]),
);

/** The spec name of a circuit close reason, or undefined for a value outside the table. */
export function destroyReasonName(reason: number): DestroyReasonName | undefined {
  return NAMES.get(reason);
}

export interface DestroyMessage {
  readonly type: 'destroy';
  /** Any byte; unknown reasons are kept as they are. */
  readonly reason: number;
}

export function readDestroy(r: ByteReader): DestroyMessage {
  return { type: 'destroy', reason: r.u8('reason') };
}

export function writeDestroy(w: ByteWriter, message: DestroyMessage): void {
  w.u8(message.reason);
}
