/**
 * @relayd/cells: every Tor channel cell and relay message as pure, total
 * encode/decode functions (tor-spec sections 3–7).
 */

export {
  formatIpAddress,
  IPV4_LENGTH,
  IPV6_LENGTH,
  type IpAddress,
  type Ipv4Address,
  type Ipv6Address,
  ipv4FromBytes,
  ipv6FromBytes,
  parseIpAddress,
} from '@relayd/common';
export { AUTH_CHALLENGE_LENGTH, type AuthChallengeMessage, AuthMethod } from './channel/auth-challenge.js';
export type { AuthenticateMessage } from './channel/authenticate.js';
export {
  type CellBodyAllocator,
  CellBodySlab,
  DEFAULT_SLAB_BYTES,
  freshCellBodies,
} from './channel/cell-body-slab.js';
export { CertsCellCertType, type CertsCellEntry, type CertsMessage } from './channel/certs.js';
export {
  CELL_BODY_LENGTH,
  type CellFraming,
  type ChannelCell,
  type ChannelFrame,
  checkEncodableCell,
  circIdLength,
  decodeChannelCell,
  encodeChannelCell,
  encodeChannelCellInto,
  type FramingOptions,
  fixedCellLength,
  MAX_VARIABLE_BODY_LENGTH,
  MIN_LINK_VERSION,
  WIDE_CIRC_ID_MIN_LINK_VERSION,
} from './channel/channel-cell.js';
export { ChannelCellReader, type ChannelCellReaderOptions } from './channel/channel-cell-reader.js';
export {
  ChannelCommand,
  type ChannelCommandName,
  channelCommandName,
  isCircuitCommand,
  isVariableLengthCommand,
  type KnownChannelCommand,
} from './channel/channel-command.js';
export {
  type AuthorizeMessage,
  type ChannelMessage,
  type ChannelMessageType,
  channelMessageCommand,
  decodeChannelCellMessage,
  decodeChannelMessage,
  encodeChannelMessage,
  encodeChannelMessageCell,
  type RelayChannelMessage,
  type UnrecognizedChannelMessage,
} from './channel/channel-message.js';
export {
  type ChannelPhase,
  type CommandDisposition,
  channelCommandDisposition,
  isAllowedWhenOpen,
  isAllowedWhileNegotiating,
  NEGOTIATING_HANDLED_COMMANDS,
  NEGOTIATING_IGNORED_COMMANDS,
  OPEN_HANDLED_COMMANDS,
  OPEN_IGNORED_COMMANDS,
} from './channel/channel-phase.js';
export {
  type Create2Message,
  type Created2Message,
  type CreatedFastMessage,
  type CreatedMessage,
  type CreateFastMessage,
  type CreateMessage,
  FAST_KEY_MATERIAL_LENGTH,
  HandshakeType,
  MAX_CREATE2_HANDSHAKE_LENGTH,
  MAX_CREATED2_HANDSHAKE_LENGTH,
  TAP_CLIENT_HANDSHAKE_LENGTH,
  TAP_SERVER_HANDSHAKE_LENGTH,
} from './channel/circuit-create.js';
export {
  type DestroyMessage,
  DestroyReason,
  type DestroyReasonName,
  destroyReasonName,
} from './channel/destroy.js';
export {
  type NetinfoAddress,
  NetinfoAddressType,
  type NetinfoMessage,
  type UnrecognizedNetinfoAddress,
} from './channel/netinfo.js';
export {
  PADDING_NEGOTIATE_VERSION,
  type PaddingMessage,
  PaddingNegotiateCommand,
  type PaddingNegotiateCommandValue,
  type PaddingNegotiateMessage,
  type VpaddingMessage,
} from './channel/padding.js';
export type { VersionsMessage } from './channel/versions.js';
export { BeginFlag, type BeginMessage } from './relay/begin.js';
export type { ConnectedMessage } from './relay/connected.js';
export {
  END_DEFAULT_TTL,
  type EndMessage,
  EndReason,
  type EndReasonName,
  endReasonName,
} from './relay/end.js';
export type { Extend2Message, Extended2Message } from './relay/extend2.js';
export {
  decodeLinkSpecifier,
  decodeLinkSpecifierList,
  ED25519_IDENTITY_LENGTH,
  encodeLinkSpecifier,
  encodeLinkSpecifierList,
  type LinkSpecifier,
  LinkSpecifierType,
  RSA_IDENTITY_LENGTH,
} from './relay/link-specifier.js';
export {
  decodeRelayCell,
  encodeRelayCell,
  RELAY_COMMAND_OFFSET,
  RELAY_DATA_MAX_LENGTH,
  RELAY_DIGEST_LENGTH,
  RELAY_DIGEST_OFFSET,
  RELAY_HEADER_LENGTH,
  RELAY_LENGTH_OFFSET,
  RELAY_PADDING_ZERO_PREFIX,
  RELAY_PAYLOAD_LENGTH,
  RELAY_RECOGNIZED_OFFSET,
  RELAY_STREAM_ID_OFFSET,
  type RelayCell,
  type RelayCellFields,
  readRecognized,
  readRelayCommand,
  readRelayDigest,
  viewRelayCell,
  writeRecognized,
  writeRelayDigest,
  zeroRelayDigest,
} from './relay/relay-cell.js';
export { RelayCommand, type RelayCommandName, relayCommandName } from './relay/relay-command.js';
export {
  type BeginDirMessage,
  type DataMessage,
  type DropMessage,
  decodeRelayCellMessage,
  decodeRelayMessage,
  encodeRelayMessage,
  encodeRelayMessageCell,
  type RelayMessage,
  type RelayMessageType,
  relayMessageCommand,
  type TruncatedMessage,
  type TruncateMessage,
  type UnrecognizedRelayMessage,
} from './relay/relay-message.js';
export { SENDME_V1_DIGEST_LENGTH, type SendmeMessage } from './relay/sendme.js';
