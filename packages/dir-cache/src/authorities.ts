/**
 * The directory authorities the fetcher talks to, as a plain type. It is
 * the subset of `@relayd/config`'s `DirAuthority` this package reads, so a
 * `RelaydConfig.dirAuthorities` list can be passed as it is.
 */
import { fromHex } from '@relayd/common';

export interface DirectoryAuthoritySource {
  readonly nickname: string | null;
  readonly ipv4Address: string;
  readonly dirPort: number;
  /** The v3 identity digest as 40 hex digits; null for an authority that signs no consensus (a bridge authority). */
  readonly v3Identity: string | null;
}

/** An authority the fetcher can ask for the consensus. */
export interface ConsensusAuthority {
  readonly name: string;
  readonly address: string;
  readonly dirPort: number;
  readonly v3Identity: Uint8Array;
}

/** The authorities that sign consensuses and have a DirPort, with decoded identities. */
export function consensusAuthorities(sources: readonly DirectoryAuthoritySource[]): ConsensusAuthority[] {
  const out: ConsensusAuthority[] = [];
  for (const s of sources) {
    if (s.v3Identity === null || s.dirPort <= 0) continue;
    const id = /^[0-9A-Fa-f]{40}$/.test(s.v3Identity) ? fromHex(s.v3Identity) : undefined;
    if (!id) continue;
    out.push({
      name: s.nickname ?? `${s.ipv4Address}:${s.dirPort}`,
      address: s.ipv4Address,
      dirPort: s.dirPort,
      v3Identity: id,
    });
  }
  return out;
}

/** The v3 identities whose signatures count toward the consensus threshold (the store's `authorities`). */
export function v3AuthorityIdentities(sources: readonly DirectoryAuthoritySource[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of sources) {
    if (s.v3Identity === null || !/^[0-9A-Fa-f]{40}$/.test(s.v3Identity)) continue;
    out.push(fromHex(s.v3Identity)!);
  }
  return out;
}
