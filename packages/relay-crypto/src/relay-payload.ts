/**
 * The few facts about a relay cell payload that relay crypto needs, and no
 * more: this package deliberately does not parse relay messages (that is the
 * cells package's job), it only knows where the header fields sit.
 *
 * tor-spec 6.1, the unencrypted relay payload:
 *
 *   Relay command  [1 byte]   offset 0
 *   'Recognized'   [2 bytes]  offset 1
 *   StreamID       [2 bytes]  offset 3
 *   Digest         [4 bytes]  offset 5
 *   Length         [2 bytes]  offset 9
 *   Data           [Length bytes], then padding, up to PAYLOAD_LEN (509)
 */

/** PAYLOAD_LEN for link protocol 4 and later: CELL_LEN (514) less circuit id (4) and command (1). */
export const RELAY_PAYLOAD_LENGTH = 509;

/** Byte offsets of the relay header fields (tor-spec 6.1). */
export const RelayHeaderOffset = {
  command: 0,
  recognized: 1,
  streamId: 3,
  digest: 5,
  length: 9,
  data: 11,
} as const;

/** Width of the 'Digest' field: the first 4 bytes of the running digest. */
export const RELAY_DIGEST_FIELD_LENGTH = 4;

/** Width of a SENDME v1 DIGEST: the full 20-byte running SHA-1 value (tor-spec 7.3.1). */
export const SENDME_TAG_LENGTH = 20;

export function assertRelayPayload(payload: Uint8Array): void {
  if (payload.length !== RELAY_PAYLOAD_LENGTH) {
    throw new RangeError(`relay payload must be ${RELAY_PAYLOAD_LENGTH} bytes, got ${payload.length}`);
  }
}
