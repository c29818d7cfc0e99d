/**
 * Server descriptors (dir-spec 2.1.1): parsing and verification.
 *
 * relayd reads descriptors to check what it publishes itself and, later, to
 * learn about the relays it extends to. Parsing follows C tor's structural
 * rules (routerparse.c router_parse_entry_from_string): "router" first,
 * "identity-ed25519" right after it, "router-sig-ed25519" next to last,
 * "router-signature" last, "proto" and the ntor key required, no
 * "accept6"/"reject6", at least one exit policy line. Since tor 0.4.9 the
 * TAP "onion-key" may be absent (proposal 350); when present, its
 * "onion-key-crosscert" must be too.
 *
 * `verifyServerDescriptor` checks, like C tor: the identity-ed25519
 * certificate (type 4, signed by the master key it includes), the
 * ntor-onion-key cross-certificate, the TAP cross-certificate, the Ed25519
 * document signature and the RSA document signature.
 */

import {
  checkEd25519Cert,
  checkNtorOnionKeyCrosscert,
  type Ed25519Cert,
  Ed25519CertType,
  parseEd25519Cert,
} from '@relayd/certs';
import { bytesEqual, concatBytes, err, ok, type Result, utf8 } from '@relayd/common';
import { ed25519Verify, type RsaPublicKey, sha1, sha256 } from '@relayd/crypto';
import { ItemSection, parseDocument } from './document.js';
import { NetDocError, NetDocVerifyError } from './errors.js';
import { type ExitPolicyRule, parseExitPolicyRule } from './exit-policy.js';
import { type PortPolicySummary, parsePortPolicySummary } from './port-policy.js';
import { type ProtocolVersions, parseProtocols } from './protocols.js';
import { parseRouterDocumentFrame } from './router-document.js';
import { findSignedRange, rsaSignatureCovers } from './signatures.js';
import { latin1, type NetDocItem, tokenizeOrThrow } from './tokenizer.js';
import { type AddressPort, parseIsoTime, toHexUpper } from './values.js';

const OBJECT = 'server descriptor';

/** Prefixed to the document before hashing for "router-sig-ed25519" (dir-spec 2.1.1). */
export const ED25519_DESCRIPTOR_SIGNATURE_PREFIX = 'Tor router descriptor signature v1';

/** The "bandwidth" line, bytes per second. */
export interface DescriptorBandwidth {
  readonly average: number;
  readonly burst: number;
  readonly observed: number;
}

/** The "extra-info-digest" line. */
export interface ExtraInfoDigest {
  /** SHA-1 of the extra-info document as signed (through "router-signature\n"). */
  readonly sha1: Uint8Array;
  /** SHA-256 of the whole extra-info document, signature included. */
  readonly sha256: Uint8Array | undefined;
}

/** A parsed (not yet verified) server descriptor. */
export interface ServerDescriptor {
  /** The exact bytes of this descriptor. */
  readonly raw: Uint8Array;
  readonly nickname: string;
  readonly address: string;
  readonly orPort: number;
  readonly dirPort: number;
  /** Every "or-address" line. */
  readonly orAddresses: readonly AddressPort[];
  /** The identity-ed25519 certificate (type 4: master key → signing key). */
  readonly identityCert: Ed25519Cert;
  /** The Ed25519 master identity key ("master-key-ed25519", the certificate's signing key). */
  readonly ed25519Identity: Uint8Array;
  /** The medium-term Ed25519 signing key the certificate certifies. */
  readonly ed25519SigningKey: Uint8Array;
  readonly platform: string | undefined;
  readonly protocols: ProtocolVersions;
  readonly published: number;
  /** SHA-1 of the RSA identity key: the relay fingerprint. */
  readonly fingerprint: Uint8Array;
  readonly uptime: number | undefined;
  readonly bandwidth: DescriptorBandwidth;
  readonly extraInfoDigest: ExtraInfoDigest | undefined;
  readonly cachesExtraInfo: boolean;
  /** The legacy TAP onion key, when published. */
  readonly tapOnionKey: RsaPublicKey | undefined;
  readonly tapOnionKeyCrosscert: Uint8Array | undefined;
  /** The RSA identity key ("signing-key"). */
  readonly identityKey: RsaPublicKey;
  readonly ntorOnionKey: Uint8Array;
  readonly ntorOnionKeyCrosscert: Ed25519Cert;
  readonly ntorOnionKeyCrosscertSignBit: 0 | 1;
  readonly family: readonly string[];
  readonly hibernating: boolean;
  readonly hiddenServiceDir: boolean;
  readonly contact: string | undefined;
  readonly bridgeDistributionRequest: string | undefined;
  readonly exitPolicy: readonly ExitPolicyRule[];
  readonly ipv6Policy: PortPolicySummary | undefined;
  readonly tunnelledDirServer: boolean;
  /** SHA-1 of the signed portion: the descriptor digest ("/tor/server/d/<hex>"). */
  readonly digest: Uint8Array;
  /** SHA-256 over the Ed25519 prefix and the text through "router-sig-ed25519 ". */
  readonly ed25519SignedDigest: Uint8Array;
  readonly ed25519Signature: Uint8Array;
  readonly rsaSignature: Uint8Array;
}

