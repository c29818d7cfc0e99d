/**
 * Channel cell framing (tor-spec section 3): splitting a byte stream into
 * cells and writing cells back, for link protocols 3 and later.
 *
 * Owns the two cell layouts and the circuit-ID width rule: one cell from the
 * front of a buffer (decodeChannelCell), one cell into a new buffer or into
 * a caller's (encodeChannelCell, encodeChannelCellInto), and the header
 * reading that ChannelCellReader shares to frame a stream in place. It does
 * not interpret bodies (see channel-message.ts) and does not decide which
 * commands a channel accepts in which state (see channel-phase.ts).
 *
 *   fixed-length:    CircID [2|4] | Command [1] | Payload [509]
 *   variable-length: CircID [2|4] | Command [1] | Length [2] | Payload [Length]
 */
import { DecodeError, InternalError } from '@relayd/common';
import { isVariableLengthCommand } from './channel-command.js';

/** PAYLOAD_LEN: the body of every fixed-length cell (tor-spec 0.2). */
export const CELL_BODY_LENGTH = 509;

/**
 * The largest variable-length body the framer accepts by default. The Length
 * field is a u16, so 65535 is the protocol's own ceiling; a caller that wants
 * to bound buffering per channel more tightly passes `maxVariableBodyLength`.
 */
export const MAX_VARIABLE_BODY_LENGTH = 0xffff;

/** The oldest link protocol relayd frames: 3, the "in-protocol" handshake (tor-spec 4.1). */
export const MIN_LINK_VERSION = 3;

/** "CIRCID_LEN is 4 for link protocol version 4 or higher." (tor-spec 3) */
export const WIDE_CIRC_ID_MIN_LINK_VERSION = 4;

/**
 * How to frame cells on a channel.
 *
 * - `'negotiating'`: before a link protocol is agreed. "The first VERSIONS
 *   cell, and any cells sent before the first VERSIONS cell, always have
 *   CIRCID_LEN == 2" (tor-spec 3); variable-length commands follow the v3
 *   rule. Use it for the VERSIONS cells both sides send first.
 * - a link protocol version (an integer, 3 or later): 2-byte circuit IDs for
 *   version 3, 4-byte for 4 and later. This applies to every command,
 *   including any later VERSIONS cell ("later VERSIONS cells MUST have a
 *   CIRCID_LEN matching the version negotiated", tor-spec 4.1).
 */
export type CellFraming = 'negotiating' | number;

/** One framed cell. `body` is 509 bytes for fixed-length commands, `Length` bytes for variable-length ones. */
export interface ChannelCell {
  readonly circId: number;
  readonly command: number;
  readonly body: Uint8Array;
}

/** The outcome of trying to take one cell from the front of a buffer. */
export type ChannelFrame =
  /** A whole cell. `cell.body` is a copy, safe to keep and to modify in place. */
  | { readonly kind: 'cell'; readonly cell: ChannelCell; readonly bytesConsumed: number }
  /** The buffer holds only part of a cell. Call again once it holds at least `bytesNeeded` bytes. */
  | { readonly kind: 'incomplete'; readonly bytesNeeded: number }
  /** The bytes can never frame a valid cell; the channel must be closed. */
  | { readonly kind: 'malformed'; readonly error: DecodeError };

export interface FramingOptions {
  /**
   * Reject variable-length cells whose Length exceeds this (default and
   * maximum: 65535). Lowering it bounds what one cell can make a channel
   * buffer.
   */
  readonly maxVariableBodyLength?: number;
}

/** CIRCID_LEN for a framing: 2 or 4 bytes. Throws InternalError for a link version below 3. */
export function circIdLength(framing: CellFraming): 2 | 4 {
  if (framing === 'negotiating') return 2;
  if (!Number.isInteger(framing) || framing < MIN_LINK_VERSION || framing > 0xffff) {
    throw new InternalError(`unsupported link protocol version for framing: ${framing}`);
  }
  return framing >= WIDE_CIRC_ID_MIN_LINK_VERSION ? 4 : 2;
}

