import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_ONION_KEY_GRACE_MS,
  DEFAULT_ONION_KEY_ROTATION_MS,
  defaultOnionKeyPolicy,
  onionKeyActions,
} from '../src/index.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

describe('onion key schedule', () => {
  it("uses tor's defaults: rotate after 28 days, forget the previous key after 7", () => {
    assert.equal(DEFAULT_ONION_KEY_ROTATION_MS, 28 * DAY);
    assert.equal(DEFAULT_ONION_KEY_GRACE_MS, 7 * DAY);
  });

  it('rotates once the current key is 28 days old, not before', () => {
    const state = { currentSetAtMs: T0, hasPrevious: false };
    const before = onionKeyActions(state, defaultOnionKeyPolicy, T0 + 28 * DAY - 1);
    assert.deepEqual(before, { rotate: false, expirePrevious: false, nextDueMs: T0 + 28 * DAY });
    assert.equal(onionKeyActions(state, defaultOnionKeyPolicy, T0 + 28 * DAY).rotate, true);
  });

  it('forgets the previous key 7 days after the rotation that made it previous', () => {
    const state = { currentSetAtMs: T0, hasPrevious: true };
    assert.deepEqual(onionKeyActions(state, defaultOnionKeyPolicy, T0 + DAY), {
      rotate: false,
      expirePrevious: false,
      nextDueMs: T0 + 7 * DAY,
    });
    assert.deepEqual(onionKeyActions(state, defaultOnionKeyPolicy, T0 + 7 * DAY), {
      rotate: false,
      expirePrevious: true,
      nextDueMs: T0 + 28 * DAY,
    });
  });

  it('never rotates a frozen key, but still lets an old previous key expire', () => {
    const frozen = { ...defaultOnionKeyPolicy, policy: 'frozen' as const };
    const state = { currentSetAtMs: T0, hasPrevious: true };
    const late = onionKeyActions(state, frozen, T0 + 400 * DAY);
    assert.deepEqual(late, { rotate: false, expirePrevious: true, nextDueMs: undefined });
    assert.deepEqual(onionKeyActions({ ...state, hasPrevious: false }, frozen, T0 + 400 * DAY), {
      rotate: false,
      expirePrevious: false,
      nextDueMs: undefined,
    });
  });

  it('never asks for both at once, and the next due time is always in the future', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 * DAY }),
        fc.boolean(),
        fc.integer({ min: DAY, max: 90 * DAY }),
        fc.integer({ min: DAY, max: 90 * DAY }),
        (elapsed, hasPrevious, rotation, grace) => {
          const policy = {
            policy: 'coordinated' as const,
            rotationIntervalMs: rotation,
            gracePeriodMs: grace,
          };
          const now = T0 + elapsed;
          const a = onionKeyActions({ currentSetAtMs: T0, hasPrevious }, policy, now);
          assert.ok(!(a.rotate && a.expirePrevious));
          assert.equal(a.rotate, elapsed >= rotation);
          if (a.nextDueMs !== undefined) assert.ok(a.nextDueMs > now);
        },
      ),
    );
  });
});
