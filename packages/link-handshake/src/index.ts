/**
 * @relayd/link-handshake: the Tor link handshake (tor-spec 4) as sans-IO
 * state machines. Bytes and TLS facts come in, bytes to send and a verified
 * outcome (or a typed error) come out; the caller owns sockets and timers.
 */
export {
  LINK_HANDSHAKE_TIMEOUT_MS,
  type LinkHandshakeCommonOptions,
  type LinkHandshakeOutcome,
  type LinkHandshakeStep,
  MAX_HANDSHAKE_BYTES,
} from './handshake-core.js';
export {
  type InitiatorAuthentication,
  type InitiatorOutcome,
  LinkInitiator,
  type LinkInitiatorOptions,
} from './initiator.js';
export {
  AUTH_KEY_CERT_LIFETIME_SECONDS,
  buildInitiatorCredentials,
  buildResponderCredentials,
  type InitiatorCredentials,
  type InitiatorCredentialsOptions,
  type RelayLinkKeys,
  type ResponderCredentials,
  type ResponderCredentialsOptions,
  RSA_ED25519_CROSSCERT_LIFETIME_SECONDS,
  TLS_LINK_CERT_LIFETIME_SECONDS,
} from './link-credentials.js';
export { LinkHandshakeError, type LinkHandshakeErrorCode } from './link-error.js';
export type { LinkTlsSession } from './link-tls.js';
export { negotiateLinkVersion, SUPPORTED_LINK_VERSIONS } from './link-versions.js';
export { encodeNetinfoCell, type NetinfoToSend, type PeerNetinfo, readPeerNetinfo } from './netinfo.js';
export { checkPeerIdentity, type ExpectedPeerIdentity, type ProvenPeerIdentity } from './peer-identity.js';
export { LinkResponder, type LinkResponderOptions, type ResponderOutcome } from './responder.js';
