/**
 * The engine's `DirectoryService` for a bridge: answers the GET requests a
 * client sends on BEGIN_DIR streams from the documents in a
 * `DirectoryStore`, with C tor's URL table, status codes and headers
 * (tor: src/feature/dircache/dircache.c directory_handle_command_get and
 * its handlers; dir-spec 4 and 6).
 *
 *   /tor/status-vote/current/consensus-microdesc[/<F>+<F>…][.z]   the consensus
 *   /tor/micro/d/<D>-<D>…[.z]                                     microdescriptors
 *   /tor/keys/all | fp/<F>+… | sk/<S>+… | fp-sk/<F>-<S>+…[.z]      authority certificates
 *   /tor/server/authority | fp/<F>+… | d/<D>+…[.z]                our descriptor
 *   /tor/extra/…                                                  our extra-info, only if enabled
 *   /tor/robots.txt                                               "Disallow: /"
 *
 * Status codes: 200; 304 when the client already holds what we would send
 * (If-Modified-Since, X-Or-Diff-From-Consensus); 404 for an unknown URL or
 * an absent document (and, as tor, for a consensus that is too old or too
 * new, or not signed by enough of the authorities the client listed); 503
 * while no consensus has been obtained yet, and for POST (tor answers
 * "Not acting as a public relay" on a bridge); 400 for a request that does
 * not parse. Bodies are compressed once per document (or per set of
 * documents) and encoding, and reused.
 *
 * Nothing here throws on client input: every request head gives a response.
 */
import {
  bytesEqual,
  type Clock,
  concatBytes,
  formatIpAddress,
  type IpAddress,
  isInternalAddress,
  parseIpAddress,
  toBase64Unpadded,
  toHex,
  utf8,
} from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import type { DirectoryRequest, DirectoryRequestContext, DirectoryService } from '@relayd/engine';
import { COMPRESSION_LEVEL, type ContentEncoding, chooseEncoding, encodeBody } from './compression.js';
import type { DirectoryStore, StoredCertificate } from './directory-store.js';
import { consensusLiveness } from './directory-store.js';
import { EncodedBodyCache } from './encoded-body-cache.js';
import { joinResponse, okResponseHead, shortResponse } from './http-response.js';
import {
  type DirectoryResourceLabel,
  type DirectoryServiceMetrics,
  noopDirectoryServiceMetrics,
} from './metrics.js';
import { type DirectoryGet, readDirectoryRequest } from './request-target.js';
import {
  clientLikesConsensus,
  splitBase64Digests256,
  splitFingerprintPairs,
  splitHexDigests,
} from './resource-list.js';

/** Cache lifetimes tor announces with "Expires" (dircache.c). */
export const CACHE_LIFETIME_SECONDS = {
  /** FULL_DIR_CACHE_LIFETIME: "/tor/server/all". */
  fullDirectory: 60 * 60,
  /** ROUTERDESC_BY_DIGEST_CACHE_LIFETIME: one descriptor. */
  descriptor: 48 * 60 * 60,
  /** MICRODESC_CACHE_LIFETIME. */
  microdescriptors: 48 * 60 * 60,
  /** handle_get_keys. */
  certificates: 60 * 60,
  /** ROBOTS_CACHE_LIFETIME. */
  robots: 24 * 60 * 60,
} as const;

/** ROUTER_MAX_AGE_TO_PUBLISH (or.h): a descriptor older than this is not served by fingerprint. */
export const ROUTER_MAX_AGE_TO_PUBLISH_SECONDS = 24 * 60 * 60;

const ROBOTS_TXT = utf8('User-agent: *\r\nDisallow: /\r\n');
const VARY_HEADER = 'Vary: X-Or-Diff-From-Consensus\r\n';

export interface DirCacheServiceOptions {
  /**
   * Serve `/tor/extra/…`. C tor's bridges never do (dircache.c serves
   * extra-info only when neither BridgeRelay nor BridgeAuthoritativeDir is
   * set): extra-info carries usage statistics. Default false.
   */
  readonly serveExtraInfo?: boolean;
  /**
   * This bridge's public addresses. A client on the same /24 (IPv4) or /48
   * (IPv6) is not told its address, as tor's is_local_to_resolve_addr
   * decides with EnforceDistinctSubnets.
   */
  readonly ownAddresses?: readonly string[];
  /** Byte budget for compressed multi-document bodies (default 64 MiB). */
  readonly encodedBodyCacheBytes?: number;
}

