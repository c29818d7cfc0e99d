/**
 * When the medium-term Ed25519 signing key must, should or cannot be
 * renewed. A pure decision over times, mirroring C tor's load_ed_keys()
 * (routerkeys.c): a key that is missing or expired NEEDS a new one; a key
 * expiring within the slop WANTS one; either needs the master secret key.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** tor: SigningKeyLifetime, default "30 days" (config.c). */
export const DEFAULT_SIGNING_KEY_LIFETIME_MS = 30 * DAY_MS;
/**
 * tor: TestingSigningKeySlop, default "1 day": a signing certificate that
 * expires within this is replaced when the master key is available.
 */
export const DEFAULT_SIGNING_KEY_SLOP_MS = DAY_MS;
/**
 * How long before expiry an operator keeping the master key offline is
 * warned. tor warns inside the same one-day slop; relayd warns a week ahead
 * because an offline key takes a human to fetch and run `tor --keygen`.
 */
export const DEFAULT_OFFLINE_EXPIRY_WARNING_MS = 7 * DAY_MS;

export type SigningKeyDecision =
  /** The key and certificate are good for longer than the slop. */
  | { readonly action: 'keep' }
  /** Make a new signing key and certificate with the master key. */
  | { readonly action: 'renew'; readonly reason: 'missing' | 'expired' | 'expiring' }
  /** Keep using it, but tell the operator it expires soon and cannot be renewed here. */
  | { readonly action: 'keep-and-warn'; readonly expiresMs: number }
  /** Cannot run: no usable signing key and no master key to make one. */
  | { readonly action: 'refuse'; readonly reason: 'missing' | 'expired' };

export interface SigningKeyFacts {
  /** Expiry of the loaded signing certificate, or undefined when there is no usable signing key/cert pair. */
  readonly certExpiresMs: number | undefined;
  readonly haveMasterSecret: boolean;
  readonly nowMs: number;
  readonly slopMs: number;
  readonly offlineWarningMs: number;
}

export function decideSigningKey(f: SigningKeyFacts): SigningKeyDecision {
  if (f.certExpiresMs === undefined) {
    return f.haveMasterSecret
      ? { action: 'renew', reason: 'missing' }
      : { action: 'refuse', reason: 'missing' };
  }
  // tor's EXPIRES_SOON(cert, 0): valid_until < now.
  if (f.certExpiresMs < f.nowMs) {
    return f.haveMasterSecret
      ? { action: 'renew', reason: 'expired' }
      : { action: 'refuse', reason: 'expired' };
  }
  if (f.haveMasterSecret) {
    return f.certExpiresMs < f.nowMs + f.slopMs
      ? { action: 'renew', reason: 'expiring' }
      : { action: 'keep' };
  }
  const warnWithin = Math.max(f.offlineWarningMs, f.slopMs);
  return f.certExpiresMs < f.nowMs + warnWithin
    ? { action: 'keep-and-warn', expiresMs: f.certExpiresMs }
    : { action: 'keep' };
}
