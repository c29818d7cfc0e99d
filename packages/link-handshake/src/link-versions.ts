/**
 * Link protocol versions (tor-spec 4.1): which ones relayd speaks and how two
 * VERSIONS lists settle on one.
 *
 * relayd speaks 3, 4 and 5, the versions of the "in-protocol" handshake:
 * 3 introduced it, 4 widened circuit IDs to 4 bytes, 5 added link padding
 * negotiation (PADDING_NEGOTIATE). Versions 1 and 2 used TLS renegotiation
 * and no longer exist on the network.
 */
import { InternalError } from '@relayd/common';

/** What relayd offers in its VERSIONS cell, in the order C tor lists them. */
export const SUPPORTED_LINK_VERSIONS: readonly number[] = Object.freeze([3, 4, 5]);

/**
 * "The link protocol version to use is the highest number contained in both
 * cells" (tor-spec 4.1). Returns undefined when the lists share nothing.
 */
export function negotiateLinkVersion(
  theirs: readonly number[],
  ours: readonly number[] = SUPPORTED_LINK_VERSIONS,
): number | undefined {
  let best: number | undefined;
  for (const v of theirs) {
    if (ours.includes(v) && (best === undefined || v > best)) best = v;
  }
  return best;
}

/** Checks a configured version list against what relayd can speak. A bad list is a caller bug. */
export function checkLinkVersions(versions: readonly number[]): readonly number[] {
  if (versions.length === 0) throw new InternalError('link version list is empty');
  for (const v of versions) {
    if (!SUPPORTED_LINK_VERSIONS.includes(v)) throw new InternalError(`link version ${v} is not supported`);
  }
  return Object.freeze([...versions]);
}
