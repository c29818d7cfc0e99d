import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayError } from '@relayd/common';
import { parseConfig, type RelaydConfig } from '@relayd/config';
import {
  type AddressEnvironment,
  type InterfaceAddress,
  publishedEndpoint,
  resolvePublicAddresses,
  vanillaBridgeLine,
} from '../src/index.js';

function config(lines: string): RelaydConfig {
  const parsed = parseConfig(`DataDirectory /var/lib/relayd\nContactInfo ops@example.org\n${lines}`);
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error.errors));
  return parsed.value.config;
}

const env = (interfaces: InterfaceAddress[] = []): AddressEnvironment => ({
  interfaceAddresses: () => interfaces,
  lookupIPv4: async (name: string) => (name === 'bridge.example.org' ? '198.51.100.20' : undefined),
});

describe('published address and ORPort', () => {
  it('prefers Address, then the ORPort address, then an interface', async () => {
    assert.deepEqual(
      await resolvePublicAddresses(config('ORPort 127.0.0.7:9001\nAddress 203.0.113.5\n'), env()),
      {
        ipv4: '203.0.113.5',
        ipv6: undefined,
        source: 'Address',
      },
    );
    assert.deepEqual(await resolvePublicAddresses(config('ORPort 127.0.0.7:9001\n'), env()), {
      ipv4: '127.0.0.7',
      ipv6: undefined,
      source: 'ORPort',
    });
    const interfaces = [
      { address: '127.0.0.1', family: 'IPv4', internal: true },
      { address: '2001:db8::9', family: 'IPv6', internal: false },
      { address: '192.0.2.44', family: 'IPv4', internal: false },
    ];
    assert.deepEqual(await resolvePublicAddresses(config('ORPort 9001\n'), env(interfaces)), {
      ipv4: '192.0.2.44',
      ipv6: undefined,
      source: 'interface',
    });
  });

  it('looks a host name up once', async () => {
    const a = await resolvePublicAddresses(config('ORPort 9001\nAddress bridge.example.org\n'), env());
    assert.equal(a.ipv4, '198.51.100.20');
    await assert.rejects(
      resolvePublicAddresses(config('ORPort 9001\nAddress nowhere.example.org\n'), env()),
      (e: unknown) => e instanceof RelayError && e.kind === 'bad-config',
    );
  });

  it('is a bad-config error when there is no IPv4 address to publish', async () => {
    await assert.rejects(
      resolvePublicAddresses(
        config('ORPort 9001\n'),
        env([{ address: '127.0.0.1', family: 'IPv4', internal: true }]),
      ),
      (e: unknown) =>
        e instanceof RelayError && e.code === 'NO_PUBLIC_ADDRESS' && /set Address/.test(e.message),
    );
  });

  it('publishes the port the system picked for auto, and the bridge line names it', async () => {
    const c = config('ORPort 127.0.0.7:auto\n');
    const addresses = await resolvePublicAddresses(c, env());
    const endpoint = publishedEndpoint(c, addresses, [{ orPortIndex: 0, port: 43210 }]);
    assert.deepEqual(endpoint, { ipv4: '127.0.0.7', orPort: 43210, source: 'ORPort' });
    assert.equal(
      vanillaBridgeLine(endpoint, 'ABCDEF0123456789ABCDEF0123456789ABCDEF01'),
      'Bridge 127.0.0.7:43210 ABCDEF0123456789ABCDEF0123456789ABCDEF01',
    );
  });

  it('publishes an IPv6 ORPort only when one is configured, skipping NoAdvertise ports', async () => {
    const c = config(
      'ORPort 9001\nORPort [2001:db8::1]:9002\nORPort 127.0.0.1:9003 NoAdvertise\nAddress 203.0.113.5\n',
    );
    const endpoint = publishedEndpoint(c, await resolvePublicAddresses(c, env()), []);
    assert.deepEqual(endpoint, {
      ipv4: '203.0.113.5',
      orPort: 9001,
      ipv6: { address: '2001:db8::1', port: 9002 },
      source: 'Address',
    });
    const bare = config('ORPort 9001\nAddress 203.0.113.5\nAddress 2001:db8::5\n');
    assert.deepEqual(publishedEndpoint(bare, await resolvePublicAddresses(bare, env()), []).ipv6, {
      address: '2001:db8::5',
      port: 9001,
    });
  });
});
