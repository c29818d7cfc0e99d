/**
 * Extended ORPort frames (ext-orport-spec 3.1), the part of the protocol
 * after SAFE_COOKIE authentication:
 *
 *   COMMAND [2 bytes, big-endian] | BODYLEN [2 bytes, big-endian] | BODY [BODYLEN bytes]
 *
 * Owns the command table, stream framing (frame / incomplete / malformed)
 * and the typed messages with their total decoders. It does not decide what
 * a party does with a message; see server.ts and client.ts. Unknown command
 * codes decode as `unrecognized`: "Parties MUST ignore command codes that
 * they do not understand."
 */
import { ByteWriter, DecodeError, err, InternalError, ok, type Result } from '@relayd/common';
import { type AddressPort, formatAddressPort, parseAddressPort } from './address-port.js';
import { isValidTransportName } from './transport-name.js';

/** Command codes (ext-orport-spec 3.1). 0x00xx go transport -> bridge, 0x10xx bridge -> transport. */
export const ExtOrCommand = {
  /** "There is no more information to give. The next bytes sent by the transport will be those tunneled over it. (body ignored)" */
  DONE: 0x0000,
  /** "an address:port string that represents the client's address." */
  USERADDR: 0x0001,
  /** "a string of the name of the pluggable transport currently in effect on the connection." */
  TRANSPORT: 0x0002,
  /** "Send the user's traffic. (body ignored)" */
  OKAY: 0x1000,
  /** "Tor would prefer not to get more traffic from this address for a while. (body ignored)" */
  DENY: 0x1001,
  /** "(Not used)" */
  CONTROL: 0x1002,
} as const;

export type ExtOrCommandName = keyof typeof ExtOrCommand;

const COMMAND_NAMES = new Map<number, ExtOrCommandName>(
  Object.entries(ExtOrCommand).map(([name, code]) => [code, name as ExtOrCommandName]),
);

/** The command's spec name, or its code as 0xNNNN. */
export function extOrCommandName(command: number): string {
  return COMMAND_NAMES.get(command) ?? `0x${command.toString(16).padStart(4, '0')}`;
}

/** COMMAND + BODYLEN. */
export const EXT_OR_FRAME_HEADER_LENGTH = 4;

/** BODYLEN is a u16: the protocol's own ceiling. */
export const MAX_EXT_OR_BODY_LENGTH = 0xffff;

/**
 * The longest body a party accepts by default. The longest body the spec
 * defines is a USERADDR of 53 bytes ("[ffff:…:255.255.255.255]:65535") and
 * transport names are short identifiers; 4 KiB leaves room for commands
 * defined later (which we must skip, not refuse) while bounding what one
 * connection can make us buffer before DONE. Pass MAX_EXT_OR_BODY_LENGTH
 * to accept everything C tor accepts.
 */
export const DEFAULT_MAX_EXT_OR_BODY_LENGTH = 4096;

export interface ExtOrFrame {
  readonly command: number;
  readonly body: Uint8Array;
}

/** The outcome of trying to take one frame from the front of a buffer. */
export type ExtOrFrameResult =
  /** A whole frame. `frame.body` is a copy, safe to keep. */
  | { readonly kind: 'frame'; readonly frame: ExtOrFrame; readonly bytesConsumed: number }
  /** The buffer holds only part of a frame. Call again once it holds at least `bytesNeeded` bytes. */
  | { readonly kind: 'incomplete'; readonly bytesNeeded: number }
  /** The frame announces a body over the limit; the connection must be closed. */
  | { readonly kind: 'malformed'; readonly error: DecodeError };

export interface ExtOrFramingOptions {
  /** Refuse frames whose BODYLEN exceeds this. Default DEFAULT_MAX_EXT_OR_BODY_LENGTH, at most 65535. */
  readonly maxBodyLength?: number;
}

const FRAME_OBJECT = 'Extended ORPort frame';

/**
 * Takes the first frame from `buffer`. An over-long BODYLEN is refused as
 * soon as the header is in, without waiting for the body. Never throws for
 * any buffer content; an invalid `maxBodyLength` (a caller bug) throws
 * InternalError.
 */
export function decodeExtOrFrame(buffer: Uint8Array, options: ExtOrFramingOptions = {}): ExtOrFrameResult {
  const limit = bodyLimit(options);
  if (buffer.length < EXT_OR_FRAME_HEADER_LENGTH) {
    return { kind: 'incomplete', bytesNeeded: EXT_OR_FRAME_HEADER_LENGTH };
  }
  const command = (buffer[0]! << 8) | buffer[1]!;
  const length = (buffer[2]! << 8) | buffer[3]!;
  if (length > limit) {
    return {
      kind: 'malformed',
      error: new DecodeError(
        'malformed',
        FRAME_OBJECT,
        `${extOrCommandName(command)} body of ${length} bytes exceeds the limit of ${limit}`,
      ),
    };
  }
  const total = EXT_OR_FRAME_HEADER_LENGTH + length;
  if (buffer.length < total) return { kind: 'incomplete', bytesNeeded: total };
  return {
    kind: 'frame',
    frame: { command, body: buffer.slice(EXT_OR_FRAME_HEADER_LENGTH, total) },
    bytesConsumed: total,
  };
}

