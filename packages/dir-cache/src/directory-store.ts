/**
 * The documents a bridge serves as its clients' only directory cache, each
 * with the time it was obtained:
 *
 *   - our own server descriptor and extra-info (set by whoever signs them);
 *   - the microdesc-flavoured consensus: raw bytes, parsed, and the
 *     signature tally that accepted it;
 *   - directory authority key certificates (verified);
 *   - microdescriptors, by SHA-256 digest.
 *
 * The store is where acceptance rules live, so every way a document comes
 * in (a fetch, a reload from disk, a snapshot from the supervisor) gets the
 * same checks: a consensus must be the microdesc flavour, newer than the
 * one held, reasonably live (dir-spec 5.1), and signed by more than half of
 * the configured authorities under certificates we hold (tor:
 * networkstatus.c networkstatus_set_current_consensus). A refused document
 * never replaces the one held. Certificates are kept only for configured
 * authorities and only while their signatures and validity window hold
 * (tor: authcert.c trusted_dirs_load_certs_from_string).
 *
 * The store does no I/O and keeps no timers: times come in as arguments.
 */
import { bytesEqual, concatBytes, err, ok, type Result, toBase64Unpadded, toHex } from '@relayd/common';
import {
  type Consensus,
  type ConsensusSignatureTally,
  type ExtraInfo,
  missingCertificateKeys,
  parseAuthorityCertificates,
  parseConsensus,
  parseExtraInfo,
  parseMicrodescriptors,
  parseServerDescriptor,
  REASONABLY_LIVE_SECONDS,
  type ServerDescriptor,
  tallyConsensusSignatures,
  type VerifiedAuthorityCertificate,
  verifyAuthorityCertificate,
} from '@relayd/netdoc';
import { DirCacheError, MissingCertificatesError } from './errors.js';

/**
 * How long a microdescriptor no consensus lists any more is kept: a week
 * (dir-spec 5.2: "They keep a microdescriptor until it hasn't been
 * mentioned in any consensus for a week").
 */
export const MICRODESCRIPTOR_UNLISTED_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** A consensus the store accepted. */
export interface StoredConsensus {
  /** The parsed document; `consensus.raw` holds the exact bytes the authorities signed. */
  readonly consensus: Consensus;
  /** How each authority's signature fared when it was accepted. */
  readonly tally: ConsensusSignatureTally;
  /** Lower-case hex SHA3-256 of the signed portion: the name consensus diffs use. */
  readonly digestSha3Hex: string;
  /** Identities of the authorities with a signature on it (what clients' `<fp>+<fp>` lists are matched against). */
  readonly signers: readonly Uint8Array[];
  /** Unpadded base64 digests of the microdescriptors it lists. */
  readonly listedMicrodescriptors: ReadonlySet<string>;
  readonly obtainedAtMs: number;
}

export interface StoredCertificate {
  readonly certificate: VerifiedAuthorityCertificate;
  readonly obtainedAtMs: number;
}

export interface StoredMicrodescriptor {
  /** The exact bytes the digest covers. */
  readonly raw: Uint8Array;
  readonly digest: Uint8Array;
  readonly digestBase64: string;
  readonly obtainedAtMs: number;
  /** When a consensus last listed it (its arrival time if none has). */
  lastListedMs: number;
}

/** This bridge's own documents. */
export interface OwnDescriptors {
  readonly serverDescriptor: ServerDescriptor;
  readonly extraInfo: ExtraInfo | undefined;
  readonly obtainedAtMs: number;
}

export interface CertificateAddResult {
  /** New certificates kept. */
  readonly added: number;
  /** Certificates already held. */
  readonly duplicates: number;
  /** Well-formed certificates of authorities that are not configured. */
  readonly ignored: number;
  /** Certificates whose signatures or validity window failed. */
  readonly rejected: readonly DirCacheError[];
}

