/**
 * @relayd/certs: Tor's certificate formats and the certificate logic of the
 * link handshake, as pure functions over bytes.
 */
export { CertError, type CertErrorCode } from './cert-error.js';
export {
  CertifiedKeyType,
  type CertsCellEntry,
  CertsSlot,
  Ed25519CertExtensionType,
  Ed25519CertType,
  EXTENSION_FLAG_AFFECTS_VALIDATION,
} from './cert-types.js';
export {
  checkInitiatorCerts,
  checkResponderCerts,
  type InitiatorCertsOptions,
  initiatorCertsEntries,
  type ResponderCertsOptions,
  responderCertsEntries,
} from './certs-chain.js';
export {
  type CheckEd25519CertOptions,
  type CreateEd25519CertOptions,
  checkEd25519Cert,
  createEd25519Cert,
  type Ed25519Cert,
  type Ed25519CertExtension,
  ed25519CertExpiresAtMs,
  expirationHoursAfter,
  parseEd25519Cert,
} from './ed25519-cert.js';
export {
  AUTH_CHALLENGE_BYTES,
  AUTH0003_BYTES,
  AUTH0003_EXPORTER_LABEL,
  AUTH0003_EXPORTER_LENGTH,
  AUTH0003_NONCE_BYTES,
  AUTH0003_SIGNED_BYTES,
  type Auth0003Transcript,
  type AuthChallenge,
  auth0003ExporterContext,
  type CheckAuth0003Options,
  type CreateAuth0003Options,
  checkAuthenticate,
  checkEd25519Authenticator,
  createAuthChallenge,
  createEd25519Authenticator,
  isSupportedLinkAuthMethod,
  LinkAuthMethod,
  SUPPORTED_LINK_AUTH_METHODS,
  selectLinkAuthMethod,
} from './link-auth.js';
export {
  type CheckNtorOnionKeyCrosscertOptions,
  type CreateNtorOnionKeyCrosscertOptions,
  checkNtorOnionKeyCrosscert,
  createNtorOnionKeyCrosscert,
} from './ntor-crosscert.js';
export {
  type CreateRsaEd25519CrosscertOptions,
  checkRsaEd25519Crosscert,
  createRsaEd25519Crosscert,
  parseRsaEd25519Crosscert,
  RSA_ED25519_CROSSCERT_PREFIX,
  type RsaEd25519Crosscert,
} from './rsa-crosscert.js';
// The verified types are exported as types and classes, never their factories.
export {
  CheckedInitiatorCerts,
  VerifiedInitiatorIdentity,
  VerifiedResponderIdentity,
} from './verified-identity.js';