declare const verifiedDescriptor: unique symbol;
/** A descriptor whose certificates and signatures were checked. */
export type VerifiedServerDescriptor = ServerDescriptor & { readonly [verifiedDescriptor]: true };

/** Text of a latin1 argument string, reinterpreted as the UTF-8 it carries. */
export function utf8Text(latin1Text: string): string {
  return Buffer.from(latin1Text, 'latin1').toString('utf8');
}

function parseDescriptorItems(
  text: string,
  bytes: Uint8Array,
  items: readonly NetDocItem[],
): ServerDescriptor {
  const doc: ItemSection = new ItemSection(OBJECT, items);
  const router = doc.requireFirst('router');
  doc.minArgs(router, 5);
  const nickname = doc.nickname(router, router.args[0]!);
  const address = doc.ipv4(router, router.args[1]!);
  const orPort = doc.integer(router, router.args[2]!, 'OR port', 1, 65535);
  doc.integer(router, router.args[3]!, 'SOCKS port', 0, 65535);
  const dirPort = doc.integer(router, router.args[4]!, 'dir port', 0, 65535);

  const { identityCert, ed25519Identity, ed25519Signature, rsaSignature, signatureItem } =
    parseRouterDocumentFrame(doc, items, 'router');
  const masterItem = doc.required('master-key-ed25519');
  const master = doc.base64(masterItem, doc.arg(masterItem, 0), 'master-key-ed25519', 32);
  if (!bytesEqual(master, ed25519Identity))
    doc.fail('master-key-ed25519 does not match the identity-ed25519 certificate', masterItem);

  const identityItem = doc.required('signing-key');
  doc.noArgs(identityItem);
  const identityKey = doc.rsaKey(identityItem, { bits: 1024 });
  const fingerprint = identityKey.fingerprint();
  const fpItem = doc.optional('fingerprint');
  if (fpItem) {
    const declared = doc.hex(fpItem, fpItem.argText.replace(/ /g, ''), 'fingerprint');
    if (!bytesEqual(declared, fingerprint)) doc.fail('fingerprint does not match signing-key', fpItem);
  }

  const onionItem = doc.optional('onion-key');
  const tapCrossItem = doc.optional('onion-key-crosscert');
  let tapOnionKey: RsaPublicKey | undefined;
  let tapOnionKeyCrosscert: Uint8Array | undefined;
  if (onionItem?.object) {
    doc.noArgs(onionItem);
    tapOnionKey = doc.rsaKey(onionItem, { bits: 1024, requireE65537: true });
    if (!tapCrossItem) doc.fail('"onion-key" without "onion-key-crosscert"', onionItem);
    doc.noArgs(tapCrossItem);
    tapOnionKeyCrosscert = doc.object(tapCrossItem, 'CROSSCERT');
  } else if (tapCrossItem) {
    doc.fail('"onion-key-crosscert" without an onion key', tapCrossItem);
  }

  const ntorItem = doc.required('ntor-onion-key');
  const ntorOnionKey = doc.base64(ntorItem, doc.arg(ntorItem, 0), 'ntor-onion-key', 32);
  const ntorCrossItem = doc.required('ntor-onion-key-crosscert');
  const signBitText = doc.arg(ntorCrossItem, 0);
  if (signBitText !== '0' && signBitText !== '1')
    doc.fail('bad sign bit on ntor-onion-key-crosscert', ntorCrossItem);
  const ntorParsed = parseEd25519Cert(doc.object(ntorCrossItem, 'ED25519 CERT'));
  if (!ntorParsed.ok) doc.fail(`bad ntor-onion-key-crosscert: ${ntorParsed.error.message}`, ntorCrossItem);

  const protoItem = doc.required('proto');
  const protocols = parseProtocols(protoItem.argText.trimEnd());
  if (!protocols) doc.fail('malformed protocol list in "proto"', protoItem);

  const publishedItem = doc.required('published');
  const published = parseIsoTime(publishedItem.argText.trimEnd());
  if (published === undefined) doc.fail(`bad time "${publishedItem.argText}"`, publishedItem);

  const bwItem = doc.required('bandwidth');
  doc.minArgs(bwItem, 3);
  const bandwidth = {
    average: doc.integer(bwItem, bwItem.args[0]!, 'average bandwidth', 1, 2147483647),
    burst: doc.integer(bwItem, bwItem.args[1]!, 'burst bandwidth', 0, 2147483647),
    observed: doc.integer(bwItem, bwItem.args[2]!, 'observed bandwidth', 0, 2147483647),
  };

  const uptimeItem = doc.optional('uptime');
  const uptime = uptimeItem
    ? doc.integer(uptimeItem, doc.arg(uptimeItem, 0), 'uptime', 0, Number.MAX_SAFE_INTEGER)
    : undefined;

  let extraInfoDigest: ExtraInfoDigest | undefined;
  const eiItem = doc.optional('extra-info-digest');
  if (eiItem) {
    extraInfoDigest = {
      sha1: doc.hex(eiItem, doc.arg(eiItem, 0), 'extra-info digest'),
      sha256:
        eiItem.args[1] === undefined
          ? undefined
          : doc.base64(eiItem, eiItem.args[1], 'extra-info sha256', 32),
    };
  }

  if (doc.optional('accept6') || doc.optional('reject6'))
    doc.fail('"accept6"/"reject6" lines are not allowed');
  const exitPolicy: ExitPolicyRule[] = [];
  for (const item of items) {
    if (item.keyword !== 'accept' && item.keyword !== 'reject') continue;
    const rule = parseExitPolicyRule(item.keyword, item.argText.trimEnd());
    if (!rule) doc.fail(`bad exit policy line "${item.keyword} ${item.argText}"`, item);
    exitPolicy.push(rule);
  }
  if (exitPolicy.length === 0) doc.fail('no exit policy lines');
  let ipv6Policy: PortPolicySummary | undefined;
  const v6Item = doc.optional('ipv6-policy');
  if (v6Item) {
    ipv6Policy = parsePortPolicySummary(v6Item.argText);
    if (!ipv6Policy) doc.fail(`bad ipv6-policy "${v6Item.argText}"`, v6Item);
  }

  const orAddresses = doc.all('or-address').map((i) => doc.addressPort(i, doc.arg(i, 0)));
  const hibernatingItem = doc.optional('hibernating');
  const contactItem = doc.optional('contact');
  const platformItem = doc.optional('platform');
  const bdrItem = doc.optional('bridge-distribution-request');

  const signed = findSignedRange(text, 'router ', '\nrouter-signature', '\n');
  const edSigned = findSignedRange(text, 'router ', '\nrouter-sig-ed25519', ' ');
  if (!signed || !edSigned) doc.fail('cannot find the signed portion', signatureItem);

  return {
    raw: bytes.slice(),
    nickname,
    address,
    orPort,
    dirPort,
    orAddresses,
    identityCert,
    ed25519Identity,
    ed25519SigningKey: identityCert.certifiedKey,
    platform: platformItem ? utf8Text(platformItem.argText) : undefined,
    protocols,
    published,
    fingerprint,
    uptime,
    bandwidth,
    extraInfoDigest,
    cachesExtraInfo: doc.optional('caches-extra-info') !== undefined,
    tapOnionKey,
    tapOnionKeyCrosscert,
    identityKey,
    ntorOnionKey,
    ntorOnionKeyCrosscert: ntorParsed.value,
    ntorOnionKeyCrosscertSignBit: signBitText === '1' ? 1 : 0,
    family: doc.optional('family')?.args ?? [],
    hibernating: hibernatingItem ? hibernatingItem.args[0] !== '0' : false,
    hiddenServiceDir: doc.optional('hidden-service-dir') !== undefined,
    contact: contactItem ? utf8Text(contactItem.argText) : undefined,
    bridgeDistributionRequest: bdrItem?.args[0],
    exitPolicy,
    ipv6Policy,
    tunnelledDirServer: doc.optional('tunnelled-dir-server') !== undefined,
    digest: sha1(bytes.subarray(signed.start, signed.end)),
    ed25519SignedDigest: sha256(
      utf8(ED25519_DESCRIPTOR_SIGNATURE_PREFIX),
      bytes.subarray(edSigned.start, edSigned.end),
    ),
    ed25519Signature,
    rsaSignature,
  };
}

