/**
 * MetricsPortPolicy evaluated on peer addresses: rules as config parses
 * them, first match wins, ports ignored, loopback only without rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AddressPolicyRule, parsePolicyLine } from '@relayd/config';
import { DEFAULT_METRICS_PORT_POLICY, metricsPortAccess, metricsPortPolicyAllows } from '../src/index.js';

function policy(...lines: string[]): AddressPolicyRule[] {
  return lines.flatMap((line) => {
    const parsed = parsePolicyLine(line);
    assert.ok(parsed.ok, `${line} parses`);
    return parsed.value.rules;
  });
}

describe('MetricsPortPolicy', () => {
  it('allows loopback only when no policy is configured', () => {
    const allows = metricsPortAccess([]);
    for (const peer of ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '::ffff:127.0.0.1']) {
      assert.equal(allows(peer), true, peer);
    }
    for (const peer of [
      '10.0.0.1',
      '192.0.2.1',
      '::2',
      '2001:db8::1',
      '::ffff:192.0.2.1',
      '0.0.0.0',
      '',
      'localhost',
    ]) {
      assert.equal(allows(peer), false, peer);
    }
    assert.deepEqual(
      DEFAULT_METRICS_PORT_POLICY.map((r) => r.action),
      ['accept', 'accept', 'reject'],
    );
  });

  it('accepts exactly one address', () => {
    const rules = policy('accept 127.0.0.1');
    assert.equal(metricsPortPolicyAllows(rules, '127.0.0.1'), true);
    assert.equal(
      metricsPortPolicyAllows(rules, '::ffff:127.0.0.1'),
      true,
      'as a dual-stack socket reports it',
    );
    assert.equal(metricsPortPolicyAllows(rules, '127.0.0.2'), false, 'no rule matches: refused');
  });

  it('takes the first rule that matches, and ignores ports', () => {
    const rules = policy('reject 127.0.0.2:9035', 'accept 127.0.0.0/8:1-2');
    assert.equal(metricsPortPolicyAllows(rules, '127.0.0.2'), false);
    assert.equal(metricsPortPolicyAllows(rules, '127.0.0.3'), true);
    assert.equal(
      metricsPortPolicyAllows(policy('accept 127.0.0.0/8', 'reject 127.0.0.2'), '127.0.0.2'),
      true,
    );
  });

  it('matches masks, dotted masks, IPv6 networks and families', () => {
    const rules = policy('accept 192.0.2.0/255.255.255.0, accept [2001:db8::]/32, reject *');
    assert.equal(metricsPortPolicyAllows(rules, '192.0.2.77'), true);
    assert.equal(metricsPortPolicyAllows(rules, '192.0.3.1'), false);
    assert.equal(metricsPortPolicyAllows(rules, '2001:db8:ffff::1'), true);
    assert.equal(metricsPortPolicyAllows(rules, '2001:db9::1'), false);
    assert.equal(metricsPortPolicyAllows(policy('accept *4'), '::1'), false);
    assert.equal(metricsPortPolicyAllows(policy('accept *4'), '198.51.100.1'), true);
    assert.equal(metricsPortPolicyAllows(policy('accept *6'), '::1'), true);
    assert.equal(metricsPortPolicyAllows(policy('accept *'), '203.0.113.9'), true);
    assert.equal(metricsPortPolicyAllows(policy('accept 0.0.0.0/0'), '203.0.113.9'), true);
    assert.equal(metricsPortPolicyAllows(policy('accept 10.0.0.0/7'), '11.255.0.1'), true);
    assert.equal(metricsPortPolicyAllows(policy('accept 10.0.0.0/7'), '12.0.0.1'), false);
  });

  it("matches tor's private ranges", () => {
    const rules = policy('accept private', 'reject *');
    for (const peer of [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.1.1',
      '::1',
      'fd00::1',
      'fe80::1',
    ]) {
      assert.equal(metricsPortPolicyAllows(rules, peer), true, peer);
    }
    for (const peer of ['8.8.8.8', '2001:db8::1', '172.32.0.1']) {
      assert.equal(metricsPortPolicyAllows(rules, peer), false, peer);
    }
  });
});
