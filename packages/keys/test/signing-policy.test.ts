import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_OFFLINE_EXPIRY_WARNING_MS,
  DEFAULT_SIGNING_KEY_LIFETIME_MS,
  DEFAULT_SIGNING_KEY_SLOP_MS,
  decideSigningKey,
} from '../src/signing-policy.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 5, 1);
const facts = (certExpiresMs: number | undefined, haveMasterSecret: boolean) => ({
  certExpiresMs,
  haveMasterSecret,
  nowMs: now,
  slopMs: DEFAULT_SIGNING_KEY_SLOP_MS,
  offlineWarningMs: DEFAULT_OFFLINE_EXPIRY_WARNING_MS,
});

describe('signing key policy', () => {
  it('uses tor’s defaults: 30-day lifetime, renewal within one day of expiry', () => {
    assert.equal(DEFAULT_SIGNING_KEY_LIFETIME_MS, 30 * DAY);
    assert.equal(DEFAULT_SIGNING_KEY_SLOP_MS, DAY);
  });

  it('with the master key: keep, renew when expiring, expired or missing', () => {
    assert.deepEqual(decideSigningKey(facts(now + 2 * DAY, true)), { action: 'keep' });
    assert.deepEqual(decideSigningKey(facts(now + DAY, true)), { action: 'keep' });
    assert.deepEqual(decideSigningKey(facts(now + DAY - 1, true)), { action: 'renew', reason: 'expiring' });
    assert.deepEqual(decideSigningKey(facts(now, true)), { action: 'renew', reason: 'expiring' });
    assert.deepEqual(decideSigningKey(facts(now - 1, true)), { action: 'renew', reason: 'expired' });
    assert.deepEqual(decideSigningKey(facts(undefined, true)), { action: 'renew', reason: 'missing' });
  });

  it('with the master key offline: keep, warn inside the warning period, refuse once expired', () => {
    assert.deepEqual(decideSigningKey(facts(now + 8 * DAY, false)), { action: 'keep' });
    assert.deepEqual(decideSigningKey(facts(now + 7 * DAY - 1, false)), {
      action: 'keep-and-warn',
      expiresMs: now + 7 * DAY - 1,
    });
    assert.deepEqual(decideSigningKey(facts(now, false)), { action: 'keep-and-warn', expiresMs: now });
    assert.deepEqual(decideSigningKey(facts(now - 1, false)), { action: 'refuse', reason: 'expired' });
    assert.deepEqual(decideSigningKey(facts(undefined, false)), { action: 'refuse', reason: 'missing' });
  });
});
