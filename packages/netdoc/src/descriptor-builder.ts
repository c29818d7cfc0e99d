/**
 * Builds and signs a bridge's server descriptor and extra-info document
 * (dir-spec 2.1.1, 2.1.2), laid out item for item as C tor 0.4.9 writes them
 * (router.c router_dump_router_to_string, extrainfo_dump_to_string), so that
 * tor clients, BridgeDB and the bridge authority see what they see from a C
 * tor bridge.
 *
 * Inputs are plain values: keys, the identity→signing certificate, and what
 * the bridge implements (the "proto" line is the caller's). The outputs are
 * the exact document strings. Signing order matters: the extra-info is built
 * first, because the descriptor names its digests.
 *
 * Invalid inputs (a bad nickname, a certificate that does not certify the
 * signing key) are programming errors and throw InternalError.
 */

import {
  createNtorOnionKeyCrosscert,
  Ed25519CertType,
  expirationHoursAfter,
  parseEd25519Cert,
} from '@relayd/certs';
import {
  assertInvariant,
  bytesEqual,
  concatBytes,
  InternalError,
  toBase64Unpadded,
  utf8,
} from '@relayd/common';
import {
  type Ed25519SigningKey,
  type RsaPrivateKey,
  sha1,
  sha256,
  x25519PublicFromSecret,
} from '@relayd/crypto';
import { formatProtocols, type ProtocolVersions, parseProtocols } from './protocols.js';
import {
  type DescriptorBandwidth,
  ED25519_DESCRIPTOR_SIGNATURE_PREFIX,
  type ExtraInfoDigest,
} from './server-descriptor.js';
import { findSignedRange } from './signatures.js';
import { formatTransportArguments, isValidTransportName } from './transport-line.js';
import {
  type AddressPort,
  formatAddressPort,
  formatIsoTime,
  formatObject,
  formatSpacedFingerprint,
  isValidNickname,
  parseAddressPort,
  parseIPv4,
  toHexUpper,
} from './values.js';

/** How long the ntor cross-certificate stays valid after publication: tor's default onion key lifetime (28 days). */
export const DEFAULT_ONION_KEY_LIFETIME_SECONDS = 28 * 24 * 60 * 60;

/** The signing material of a bridge. */
export interface BridgeSigningKeys {
  /** The RSA-1024 identity key (secret_id_key). */
  readonly identityKey: RsaPrivateKey;
  /** The medium-term Ed25519 signing key (ed25519_signing_secret_key). */
  readonly signingKey: Ed25519SigningKey;
  /** The type-4 certificate of `signingKey` by the master identity key, including it (ed25519_signing_cert). */
  readonly signingCert: Uint8Array;
}

/** Every key a server descriptor publishes or proves. */
export interface BridgeDescriptorKeys extends BridgeSigningKeys {
  /** The Curve25519 ntor onion secret key (secret_onion_key_ntor), 32 bytes. */
  readonly ntorOnionSecret: Uint8Array;
  /**
   * The legacy RSA-1024 TAP onion key. Tor 0.4.9 relays no longer use it but
   * still publish it, and 0.4.9 authorities still require it (proposal 350);
   * omit it only where every reader accepts descriptors without one.
   */
  readonly tapOnionKey?: RsaPrivateKey;
}

/** What a bridge's server descriptor says. Times are seconds since the epoch. */
export interface BridgeServerDescriptorOptions {
  readonly nickname: string;
  /** The IPv4 address of the "router" line. */
  readonly address: string;
  readonly orPort: number;
  /** Default 0: bridges do not open a DirPort. */
  readonly dirPort?: number;
  /** An IPv6 ORPort, written as "or-address". */
  readonly ipv6OrPort?: AddressPort;
  /** The "platform" line, e.g. "relayd 0.1.0 on Linux". */
  readonly platform: string;
  /** The "proto" line: what this bridge implements. */
  readonly protocols: string | ProtocolVersions;
  readonly published: number;
  readonly uptime: number;
  readonly bandwidth: DescriptorBandwidth;
  /** Digests of the matching extra-info (see `extraInfoDigests`); omit when none is published. */
  readonly extraInfoDigest?: ExtraInfoDigest;
  readonly family?: readonly string[];
  readonly hibernating?: boolean;
  /** C tor writes "hidden-service-dir" on every relay and bridge; default true. */
  readonly hiddenServiceDir?: boolean;
  readonly contact?: string;
  /** "bridge-distribution-request"; default "any", written in lower case as tor does. */
  readonly bridgeDistributionRequest?: string;
  /** "tunnelled-dir-server": the bridge answers BEGIN_DIR; default true. */
  readonly tunnelledDirServer?: boolean;
  /** Lifetime of the ntor cross-certificate after `published`; default 28 days. */
  readonly onionKeyLifetimeSeconds?: number;
  readonly keys: BridgeDescriptorKeys;
}

/** One pluggable transport the bridge offers. */
export interface BridgeTransport {
  /** e.g. "obfs4". */
  readonly name: string;
  readonly address: AddressPort;
  /** key=value pairs as the transport reported them (SMETHOD ARGS), e.g. [["cert", …], ["iat-mode", "0"]]. */
  readonly arguments?: readonly (readonly [string, string])[];
}

