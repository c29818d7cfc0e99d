/**
 * Channel messages: the decoded meaning of a cell's command and body.
 *
 * Dispatches on the command byte to the per-cell modules and wraps them in
 * one discriminated union, `ChannelMessage`, keyed by `type`. Commands not in
 * the table decode as `unrecognized` with their body kept, because the spec
 * requires them to be dropped, not treated as errors. RELAY and RELAY_EARLY
 * stay opaque 509-byte payloads here: they are encrypted, and relay-cell.ts
 * reads them after decryption.
 *
 * Decoders are total: for any command and any bytes they return a Result and
 * never throw. Bodies of fixed-length cells arrive padded to 509 bytes;
 * decoders read what their layout needs and ignore the padding after it.
 */
import { ByteWriter, type DecodeError, decodeWith, InternalError, type Result } from '@relayd/common';
import { type AuthChallengeMessage, readAuthChallenge, writeAuthChallenge } from './auth-challenge.js';
import { type AuthenticateMessage, readAuthenticate, writeAuthenticate } from './authenticate.js';
import { type CertsMessage, readCerts, writeCerts } from './certs.js';
import { CELL_BODY_LENGTH, type CellFraming, type ChannelCell, encodeChannelCell } from './channel-cell.js';
import { ChannelCommand, channelCommandName, isVariableLengthCommand } from './channel-command.js';
import {
  type Create2Message,
  type Created2Message,
  type CreatedFastMessage,
  type CreatedMessage,
  type CreateFastMessage,
  type CreateMessage,
  readCreate,
  readCreate2,
  readCreated,
  readCreated2,
  readCreatedFast,
  readCreateFast,
  writeCreate,
  writeCreate2,
  writeCreated,
  writeCreated2,
  writeCreatedFast,
  writeCreateFast,
} from './circuit-create.js';
import { type DestroyMessage, readDestroy, writeDestroy } from './destroy.js';
import { type NetinfoMessage, readNetinfo, writeNetinfo } from './netinfo.js';
import {
  type PaddingMessage,
  type PaddingNegotiateMessage,
  readPaddingNegotiate,
  readVpadding,
  type VpaddingMessage,
  writePaddingNegotiate,
  writeVpadding,
} from './padding.js';
import { readVersions, type VersionsMessage, writeVersions } from './versions.js';

/** RELAY or RELAY_EARLY: the still-encrypted 509-byte relay payload. */
export interface RelayChannelMessage {
  readonly type: 'relay' | 'relay-early';
  /** Exactly 509 bytes. */
  readonly payload: Uint8Array;
}

/** AUTHORIZE (command 132): "reserved for future use"; the body is kept as sent. */
export interface AuthorizeMessage {
  readonly type: 'authorize';
  readonly body: Uint8Array;
}

/**
 * A command not in the table. For a fixed-length command the body is the
 * whole 509-byte payload; for a variable-length one, its `Length` bytes.
 */
export interface UnrecognizedChannelMessage {
  readonly type: 'unrecognized';
  readonly command: number;
  readonly body: Uint8Array;
}

export type ChannelMessage =
  | PaddingMessage
  | CreateMessage
  | CreatedMessage
  | RelayChannelMessage
  | DestroyMessage
  | CreateFastMessage
  | CreatedFastMessage
  | VersionsMessage
  | NetinfoMessage
  | Create2Message
  | Created2Message
  | PaddingNegotiateMessage
  | VpaddingMessage
  | CertsMessage
  | AuthChallengeMessage
  | AuthenticateMessage
  | AuthorizeMessage
  | UnrecognizedChannelMessage;

export type ChannelMessageType = ChannelMessage['type'];

/** The command byte a message is sent with. */
export function channelMessageCommand(message: ChannelMessage): number {
  switch (message.type) {
    case 'padding':
      return ChannelCommand.PADDING;
    case 'create':
      return ChannelCommand.CREATE;
    case 'created':
      return ChannelCommand.CREATED;
    case 'relay':
      return ChannelCommand.RELAY;
    case 'relay-early':
      return ChannelCommand.RELAY_EARLY;
    case 'destroy':
      return ChannelCommand.DESTROY;
    case 'create-fast':
      return ChannelCommand.CREATE_FAST;
    case 'created-fast':
      return ChannelCommand.CREATED_FAST;
    case 'versions':
      return ChannelCommand.VERSIONS;
    case 'netinfo':
      return ChannelCommand.NETINFO;
    case 'create2':
      return ChannelCommand.CREATE2;
    case 'created2':
      return ChannelCommand.CREATED2;
    case 'padding-negotiate':
      return ChannelCommand.PADDING_NEGOTIATE;
    case 'vpadding':
      return ChannelCommand.VPADDING;
    case 'certs':
      return ChannelCommand.CERTS;
    case 'auth-challenge':
      return ChannelCommand.AUTH_CHALLENGE;
    case 'authenticate':
      return ChannelCommand.AUTHENTICATE;
    case 'authorize':
      return ChannelCommand.AUTHORIZE;
    case 'unrecognized':
      return message.command;
  }
}

/** A short label for errors and logs, e.g. "CREATE2 cell" or "cell 201". */
function describeCommand(command: number): string {
  const name = channelCommandName(command);
  return name ? `${name} cell` : `cell ${command}`;
}