/** Writes one frame. Throws InternalError for a command outside 0-65535 or a body over 65535 bytes. */
export function encodeExtOrFrame(command: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (body.length > MAX_EXT_OR_BODY_LENGTH) {
    throw new InternalError(`Extended ORPort body of ${body.length} bytes exceeds ${MAX_EXT_OR_BODY_LENGTH}`);
  }
  return new ByteWriter(EXT_OR_FRAME_HEADER_LENGTH + body.length)
    .u16(command)
    .u16(body.length)
    .bytes(body)
    .finish();
}

function bodyLimit(options: ExtOrFramingOptions): number {
  const limit = options.maxBodyLength ?? DEFAULT_MAX_EXT_OR_BODY_LENGTH;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_EXT_OR_BODY_LENGTH) {
    throw new InternalError(`bad Extended ORPort maxBodyLength: ${limit}`);
  }
  return limit;
}

/** A frame's meaning. Bodies the spec marks "ignored" are not kept. */
export type ExtOrMessage =
  | { readonly type: 'done' }
  | { readonly type: 'useraddr'; readonly address: AddressPort }
  | { readonly type: 'transport'; readonly name: string }
  | { readonly type: 'okay' }
  | { readonly type: 'deny' }
  | { readonly type: 'control'; readonly body: Uint8Array }
  | { readonly type: 'unrecognized'; readonly command: number; readonly body: Uint8Array };

/**
 * Interprets a frame. Only USERADDR and TRANSPORT have bodies that can fail
 * to parse ("If the server receives a recognized command that does not
 * parse, it MUST close the connection", ext-orport-spec 3.1); the error
 * names which. Never throws.
 */
export function decodeExtOrMessage(frame: ExtOrFrame): Result<ExtOrMessage, DecodeError> {
  switch (frame.command) {
    case ExtOrCommand.DONE:
      return ok({ type: 'done' });
    case ExtOrCommand.OKAY:
      return ok({ type: 'okay' });
    case ExtOrCommand.DENY:
      return ok({ type: 'deny' });
    case ExtOrCommand.CONTROL:
      return ok({ type: 'control', body: frame.body });
    case ExtOrCommand.USERADDR: {
      const text = asciiText(frame.body, 'USERADDR');
      if (!text.ok) return text;
      const address = parseAddressPort(text.value, 'USERADDR', { allowZeroPort: true });
      return address.ok ? ok({ type: 'useraddr', address: address.value }) : address;
    }
    case ExtOrCommand.TRANSPORT: {
      const text = asciiText(frame.body, 'TRANSPORT');
      if (!text.ok) return text;
      if (!isValidTransportName(text.value)) {
        return err(
          new DecodeError('malformed', 'TRANSPORT', `"${text.value}" is not a pluggable transport name`),
        );
      }
      return ok({ type: 'transport', name: text.value });
    }
    default:
      return ok({ type: 'unrecognized', command: frame.command, body: frame.body });
  }
}

/** Writes a message as one frame. Throws InternalError for a transport name that is not a C identifier. */
export function encodeExtOrMessage(message: ExtOrMessage): Uint8Array {
  switch (message.type) {
    case 'done':
      return encodeExtOrFrame(ExtOrCommand.DONE);
    case 'okay':
      return encodeExtOrFrame(ExtOrCommand.OKAY);
    case 'deny':
      return encodeExtOrFrame(ExtOrCommand.DENY);
    case 'control':
      return encodeExtOrFrame(ExtOrCommand.CONTROL, message.body);
    case 'useraddr':
      return encodeExtOrFrame(ExtOrCommand.USERADDR, asciiBytes(formatAddressPort(message.address)));
    case 'transport':
      if (!isValidTransportName(message.name)) {
        throw new InternalError(`not a pluggable transport name: ${JSON.stringify(message.name)}`);
      }
      return encodeExtOrFrame(ExtOrCommand.TRANSPORT, asciiBytes(message.name));
    case 'unrecognized':
      return encodeExtOrFrame(message.command, message.body);
  }
}

// Bodies are checked to be printable ASCII first, where every decoder agrees.
const ASCII = new TextDecoder('ascii');

/** "An ASCII string ... The string MUST not be NUL-terminated." (ext-orport-spec 3.2) */
function asciiText(body: Uint8Array, object: string): Result<string, DecodeError> {
  for (const byte of body) {
    if (byte === 0 || byte > 0x7e || byte < 0x20) {
      return err(new DecodeError('malformed', object, `byte 0x${byte.toString(16)} is not printable ASCII`));
    }
  }
  return ok(ASCII.decode(body));
}

function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