/** The size of a fixed-length cell on the wire: 512 (2-byte circuit IDs) or 514 (4-byte). */
export function fixedCellLength(framing: CellFraming): 512 | 514 {
  return circIdLength(framing) === 4 ? 514 : 512;
}

const OBJECT = 'channel cell';

/**
 * Takes the first cell from `buffer`. Never throws for any buffer content and
 * never reads past its end; only an invalid `framing` or `options` (a caller
 * bug) throws InternalError.
 */
export function decodeChannelCell(
  buffer: Uint8Array,
  framing: CellFraming,
  options: FramingOptions = {},
): ChannelFrame {
  const idLen = circIdLength(framing);
  const limit = variableBodyLimit(options);
  const length = cellLengthAt(buffer, 0, buffer.length, idLen, limit);
  if (length === MALFORMED_LENGTH) {
    return { kind: 'malformed', error: oversizedCellError(buffer, 0, idLen, limit) };
  }
  if (length < 0) return { kind: 'incomplete', bytesNeeded: -length };
  if (buffer.length < length) return { kind: 'incomplete', bytesNeeded: length };
  const bodyAt = cellBodyOffset(buffer[idLen]!, idLen);
  return {
    kind: 'cell',
    cell: {
      circId: readCircId(buffer, 0, idLen),
      command: buffer[idLen]!,
      body: buffer.slice(bodyAt, length),
    },
    bytesConsumed: length,
  };
}

/** `cellLengthAt`'s answer for a variable-length cell whose Length is over the limit. */
export const MALFORMED_LENGTH = 0;

/**
 * The framing of the cell that starts at `bytes[at]`, with `end` the end of
 * the bytes available (shared by decodeChannelCell and ChannelCellReader):
 *
 * - its total length on the wire once its header is there (the body may
 *   still be missing);
 * - `-n` while its header is incomplete: `n` bytes from `at` are needed to
 *   read it;
 * - MALFORMED_LENGTH for a variable-length cell over `limit`.
 */
export function cellLengthAt(
  bytes: Uint8Array,
  at: number,
  end: number,
  idLen: 2 | 4,
  limit: number,
): number {
  if (end - at < idLen + 1) return -(idLen + 1);
  const command = bytes[at + idLen]!;
  if (!isVariableLengthCommand(command)) return idLen + 1 + CELL_BODY_LENGTH;
  if (end - at < idLen + 3) return -(idLen + 3);
  const length = (bytes[at + idLen + 1]! << 8) | bytes[at + idLen + 2]!;
  if (length > limit) return MALFORMED_LENGTH;
  return idLen + 3 + length;
}

/** Where the body of a cell with `command` starts, from the start of the cell. */
export function cellBodyOffset(command: number, idLen: 2 | 4): number {
  return isVariableLengthCommand(command) ? idLen + 3 : idLen + 1;
}

/** The error for a cell `cellLengthAt` called MALFORMED_LENGTH (it read that cell's whole header). */
export function oversizedCellError(bytes: Uint8Array, at: number, idLen: 2 | 4, limit: number): DecodeError {
  const command = bytes[at + idLen]!;
  const length = (bytes[at + idLen + 1]! << 8) | bytes[at + idLen + 2]!;
  return new DecodeError(
    'malformed',
    OBJECT,
    `variable-length cell (command ${command}) of ${length} bytes exceeds the limit of ${limit}`,
  );
}

/**
 * Writes one cell. A fixed-length body shorter than 509 bytes is padded with
 * zero bytes ("Padding bytes SHOULD be set to NUL", tor-spec 3); relay cells
 * arrive here already 509 bytes long with their own random padding.
 * Throws InternalError for a circuit ID that does not fit the framing, a
 * fixed-length body over 509 bytes or a variable-length body over 65535.
 */
export function encodeChannelCell(cell: ChannelCell, framing: CellFraming): Uint8Array {
  const out = new Uint8Array(checkEncodableCell(cell.circId, cell.command, cell.body.length, framing));
  encodeChannelCellInto(out, 0, cell.circId, cell.command, cell.body, framing);
  return out;
}

