/**
 * The lists of digests in directory URLs (tor: src/feature/dircommon/directory.c
 * dir_split_resource_into_fingerprints and
 * dir_split_resource_into_fingerprint_pairs; dir-spec 4.3).
 *
 *   hex digests        "+"-separated   /tor/keys/fp/<F1>+<F2>, /tor/server/d/<D1>+<D2>
 *   base64 digests     "-"-separated   /tor/micro/d/<D1>-<D2>  ("+" is a base64 character)
 *   hex pairs          "+"-separated   /tor/keys/fp-sk/<F1>-<S1>+<F2>-<S2>
 *
 * As in tor, elements of the wrong length or that do not decode are
 * skipped, not refused, and the result is sorted with duplicates removed.
 * The caller has already stripped a trailing ".z".
 */
import { fromHex, toHex } from '@relayd/common';

/** SHA-1 digests: 20 bytes, 40 hex digits. */
export const DIGEST_LENGTH = 20;
/** SHA-256 digests: 32 bytes, 43 base64 characters without padding. */
export const DIGEST256_LENGTH = 32;
const BASE64_DIGEST256_LENGTH = 43;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function sortUnique(digests: Uint8Array[]): Uint8Array[] {
  digests.sort(compareBytes);
  return digests.filter((d, i) => i === 0 || compareBytes(digests[i - 1]!, d) !== 0);
}

function decodeHexDigest(text: string, length: number): Uint8Array | undefined {
  if (text.length !== length * 2 || !/^[0-9A-Fa-f]+$/.test(text)) return undefined;
  return fromHex(text);
}

const BASE64_DIGEST = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]$/;

/** Decodes a 43-character unpadded base64 SHA-256 digest, as the consensus "m" line writes it. */
export function decodeBase64Digest256(text: string): Uint8Array | undefined {
  // The last character carries 2 unused bits that must be zero, so each digest has one spelling.
  if (text.length !== BASE64_DIGEST256_LENGTH || !BASE64_DIGEST.test(text)) return undefined;
  return new Uint8Array(Buffer.from(`${text}=`, 'base64'));
}

/** "+"-separated hex SHA-1 digests, decoded, sorted, unique. */
export function splitHexDigests(resource: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const part of resource.split('+')) {
    const d = decodeHexDigest(part, DIGEST_LENGTH);
    if (d) out.push(d);
  }
  return sortUnique(out);
}

/** "-"-separated base64 SHA-256 digests, decoded, sorted, unique. */
export function splitBase64Digests256(resource: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const part of resource.split('-')) {
    const d = decodeBase64Digest256(part);
    if (d) out.push(d);
  }
  return sortUnique(out);
}

/** A (identity, signing key) digest pair from `/tor/keys/fp-sk/`. */
export interface FingerprintPair {
  readonly identity: Uint8Array;
  readonly signingKeyDigest: Uint8Array;
}

/** "+"-separated "<hex>-<hex>" pairs, decoded, sorted, unique. */
export function splitFingerprintPairs(resource: string): FingerprintPair[] {
  const out: FingerprintPair[] = [];
  for (const part of resource.split('+')) {
    if (part.length !== DIGEST_LENGTH * 4 + 1 || part[DIGEST_LENGTH * 2] !== '-') continue;
    const identity = decodeHexDigest(part.slice(0, DIGEST_LENGTH * 2), DIGEST_LENGTH);
    const signingKeyDigest = decodeHexDigest(part.slice(DIGEST_LENGTH * 2 + 1), DIGEST_LENGTH);
    if (identity && signingKeyDigest) out.push({ identity, signingKeyDigest });
  }
  out.sort(
    (a, b) => compareBytes(a.identity, b.identity) || compareBytes(a.signingKeyDigest, b.signingKeyDigest),
  );
  return out.filter(
    (p, i) =>
      i === 0 ||
      compareBytes(out[i - 1]!.identity, p.identity) !== 0 ||
      compareBytes(out[i - 1]!.signingKeyDigest, p.signingKeyDigest) !== 0,
  );
}

/** Formats pairs for a request URL: "<ID>-<SK>+<ID>-<SK>", upper-case hex as tor writes them. */
export function joinFingerprintPairs(pairs: readonly FingerprintPair[]): string {
  return pairs
    .map((p) => `${toHex(p.identity).toUpperCase()}-${toHex(p.signingKeyDigest).toUpperCase()}`)
    .join('+');
}

/**
 * tor's client_likes_consensus (dircache.c): a client asking for
 * `.../consensus-microdesc/<F1>+<F2>+...` wants the consensus only if more
 * than half of the listed authorities signed it. Each Fi is a hex prefix
 * of an authority's v3 identity (clients send 3 bytes, 6 digits) compared
 * case-insensitively; `signers` are the signing authorities' identities.
 */
export function clientLikesConsensus(wantedPrefixes: string, signers: readonly Uint8Array[]): boolean {
  const wanted = wantedPrefixes.split('+');
  const needAtLeast = Math.floor(wanted.length / 2) + 1;
  const signerHex = signers.map((s) => toHex(s).toLowerCase());
  let have = 0;
  for (const prefix of wanted) {
    const p = prefix.toLowerCase();
    if (signerHex.some((s) => s.startsWith(p))) have++;
    if (have >= needAtLeast) return true;
  }
  return have >= needAtLeast;
}
