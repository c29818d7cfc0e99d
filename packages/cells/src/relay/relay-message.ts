/**
 * Relay messages: the decoded meaning of a relay cell's command and data.
 *
 * Dispatches on the relay command to the per-message modules and wraps them
 * in one discriminated union, `RelayMessage`, keyed by `type`. Commands this
 * package has no body codec for (unknown numbers, and known ones outside a
 * bridge's role: legacy EXTEND/EXTENDED, RESOLVE/RESOLVED, onion-service,
 * conflux, UDP, circuit padding, flow control) decode as `unrecognized` with
 * their data kept; `relayCommandName()` tells the two apart. "If the RELAY
 * cell is recognized but the relay command is not understood, the cell must
 * be dropped and ignored" (tor-spec 6.1).
 *
 * Decoders are total: for any command and any bytes they return a Result and
 * never throw. Their input is the relay cell's data (`Length` bytes), never
 * more than 498 bytes.
 */
import {
  ByteWriter,
  type DecodeError,
  decodeWith,
  InternalError,
  type Random,
  type Result,
} from '@relayd/common';
import { type BeginMessage, readBegin, writeBegin } from './begin.js';
import { type ConnectedMessage, readConnected, writeConnected } from './connected.js';
import { type EndMessage, readEnd, writeEnd } from './end.js';
import {
  type Extend2Message,
  type Extended2Message,
  readExtend2,
  readExtended2,
  writeExtend2,
  writeExtended2,
} from './extend2.js';
import { encodeRelayCell, RELAY_DATA_MAX_LENGTH, type RelayCell } from './relay-cell.js';
import { RelayCommand, relayCommandName } from './relay-command.js';
import { readSendme, type SendmeMessage, writeSendme } from './sendme.js';

export interface DataMessage {
  readonly type: 'data';
  readonly data: Uint8Array;
}

/** BEGIN_DIR: "relays MUST ignore the payload". */
export interface BeginDirMessage {
  readonly type: 'begin-dir';
}

/** TRUNCATE: a request to tear down the circuit after this hop; no body. */
export interface TruncateMessage {
  readonly type: 'truncate';
}

/** TRUNCATED: one reason byte from the DESTROY table (tor-spec 5.4). */
export interface TruncatedMessage {
  readonly type: 'truncated';
  readonly reason: number;
}

/** DROP: a long-range dummy; "the OR or OP must drop it". The body is padding. */
export interface DropMessage {
  readonly type: 'drop';
}

/** A relay command without a body codec here; `data` is kept as sent. */
export interface UnrecognizedRelayMessage {
  readonly type: 'unrecognized';
  readonly command: number;
  readonly data: Uint8Array;
}

export type RelayMessage =
  | BeginMessage
  | DataMessage
  | EndMessage
  | ConnectedMessage
  | SendmeMessage
  | TruncateMessage
  | TruncatedMessage
  | DropMessage
  | BeginDirMessage
  | Extend2Message
  | Extended2Message
  | UnrecognizedRelayMessage;

export type RelayMessageType = RelayMessage['type'];

/** Relay commands with a body codec in this package (everything else is `unrecognized`). */
const PARSED_COMMANDS: ReadonlySet<number> = new Set([
  RelayCommand.BEGIN,
  RelayCommand.DATA,
  RelayCommand.END,
  RelayCommand.CONNECTED,
  RelayCommand.SENDME,
  RelayCommand.TRUNCATE,
  RelayCommand.TRUNCATED,
  RelayCommand.DROP,
  RelayCommand.BEGIN_DIR,
  RelayCommand.EXTEND2,
  RelayCommand.EXTENDED2,
]);

/** The relay command a message is sent with. */
export function relayMessageCommand(message: RelayMessage): number {
  switch (message.type) {
    case 'begin':
      return RelayCommand.BEGIN;
    case 'data':
      return RelayCommand.DATA;
    case 'end':
      return RelayCommand.END;
    case 'connected':
      return RelayCommand.CONNECTED;
    case 'sendme':
      return RelayCommand.SENDME;
    case 'truncate':
      return RelayCommand.TRUNCATE;
    case 'truncated':
      return RelayCommand.TRUNCATED;
    case 'drop':
      return RelayCommand.DROP;
    case 'begin-dir':
      return RelayCommand.BEGIN_DIR;
    case 'extend2':
      return RelayCommand.EXTEND2;
    case 'extended2':
      return RelayCommand.EXTENDED2;
    case 'unrecognized':
      return message.command;
  }
}

