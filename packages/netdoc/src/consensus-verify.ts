/**
 * Consensus signature checking with C tor's acceptance rule
 * (networkstatus.c networkstatus_check_consensus_signature).
 *
 * Each authority listed in the consensus ("voter") is classified once, by
 * the best outcome among its signatures:
 *   good       — some signature verifies under a certificate we hold;
 *   bad        — a signature was checked and failed;
 *   missing    — no unexpired certificate for the identity and signing key it names;
 *   unknown    — it is not one of our configured authorities;
 *   unsigned   — it did not sign.
 * The consensus is accepted when the number of good voters is at least
 * floor(configured authorities / 2) + 1. Signatures are attached to the
 * first voter with their identity, so listing an authority twice does not
 * count it twice.
 *
 * A "sha1" signature covers the SHA-1 of the signed portion and a "sha256"
 * one its SHA-256; other algorithms were dropped at parse time (dir-spec
 * 3.4.1: "implementations MUST ignore" them).
 */
import { bytesEqual, err, ok, type Result } from '@relayd/common';
import type { VerifiedAuthorityCertificate } from './authority-cert.js';
import type { Consensus } from './consensus.js';
import { NetDocVerifyError } from './errors.js';
import { rsaSignatureCovers } from './signatures.js';

/** What to check a consensus against. */
export interface ConsensusSignatureCheck {
  /** v3 identity fingerprints of the configured directory authorities. */
  readonly authorities: readonly Uint8Array[];
  /** Verified authority certificates (see `verifyAuthorityCertificate`). */
  readonly certificates: readonly VerifiedAuthorityCertificate[];
  /** The current time, seconds since the epoch: certificates expired by then count as missing. */
  readonly now: number;
}

/** How each listed authority fared; identities are the v3 fingerprints. */
export interface ConsensusSignatureTally {
  /** floor(configured / 2) + 1. */
  readonly required: number;
  readonly configured: number;
  readonly good: readonly Uint8Array[];
  readonly bad: readonly Uint8Array[];
  readonly missingCertificate: readonly Uint8Array[];
  readonly unknownAuthority: readonly Uint8Array[];
  readonly unsigned: readonly Uint8Array[];
  /** Configured authorities the consensus does not list at all. */
  readonly absent: readonly Uint8Array[];
}

/** A consensus refused for lack of good signatures, with the tally that says why. */
export class ConsensusSignatureError extends NetDocVerifyError {
  constructor(readonly tally: ConsensusSignatureTally) {
    super(
      'insufficient-signatures',
      'consensus',
      `needs ${tally.required} good signatures from configured authorities, has ${tally.good.length} ` +
        `(${tally.bad.length} bad, ${tally.missingCertificate.length} without certificate, ` +
        `${tally.unknownAuthority.length} from unknown authorities, ${tally.unsigned.length} unsigned)`,
    );
    this.name = 'ConsensusSignatureError';
  }
}

const includes = (list: readonly Uint8Array[], id: Uint8Array) => list.some((x) => bytesEqual(x, id));

/** Classifies every listed authority's signatures. Pure: no acceptance decision. */
export function tallyConsensusSignatures(
  consensus: Consensus,
  check: ConsensusSignatureCheck,
): ConsensusSignatureTally {
  const good: Uint8Array[] = [];
  const bad: Uint8Array[] = [];
  const missingCertificate: Uint8Array[] = [];
  const unknownAuthority: Uint8Array[] = [];
  const unsigned: Uint8Array[] = [];

  consensus.authorities.forEach((voter, index) => {
    const firstIndex = consensus.authorities.findIndex((a) => bytesEqual(a.identity, voter.identity));
    const signatures =
      firstIndex === index ? consensus.signatures.filter((s) => bytesEqual(s.identity, voter.identity)) : [];
    let goodHere = 0;
    let badHere = 0;
    let missingHere = 0;
    let unknownHere = 0;
    for (const sig of signatures) {
      if (!includes(check.authorities, sig.identity)) {
        unknownHere++;
        continue;
      }
      const cert = check.certificates.find(
        (c) =>
          bytesEqual(c.fingerprint, sig.identity) &&
          bytesEqual(c.signingKeyDigest, sig.signingKeyDigest) &&
          c.expires >= check.now,
      );
      if (!cert) {
        missingHere++;
        continue;
      }
      const digest = sig.algorithm === 'sha1' ? consensus.signedDigests.sha1 : consensus.signedDigests.sha256;
      if (rsaSignatureCovers(cert.signingKey, digest, sig.signature)) goodHere++;
      else badHere++;
    }
    if (goodHere) good.push(voter.identity);
    else if (badHere) bad.push(voter.identity);
    else if (missingHere) missingCertificate.push(voter.identity);
    else if (unknownHere) unknownAuthority.push(voter.identity);
    else unsigned.push(voter.identity);
  });

  const listed = consensus.authorities.map((a) => a.identity);
  return {
    required: Math.floor(check.authorities.length / 2) + 1,
    configured: check.authorities.length,
    good,
    bad,
    missingCertificate,
    unknownAuthority,
    unsigned,
    absent: check.authorities.filter((id) => !includes(listed, id)),
  };
}

/**
 * Accepts the consensus when more than half of the configured authorities
 * signed it with signatures that verify; otherwise a ConsensusSignatureError
 * carrying the tally (a caller may fetch missing certificates and retry).
 */
export function verifyConsensusSignatures(
  consensus: Consensus,
  check: ConsensusSignatureCheck,
): Result<ConsensusSignatureTally, ConsensusSignatureError> {
  const tally = tallyConsensusSignatures(consensus, check);
  return tally.good.length >= tally.required ? ok(tally) : err(new ConsensusSignatureError(tally));
}

/**
 * The (identity, signing key digest) pairs of signatures from configured
 * authorities that we hold no usable certificate for: what to fetch from
 * `/tor/keys/fp-sk/...` before trying again.
 */
export function missingCertificateKeys(
  consensus: Consensus,
  check: ConsensusSignatureCheck,
): { identity: Uint8Array; signingKeyDigest: Uint8Array }[] {
  const out: { identity: Uint8Array; signingKeyDigest: Uint8Array }[] = [];
  for (const sig of consensus.signatures) {
    if (!includes(check.authorities, sig.identity)) continue;
    const held = check.certificates.some(
      (c) =>
        bytesEqual(c.fingerprint, sig.identity) &&
        bytesEqual(c.signingKeyDigest, sig.signingKeyDigest) &&
        c.expires >= check.now,
    );
    const listed = out.some(
      (o) => bytesEqual(o.identity, sig.identity) && bytesEqual(o.signingKeyDigest, sig.signingKeyDigest),
    );
    if (!held && !listed) out.push({ identity: sig.identity, signingKeyDigest: sig.signingKeyDigest });
  }
  return out;
}
