/**
 * Channel cell framing (tor-spec section 3): splitting a byte stream into
 * cells and writing cells back, for link protocols 3 and later.
 *
 * Owns the two cell layouts and the circuit-ID width rule. It does not
 * interpret bodies (see channel-message.ts) and does not decide which
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
  const commandAt = idLen;
  if (buffer.length < idLen + 1) return { kind: 'incomplete', bytesNeeded: idLen + 1 };
  const circId = readCircId(buffer, idLen);
  const command = buffer[commandAt]!;

  if (!isVariableLengthCommand(command)) {
    const total = idLen + 1 + CELL_BODY_LENGTH;
    if (buffer.length < total) return { kind: 'incomplete', bytesNeeded: total };
    return {
      kind: 'cell',
      cell: { circId, command, body: buffer.slice(idLen + 1, total) },
      bytesConsumed: total,
    };
  }

  const headerLen = idLen + 3;
  if (buffer.length < headerLen) return { kind: 'incomplete', bytesNeeded: headerLen };
  const length = (buffer[commandAt + 1]! << 8) | buffer[commandAt + 2]!;
  const limit = variableBodyLimit(options);
  if (length > limit) {
    return {
      kind: 'malformed',
      error: new DecodeError(
        'malformed',
        OBJECT,
        `variable-length cell (command ${command}) of ${length} bytes exceeds the limit of ${limit}`,
      ),
    };
  }
  const total = headerLen + length;
  if (buffer.length < total) return { kind: 'incomplete', bytesNeeded: total };
  return {
    kind: 'cell',
    cell: { circId, command, body: buffer.slice(headerLen, total) },
    bytesConsumed: total,
  };
}

/**
 * Writes one cell. A fixed-length body shorter than 509 bytes is padded with
 * zero bytes ("Padding bytes SHOULD be set to NUL", tor-spec 3); relay cells
 * arrive here already 509 bytes long with their own random padding.
 * Throws InternalError for a circuit ID that does not fit the framing, a
 * fixed-length body over 509 bytes or a variable-length body over 65535.
 */
export function encodeChannelCell(cell: ChannelCell, framing: CellFraming): Uint8Array {
  const idLen = circIdLength(framing);
  const maxId = idLen === 4 ? 0xffffffff : 0xffff;
  if (!Number.isInteger(cell.circId) || cell.circId < 0 || cell.circId > maxId) {
    throw new InternalError(`circuit ID ${cell.circId} does not fit in ${idLen} bytes`);
  }
  if (!Number.isInteger(cell.command) || cell.command < 0 || cell.command > 0xff) {
    throw new InternalError(`cell command out of range: ${cell.command}`);
  }
  const body = cell.body;
  let out: Uint8Array;
  let bodyAt: number;
  if (isVariableLengthCommand(cell.command)) {
    if (body.length > MAX_VARIABLE_BODY_LENGTH) {
      throw new InternalError(`variable-length cell body too long: ${body.length}`);
    }
    out = new Uint8Array(idLen + 3 + body.length);
    out[idLen + 1] = body.length >>> 8;
    out[idLen + 2] = body.length & 0xff;
    bodyAt = idLen + 3;
  } else {
    if (body.length > CELL_BODY_LENGTH) {
      throw new InternalError(`fixed-length cell body too long: ${body.length}`);
    }
    out = new Uint8Array(idLen + 1 + CELL_BODY_LENGTH);
    bodyAt = idLen + 1;
  }
  writeCircId(out, idLen, cell.circId);
  out[idLen] = cell.command;
  out.set(body, bodyAt);
  return out;
}

function variableBodyLimit(options: FramingOptions): number {
  const limit = options.maxVariableBodyLength ?? MAX_VARIABLE_BODY_LENGTH;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_VARIABLE_BODY_LENGTH) {
    throw new InternalError(`maxVariableBodyLength out of range: ${limit}`);
  }
  return limit;
}

function readCircId(buffer: Uint8Array, idLen: 2 | 4): number {
  if (idLen === 2) return (buffer[0]! << 8) | buffer[1]!;
  return ((buffer[0]! << 24) >>> 0) + ((buffer[1]! << 16) | (buffer[2]! << 8) | buffer[3]!);
}

function writeCircId(out: Uint8Array, idLen: 2 | 4, circId: number): void {
  if (idLen === 2) {
    out[0] = circId >>> 8;
    out[1] = circId & 0xff;
    return;
  }
  out[0] = circId >>> 24;
  out[1] = (circId >>> 16) & 0xff;
  out[2] = (circId >>> 8) & 0xff;
  out[3] = circId & 0xff;
}