/**
 * Decodes the body of a cell with `command`. Returns `malformed` when the
 * bytes break the layout and `incomplete` when they end before the layout
 * does (for a full 509-byte fixed-length body, both mean: reject the cell).
 */
export function decodeChannelMessage(command: number, body: Uint8Array): Result<ChannelMessage, DecodeError> {
  return decodeWith(body, describeCommand(command), (r): ChannelMessage => {
    switch (command) {
      case ChannelCommand.PADDING:
        return { type: 'padding' };
      case ChannelCommand.CREATE:
        return readCreate(r);
      case ChannelCommand.CREATED:
        return readCreated(r);
      case ChannelCommand.RELAY:
      case ChannelCommand.RELAY_EARLY: {
        const payload = r.take(CELL_BODY_LENGTH, 'relay payload').slice();
        r.expectExhausted();
        return { type: command === ChannelCommand.RELAY ? 'relay' : 'relay-early', payload };
      }
      case ChannelCommand.DESTROY:
        return readDestroy(r);
      case ChannelCommand.CREATE_FAST:
        return readCreateFast(r);
      case ChannelCommand.CREATED_FAST:
        return readCreatedFast(r);
      case ChannelCommand.VERSIONS:
        return readVersions(r);
      case ChannelCommand.NETINFO:
        return readNetinfo(r);
      case ChannelCommand.CREATE2:
        return readCreate2(r);
      case ChannelCommand.CREATED2:
        return readCreated2(r);
      case ChannelCommand.PADDING_NEGOTIATE:
        return readPaddingNegotiate(r);
      case ChannelCommand.VPADDING:
        return readVpadding(r);
      case ChannelCommand.CERTS:
        return readCerts(r);
      case ChannelCommand.AUTH_CHALLENGE:
        return readAuthChallenge(r);
      case ChannelCommand.AUTHENTICATE:
        return readAuthenticate(r);
      case ChannelCommand.AUTHORIZE:
        return { type: 'authorize', body: r.rest().slice() };
      default:
        if (!Number.isInteger(command) || command < 0 || command > 0xff)
          r.fail(`command out of range: ${command}`);
        return { type: 'unrecognized', command, body: r.rest().slice() };
    }
  });
}

/** Decodes a framed cell's message. */
export function decodeChannelCellMessage(cell: ChannelCell): Result<ChannelMessage, DecodeError> {
  return decodeChannelMessage(cell.command, cell.body);
}

/**
 * Encodes a message as (command, body). Fixed-length bodies come back
 * unpadded; `encodeChannelCell` pads them to 509 bytes. Throws InternalError
 * for a message that cannot be sent as given (a wrong fixed-size field, a
 * body that does not fit its cell).
 */
export function encodeChannelMessage(message: ChannelMessage): { command: number; body: Uint8Array } {
  const command = channelMessageCommand(message);
  const w = new ByteWriter(64);
  switch (message.type) {
    case 'padding':
      break;
    case 'create':
      writeCreate(w, message);
      break;
    case 'created':
      writeCreated(w, message);
      break;
    case 'relay':
    case 'relay-early':
      if (message.payload.length !== CELL_BODY_LENGTH) {
        throw new InternalError(
          `relay payload must be ${CELL_BODY_LENGTH} bytes, not ${message.payload.length}`,
        );
      }
      w.bytes(message.payload);
      break;
    case 'destroy':
      writeDestroy(w, message);
      break;
    case 'create-fast':
      writeCreateFast(w, message);
      break;
    case 'created-fast':
      writeCreatedFast(w, message);
      break;
    case 'versions':
      writeVersions(w, message);
      break;
    case 'netinfo':
      writeNetinfo(w, message);
      break;
    case 'create2':
      writeCreate2(w, message);
      break;
    case 'created2':
      writeCreated2(w, message);
      break;
    case 'padding-negotiate':
      writePaddingNegotiate(w, message);
      break;
    case 'vpadding':
      writeVpadding(w, message);
      break;
    case 'certs':
      writeCerts(w, message);
      break;
    case 'auth-challenge':
      writeAuthChallenge(w, message);
      break;
    case 'authenticate':
      writeAuthenticate(w, message);
      break;
    case 'authorize':
      w.bytes(message.body);
      break;
    case 'unrecognized':
      if (channelCommandName(message.command) !== undefined) {
        // It would decode as the known message, not as itself.
        throw new InternalError(`command ${message.command} is known; encode it as its own message type`);
      }
      w.bytes(message.body);
      break;
  }
  const body = w.finish();
  const limit = isVariableLengthCommand(command) ? 0xffff : CELL_BODY_LENGTH;
  if (body.length > limit)
    throw new InternalError(`${describeCommand(command)} body too long: ${body.length}`);
  return { command, body };
}

/** Encodes a message as a whole cell on circuit `circId`, ready to write to the channel. */
export function encodeChannelMessageCell(
  circId: number,
  message: ChannelMessage,
  framing: CellFraming,
): Uint8Array {
  const { command, body } = encodeChannelMessage(message);
  return encodeChannelCell({ circId, command, body }, framing);
}
