/**
 * The relay cell layout (tor-spec 6.1): the 509-byte plaintext payload of a
 * RELAY or RELAY_EARLY cell.
 *
 *   Relay command [1] | 'Recognized' [2] | StreamID [2] | Digest [4] |
 *   Length [2] | Data [Length] | Padding [509 - 11 - Length]
 *
 * Owns the header layout, the padding rule, and in-place access to the
 * 'recognized' and digest fields for the relay crypto, which zeroes the
 * digest, hashes the payload and patches the first four bytes of the running
 * digest in. It does not encrypt or check digests.
 */
import { DecodeError, decodeWith, InternalError, ok, type Random, type Result } from '@relayd/common';
import { CELL_BODY_LENGTH } from '../channel/channel-cell.js';

/** The relay payload is the whole body of its channel cell. */
export const RELAY_PAYLOAD_LENGTH = CELL_BODY_LENGTH;
export const RELAY_HEADER_LENGTH = 11;
/** The most data one relay cell carries: 509 - 11. */
export const RELAY_DATA_MAX_LENGTH = RELAY_PAYLOAD_LENGTH - RELAY_HEADER_LENGTH;

export const RELAY_COMMAND_OFFSET = 0;
export const RELAY_RECOGNIZED_OFFSET = 1;
export const RELAY_STREAM_ID_OFFSET = 3;
export const RELAY_DIGEST_OFFSET = 5;
export const RELAY_DIGEST_LENGTH = 4;
export const RELAY_LENGTH_OFFSET = 9;

/**
 * "Implementations SHOULD fill this field with four zero-valued bytes,
 * followed by as many random bytes as will fit." (tor-spec 6.1, proposal 289)
 */
export const RELAY_PADDING_ZERO_PREFIX = 4;

/** A decoded relay payload. */
export interface RelayCell {
  readonly command: number;
  readonly recognized: number;
  /** 0 for circuit-level ("control") messages. */
  readonly streamId: number;
  /** 4 bytes. */
  readonly digest: Uint8Array;
  /** `Length` bytes, copied. */
  readonly data: Uint8Array;
}

/** What a sender chooses; 'recognized' and the digest are written as zero for the relay crypto to fill. */
export interface RelayCellFields {
  readonly command: number;
  readonly streamId: number;
  readonly data: Uint8Array;
}

const OBJECT = 'relay cell';

/**
 * Reads the header and data of a decrypted, recognized relay payload. The
 * payload must be exactly 509 bytes (shorter is `incomplete`, longer
 * `malformed`), and Length at most 498. `digest` and `data` are copies.
 */
export function decodeRelayCell(payload: Uint8Array): Result<RelayCell, DecodeError> {
  const view = viewRelayCell(payload);
  if (!view.ok) return view;
  return ok({ ...view.value, digest: view.value.digest.slice(), data: view.value.data.slice() });
}

/**
 * decodeRelayCell without the copies: `digest` and `data` are views into
 * `payload`, valid only while the payload is neither modified nor reused.
 * For the relay engine, which acts on a cell before it lets go of it.
 */
export function viewRelayCell(payload: Uint8Array): Result<RelayCell, DecodeError> {
  return decodeWith(payload, OBJECT, (r) => {
    if (r.remaining > RELAY_PAYLOAD_LENGTH)
      r.fail(`payload is ${r.remaining} bytes, not ${RELAY_PAYLOAD_LENGTH}`);
    if (r.remaining < RELAY_PAYLOAD_LENGTH) {
      throw new DecodeError(
        'incomplete',
        OBJECT,
        `payload is ${r.remaining} bytes, not ${RELAY_PAYLOAD_LENGTH}`,
      );
    }
    const command = r.u8('relay command');
    const recognized = r.u16('recognized');
    const streamId = r.u16('stream id');
    const digest = r.take(RELAY_DIGEST_LENGTH, 'digest');
    const length = r.u16('length');
    if (length > RELAY_DATA_MAX_LENGTH) r.fail(`length ${length} exceeds ${RELAY_DATA_MAX_LENGTH}`);
    const data = r.take(length, 'data');
    // "Implementations MUST NOT rely on the contents of the 'Padding' field."
    return { command, recognized, streamId, digest, data };
  });
}

/**
 * Builds a 509-byte relay payload with 'recognized' and digest zero, and
 * padding of four zero bytes then bytes from `random` (all zero when fewer
 * than four bytes are left). Writes every byte of `out` (default: a new
 * array), so it may be memory from a CellBodyAllocator. Throws
 * InternalError for data over 498 bytes, out-of-range header values or an
 * `out` that is not 509 bytes.
 */
