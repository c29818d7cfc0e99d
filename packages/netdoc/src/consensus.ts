/**
 * Network-status consensus documents (dir-spec 3.4.1), in the "microdesc"
 * flavour clients fetch from a bridge (dir-spec 3.9.2) and the unflavoured
 * "ns" one.
 *
 * The document is a header (times, flags, parameters, one dir-source group
 * per voting authority), router status entries each starting at an "r" item,
 * and a footer with bandwidth weights and one or more "directory-signature"
 * items. Parsing follows C tor's rules (ns_parse.c
 * networkstatus_parse_vote_from_string, routerstatus_parse_entry_from_string):
 * unknown items are ignored, entries must be sorted by identity, a
 * signature must name a listed authority, a second signature from the same
 * authority with the same algorithm is ignored, and nothing but signatures
 * may follow the first signature.
 *
 * The original bytes are kept (`raw`) so a directory cache serves exactly
 * what the authorities signed. Signature checking is in consensus-verify.ts.
 */

import type { Result } from '@relayd/common';
import { bytesEqual } from '@relayd/common';
import { sha1, sha3_256, sha256 } from '@relayd/crypto';
import { ItemSection, parseDocument } from './document.js';
import type { NetDocError } from './errors.js';
import { type PortPolicySummary, parsePortPolicySummary } from './port-policy.js';
import { type ProtocolVersions, parseProtocols } from './protocols.js';
import { findSignedRange } from './signatures.js';
import { latin1, type NetDocItem, tokenizeOrThrow } from './tokenizer.js';
import { type AddressPort, parseIsoTime } from './values.js';

const OBJECT = 'consensus';

export type ConsensusFlavor = 'ns' | 'microdesc';
/** Digest algorithms a "directory-signature" may name that relayd (like tor) can check. */
export type ConsensusDigestAlgorithm = 'sha1' | 'sha256';

/** One "dir-source" group of the authority section. */
export interface ConsensusAuthority {
  readonly nickname: string;
  /** The authority's v3 identity fingerprint (SHA-1 of its identity key). */
  readonly identity: Uint8Array;
  readonly hostname: string;
  readonly address: string;
  readonly dirPort: number;
  readonly orPort: number;
  /** Absent on the extra "-legacy" dir-source lines. */
  readonly contact: string | undefined;
  /** SHA-1 of the authority's vote as signed; absent on "-legacy" lines. */
  readonly voteDigest: Uint8Array | undefined;
}

/** The "w" line of a router status entry. */
export interface RouterBandwidth {
  /** Consensus weight ("Bandwidth="), in arbitrary units (kilobytes per second today). */
  readonly weight: number;
  /** "Unmeasured=1": the weight is not from enough bandwidth measurements. */
  readonly unmeasured: boolean;
}

/** One router status entry. */
export interface RouterStatus {
  readonly nickname: string;
  /** SHA-1 of the relay's RSA identity key. */
  readonly identity: Uint8Array;
  /** "ns" flavour only: SHA-1 of the relay's server descriptor as signed. */
  readonly descriptorDigest: Uint8Array | undefined;
  /** The "r" line's publication time (meaningless in consensuses; kept for completeness). */
  readonly published: number;
  readonly address: string;
  readonly orPort: number;
  readonly dirPort: number;
  /** The first IPv6 "a" line, the only one tor uses. */
  readonly ipv6OrPort: AddressPort | undefined;
  /** The "s" flags in document order. */
  readonly flags: readonly string[];
  /** The "v" line, e.g. "Tor 0.4.9.11". */
  readonly version: string | undefined;
  readonly protocols: ProtocolVersions;
  readonly bandwidth: RouterBandwidth | undefined;
  /** "ns" flavour: the "p" exit-policy summary (undefined when absent). */
  readonly exitPolicy: PortPolicySummary | undefined;
  /** "microdesc" flavour: SHA-256 of the relay's microdescriptor ("m" line). */
  readonly microdescDigest: Uint8Array | undefined;
}

/** One "directory-signature" with a recognised algorithm. */
export interface ConsensusSignature {
  readonly algorithm: ConsensusDigestAlgorithm;
  /** The signing authority's v3 identity fingerprint. */
  readonly identity: Uint8Array;
  /** SHA-1 of the authority's signing key. */
  readonly signingKeyDigest: Uint8Array;
  readonly signature: Uint8Array;
  /** Line of the "directory-signature" item, for diagnostics. */
  readonly line: number;
}