export interface MicrodescriptorAddResult {
  /** Digests of the microdescriptors newly stored. */
  readonly added: readonly string[];
  /** Microdescriptors already held. */
  readonly duplicates: number;
  /** Microdescriptors that were not asked for (dir-spec 5.2: "MUST discard"). */
  readonly unrequested: number;
  /** Digests of microdescriptors that did not parse. */
  readonly invalid: readonly string[];
}

/** What changed, for listeners (the service re-encodes, the fetcher persists, the supervisor ships). */
export type DirectoryStoreChange = 'consensus' | 'certificates' | 'microdescriptors' | 'own-descriptors';

/** Everything the store holds, as document bytes: what a worker needs to serve. */
export interface DirectorySnapshot {
  readonly consensus: Uint8Array | undefined;
  /** Concatenated certificates, as `/tor/keys/all` serves them. */
  readonly certificates: Uint8Array;
  /** Concatenated microdescriptors, as `/tor/micro/d/` serves them. */
  readonly microdescriptors: Uint8Array;
  readonly serverDescriptor: Uint8Array | undefined;
  readonly extraInfo: Uint8Array | undefined;
}

export interface DirectoryStoreOptions {
  /**
   * v3 identity digests of the configured directory authorities: whose
   * signatures count toward the consensus threshold and whose certificates
   * are kept.
   */
  readonly authorities: readonly Uint8Array[];
}

const EMPTY = new Uint8Array(0);

export class DirectoryStore {
  private readonly authorities: readonly Uint8Array[];
  private current: StoredConsensus | undefined;
  private own: OwnDescriptors | undefined;
  private certs: StoredCertificate[] = [];
  private readonly microdescs = new Map<string, StoredMicrodescriptor>();
  private readonly listeners = new Set<(change: DirectoryStoreChange) => void>();

  constructor(options: DirectoryStoreOptions) {
    this.authorities = options.authorities.map((a) => a.slice());
  }

  /** The configured authorities' v3 identities. */
  get authorityIdentities(): readonly Uint8Array[] {
    return this.authorities;
  }

