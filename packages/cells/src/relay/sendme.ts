/**
 * RELAY_SENDME body (tor-spec 7.3.1, 7.4).
 *
 *   VERSION [1] | DATA_LEN [2] | DATA [DATA_LEN]
 *
 * An empty body is a version 0 SENDME (the legacy form, and every
 * stream-level SENDME). Version 0 ignores the rest. Version 1 carries the
 * 20-byte rolling digest of the cell that triggered it: a DATA_LEN under 20
 * is malformed, extra DATA after the digest is ignored. Other versions are
 * decoded as `unknown-version` so the circuit code can close the circuit
 * for that precise reason.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { InternalError } from '@relayd/common';

export const SENDME_V1_DIGEST_LENGTH = 20;

export type SendmeMessage =
  | { readonly type: 'sendme'; readonly kind: 'v0' }
  | { readonly type: 'sendme'; readonly kind: 'v1'; readonly digest: Uint8Array }
  | {
      readonly type: 'sendme';
      readonly kind: 'unknown-version';
      readonly version: number;
      readonly data: Uint8Array;
    };

export function readSendme(r: ByteReader): SendmeMessage {
  if (r.remaining === 0) return { type: 'sendme', kind: 'v0' };
  const version = r.u8('version');
  if (version === 0) return { type: 'sendme', kind: 'v0' };
  const dataLength = r.u16('data length');
  const data = r.take(dataLength, 'data');
  if (version === 1) {
    if (dataLength < SENDME_V1_DIGEST_LENGTH) r.fail(`v1 data length ${dataLength} is under 20`);
    return { type: 'sendme', kind: 'v1', digest: data.slice(0, SENDME_V1_DIGEST_LENGTH) };
  }
  return { type: 'sendme', kind: 'unknown-version', version, data: data.slice() };
}

export function writeSendme(w: ByteWriter, message: SendmeMessage): void {
  switch (message.kind) {
    case 'v0':
      return;
    case 'v1':
      if (message.digest.length !== SENDME_V1_DIGEST_LENGTH) {
        throw new InternalError(`SENDME v1 digest must be 20 bytes, not ${message.digest.length}`);
      }
      w.u8(1).u16(SENDME_V1_DIGEST_LENGTH).bytes(message.digest);
      return;
    case 'unknown-version':
      if (!Number.isInteger(message.version) || message.version < 2 || message.version > 0xff) {
        throw new InternalError(`not an unknown SENDME version: ${message.version}`);
      }
      w.u8(message.version).nested16((inner) => inner.bytes(message.data));
      return;
  }
}