export interface DirCacheServiceModules {
  readonly store: DirectoryStore;
  readonly clock: Clock;
  readonly metrics?: DirectoryServiceMetrics;
}

/** One document's encodings, made once and kept while it is current. */
class PinnedDocument {
  private readonly encodings = new Map<ContentEncoding, Promise<Uint8Array>>();

  constructor(
    readonly key: string,
    readonly raw: Uint8Array,
  ) {}

  encoded(encoding: ContentEncoding): Promise<Uint8Array> {
    if (encoding === 'identity') return Promise.resolve(this.raw);
    let found = this.encodings.get(encoding);
    if (!found) {
      found = encodeBody(this.raw, encoding, COMPRESSION_LEVEL.cached);
      this.encodings.set(encoding, found);
      // A failed compression is retried by the next request rather than cached.
      found.catch(() => this.encodings.delete(encoding));
    }
    return found;
  }
}

/** What a handler decided. */
type Reply =
  | { readonly kind: 'short'; readonly status: number; readonly reason: string }
  | {
      readonly kind: 'body';
      /** Encodes the body; `identity` must give the raw bytes. */
      readonly body: (encoding: ContentEncoding) => Promise<Uint8Array>;
      /** When set, this encoding is used whatever the client accepts. */
      readonly forcedEncoding?: ContentEncoding;
      readonly lifetimeSeconds: number;
      readonly extraHeaders?: string;
    };

const short = (status: number, reason: string): Reply => ({ kind: 'short', status, reason });
const NOT_FOUND = short(404, 'Not found');

export class DirCacheService implements DirectoryService {
  private readonly store: DirectoryStore;
  private readonly clock: Clock;
  private readonly metrics: DirectoryServiceMetrics;
  private readonly serveExtraInfo: boolean;
  private readonly ownAddresses: readonly IpAddress[];
  private readonly bodies: EncodedBodyCache;
  private readonly pinned = new Map<string, PinnedDocument>();
  private readonly unsubscribe: () => void;

  constructor(options: DirCacheServiceOptions, modules: DirCacheServiceModules) {
    this.store = modules.store;
    this.clock = modules.clock;
    this.metrics = modules.metrics ?? noopDirectoryServiceMetrics;
    this.serveExtraInfo = options.serveExtraInfo ?? false;
    this.ownAddresses = (options.ownAddresses ?? [])
      .map((a) => parseIpAddress(a))
      .filter((a): a is IpAddress => a !== undefined);
    this.bodies = new EncodedBodyCache(options.encodedBodyCacheBytes);
    this.unsubscribe = this.store.onChange((change) => {
      // Start compressing a new consensus at once, so the first client does not wait for it.
      if (change === 'consensus') this.prepareConsensus();
    });
    this.prepareConsensus();
  }

  /** Stops following the store. */
  close(): void {
    this.unsubscribe();
  }

  /** Compressed-body cache counters, for operators. */
  cacheStats(): ReturnType<EncodedBodyCache['stats']> {
    return this.bodies.stats();
  }

  async handle(request: DirectoryRequest, context: DirectoryRequestContext): Promise<Uint8Array> {
    const now = Math.floor(this.clock.nowMs() / 1000);
    if (!request.parsed.ok)
      return this.finish('bad-request', short(400, 'Bad request'), undefined, now, context);
    const kind = readDirectoryRequest(request.parsed.value);
    if (kind.kind === 'bad-request')
      return this.finish('bad-request', short(400, 'Bad request'), undefined, now, context);
    // tor: a bridge is not a public relay and takes no uploads.
    if (kind.kind === 'post')
      return this.finish('post', short(503, 'Not acting as a public relay'), undefined, now, context);
    const get = kind.get;
    const [resource, reply] = this.route(get, now);
    return this.finish(resource, reply, get, now, context);
  }