/** What a bridge's extra-info says. */
export interface BridgeExtraInfoOptions {
  readonly nickname: string;
  readonly published: number;
  readonly transports: readonly BridgeTransport[];
  /**
   * The "transport-info" line tor 0.4.9 writes after the transport lines,
   * with the version and implementation the transport reported (both empty
   * for obfs4proxy). Omitted when undefined.
   */
  readonly transportInfo?: { readonly version?: string; readonly implementation?: string };
  /** SHA-1 digests of the GeoIP databases, written when the bridge uses them. */
  readonly geoipDbDigest?: Uint8Array;
  readonly geoip6DbDigest?: Uint8Array;
  readonly keys: BridgeSigningKeys;
}

/** Parses and checks the signing certificate: it must certify `signingKey` and name the master key. */
function masterKeyOf(keys: BridgeSigningKeys): Uint8Array {
  const cert = parseEd25519Cert(keys.signingCert);
  if (!cert.ok) throw new InternalError(`signing certificate does not parse: ${cert.error.message}`);
  const c = cert.value;
  assertInvariant(c.certType === Ed25519CertType.IDENTITY_V_SIGNING, 'signing certificate is not of type 4');
  assertInvariant(c.signingKey !== undefined, 'signing certificate does not include the master key');
  assertInvariant(
    bytesEqual(c.certifiedKey, keys.signingKey.publicKey),
    'signing certificate certifies another key',
  );
  return c.signingKey;
}

/** A single-line value for a keyword line: no newlines or other control characters. */
function lineValue(what: string, value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new InternalError(`${what} contains a control character`);
  }
  return value;
}

/** Appends "router-sig-ed25519 <sig>\n" over everything so far (dir-spec 2.1.1). */
function signEd25519(body: string, signingKey: Ed25519SigningKey): string {
  const prefix = `${body}router-sig-ed25519 `;
  const digest = sha256(utf8(ED25519_DESCRIPTOR_SIGNATURE_PREFIX), utf8(prefix));
  return `${prefix}${toBase64Unpadded(signingKey.sign(digest))}\n`;
}

/** Appends "router-signature" and the RSA signature of SHA-1 over everything through its newline. */
function signRsa(body: string, identityKey: RsaPrivateKey): string {
  const signed = `${body}router-signature\n`;
  return `${signed}${formatObject('SIGNATURE', identityKey.signDigest(sha1(utf8(signed))))}`;
}

/** Builds and signs a bridge extra-info document. */
export function buildBridgeExtraInfo(opts: BridgeExtraInfoOptions): string {
  if (!isValidNickname(opts.nickname)) throw new InternalError(`invalid nickname ${opts.nickname}`);
  masterKeyOf(opts.keys);
  const fingerprint = opts.keys.identityKey.publicKey.fingerprint();
  let body = `extra-info ${opts.nickname} ${toHexUpper(fingerprint)}\n`;
  body += `identity-ed25519\n${formatObject('ED25519 CERT', opts.keys.signingCert)}`;
  body += `published ${formatIsoTime(opts.published)}\n`;
  const seen = new Set<string>();
  for (const t of opts.transports) {
    if (!isValidTransportName(t.name) || seen.has(t.name))
      throw new InternalError(`bad transport name ${t.name}`);
    seen.add(t.name);
    const args = t.arguments && t.arguments.length > 0 ? ` ${formatTransportArguments(t.arguments)}` : '';
    body += `transport ${t.name} ${formatAddressPort(t.address)}${lineValue('transport arguments', args)}\n`;
  }
  if (opts.transportInfo) {
    const { version, implementation } = opts.transportInfo;
    body += 'transport-info';
    if (version) body += ` version=${lineValue('transport version', version)}`;
    if (implementation) body += ` implementation=${lineValue('transport implementation', implementation)}`;
    body += '\n';
  }
  if (opts.geoipDbDigest) body += `geoip-db-digest ${toHexUpper(opts.geoipDbDigest)}\n`;
  if (opts.geoip6DbDigest) body += `geoip6-db-digest ${toHexUpper(opts.geoip6DbDigest)}\n`;
  return signRsa(signEd25519(body, opts.keys.signingKey), opts.keys.identityKey);
}

/** The two "extra-info-digest" values of an extra-info document as built. */
export function extraInfoDigests(extraInfo: string): ExtraInfoDigest {
  const bytes = utf8(extraInfo);
  const text = Buffer.from(bytes).toString('latin1');
  const range = findSignedRange(text, 'extra-info', '\nrouter-signature', '\n');
  if (!range) throw new InternalError('extra-info has no signed portion');
  return { sha1: sha1(bytes.subarray(range.start, range.end)), sha256: sha256(bytes) };
}

