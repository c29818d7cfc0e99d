import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '@relayd/config';
import { planListeners } from '../src/index.js';

function orPortsOf(lines: string) {
  const parsed = parseConfig(`DataDirectory /var/lib/relayd\nContactInfo ops@example.org\n${lines}`);
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error.errors));
  return parsed.value.config.orPorts;
}

describe('planListeners', () => {
  it('binds an address:port as given', () => {
    assert.deepEqual(planListeners(orPortsOf('ORPort 127.0.0.5:9001\n')), [
      { host: '127.0.0.5', port: 9001, orPortIndex: 0 },
    ]);
  });

  it('listens dual-stack for a bare port, falling back to IPv4, and IPv4 only with IPv4Only', () => {
    assert.deepEqual(planListeners(orPortsOf('ORPort 443\n')), [
      { host: '::', port: 443, ipv4Fallback: '0.0.0.0', orPortIndex: 0 },
    ]);
    assert.deepEqual(planListeners(orPortsOf('ORPort 443 IPv4Only\n')), [
      { host: '0.0.0.0', port: 443, orPortIndex: 0 },
    ]);
  });

  it('asks the system for auto ports, skips NoListen, keeps IPv6 addresses bare', () => {
    assert.deepEqual(
      planListeners(
        orPortsOf('ORPort 127.0.0.1:auto\nORPort 198.51.100.1:443 NoListen\nORPort [::1]:9001\n'),
      ),
      [
        { host: '127.0.0.1', port: 0, orPortIndex: 0 },
        { host: '::1', port: 9001, orPortIndex: 2 },
      ],
    );
  });
});