/** Splits a concatenation of descriptors (e.g. `/tor/server/all`) at each "router" item. */
function groupDescriptors(items: readonly NetDocItem[]): NetDocItem[][] {
  const groups: NetDocItem[][] = [];
  for (const item of items) {
    if (item.keyword === 'router' || groups.length === 0) groups.push([]);
    groups[groups.length - 1]!.push(item);
  }
  return groups;
}

/** Parses one or more concatenated server descriptors. */
export function parseServerDescriptors(bytes: Uint8Array): Result<ServerDescriptor[], NetDocError> {
  return parseDocument(() => {
    const text = latin1(bytes);
    const items = tokenizeOrThrow(text, OBJECT);
    if (items.length === 0) throw new NetDocError(OBJECT, 'no descriptor');
    return groupDescriptors(items).map((group) => {
      const start = group[0]!.start;
      const end = group[group.length - 1]!.end;
      return parseDescriptorItems(text.slice(start, end), bytes.subarray(start, end), group);
    });
  });
}

/** Parses exactly one server descriptor. */
export function parseServerDescriptor(bytes: Uint8Array): Result<ServerDescriptor, NetDocError> {
  const all = parseServerDescriptors(bytes);
  if (!all.ok) return all;
  if (all.value.length !== 1)
    return err(new NetDocError(OBJECT, `expected one descriptor, found ${all.value.length}`));
  return ok(all.value[0]!);
}