  private async finish(
    resource: DirectoryResourceLabel,
    reply: Reply,
    get: DirectoryGet | undefined,
    now: number,
    context: DirectoryRequestContext,
  ): Promise<Uint8Array> {
    if (reply.kind === 'short') {
      const response = shortResponse(reply.status, reply.reason, now);
      this.metrics.response(resource, reply.status, undefined, response.length);
      return response;
    }
    const encoding = reply.forcedEncoding ?? chooseEncoding(get?.accepted ?? new Set(['identity']));
    const body = await reply.body(encoding);
    const head = okResponseHead({
      nowSeconds: now,
      contentType: 'text/plain',
      clientAddress: this.addressToReport(context.remoteAddress),
      encoding,
      contentLength: body.length,
      cacheLifetimeSeconds: reply.lifetimeSeconds,
      ...(reply.extraHeaders ? { extraHeaders: reply.extraHeaders } : {}),
    });
    const response = joinResponse(head, body);
    this.metrics.response(resource, 200, encoding, response.length);
    return response;
  }

  /** tor's url_table: the first matching entry handles the request. */
  private route(get: DirectoryGet, now: number): [DirectoryResourceLabel, Reply] {
    const url = get.url;
    if (url === '/tor/') return ['other', NOT_FOUND]; // no DirPortFrontPage
    if (url.startsWith('/tor/status-vote/current/consensus')) return ['consensus', this.consensus(get, now)];
    // Votes, detached signatures and bandwidth files are an authority's business.
    if (url.startsWith('/tor/status-vote/')) return ['other', NOT_FOUND];
    if (url.startsWith('/tor/micro/d/')) return ['microdescriptors', this.microdescriptors(url)];
    if (url.startsWith('/tor/server/')) return ['server-descriptor', this.descriptors(url, false, now)];
    if (url.startsWith('/tor/extra/')) return ['extra-info', this.descriptors(url, true, now)];
    if (url.startsWith('/tor/keys/')) return ['certificates', this.certificates(get)];
    if (url.startsWith('/tor/hs/3/')) {
      // Every circuit through a bridge starts at a client, so no HSDir request is anonymous here.
      return ['other', short(503, 'Rejecting single hop HS v3 descriptor request')];
    }
    if (url === '/tor/robots.txt') {
      return [
        'robots',
        {
          kind: 'body',
          body: () => Promise.resolve(ROBOTS_TXT),
          forcedEncoding: 'identity',
          lifetimeSeconds: CACHE_LIFETIME_SECONDS.robots,
        },
      ];
    }
    return ['other', NOT_FOUND];
  }

  // ---- consensus ------------------------------------------------------------

  private prepareConsensus(): void {
    const stored = this.store.consensus();
    if (!stored) return;
    const doc = this.pin('consensus', `consensus:${stored.digestSha3Hex}`, stored.consensus.raw);
    // Errors surface (and are retried) when a request asks for this encoding.
    doc.encoded('deflate').catch(() => {});
  }

  private pin(role: string, key: string, raw: Uint8Array): PinnedDocument {
    const held = this.pinned.get(role);
    if (held && held.key === key) return held;
    const doc = new PinnedDocument(key, raw);
    this.pinned.set(role, doc);
    return doc;
  }