/** Builds and signs a bridge server descriptor. */
export function buildBridgeServerDescriptor(opts: BridgeServerDescriptorOptions): string {
  const { keys } = opts;
  if (!isValidNickname(opts.nickname)) throw new InternalError(`invalid nickname ${opts.nickname}`);
  const address = parseIPv4(opts.address);
  if (!address) throw new InternalError(`invalid IPv4 address ${opts.address}`);
  const protocols =
    typeof opts.protocols === 'string'
      ? lineValue('protocols', opts.protocols)
      : formatProtocols(opts.protocols);
  if (!parseProtocols(protocols)) throw new InternalError(`invalid protocol list ${protocols}`);
  const master = masterKeyOf(keys);
  const identityPublic = keys.identityKey.publicKey;
  assertInvariant(identityPublic.modulusBits === 1024, 'the RSA identity key must be 1024 bits');
  const fingerprint = identityPublic.fingerprint();

  let body = `router ${opts.nickname} ${address} ${opts.orPort} 0 ${opts.dirPort ?? 0}\n`;
  body += `identity-ed25519\n${formatObject('ED25519 CERT', keys.signingCert)}`;
  body += `master-key-ed25519 ${toBase64Unpadded(master)}\n`;
  if (opts.ipv6OrPort) {
    const v6 = parseAddressPort(formatAddressPort(opts.ipv6OrPort));
    if (v6?.family !== 6) throw new InternalError('ipv6OrPort must be an IPv6 address and port');
    body += `or-address ${formatAddressPort(v6)}\n`;
  }
  body += `platform ${lineValue('platform', opts.platform)}\n`;
  body += `proto ${protocols}\n`;
  body += `published ${formatIsoTime(opts.published)}\n`;
  body += `fingerprint ${formatSpacedFingerprint(fingerprint)}\n`;
  body += `uptime ${opts.uptime}\n`;
  body += `bandwidth ${opts.bandwidth.average} ${opts.bandwidth.burst} ${opts.bandwidth.observed}\n`;
  if (opts.extraInfoDigest) {
    body += `extra-info-digest ${toHexUpper(opts.extraInfoDigest.sha1)}`;
    if (opts.extraInfoDigest.sha256) body += ` ${toBase64Unpadded(opts.extraInfoDigest.sha256)}`;
    body += '\n';
  }
  if (keys.tapOnionKey) {
    assertInvariant(keys.tapOnionKey.publicKey.modulusBits === 1024, 'the TAP onion key must be 1024 bits');
    body += `onion-key\n${formatObject('RSA PUBLIC KEY', keys.tapOnionKey.publicKey.der)}`;
  }
  body += `signing-key\n${formatObject('RSA PUBLIC KEY', identityPublic.der)}`;
  if (keys.tapOnionKey) {
    // dir-spec 2.1.1 "onion-key-crosscert": the TAP key signs SHA1(identity key) || master key, unhashed.
    const crosscert = keys.tapOnionKey.signDigest(concatBytes(fingerprint, master));
    body += `onion-key-crosscert\n${formatObject('CROSSCERT', crosscert)}`;
  }
  const lifetime = opts.onionKeyLifetimeSeconds ?? DEFAULT_ONION_KEY_LIFETIME_SECONDS;
  const ntor = createNtorOnionKeyCrosscert({
    ntorOnionSecret: keys.ntorOnionSecret,
    ed25519Identity: master,
    expirationHours: expirationHoursAfter(opts.published * 1000, lifetime),
  });
  body += `ntor-onion-key-crosscert ${ntor.signBit}\n${formatObject('ED25519 CERT', ntor.cert)}`;
  if (opts.family && opts.family.length > 0) body += `family ${lineValue('family', opts.family.join(' '))}\n`;
  if (opts.hibernating) body += 'hibernating 1\n';
  if (opts.hiddenServiceDir ?? true) body += 'hidden-service-dir\n';
  if (opts.contact) body += `contact ${lineValue('contact', opts.contact)}\n`;
  const distribution = (opts.bridgeDistributionRequest ?? 'any').toLowerCase();
  if (!/^[a-z0-9_-]+$/.test(distribution))
    throw new InternalError(`invalid bridge-distribution-request ${distribution}`);
  body += `bridge-distribution-request ${distribution}\n`;
  body += `ntor-onion-key ${toBase64Unpadded(x25519PublicFromSecret(keys.ntorOnionSecret))}\n`;
  body += 'reject *:*\n';
  if (opts.tunnelledDirServer ?? true) body += 'tunnelled-dir-server\n';
  return signRsa(signEd25519(body, keys.signingKey), keys.identityKey);
}

/** Builds the extra-info, then the server descriptor that names its digests. */
export function buildBridgeDocuments(
  descriptor: Omit<BridgeServerDescriptorOptions, 'extraInfoDigest'>,
  extraInfo: Omit<BridgeExtraInfoOptions, 'nickname' | 'published' | 'keys'>,
): { readonly serverDescriptor: string; readonly extraInfo: string } {
  const ei = buildBridgeExtraInfo({
    ...extraInfo,
    nickname: descriptor.nickname,
    published: descriptor.published,
    keys: descriptor.keys,
  });
  const serverDescriptor = buildBridgeServerDescriptor({
    ...descriptor,
    extraInfoDigest: extraInfoDigests(ei),
  });
  return { serverDescriptor, extraInfo: ei };
}
