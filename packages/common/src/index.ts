export { ByteReader, decodeWith } from './byte-reader.js';
export type { ByteTransport, TransportHandlers } from './byte-transport.js';
export { ByteWriter } from './byte-writer.js';
export { DecodeError, type DecodeFailure } from './bytes-error.js';
export {
  bytesEqual,
  concatBytes,
  constantTimeEqual,
  fromBase64,
  fromHex,
  hex,
  toBase64Unpadded,
  toHex,
  utf8,
} from './encoding.js';
export { assertInvariant, describeError, type ErrorKind, InternalError, RelayError } from './errors.js';
export { err, ok, type Result, unwrap } from './result.js';
export {
  type Clock,
  type Logger,
  type Random,
  Sensitive,
  sensitive,
  silentLogger,
  systemClock,
} from './services.js';