  /** tor: handle_get_current_consensus with parse_consensus_request. */
  private consensus(get: DirectoryGet, now: number): Reply {
    const flavoredPrefix = '/tor/status-vote/current/consensus-';
    const unflavoredPrefix = '/tor/status-vote/current/consensus/';
    let flavor = 'ns';
    let afterFlavor: string | undefined;
    if (get.url.startsWith(flavoredPrefix)) {
      const rest = get.url.slice(flavoredPrefix.length);
      const slash = rest.indexOf('/');
      // tor falls back to "ns" for a flavour name it does not know.
      flavor = (slash >= 0 ? rest.slice(0, slash) : rest) === 'microdesc' ? 'microdesc' : 'ns';
      afterFlavor = slash >= 0 ? rest.slice(slash + 1) : undefined;
    } else if (get.url.startsWith(unflavoredPrefix)) {
      afterFlavor = get.url.slice(unflavoredPrefix.length);
    }

    let wantFingerprints = afterFlavor;
    let diffFrom = get.orDiffFrom;
    let diffOnly = false;
    if (afterFlavor?.startsWith('diff/')) {
      const rest = afterFlavor.slice('diff/'.length);
      const slash = rest.indexOf('/');
      const hash = slash >= 0 ? rest.slice(0, slash) : rest;
      wantFingerprints = slash >= 0 ? rest.slice(slash + 1) : undefined;
      if (!/^[0-9A-Fa-f]{64}$/.test(hash)) return short(404, "Couldn't parse request");
      diffFrom = [hash.toLowerCase()];
      diffOnly = true;
    }

    // relayd caches only the microdesc flavour, the one clients use.
    const stored = flavor === 'microdesc' ? this.store.consensus() : undefined;
    if (stored && diffFrom?.includes(stored.digestSha3Hex)) return short(304, 'Not modified');
    // relayd makes no consensus diffs; a client that insists on one gets none.
    if (diffOnly) return short(404, 'No such diff available');
    if (flavor !== 'microdesc') return NOT_FOUND;
    if (!stored) return short(503, 'Consensus not available yet');

    const c = stored.consensus;
    const liveness = consensusLiveness(c, now);
    if (liveness === 'too-new') return short(404, 'Consensus is too new');
    if (liveness === 'too-old') return short(404, 'Consensus is too old');
    if (wantFingerprints !== undefined && !clientLikesConsensus(wantFingerprints, stored.signers))
      return short(404, 'Consensus not signed by sufficient number of requested authorities');
    // tor spools the consensus as published at valid-after.
    if (get.ifModifiedSince !== undefined && c.validAfter < get.ifModifiedSince)
      return short(304, 'Not modified');

    const doc = this.pin('consensus', `consensus:${stored.digestSha3Hex}`, c.raw);
    return {
      kind: 'body',
      body: (encoding) => doc.encoded(encoding),
      lifetimeSeconds: c.freshUntil > now ? c.freshUntil - now : 0,
      extraHeaders: VARY_HEADER,
    };
  }

  // ---- microdescriptors -----------------------------------------------------

  /** tor: handle_get_microdesc. */
  private microdescriptors(url: string): Reply {
    const found = splitBase64Digests256(url.slice('/tor/micro/d/'.length))
      .map((d) => this.store.microdescriptor(toBase64Unpadded(d)))
      .filter((m) => m !== undefined);
    if (found.length === 0) return NOT_FOUND;
    const key = `md:${contentKey(found.map((m) => m.digestBase64).join('-'))}`;
    return this.documentsReply(
      key,
      found.map((m) => m.raw),
      CACHE_LIFETIME_SECONDS.microdescriptors,
    );
  }

  private documentsReply(key: string, parts: readonly Uint8Array[], lifetimeSeconds: number): Reply {
    const raw = () => (parts.length === 1 ? parts[0]! : concatBytes(...parts));
    return {
      kind: 'body',
      body: (encoding) => this.bodies.encoded(key, encoding, COMPRESSION_LEVEL.perResponse, raw),
      lifetimeSeconds,
    };
  }

  // ---- authority certificates -----------------------------------------------

  /** tor: handle_get_keys. */
  private certificates(get: DirectoryGet): Reply {
    const url = get.url;
    let certs: StoredCertificate[];
    if (url === '/tor/keys/all') {
      certs = [...this.store.certificates()];
    } else if (url === '/tor/keys/authority') {
      certs = []; // only an authority has a certificate of its own
    } else if (url.startsWith('/tor/keys/fp/')) {
      certs = splitHexDigests(url.slice('/tor/keys/fp/'.length))
        .map((id) => this.store.newestCertificate(id))
        .filter((c) => c !== undefined);
    } else if (url.startsWith('/tor/keys/sk/')) {
      certs = splitHexDigests(url.slice('/tor/keys/sk/'.length))
        .map((sk) => this.store.certificateBySigningKey(sk))
        .filter((c) => c !== undefined);
    } else if (url.startsWith('/tor/keys/fp-sk/')) {
      certs = splitFingerprintPairs(url.slice('/tor/keys/fp-sk/'.length))
        .map((p) => this.store.certificateByPair(p.identity, p.signingKeyDigest))
        .filter((c) => c !== undefined);
    } else {
      return short(400, 'Bad request');
    }
    // Two requested keys may name one certificate (fp/ and sk/ of the same authority).
    certs = certs.filter((c, i) => certs.indexOf(c) === i);
    if (certs.length === 0) return NOT_FOUND;
    const ims = get.ifModifiedSince;
    if (ims !== undefined) certs = certs.filter((c) => c.certificate.published >= ims);
    if (certs.length === 0) return short(304, 'Not modified');
    const key = `certs:${contentKey(certs.map((c) => toHex(c.certificate.signedDigest)).join(','))}`;
    return this.documentsReply(
      key,
      certs.map((c) => c.certificate.raw),
      CACHE_LIFETIME_SECONDS.certificates,
    );
  }

