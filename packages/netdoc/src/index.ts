/**
 * @relayd/netdoc: Tor directory documents as pure functions — the
 * meta-format tokenizer, authority key certificates, consensus documents and
 * their signature threshold, microdescriptors, and the bridge server
 * descriptor and extra-info (build, sign, parse, verify).
 */
export {
  type AuthorityCertificate,
  type AuthorityCertificateCheck,
  parseAuthorityCertificate,
  parseAuthorityCertificates,
  type VerifiedAuthorityCertificate,
  verifyAuthorityCertificate,
} from './authority-cert.js';
export {
  type Consensus,
  type ConsensusAuthority,
  type ConsensusDigestAlgorithm,
  type ConsensusFlavor,
  type ConsensusParseOptions,
  type ConsensusSignature,
  type ConsensusTimeStatus,
  consensusTimeStatus,
  findRouterStatus,
  parseConsensus,
  REASONABLY_LIVE_SECONDS,
  type RouterBandwidth,
  type RouterStatus,
  type SharedRandomValue,
} from './consensus.js';
export {
  type ConsensusSignatureCheck,
  ConsensusSignatureError,
  type ConsensusSignatureTally,
  missingCertificateKeys,
  tallyConsensusSignatures,
  verifyConsensusSignatures,
} from './consensus-verify.js';
export {
  type BridgeDescriptorKeys,
  type BridgeExtraInfoOptions,
  type BridgeServerDescriptorOptions,
  type BridgeSigningKeys,
  type BridgeTransport,
  buildBridgeDocuments,
  buildBridgeExtraInfo,
  buildBridgeServerDescriptor,
  DEFAULT_ONION_KEY_LIFETIME_SECONDS,
  extraInfoDigests,
} from './descriptor-builder.js';
export { NetDocError, NetDocVerifyError, type NetDocVerifyFailure } from './errors.js';
export { type ExitPolicyRule, formatExitPolicyRule, parseExitPolicyRule } from './exit-policy.js';
export {
  type ExtraInfo,
  type ExtraInfoCheck,
  type ExtraInfoTransport,
  parseExtraInfo,
  type VerifiedExtraInfo,
  verifyExtraInfo,
} from './extra-info.js';
export {
  type InvalidMicrodescriptor,
  type Microdescriptor,
  type MicrodescriptorList,
  microdescriptorDigest,
  parseMicrodescriptors,
} from './microdesc.js';
export {
  formatPortPolicySummary,
  type PortPolicySummary,
  type PortRange,
  parsePortPolicySummary,
  summaryAllowsPort,
} from './port-policy.js';
export {
  formatProtocols,
  MAX_PROTOCOL_VERSION,
  type ProtocolVersions,
  parseProtocols,
  supportsProtocol,
} from './protocols.js';
export {
  type DescriptorBandwidth,
  ED25519_DESCRIPTOR_SIGNATURE_PREFIX,
  type ExtraInfoDigest,
  parseServerDescriptor,
  parseServerDescriptors,
  type ServerDescriptor,
  type VerifiedServerDescriptor,
  verifyServerDescriptor,
} from './server-descriptor.js';
export {
  decodeBase64,
  MAX_LINE_LENGTH,
  MAX_OBJECT_SIZE,
  type NetDocItem,
  type NetDocObject,
  tokenize,
} from './tokenizer.js';
export { formatTransportArguments, isValidTransportName, parseTransportArguments } from './transport-line.js';
export { type AddressPort, formatIsoTime, parseIsoTime } from './values.js';
