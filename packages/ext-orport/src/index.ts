/**
 * @relayd/ext-orport: the Extended ORPort (ext-orport-spec, proposal 217)
 * and the pluggable-transport managed-proxy protocol (pt-spec) as pure
 * codecs and sans-IO state machines. Bytes, lines and randomness come in;
 * bytes to send, typed messages and outcomes (or typed errors) come out.
 * The caller owns sockets, files, processes and timers.
 */
export {
  type AddressPort,
  type AddressPortOptions,
  formatAddressPort,
  parseAddressPort,
} from './address-port.js';
export {
  ExtOrClient,
  type ExtOrClientOptions,
  type ExtOrClientPhase,
  type ExtOrClientStep,
} from './client.js';
export {
  createCookieFile,
  DEFAULT_EXT_OR_COOKIE_FILE_NAME,
  decodeCookieFile,
  EXT_OR_COOKIE_FILE_HEADER,
  EXT_OR_COOKIE_FILE_HEADER_TEXT,
  EXT_OR_COOKIE_FILE_LENGTH,
  type ExtOrCookieFile,
  encodeCookieFile,
} from './cookie-file.js';
export { ExtOrError, type ExtOrErrorCode } from './ext-or-error.js';
export {
  DEFAULT_MAX_EXT_OR_BODY_LENGTH,
  decodeExtOrFrame,
  decodeExtOrMessage,
  EXT_OR_FRAME_HEADER_LENGTH,
  ExtOrCommand,
  type ExtOrCommandName,
  type ExtOrFrame,
  type ExtOrFrameResult,
  type ExtOrFramingOptions,
  type ExtOrMessage,
  encodeExtOrFrame,
  encodeExtOrMessage,
  extOrCommandName,
  MAX_EXT_OR_BODY_LENGTH,
} from './frame.js';
export { DEFAULT_MAX_EXT_OR_COMMANDS, EXT_OR_HANDSHAKE_DEADLINE_MS } from './limits.js';
export {
  encodeServerTransportOptions,
  encodeSmethodArgs,
  encodeSocksArgs,
  findPtArg,
  type PtArg,
  type PtTransportOption,
  parseSmethodArgs,
  type Socks5Credentials,
  socks5CredentialsForArgs,
} from './pt-args.js';
export {
  PT_MANAGED_TRANSPORT_VERSION,
  type PtClientEnvironmentOptions,
  type PtCommonEnvironmentOptions,
  type PtServerEnvironmentOptions,
  ptClientEnvironment,
  ptServerEnvironment,
} from './pt-environment.js';
export {
  PT_LOG_SEVERITIES,
  PtLineSplitter,
  type PtLogSeverity,
  type PtMessage,
  parseKvLine,
  parsePtLine,
} from './pt-stdout.js';
export {
  EXT_OR_COOKIE_LENGTH,
  ExtOrAuthStatus,
  ExtOrAuthType,
  SAFE_COOKIE_CLIENT_TO_SERVER_LABEL,
  SAFE_COOKIE_HASH_LENGTH,
  SAFE_COOKIE_NONCE_LENGTH,
  SAFE_COOKIE_SERVER_TO_CLIENT_LABEL,
  safeCookieClientHash,
  safeCookieServerHash,
} from './safe-cookie.js';
export {
  type ExtOrAcceptedOutcome,
  type ExtOrAdmissionPolicy,
  type ExtOrDecision,
  type ExtOrMetadata,
  ExtOrServer,
  type ExtOrServerOptions,
  type ExtOrServerPhase,
  type ExtOrServerStep,
} from './server.js';
export { isValidTransportName, MAX_TRANSPORT_NAME_LENGTH } from './transport-name.js';