/** Checks the descriptor's certificates (against `now`, seconds since the epoch) and both signatures. */
export function verifyServerDescriptor(
  desc: ServerDescriptor,
  check: { readonly now: number },
): Result<VerifiedServerDescriptor, NetDocVerifyError> {
  const name = `${OBJECT} ${toHexUpper(desc.fingerprint)}`;
  const nowMs = check.now * 1000;
  const idCheck = checkEd25519Cert(desc.identityCert, {
    certType: Ed25519CertType.IDENTITY_V_SIGNING,
    nowMs,
  });
  if (!idCheck.ok)
    return err(certFailure(name, 'identity-ed25519', idCheck.error.code, idCheck.error.message));
  const ntorCheck = checkNtorOnionKeyCrosscert(desc.ntorOnionKeyCrosscert, {
    ntorOnionKey: desc.ntorOnionKey,
    signBit: desc.ntorOnionKeyCrosscertSignBit,
    ed25519Identity: desc.ed25519Identity,
    nowMs,
  });
  if (!ntorCheck.ok)
    return err(certFailure(name, 'ntor-onion-key-crosscert', ntorCheck.error.code, ntorCheck.error.message));
  if (desc.tapOnionKey && desc.tapOnionKeyCrosscert) {
    const signedData = concatBytes(desc.fingerprint, desc.ed25519Identity);
    if (!rsaSignatureCovers(desc.tapOnionKey, signedData, desc.tapOnionKeyCrosscert))
      return err(new NetDocVerifyError('bad-signature', name, 'onion-key-crosscert does not verify'));
  }
  if (!ed25519Verify(desc.ed25519SigningKey, desc.ed25519SignedDigest, desc.ed25519Signature))
    return err(new NetDocVerifyError('bad-signature', name, 'router-sig-ed25519 does not verify'));
  if (!rsaSignatureCovers(desc.identityKey, desc.digest, desc.rsaSignature))
    return err(new NetDocVerifyError('bad-signature', name, 'router-signature does not verify'));
  return ok(desc as VerifiedServerDescriptor);
}

/** Maps a certificate check failure onto the document verification error. */
export function certFailure(name: string, what: string, code: string, message: string): NetDocVerifyError {
  const failure =
    code === 'EXPIRED' ? 'expired' : code === 'BAD_SIGNATURE' ? 'bad-signature' : 'key-mismatch';
  return new NetDocVerifyError(failure, name, `${what}: ${message}`);
}