/** A shared random value line (dir-spec 3.4.1 "shared-rand-current-value"). */
export interface SharedRandomValue {
  readonly reveals: number;
  readonly value: Uint8Array;
}

/** A parsed consensus. Times are seconds since the epoch. */
export interface Consensus {
  /** The exact bytes parsed, for serving. */
  readonly raw: Uint8Array;
  readonly flavor: ConsensusFlavor;
  readonly consensusMethod: number;
  readonly validAfter: number;
  readonly freshUntil: number;
  readonly validUntil: number;
  readonly voteSeconds: number;
  readonly distSeconds: number;
  readonly clientVersions: readonly string[] | undefined;
  readonly serverVersions: readonly string[] | undefined;
  readonly knownFlags: readonly string[];
  /** "params": network parameters, int32 each. */
  readonly params: ReadonlyMap<string, number>;
  readonly recommendedClientProtocols: ProtocolVersions | undefined;
  readonly recommendedRelayProtocols: ProtocolVersions | undefined;
  readonly requiredClientProtocols: ProtocolVersions | undefined;
  readonly requiredRelayProtocols: ProtocolVersions | undefined;
  readonly sharedRandPrevious: SharedRandomValue | undefined;
  readonly sharedRandCurrent: SharedRandomValue | undefined;
  readonly authorities: readonly ConsensusAuthority[];
  readonly routers: readonly RouterStatus[];
  readonly bandwidthWeights: ReadonlyMap<string, number>;
  readonly signatures: readonly ConsensusSignature[];
  /**
   * Digests of the signed portion: from "network-status-version" through the
   * space after the first "directory-signature". `sha3_256` is the digest
   * consensus diffs name.
   */
  readonly signedDigests: {
    readonly sha1: Uint8Array;
    readonly sha256: Uint8Array;
    readonly sha3_256: Uint8Array;
  };
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const UINT32_MAX = 4294967295;

/** Parses "k=v" pairs whose values are int32, as "params" and "bandwidth-weights" are. */
function parseInt32Pairs(doc: ItemSection, item: NetDocItem, requireSorted: boolean): Map<string, number> {
  const out = new Map<string, number>();
  let previous: string | undefined;
  for (const pair of item.args) {
    const eq = pair.indexOf('=');
    if (eq < 1) doc.fail(`bad element "${pair}" in "${item.keyword}"`, item);
    const key = pair.slice(0, eq);
    const value = doc.integer(item, pair.slice(eq + 1), `value of ${key}`, INT32_MIN, INT32_MAX);
    if (requireSorted) {
      if (previous !== undefined && previous >= pair)
        doc.fail(`"${item.keyword}" entries are not in order`, item);
      if (out.has(key)) doc.fail(`duplicate "${key}" in "${item.keyword}"`, item);
    }
    previous = pair;
    out.set(key, value);
  }
  return out;
}

function timeItem(doc: ItemSection, keyword: string): number {
  const item = doc.required(keyword);
  const t = parseIsoTime(item.argText.trimEnd());
  if (t === undefined) doc.fail(`bad time "${item.argText}"`, item);
  return t;
}

function protocolsItem(doc: ItemSection, keyword: string): ProtocolVersions | undefined {
  const item = doc.optional(keyword);
  if (!item) return undefined;
  const p = parseProtocols(item.argText.trimEnd());
  if (!p) doc.fail(`malformed protocol list in "${keyword}"`, item);
  return p;
}

function sharedRandom(doc: ItemSection, keyword: string): SharedRandomValue | undefined {
  const item = doc.optional(keyword);
  if (!item) return undefined;
  if (item.args.length !== 2) doc.fail(`"${keyword}" takes 2 arguments`, item);
  return {
    reveals: doc.integer(item, item.args[0]!, 'reveal count', 0, INT32_MAX),
    value: doc.base64(item, item.args[1]!, 'shared random value', 32),
  };
}

function versionList(doc: ItemSection, keyword: string): string[] | undefined {
  const item = doc.optional(keyword);
  return item
    ? item.argText
        .trim()
        .split(',')
        .filter((v) => v.length > 0)
    : undefined;
}

function parseAuthorities(doc: ItemSection): ConsensusAuthority[] {
  interface Draft {
    source: NetDocItem;
    contact?: string;
    voteDigest?: Uint8Array;
  }
  const drafts: Draft[] = [];
  for (const item of doc.items) {
    if (item.keyword === 'dir-source') {
      doc.minArgs(item, 6);
      drafts.push({ source: item });
    } else if (item.keyword === 'contact') {
      const current = drafts[drafts.length - 1];
      if (!current || current.contact !== undefined) doc.fail('"contact" is out of place', item);
      current.contact = item.argText;
    } else if (item.keyword === 'vote-digest') {
      const current = drafts[drafts.length - 1];
      if (!current || current.voteDigest !== undefined) doc.fail('"vote-digest" is out of place', item);
      current.voteDigest = doc.hex(item, doc.arg(item, 0), 'vote digest');
    }
  }
  if (drafts.length === 0) doc.fail('no "dir-source" items');
  return drafts.map(({ source, contact, voteDigest }) => ({
    nickname: source.args[0]!,
    identity: doc.hex(source, source.args[1]!, 'authority identity'),
    hostname: source.args[2]!,
    address: doc.ipv4(source, source.args[3]!),
    dirPort: doc.integer(source, source.args[4]!, 'dir port', 0, 65535),
    orPort: doc.integer(source, source.args[5]!, 'OR port', 0, 65535),
    contact,
    voteDigest,
  }));
}

function parseRouterStatus(doc: ItemSection, flavor: ConsensusFlavor): RouterStatus {
  const r = doc.requireFirst('r');
  doc.minArgs(r, flavor === 'ns' ? 8 : 7);
  const shift = flavor === 'ns' ? 0 : -1;
  const args = r.args;
  const nickname = doc.nickname(r, args[0]!);
  const identity = doc.base64(r, args[1]!, 'identity', 20);
  const descriptorDigest = flavor === 'ns' ? doc.base64(r, args[2]!, 'descriptor digest', 20) : undefined;
  const published = doc.timeArgs(r, 3 + shift);
  const address = doc.ipv4(r, args[5 + shift]!);
  const orPort = doc.integer(r, args[6 + shift]!, 'OR port', 0, 65535);
  const dirPort = doc.integer(r, args[7 + shift]!, 'dir port', 0, 65535);

  let ipv6OrPort: AddressPort | undefined;
  for (const a of doc.all('a')) {
    doc.minArgs(a, 1);
    const ap = doc.addressPort(a, a.args[0]!);
    if (ap.family === 6 && !ipv6OrPort) ipv6OrPort = ap;
  }

  const s = doc.required('s');
  const v = doc.optional('v');
  const pr = doc.required('pr');
  const protocols = parseProtocols(pr.argText.trimEnd());
  if (!protocols) doc.fail('malformed protocol list in "pr"', pr);

  let bandwidth: RouterBandwidth | undefined;
  const w = doc.optional('w');
  if (w) {
    let weight: number | undefined;
    let unmeasured = false;
    for (const kv of w.args) {
      if (kv.startsWith('Bandwidth=')) weight = doc.integer(w, kv.slice(10), 'bandwidth', 0, UINT32_MAX);
      else if (kv === 'Unmeasured=1') unmeasured = true;
    }
    if (weight !== undefined) bandwidth = { weight, unmeasured };
  }

  let exitPolicy: PortPolicySummary | undefined;
  const p = doc.optional('p');
  if (p) {
    exitPolicy = parsePortPolicySummary(p.argText);
    if (!exitPolicy) doc.fail(`bad exit policy summary "${p.argText}"`, p);
  }

  let microdescDigest: Uint8Array | undefined;
  if (flavor === 'microdesc') {
    const m = doc.all('m')[0];
    if (m) microdescDigest = doc.base64(m, doc.arg(m, 0), 'microdescriptor digest', 32);
  }

  return {
    nickname,
    identity,
    descriptorDigest,
    published,
    address,
    orPort,
    dirPort,
    ipv6OrPort,
    flags: s.args,
    version: v?.argText,
    protocols,
    bandwidth,
    exitPolicy,
    microdescDigest,
  };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function parseSignatures(
  doc: ItemSection,
  footer: readonly NetDocItem[],
  authorities: readonly ConsensusAuthority[],
): ConsensusSignature[] {
  const signatures: ConsensusSignature[] = [];
  let seen = 0;
  for (const item of footer) {
    if (item.keyword !== 'directory-signature') continue;
    seen++;
    doc.minArgs(item, 2);
    let algorithmName = 'sha1';
    let idHex = item.args[0]!;
    let skHex = item.args[1]!;
    if (item.args.length > 2) {
      algorithmName = item.args[0]!;
      idHex = item.args[1]!;
      skHex = item.args[2]!;
    }
    const sig = doc.object(item, 'SIGNATURE');
    if (sig.length < 128 || sig.length > 512) doc.fail('signature has an impossible length', item);
    const identity = doc.hex(item, idHex, 'signature identity');
    if (!authorities.some((a) => bytesEqual(a.identity, identity)))
      doc.fail('signature from an authority that is not a dir-source', item);
    const signingKeyDigest = doc.hex(item, skHex, 'signing key digest');
    // dir-spec 3.4.1: signatures with an unrecognised algorithm are ignored.
    if (algorithmName !== 'sha1' && algorithmName !== 'sha256') continue;
    const algorithm = algorithmName;
    // C tor keeps the first signature per authority and algorithm.
    if (signatures.some((s) => s.algorithm === algorithm && bytesEqual(s.identity, identity))) continue;
    signatures.push({ algorithm, identity, signingKeyDigest, signature: sig, line: item.line });
  }
  if (seen === 0) doc.fail('no "directory-signature"');
  return signatures;
}

/** Where each part of a consensus begins in its item list. */
function splitSections(items: readonly NetDocItem[]): {
  header: NetDocItem[];
  entries: NetDocItem[][];
  footer: NetDocItem[];
} {
  const header: NetDocItem[] = [];
  const entries: NetDocItem[][] = [];
  const footer: NetDocItem[] = [];
  let part: 'header' | 'entries' | 'footer' = 'header';
  for (const item of items) {
    if (item.keyword === 'directory-footer' || item.keyword === 'directory-signature') part = 'footer';
    else if (part !== 'footer' && item.keyword === 'r') {
      part = 'entries';
      entries.push([]);
    }
    if (part === 'header') header.push(item);
    else if (part === 'entries') entries[entries.length - 1]!.push(item);
    else footer.push(item);
  }
  return { header, entries, footer };
}

/** Options for `parseConsensus`. */
export interface ConsensusParseOptions {
  /** Refuse a document of any other flavour. */
  readonly flavor?: ConsensusFlavor;
}

/** Parses a consensus. Never throws: malformed input is a NetDocError naming the line. */
export function parseConsensus(
  bytes: Uint8Array,
  options: ConsensusParseOptions = {},
): Result<Consensus, NetDocError> {
  return parseDocument(() => {
    const text = latin1(bytes);
    const items = tokenizeOrThrow(text, OBJECT);
    const { header, entries, footer } = splitSections(items);
    const doc: ItemSection = new ItemSection(OBJECT, header);

    const versionItem = doc.requireFirst('network-status-version');
    if (doc.arg(versionItem, 0) !== '3')
      doc.fail(`unsupported version "${versionItem.args[0]}"`, versionItem);
    const flavorName = versionItem.args[1] ?? 'ns';
    if (flavorName !== 'ns' && flavorName !== 'microdesc')
      doc.fail(`unknown flavour "${flavorName}"`, versionItem);
    const flavor: ConsensusFlavor = flavorName;
    if (options.flavor && options.flavor !== flavor)
      doc.fail(`expected a ${options.flavor} consensus, found ${flavor}`, versionItem);

    const status = doc.required('vote-status');
    if (doc.arg(status, 0) !== 'consensus')
      doc.fail(`not a consensus: vote-status "${status.args[0]}"`, status);

    const methodItem = doc.optional('consensus-method');
    let consensusMethod = 1;
    if (methodItem) {
      if (methodItem.args.length !== 1) doc.fail('"consensus-method" takes one argument', methodItem);
      consensusMethod = doc.integer(methodItem, methodItem.args[0]!, 'consensus method', 1, INT32_MAX);
    }

    const validAfter = timeItem(doc, 'valid-after');
    const freshUntil = timeItem(doc, 'fresh-until');
    const validUntil = timeItem(doc, 'valid-until');
    if (!(validAfter < freshUntil && freshUntil <= validUntil))
      doc.fail('valid-after, fresh-until and valid-until are out of order', doc.required('valid-until'));

    const delay = doc.required('voting-delay');
    doc.minArgs(delay, 2);
    const voteSeconds = doc.integer(delay, delay.args[0]!, 'vote seconds', 0, INT32_MAX);
    const distSeconds = doc.integer(delay, delay.args[1]!, 'dist seconds', 0, INT32_MAX);

    const flagsItem = doc.required('known-flags');
    for (let i = 1; i < flagsItem.args.length; i++)
      if (flagsItem.args[i - 1]! >= flagsItem.args[i]!) doc.fail('known-flags are not in order', flagsItem);

    const paramsItem = doc.optional('params');
    const params = paramsItem ? parseInt32Pairs(doc, paramsItem, true) : new Map<string, number>();

    const authorities = parseAuthorities(doc);

    const routers = entries.map((group) => parseRouterStatus(new ItemSection(OBJECT, group), flavor));
    for (let i = 1; i < routers.length; i++) {
      if (compareBytes(routers[i - 1]!.identity, routers[i]!.identity) >= 0)
        doc.fail('router status entries are not sorted by identity', entries[i]![0]);
    }

    const foot: ItemSection = new ItemSection(OBJECT, footer);
    const firstSig = footer.findIndex((i) => i.keyword === 'directory-signature');
    if (firstSig >= 0) {
      const extra = footer.slice(firstSig).find((i) => i.keyword !== 'directory-signature');
      if (extra) foot.fail(`"${extra.keyword}" after the first directory-signature`, extra);
    }
    const footerItem = foot.optional('directory-footer');
    if (footerItem && footer[0] !== footerItem) foot.fail('misplaced "directory-footer"', footerItem);
    const weightsItem = foot.optional('bandwidth-weights');
    const bandwidthWeights = weightsItem
      ? parseInt32Pairs(foot, weightsItem, false)
      : new Map<string, number>();
    const signatures = parseSignatures(foot, footer, authorities);

    const range = findSignedRange(text, 'network-status-version', '\ndirectory-signature', ' ');
    if (!range) doc.fail('cannot find the signed portion');
    const signed = bytes.subarray(range.start, range.end);

    return {
      raw: bytes.slice(),
      flavor,
      consensusMethod,
      validAfter,
      freshUntil,
      validUntil,
      voteSeconds,
      distSeconds,
      clientVersions: versionList(doc, 'client-versions'),
      serverVersions: versionList(doc, 'server-versions'),
      knownFlags: flagsItem.args,
      params,
      recommendedClientProtocols: protocolsItem(doc, 'recommended-client-protocols'),
      recommendedRelayProtocols: protocolsItem(doc, 'recommended-relay-protocols'),
      requiredClientProtocols: protocolsItem(doc, 'required-client-protocols'),
      requiredRelayProtocols: protocolsItem(doc, 'required-relay-protocols'),
      sharedRandPrevious: sharedRandom(doc, 'shared-rand-previous-value'),
      sharedRandCurrent: sharedRandom(doc, 'shared-rand-current-value'),
      authorities,
      routers,
      bandwidthWeights,
      signatures,
      signedDigests: { sha1: sha1(signed), sha256: sha256(signed), sha3_256: sha3_256(signed) },
    };
  });
}

/** Where `now` (seconds since the epoch) falls in a consensus's lifetime (dir-spec 1.4). */
export type ConsensusTimeStatus = 'not-yet-valid' | 'fresh' | 'valid' | 'reasonably-live' | 'expired';

/**
 * How long after valid-until a consensus is still "reasonably live": clients
 * keep using it for a day when nothing newer can be had (dir-spec 3.4.1;
 * networkstatus.c REASONABLY_LIVE_TIME).
 */
export const REASONABLY_LIVE_SECONDS = 24 * 60 * 60;

/** Classifies `now` against the consensus's valid-after / fresh-until / valid-until. */
export function consensusTimeStatus(consensus: Consensus, now: number): ConsensusTimeStatus {
  if (now < consensus.validAfter) return 'not-yet-valid';
  if (now < consensus.freshUntil) return 'fresh';
  if (now <= consensus.validUntil) return 'valid';
  if (now <= consensus.validUntil + REASONABLY_LIVE_SECONDS) return 'reasonably-live';
  return 'expired';
}

/** Finds the router status entry for an RSA identity digest (entries are sorted: binary search). */
export function findRouterStatus(consensus: Consensus, identity: Uint8Array): RouterStatus | undefined {
  let lo = 0;
  let hi = consensus.routers.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareBytes(consensus.routers[mid]!.identity, identity);
    if (c === 0) return consensus.routers[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
