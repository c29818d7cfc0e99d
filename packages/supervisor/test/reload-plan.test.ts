import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, type RelaydConfig } from '@relayd/config';
import { planReload, reloadDisposition } from '../src/index.js';

function config(lines: string[]): RelaydConfig {
  const parsed = parseConfig(
    ['DataDirectory /var/lib/relayd', 'ContactInfo ops@example.org', 'ORPort 9001', ...lines].join('\n'),
    { cpuCount: 4 },
  );
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error.errors));
  return parsed.value.config;
}

describe('planReload', () => {
  it('finds nothing to do in the same configuration', () => {
    const plan = planReload(config(['Workers 2']), config(['Workers 2']));
    assert.deepEqual([plan.live, plan.workers, plan.restart], [[], [], []]);
  });

  it('sorts changes into live, worker restart and relayd restart', () => {
    const before = config(['Workers 2', 'Log notice stdout', 'BandwidthRate 1 MB', 'Nickname before']);
    const after = config([
      'Workers 4',
      'Log info stderr',
      'BandwidthRate 2 MB',
      'Nickname after',
      'ExtendAllowPrivateAddresses 1',
      'OnionKeyRotation frozen',
      'ORPort 9002',
    ]);
    const plan = planReload(before, after);
    assert.deepEqual([...plan.live].sort(), ['bandwidth', 'logs', 'onionKeyRotation', 'workers']);
    assert.deepEqual(plan.workers, ['extendAllowPrivateAddresses']);
    assert.deepEqual([...plan.restart].sort(), ['nickname', 'orPorts']);
    // The effective configuration takes the new live and worker values, and keeps the old rest.
    assert.equal(plan.effective.workers, 4);
    assert.equal(plan.effective.bandwidth.rate, after.bandwidth.rate);
    assert.equal(plan.effective.extendAllowPrivateAddresses, true);
    assert.equal(plan.effective.onionKeyRotation, 'frozen');
    assert.equal(plan.effective.nickname, 'before');
    assert.deepEqual(plan.effective.orPorts, before.orPorts);
  });

  it('treats a field it does not know as needing a restart', () => {
    assert.equal(reloadDisposition('somethingNew'), 'restart');
    assert.equal(reloadDisposition('balancerMode'), 'restart');
    assert.equal(reloadDisposition('logs'), 'live');
    assert.equal(reloadDisposition('throttleAlgorithm'), 'workers');
  });
});
