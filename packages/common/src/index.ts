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
export {
  formatIpAddress,
  IPV4_LENGTH,
  IPV6_LENGTH,
  type IpAddress,
  type IpTextOptions,
  type Ipv4Address,
  type Ipv6Address,
  ipv4FromBytes,
  ipv6FromBytes,
  isInternalAddress,
  isUnspecifiedAddress,
  parseIpAddress,
  parseIpv4,
  parseIpv6,
} from './ip-address.js';
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