export function encodeRelayCell(
  fields: RelayCellFields,
  random: Random,
  out: Uint8Array = new Uint8Array(RELAY_PAYLOAD_LENGTH),
): Uint8Array {
  const { command, streamId, data } = fields;
  if (!Number.isInteger(command) || command < 0 || command > 0xff) {
    throw new InternalError(`relay command out of range: ${command}`);
  }
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffff) {
    throw new InternalError(`stream id out of range: ${streamId}`);
  }
  if (data.length > RELAY_DATA_MAX_LENGTH) {
    throw new InternalError(`relay data too long: ${data.length} > ${RELAY_DATA_MAX_LENGTH}`);
  }
  checkPayload(out);
  out[RELAY_COMMAND_OFFSET] = command;
  out[RELAY_RECOGNIZED_OFFSET] = 0;
  out[RELAY_RECOGNIZED_OFFSET + 1] = 0;
  out[RELAY_STREAM_ID_OFFSET] = streamId >>> 8;
  out[RELAY_STREAM_ID_OFFSET + 1] = streamId & 0xff;
  out.fill(0, RELAY_DIGEST_OFFSET, RELAY_DIGEST_OFFSET + RELAY_DIGEST_LENGTH);
  out[RELAY_LENGTH_OFFSET] = data.length >>> 8;
  out[RELAY_LENGTH_OFFSET + 1] = data.length & 0xff;
  out.set(data, RELAY_HEADER_LENGTH);
  const dataEnd = RELAY_HEADER_LENGTH + data.length;
  const randomAt = dataEnd + RELAY_PADDING_ZERO_PREFIX;
  if (randomAt < RELAY_PAYLOAD_LENGTH) {
    out.fill(0, dataEnd, randomAt);
    const n = RELAY_PAYLOAD_LENGTH - randomAt;
    const padding = random.bytes(n);
    if (padding.length !== n) throw new InternalError(`Random returned ${padding.length} bytes, not ${n}`);
    out.set(padding, randomAt);
  } else {
    out.fill(0, dataEnd);
  }
  return out;
}

function checkPayload(payload: Uint8Array): void {
  if (payload.length !== RELAY_PAYLOAD_LENGTH) {
    throw new InternalError(`relay payload must be ${RELAY_PAYLOAD_LENGTH} bytes, not ${payload.length}`);
  }
}

/** The relay command byte of a payload. Throws InternalError unless it is 509 bytes. */
export function readRelayCommand(payload: Uint8Array): number {
  checkPayload(payload);
  return payload[RELAY_COMMAND_OFFSET]!;
}

/** The 'recognized' field. Throws InternalError unless the payload is 509 bytes. */
export function readRecognized(payload: Uint8Array): number {
  checkPayload(payload);
  return (payload[RELAY_RECOGNIZED_OFFSET]! << 8) | payload[RELAY_RECOGNIZED_OFFSET + 1]!;
}

/** Sets the 'recognized' field in place. */
export function writeRecognized(payload: Uint8Array, value: number): void {
  checkPayload(payload);
  if (!Number.isInteger(value) || value < 0 || value > 0xffff)
    throw new InternalError(`recognized out of range: ${value}`);
  payload[RELAY_RECOGNIZED_OFFSET] = value >>> 8;
  payload[RELAY_RECOGNIZED_OFFSET + 1] = value & 0xff;
}

/** A copy of the 4-byte digest field. */
export function readRelayDigest(payload: Uint8Array): Uint8Array {
  checkPayload(payload);
  return payload.slice(RELAY_DIGEST_OFFSET, RELAY_DIGEST_OFFSET + RELAY_DIGEST_LENGTH);
}

/**
 * Writes the digest field in place. Accepts a 4-byte value or a longer
 * running-digest output, of which the first four bytes are used (tor-spec 6.1).
 */
export function writeRelayDigest(payload: Uint8Array, digest: Uint8Array): void {
  checkPayload(payload);
  if (digest.length < RELAY_DIGEST_LENGTH) throw new InternalError(`digest too short: ${digest.length}`);
  payload.set(digest.subarray(0, RELAY_DIGEST_LENGTH), RELAY_DIGEST_OFFSET);
}

/** Zeroes the digest field in place, as the digest is computed "with the digest field set to zero". */
export function zeroRelayDigest(payload: Uint8Array): void {
  checkPayload(payload);
  payload.fill(0, RELAY_DIGEST_OFFSET, RELAY_DIGEST_OFFSET + RELAY_DIGEST_LENGTH);
}
