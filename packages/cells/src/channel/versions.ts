/**
 * VERSIONS cell body (tor-spec 4.1): the link protocol versions a party
 * speaks, as big-endian u16s. Choosing the common version is the link
 * handshake's job, not this module's.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';

export interface VersionsMessage {
  readonly type: 'versions';
  /** In the order the sender listed them. */
  readonly versions: readonly number[];
}

export function readVersions(r: ByteReader): VersionsMessage {
  // "Either party MUST close the connection if the versions cell is not
  // well-formed (for example, if the payload contains an odd number of bytes)."
  if (r.remaining % 2 !== 0) r.fail(`odd payload length ${r.remaining}`);
  const versions: number[] = [];
  while (r.remaining > 0) versions.push(r.u16('version'));
  return { type: 'versions', versions };
}

export function writeVersions(w: ByteWriter, message: VersionsMessage): void {
  // "VERSIONS: Payload MUST NOT contain padding bytes." (tor-spec 3)
  for (const v of message.versions) w.u16(v);
}
