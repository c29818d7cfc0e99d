/**
 * Locating and checking document signatures (dir-spec 1.3).
 *
 * The signed portion of a document is found by searching the text, as C tor
 * does (sigcommon.c router_get_hash_impl_helper): from the first occurrence
 * of the initial keyword, which must begin a line, through the first
 * `endChar` after the first following occurrence of `endMarker`. Mirroring the
 * search rather than using item boundaries keeps relayd's idea of "what was
 * signed" identical to tor's even for odd documents.
 */
import { bytesEqual } from '@relayd/common';
import type { RsaPublicKey } from '@relayd/crypto';

/** Byte offsets [start, end) of a signed portion. */
export interface SignedRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Finds the signed portion of `text` (latin1): from `startMarker` (at the
 * start of a line) through the first `endChar` after `endMarker`.
 */
export function findSignedRange(
  text: string,
  startMarker: string,
  endMarker: string,
  endChar: string,
): SignedRange | undefined {
  const start = text.indexOf(startMarker);
  if (start < 0 || (start > 0 && text[start - 1] !== '\n')) return undefined;
  const marker = text.indexOf(endMarker, start + startMarker.length);
  if (marker < 0) return undefined;
  const last = text.indexOf(endChar, marker + endMarker.length);
  if (last < 0) return undefined;
  return { start, end: last + 1 };
}

/**
 * True iff `signature` is a tor RSA signature (PKCS#1 v1.5 type 1, no
 * DigestInfo) whose recovered data begins with `digest`. Like C tor
 * (check_signature_token), only the first digest-length bytes are compared.
 */
export function rsaSignatureCovers(key: RsaPublicKey, digest: Uint8Array, signature: Uint8Array): boolean {
  const recovered = key.recoverSignedDigest(signature);
  if (!recovered || recovered.length < digest.length) return false;
  return bytesEqual(recovered.subarray(0, digest.length), digest);
}