  /** Calls `listener` after each change; returns the function that unsubscribes it. */
  onChange(listener: (change: DirectoryStoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(change: DirectoryStoreChange): void {
    for (const listener of this.listeners) listener(change);
  }

  // ---- own descriptors ------------------------------------------------------

  /**
   * Sets this bridge's signed server descriptor and (optionally) extra-info.
   * Both must parse and name the same identity; signatures are the
   * signer's business and are not checked again here.
   */
  setOwnDescriptors(
    serverDescriptor: Uint8Array,
    extraInfo: Uint8Array | undefined,
    nowMs: number,
  ): Result<OwnDescriptors, DirCacheError> {
    const sd = parseServerDescriptor(serverDescriptor);
    if (!sd.ok) return err(new DirCacheError('BAD_DESCRIPTOR', `our server descriptor: ${sd.error.message}`));
    let ei: ExtraInfo | undefined;
    if (extraInfo !== undefined) {
      const parsed = parseExtraInfo(extraInfo);
      if (!parsed.ok)
        return err(new DirCacheError('BAD_DESCRIPTOR', `our extra-info: ${parsed.error.message}`));
      if (!bytesEqual(parsed.value.fingerprint, sd.value.fingerprint))
        return err(
          new DirCacheError('BAD_DESCRIPTOR', 'extra-info and server descriptor name different identities'),
        );
      ei = parsed.value;
    }
    this.own = { serverDescriptor: sd.value, extraInfo: ei, obtainedAtMs: nowMs };
    this.notify('own-descriptors');
    return ok(this.own);
  }

  ownDescriptors(): OwnDescriptors | undefined {
    return this.own;
  }

  // ---- authority certificates -----------------------------------------------

  /**
   * Adds the certificates in `bytes` (one or more, as `/tor/keys/...`
   * returns them) that verify at `nowMs` and belong to configured
   * authorities. Drops certificates that have expired by then.
   */
  addCertificates(bytes: Uint8Array, nowMs: number): Result<CertificateAddResult, DirCacheError> {
    const parsed = parseAuthorityCertificates(bytes);
    if (!parsed.ok) return err(new DirCacheError('MALFORMED', parsed.error.message));
    const now = Math.floor(nowMs / 1000);
    let added = 0;
    let duplicates = 0;
    let ignored = 0;
    const rejected: DirCacheError[] = [];
    for (const cert of parsed.value) {
      if (!this.authorities.some((a) => bytesEqual(a, cert.fingerprint))) {
        ignored++;
        continue;
      }
      const verified = verifyAuthorityCertificate(cert, { now });
      if (!verified.ok) {
        rejected.push(new DirCacheError('BAD_CERTIFICATE', verified.error.message));
        continue;
      }
      const held = this.certs.some(
        (c) =>
          bytesEqual(c.certificate.fingerprint, cert.fingerprint) &&
          bytesEqual(c.certificate.signingKeyDigest, cert.signingKeyDigest),
      );
      if (held) {
        duplicates++;
        continue;
      }
      this.certs.push({ certificate: verified.value, obtainedAtMs: nowMs });
      added++;
    }
    const expired = this.dropExpiredCertificates(now);
    if (added > 0 || expired) this.notify('certificates');
    return ok({ added, duplicates, ignored, rejected });
  }

  private dropExpiredCertificates(now: number): boolean {
    const before = this.certs.length;
    this.certs = this.certs.filter((c) => c.certificate.expires >= now);
    return this.certs.length !== before;
  }

  /** Held certificates, oldest first. */
  certificates(): readonly StoredCertificate[] {
    return this.certs;
  }

  /** The most recently published certificate of an authority (tor: authority_cert_get_newest_by_id). */
  newestCertificate(identity: Uint8Array): StoredCertificate | undefined {
    let best: StoredCertificate | undefined;
    for (const c of this.certs) {
      if (!bytesEqual(c.certificate.fingerprint, identity)) continue;
      if (!best || c.certificate.published > best.certificate.published) best = c;
    }
    return best;
  }

  /** The certificate with this signing key (tor: authority_cert_get_by_sk_digest). */
  certificateBySigningKey(signingKeyDigest: Uint8Array): StoredCertificate | undefined {
    return this.certs.find((c) => bytesEqual(c.certificate.signingKeyDigest, signingKeyDigest));
  }

  /** The certificate for this identity and signing key (tor: authority_cert_get_by_digests). */
  certificateByPair(identity: Uint8Array, signingKeyDigest: Uint8Array): StoredCertificate | undefined {
    return this.certs.find(
      (c) =>
        bytesEqual(c.certificate.fingerprint, identity) &&
        bytesEqual(c.certificate.signingKeyDigest, signingKeyDigest),
    );
  }

  // ---- consensus ------------------------------------------------------------

  /**
   * Accepts `bytes` as the current consensus if it passes every check (see
   * the module header). On refusal the held consensus stays; a
   * MissingCertificatesError lists the certificates that would let it
   * verify.
   */
  offerConsensus(
    bytes: Uint8Array,
    nowMs: number,
  ): Result<StoredConsensus, DirCacheError | MissingCertificatesError> {
    const parsed = parseConsensus(bytes);
    if (!parsed.ok) return err(new DirCacheError('MALFORMED', parsed.error.message));
    const consensus = parsed.value;
    if (consensus.flavor !== 'microdesc')
      return err(
        new DirCacheError('WRONG_FLAVOR', `expected a microdesc consensus, got ${consensus.flavor}`),
      );
    const now = Math.floor(nowMs / 1000);
    const liveness = consensusLiveness(consensus, now);
    if (liveness !== 'live')
      return err(new DirCacheError('NOT_LIVE', `consensus valid-after/valid-until make it ${liveness}`));
    if (this.current && consensus.validAfter <= this.current.consensus.validAfter) {
      return err(
        new DirCacheError(
          'NOT_NEWER',
          bytesEqual(consensus.signedDigests.sha3_256, this.current.consensus.signedDigests.sha3_256)
            ? 'consensus is the one already held'
            : 'consensus is not newer than the one held',
        ),
      );
    }
    const check = {
      authorities: this.authorities,
      certificates: this.certs.map((c) => c.certificate),
      now,
    };
    const tally = tallyConsensusSignatures(consensus, check);
    if (tally.good.length < tally.required) {
      const missing = missingCertificateKeys(consensus, check);
      const summary =
        `${tally.good.length} good of ${tally.required} needed (${tally.bad.length} bad, ` +
        `${tally.missingCertificate.length} without certificate, ${tally.unknownAuthority.length} unknown)`;
      if (missing.length > 0 && tally.good.length + tally.missingCertificate.length >= tally.required) {
        return err(new MissingCertificatesError(missing, `consensus signatures: ${summary}`));
      }
      return err(new DirCacheError('INSUFFICIENT_SIGNATURES', `consensus signatures: ${summary}`));
    }
    const listed = new Set<string>();
    for (const r of consensus.routers) if (r.microdescDigest) listed.add(toBase64Unpadded(r.microdescDigest));
    const signers: Uint8Array[] = [];
    for (const s of consensus.signatures)
      if (!signers.some((x) => bytesEqual(x, s.identity))) signers.push(s.identity);
    this.current = {
      consensus,
      tally,
      digestSha3Hex: toHex(consensus.signedDigests.sha3_256),
      signers,
      listedMicrodescriptors: listed,
      obtainedAtMs: nowMs,
    };
    const mdChanged = this.refreshMicrodescriptorListing(nowMs);
    this.notify('consensus');
    if (mdChanged) this.notify('microdescriptors');
    return ok(this.current);
  }

  consensus(): StoredConsensus | undefined {
    return this.current;
  }

  /** Marks listed microdescriptors as seen now; drops those unlisted for a week. */
  private refreshMicrodescriptorListing(nowMs: number): boolean {
    const listed = this.current?.listedMicrodescriptors;
    let dropped = false;
    for (const [key, md] of this.microdescs) {
      if (listed?.has(key)) md.lastListedMs = nowMs;
      else if (nowMs - md.lastListedMs > MICRODESCRIPTOR_UNLISTED_LIFETIME_MS) {
        this.microdescs.delete(key);
        dropped = true;
      }
    }
    return dropped;
  }

  // ---- microdescriptors -----------------------------------------------------

  /**
   * Stores the microdescriptors in `bytes` (a `/tor/micro/d/` answer).
   * With `wanted`, only those digests are kept: a cache checks that what
   * it serves matches the hashes it asked for (dir-spec 4.3).
   */
  addMicrodescriptors(
    bytes: Uint8Array,
    nowMs: number,
    wanted?: ReadonlySet<string>,
  ): Result<MicrodescriptorAddResult, DirCacheError> {
    const parsed = parseMicrodescriptors(bytes);
    if (!parsed.ok) return err(new DirCacheError('MALFORMED', parsed.error.message));
    const added: string[] = [];
    let duplicates = 0;
    let unrequested = 0;
    for (const md of parsed.value.microdescriptors) {
      if (wanted && !wanted.has(md.digestBase64)) {
        unrequested++;
        continue;
      }
      if (this.microdescs.has(md.digestBase64)) {
        duplicates++;
        continue;
      }
      this.microdescs.set(md.digestBase64, {
        raw: md.raw,
        digest: md.digest,
        digestBase64: md.digestBase64,
        obtainedAtMs: nowMs,
        lastListedMs: nowMs,
      });
      added.push(md.digestBase64);
    }
    for (const bad of parsed.value.invalid) if (wanted && !wanted.has(bad.digestBase64)) unrequested++;
    const invalid = parsed.value.invalid
      .filter((bad) => !wanted || wanted.has(bad.digestBase64))
      .map((bad) => bad.digestBase64);
    if (added.length > 0) this.notify('microdescriptors');
    return ok({ added, duplicates, unrequested, invalid });
  }

  microdescriptor(digestBase64: string): StoredMicrodescriptor | undefined {
    return this.microdescs.get(digestBase64);
  }

  get microdescriptorCount(): number {
    return this.microdescs.size;
  }

  /** Digests the current consensus lists that the store does not hold, in consensus order. */
  missingMicrodescriptors(): string[] {
    const listed = this.current?.listedMicrodescriptors;
    if (!listed) return [];
    return [...listed].filter((d) => !this.microdescs.has(d));
  }

  /** How many of the current consensus's microdescriptors are held. */
  listedMicrodescriptorsHeld(): number {
    const listed = this.current?.listedMicrodescriptors;
    if (!listed) return 0;
    let n = 0;
    for (const d of listed) if (this.microdescs.has(d)) n++;
    return n;
  }

  // ---- snapshots ------------------------------------------------------------

  /** Every document as bytes (for a worker's store, or for disk). */
  snapshot(): DirectorySnapshot {
    return {
      consensus: this.current?.consensus.raw,
      certificates: this.certificatesBytes(),
      microdescriptors: this.microdescriptorsBytes(),
      serverDescriptor: this.own?.serverDescriptor.raw,
      extraInfo: this.own?.extraInfo?.raw,
    };
  }

  /** Held certificates concatenated, as tor's `cached-certs` file and `/tor/keys/all` hold them. */
  certificatesBytes(): Uint8Array {
    return this.certs.length === 0 ? EMPTY : concatBytes(...this.certs.map((c) => c.certificate.raw));
  }

  /** Held microdescriptors concatenated, as tor's `cached-microdescs` holds them. */
  microdescriptorsBytes(): Uint8Array {
    return this.microdescs.size === 0
      ? EMPTY
      : concatBytes(...[...this.microdescs.values()].map((m) => m.raw));
  }

  /**
   * Loads a snapshot through the ordinary checks: certificates first, then
   * the consensus, then microdescriptors (kept only if the consensus lists
   * them), then our own descriptors. Returns what was refused.
   */
  importSnapshot(snapshot: DirectorySnapshot, nowMs: number): DirCacheError[] {
    const problems: DirCacheError[] = [];
    if (snapshot.certificates.length > 0) {
      const r = this.addCertificates(snapshot.certificates, nowMs);
      if (!r.ok) problems.push(r.error);
      else problems.push(...r.value.rejected);
    }
    if (snapshot.consensus) {
      const r = this.offerConsensus(snapshot.consensus, nowMs);
      if (!r.ok && r.error.code !== 'NOT_NEWER') problems.push(r.error);
    }
    if (snapshot.microdescriptors.length > 0) {
      const listed = this.current?.listedMicrodescriptors;
      const r = this.addMicrodescriptors(snapshot.microdescriptors, nowMs, listed ?? new Set());
      if (!r.ok) problems.push(r.error);
    }
    if (snapshot.serverDescriptor) {
      const r = this.setOwnDescriptors(snapshot.serverDescriptor, snapshot.extraInfo, nowMs);
      if (!r.ok) problems.push(r.error);
    }
    return problems;
  }
}

/** Where `now` stands against dir-spec 5.1's "reasonably live" window (tor: networkstatus_consensus_reasonably_live). */
export function consensusLiveness(consensus: Consensus, now: number): 'live' | 'too-new' | 'too-old' {
  if (now < consensus.validAfter - REASONABLY_LIVE_SECONDS) return 'too-new';
  if (now > consensus.validUntil + REASONABLY_LIVE_SECONDS) return 'too-old';
  return 'live';
}