/**
 * Writes one cell into `out` at `at`, as encodeChannelCell lays it out, and
 * returns the number of bytes written (as checkEncodableCell). Every byte of
 * the cell is written, padding included, so `out` may hold anything before.
 * Throws InternalError as encodeChannelCell does, and for a cell that does
 * not fit in `out`.
 */
export function encodeChannelCellInto(
  out: Uint8Array,
  at: number,
  circId: number,
  command: number,
  body: Uint8Array,
  framing: CellFraming,
): number {
  const total = checkEncodableCell(circId, command, body.length, framing);
  if (!Number.isInteger(at) || at < 0 || at + total > out.length) {
    throw new InternalError(`a ${total}-byte cell does not fit in ${out.length} bytes at ${at}`);
  }
  const idLen = circIdLength(framing);
  writeCircId(out, at, idLen, circId);
  out[at + idLen] = command;
  if (isVariableLengthCommand(command)) {
    out[at + idLen + 1] = body.length >>> 8;
    out[at + idLen + 2] = body.length & 0xff;
    out.set(body, at + idLen + 3);
  } else {
    out.set(body, at + idLen + 1);
    if (body.length < CELL_BODY_LENGTH) out.fill(0, at + idLen + 1 + body.length, at + total);
  }
  return total;
}

/**
 * Checks that a cell can be encoded and returns its size on the wire, as
 * encodedCellLength. Throws InternalError where encodeChannelCell would: for
 * a circuit ID that does not fit the framing, a command out of range, a
 * fixed-length body over 509 bytes or a variable-length body over 65535.
 */
export function checkEncodableCell(
  circId: number,
  command: number,
  bodyLength: number,
  framing: CellFraming,
): number {
  const idLen = circIdLength(framing);
  const maxId = idLen === 4 ? 0xffffffff : 0xffff;
  if (!Number.isInteger(circId) || circId < 0 || circId > maxId) {
    throw new InternalError(`circuit ID ${circId} does not fit in ${idLen} bytes`);
  }
  if (!Number.isInteger(command) || command < 0 || command > 0xff) {
    throw new InternalError(`cell command out of range: ${command}`);
  }
  if (isVariableLengthCommand(command)) {
    if (bodyLength > MAX_VARIABLE_BODY_LENGTH) {
      throw new InternalError(`variable-length cell body too long: ${bodyLength}`);
    }
    return idLen + 3 + bodyLength;
  }
  if (bodyLength > CELL_BODY_LENGTH) {
    throw new InternalError(`fixed-length cell body too long: ${bodyLength}`);
  }
  return idLen + 1 + CELL_BODY_LENGTH;
}

/** The variable-length body limit `options` set. Throws InternalError when it is out of range. */
export function variableBodyLimit(options: FramingOptions): number {
  const limit = options.maxVariableBodyLength ?? MAX_VARIABLE_BODY_LENGTH;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_VARIABLE_BODY_LENGTH) {
    throw new InternalError(`maxVariableBodyLength out of range: ${limit}`);
  }
  return limit;
}

/** Reads the circuit ID of the cell at `at`. */
export function readCircId(buffer: Uint8Array, at: number, idLen: 2 | 4): number {
  if (idLen === 2) return (buffer[at]! << 8) | buffer[at + 1]!;
  return ((buffer[at]! << 24) >>> 0) + ((buffer[at + 1]! << 16) | (buffer[at + 2]! << 8) | buffer[at + 3]!);
}

function writeCircId(out: Uint8Array, at: number, idLen: 2 | 4, circId: number): void {
  if (idLen === 2) {
    out[at] = circId >>> 8;
    out[at + 1] = circId & 0xff;
    return;
  }
  out[at] = circId >>> 24;
  out[at + 1] = (circId >>> 16) & 0xff;
  out[at + 2] = (circId >>> 8) & 0xff;
  out[at + 3] = circId & 0xff;
}