function describeRelayCommand(command: number): string {
  const name = relayCommandName(command);
  return name ? `RELAY_${name} message` : `relay message ${command}`;
}

/**
 * Decodes the data of a relay cell with `command`. Data over 498 bytes is
 * `malformed` (no relay cell can hold it).
 */
export function decodeRelayMessage(command: number, data: Uint8Array): Result<RelayMessage, DecodeError> {
  return decodeWith(data, describeRelayCommand(command), (r): RelayMessage => {
    if (r.remaining > RELAY_DATA_MAX_LENGTH) r.fail(`${r.remaining} bytes exceed ${RELAY_DATA_MAX_LENGTH}`);
    switch (command) {
      case RelayCommand.BEGIN:
        return readBegin(r);
      case RelayCommand.DATA:
        return { type: 'data', data: r.rest().slice() };
      case RelayCommand.END:
        return readEnd(r);
      case RelayCommand.CONNECTED:
        return readConnected(r);
      case RelayCommand.SENDME:
        return readSendme(r);
      case RelayCommand.TRUNCATE:
        return { type: 'truncate' };
      case RelayCommand.TRUNCATED:
        return { type: 'truncated', reason: r.u8('reason') };
      case RelayCommand.DROP:
        return { type: 'drop' };
      case RelayCommand.BEGIN_DIR:
        return { type: 'begin-dir' };
      case RelayCommand.EXTEND2:
        return readExtend2(r);
      case RelayCommand.EXTENDED2:
        return readExtended2(r);
      default:
        if (!Number.isInteger(command) || command < 0 || command > 0xff)
          r.fail(`command out of range: ${command}`);
        return { type: 'unrecognized', command, data: r.rest().slice() };
    }
  });
}

/** Decodes the message of a decoded relay cell. */
export function decodeRelayCellMessage(cell: RelayCell): Result<RelayMessage, DecodeError> {
  return decodeRelayMessage(cell.command, cell.data);
}

/**
 * Encodes a message as (command, data). Throws InternalError for a message
 * that cannot be sent as given, including one over 498 bytes.
 */
export function encodeRelayMessage(message: RelayMessage): { command: number; data: Uint8Array } {
  const command = relayMessageCommand(message);
  const w = new ByteWriter(64);
  switch (message.type) {
    case 'begin':
      writeBegin(w, message);
      break;
    case 'data':
      w.bytes(message.data);
      break;
    case 'end':
      writeEnd(w, message);
      break;
    case 'connected':
      writeConnected(w, message);
      break;
    case 'sendme':
      writeSendme(w, message);
      break;
    case 'truncated':
      w.u8(message.reason);
      break;
    case 'truncate':
    case 'drop':
    case 'begin-dir':
      // BEGIN_DIR: "Clients MUST generate an all-zero payload", i.e. no data.
      break;
    case 'extend2':
      writeExtend2(w, message);
      break;
    case 'extended2':
      writeExtended2(w, message);
      break;
    case 'unrecognized':
      if (PARSED_COMMANDS.has(message.command)) {
        // It would decode as the parsed message, not as itself.
        throw new InternalError(`relay command ${message.command} has its own message type`);
      }
      w.bytes(message.data);
      break;
  }
  const data = w.finish();
  if (data.length > RELAY_DATA_MAX_LENGTH) {
    throw new InternalError(
      `${describeRelayCommand(command)} too long: ${data.length} > ${RELAY_DATA_MAX_LENGTH}`,
    );
  }
  return { command, data };
}

/**
 * Encodes a message as a 509-byte relay payload on `streamId` (0 for
 * circuit-level messages), with zero 'recognized' and digest fields and
 * random padding, ready for the relay crypto. Every byte of `out` (default:
 * a new array) is written.
 */
export function encodeRelayMessageCell(
  streamId: number,
  message: RelayMessage,
  random: Random,
  out?: Uint8Array,
): Uint8Array {
  // DATA is the bulk of what is originated: its data is the relay data as is, no writer needed.
  const { command, data } =
    message.type === 'data'
      ? { command: RelayCommand.DATA, data: message.data }
      : encodeRelayMessage(message);
  return encodeRelayCell({ command, streamId, data }, random, out);
}