  // ---- our descriptors ------------------------------------------------------

  /** tor: handle_get_descriptor with dirserv_get_routerdesc_spool, for the one router a bridge describes. */
  private descriptors(url: string, isExtra: boolean, now: number): Reply {
    if (isExtra && !this.serveExtraInfo) return NOT_FOUND;
    const key = url.slice(isExtra ? '/tor/extra/'.length : '/tor/server/'.length);
    const own = this.store.ownDescriptors();
    const doc = own ? (isExtra ? own.extraInfo : own.serverDescriptor) : undefined;
    const fingerprint = own?.serverDescriptor.fingerprint;
    let requested: number;
    let matches: boolean;
    let byFingerprint = true;
    if (key === 'all') {
      // The routers a bridge knows are the network's, not its own; it has no full descriptors of theirs.
      requested = 0;
      matches = false;
    } else if (key === 'authority') {
      requested = own ? 1 : 0;
      matches = doc !== undefined;
    } else if (key.startsWith('d/')) {
      byFingerprint = false;
      const digests = splitHexDigests(key.slice(2));
      requested = digests.length;
      matches = doc !== undefined && digests.some((d) => bytesEqual(d, doc.digest));
    } else if (key.startsWith('fp/')) {
      const fps = splitHexDigests(key.slice(3));
      requested = fps.length;
      matches = doc !== undefined && fingerprint !== undefined && fps.some((f) => bytesEqual(f, fingerprint));
    } else {
      return NOT_FOUND;
    }
    if (requested === 0) return short(404, 'Servers unavailable');
    if (!matches || !doc) return NOT_FOUND;
    // tor applies the publication cutoff only to requests by fingerprint.
    if (byFingerprint && doc.published < now - ROUTER_MAX_AGE_TO_PUBLISH_SECONDS) return NOT_FOUND;
    const pinned = this.pin(
      isExtra ? 'extra-info' : 'server-descriptor',
      `desc:${toHex(doc.digest)}`,
      doc.raw,
    );
    return {
      kind: 'body',
      body: (encoding) => pinned.encoded(encoding),
      lifetimeSeconds: CACHE_LIFETIME_SECONDS.descriptor,
    };
  }

  // ---- X-Your-Address-Is ----------------------------------------------------

  /**
   * The address to report back to the client, as tor does for a BEGIN_DIR
   * stream (the channel's remote address), or undefined for a client on a
   * private network or in one of our own /24 or /48 networks
   * (tor: resolve_addr.c is_local_to_resolve_addr).
   */
  private addressToReport(remoteAddress: string): string | undefined {
    const address = parseIpAddress(hostOf(remoteAddress));
    if (!address || isInternalAddress(address)) return undefined;
    for (const own of this.ownAddresses) {
      if (own.family !== address.family) continue;
      const prefixBytes = address.family === 'ipv4' ? 3 : 6;
      if (bytesEqual(own.bytes.subarray(0, prefixBytes), address.bytes.subarray(0, prefixBytes)))
        return undefined;
    }
    return formatIpAddress(address);
  }
}

/** A short cache key for a long list of digests (a request may name hundreds). */
function contentKey(list: string): string {
  return toHex(sha256(utf8(list)));
}

/** The address part of "a.b.c.d", "a.b.c.d:port", "v6" or "[v6]:port". */
function hostOf(text: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text);
  return v4 ? v4[1]! : text;
}
