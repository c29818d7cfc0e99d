/**
 * When the supervisor touches the keys: onion-key rotation and the expiry
 * of the previous onion key on tor's schedule, and the signing-key check.
 * Pure: the state and the time come in, the due actions go out.
 *
 * tor (relay_periodic.c rotate_onion_key_callback,
 * check_onion_keys_expiry_time_callback; router.c get_onion_key_lifetime):
 * the onion keys are rotated once `onion-key-rotation-days` (consensus
 * parameter, default 28) have passed since the current key was made, and
 * the previous key is forgotten once `onion-key-grace-period-days` (default
 * 7) have passed since then, so clients holding the older descriptor keep
 * completing ntor for a week. relayd takes "when the current key was made"
 * from the modification time of secret_onion_key_ntor (rewritten only on
 * creation and rotation) where tor keeps LastRotatedOnionKey in its state
 * file.
 *
 * `OnionKeyRotation frozen` never rotates (the operator coordinates keys
 * by hand); a previous key left on disk still expires after the grace
 * period.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** tor's onion-key-rotation-days default. */
export const DEFAULT_ONION_KEY_ROTATION_MS = 28 * DAY_MS;
/** tor's onion-key-grace-period-days default. */
export const DEFAULT_ONION_KEY_GRACE_MS = 7 * DAY_MS;

export interface OnionKeyPolicy {
  readonly policy: 'coordinated' | 'frozen';
  readonly rotationIntervalMs: number;
  readonly gracePeriodMs: number;
}

export const defaultOnionKeyPolicy: OnionKeyPolicy = {
  policy: 'coordinated',
  rotationIntervalMs: DEFAULT_ONION_KEY_ROTATION_MS,
  gracePeriodMs: DEFAULT_ONION_KEY_GRACE_MS,
};

export interface OnionKeyState {
  /** When the current ntor key was made (ms since the epoch). */
  readonly currentSetAtMs: number;
  /** Whether the key before it is still held. */
  readonly hasPrevious: boolean;
}

export interface OnionKeyActions {
  readonly rotate: boolean;
  readonly expirePrevious: boolean;
  /** When something will next be due (undefined: never, under this policy). */
  readonly nextDueMs: number | undefined;
}

/** What is due at `nowMs`. Rotation wins over expiry: a rotation makes a new previous key anyway. */
export function onionKeyActions(
  state: OnionKeyState,
  policy: OnionKeyPolicy,
  nowMs: number,
): OnionKeyActions {
  const rotateAt =
    policy.policy === 'coordinated' ? state.currentSetAtMs + policy.rotationIntervalMs : undefined;
  const expireAt = state.hasPrevious ? state.currentSetAtMs + policy.gracePeriodMs : undefined;
  const rotate = rotateAt !== undefined && nowMs >= rotateAt;
  const expirePrevious = !rotate && expireAt !== undefined && nowMs >= expireAt;
  const pending = [rotateAt, expireAt].filter((t): t is number => t !== undefined && t > nowMs);
  return { rotate, expirePrevious, nextDueMs: pending.length > 0 ? Math.min(...pending) : undefined };
}
