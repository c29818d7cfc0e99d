import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, parseConfig, type RelaydConfig } from '@relayd/config';
import { formatAddressPort } from '@relayd/ext-orport';
import {
  chooseBindAddress,
  managedProxyEnvironment,
  managedProxyPlans,
  ptOrPortTarget,
  ptStateLocation,
  type ServerTransportEndpoints,
  TransportError,
} from '../src/index.js';

function config(text: string): RelaydConfig {
  const r = parseConfig(`ORPort 9001\nContactInfo ops@example.org\nExtORPort auto\n${text}`, {
    fileName: 'torrc',
    cpuCount: 1,
  });
  assert.ok(r.ok, !r.ok ? r.error.errors.map(formatDiagnostic).join('\n') : '');
  return r.value.config;
}

const ENDPOINTS: ServerTransportEndpoints = {
  extOrPort: { address: '127.0.0.1', port: 40123 },
  authCookieFile: '/var/lib/relayd/extended_orport_auth_cookie',
  orPort: { address: '127.0.0.1', port: 9001 },
};

describe('managed proxy plans and their TOR_PT_* environment', () => {
  it('one plan per exec line, with listen addresses and options of its transports; proxy lines are not launched', () => {
    const c = config(
      [
        'DataDirectory /var/lib/relayd',
        'ServerTransportPlugin obfs4,meek_lite exec /usr/bin/obfs4proxy -enableLogging',
        'ServerTransportPlugin snowflake proxy 127.0.0.1:7000',
        'ServerTransportPlugin webtunnel exec /usr/bin/webtunnel-server',
        'ServerTransportListenAddr obfs4 198.51.100.7:443',
        'ServerTransportListenAddr webtunnel [2001:db8::1]:8443',
        'ServerTransportOptions obfs4 iat-mode=1 weird=a:b;c\\d',
        'ServerTransportOptions webtunnel url=https://example.org/path',
      ].join('\n'),
    );
    const plans = managedProxyPlans(c, ENDPOINTS);
    assert.deepEqual(
      plans.map((p) => [p.id, p.path, p.args]),
      [
        ['obfs4,meek_lite', '/usr/bin/obfs4proxy', ['-enableLogging']],
        ['webtunnel', '/usr/bin/webtunnel-server', []],
      ],
    );
    const [obfs4, webtunnel] = plans as [(typeof plans)[0], (typeof plans)[0]];
    assert.equal(obfs4.stateLocation, '/var/lib/relayd/pt_state/');
    assert.deepEqual(
      [...obfs4.configuredBindAddresses].map(([t, a]) => [t, formatAddressPort(a)]),
      [['obfs4', '198.51.100.7:443']],
    );

    const bind = new Map(
      obfs4.transports.map((t) => [t, chooseBindAddress(obfs4, t, t === 'meek_lite' ? 8080 : 1234).address]),
    );
    assert.deepEqual(managedProxyEnvironment(obfs4, bind), {
      TOR_PT_MANAGED_TRANSPORT_VER: '1',
      TOR_PT_STATE_LOCATION: '/var/lib/relayd/pt_state/',
      TOR_PT_EXIT_ON_STDIN_CLOSE: '1',
      TOR_PT_SERVER_TRANSPORTS: 'obfs4,meek_lite',
      // Configured beats remembered; meek_lite has only its remembered port, on every interface.
      TOR_PT_SERVER_BINDADDR: 'obfs4-198.51.100.7:443,meek_lite-0.0.0.0:8080',
      // pt-spec 3.2.3: colons, semicolons and backslashes escaped.
      TOR_PT_SERVER_TRANSPORT_OPTIONS: 'obfs4:iat-mode=1;obfs4:weird=a\\:b\\;c\\\\d',
      TOR_PT_ORPORT: '127.0.0.1:9001',
      TOR_PT_EXTENDED_SERVER_PORT: '127.0.0.1:40123',
      TOR_PT_AUTH_COOKIE_FILE: '/var/lib/relayd/extended_orport_auth_cookie',
    });
    const webtunnelEnv = managedProxyEnvironment(
      webtunnel,
      new Map([['webtunnel', chooseBindAddress(webtunnel, 'webtunnel', undefined).address]]),
    );
    assert.equal(webtunnelEnv['TOR_PT_SERVER_BINDADDR'], 'webtunnel-[2001:db8::1]:8443');
    assert.equal(webtunnelEnv['TOR_PT_SERVER_TRANSPORT_OPTIONS'], 'webtunnel:url=https\\://example.org/path');
  });

  it('bind address: configured, else remembered port on every interface, else 0.0.0.0:0', () => {
    const [plan] = managedProxyPlans(config('ServerTransportPlugin obfs4 exec /bin/pt'), ENDPOINTS);
    assert.ok(plan);
    const choose = (port: number | undefined) => {
      const c = chooseBindAddress(plan, 'obfs4', port);
      return [c.source, formatAddressPort(c.address)];
    };
    assert.deepEqual(choose(undefined), ['default', '0.0.0.0:0']);
    assert.deepEqual(choose(43521), ['remembered', '0.0.0.0:43521']);
    assert.deepEqual(choose(0), ['default', '0.0.0.0:0']);
    assert.deepEqual(choose(70000), ['default', '0.0.0.0:0']);
  });

  it('OutboundBindAddress becomes TOR_PT_OUTBOUND_BIND_ADDRESS_V4/_V6 (IPv6 in brackets)', () => {
    const [plan] = managedProxyPlans(
      config(
        'ServerTransportPlugin obfs4 exec /bin/pt\nOutboundBindAddress 192.0.2.9\nOutboundBindAddress [2001:db8::9]',
      ),
      ENDPOINTS,
    );
    assert.ok(plan);
    const env = managedProxyEnvironment(plan, new Map());
    assert.equal(env['TOR_PT_OUTBOUND_BIND_ADDRESS_V4'], '192.0.2.9');
    assert.equal(env['TOR_PT_OUTBOUND_BIND_ADDRESS_V6'], '[2001:db8::9]');
    assert.equal(env['TOR_PT_SERVER_BINDADDR'], undefined);
  });

  it('without a known ORPort, TOR_PT_ORPORT is left out; a bad ExtORPort address is a bad-config error', () => {
    const c = config('ServerTransportPlugin obfs4 exec /bin/pt');
    const [plan] = managedProxyPlans(c, { extOrPort: { address: '[::1]', port: 5 }, authCookieFile: '/c' });
    assert.ok(plan);
    const env = managedProxyEnvironment(plan, new Map());
    assert.equal(env['TOR_PT_ORPORT'], undefined);
    assert.equal(env['TOR_PT_EXTENDED_SERVER_PORT'], '[::1]:5');
    assert.throws(
      () => managedProxyPlans(c, { extOrPort: { address: 'localhost', port: 5 }, authCookieFile: '/c' }),
      (e: unknown) => e instanceof TransportError && e.code === 'BAD_ADDRESS' && e.kind === 'bad-config',
    );
    assert.throws(
      () => managedProxyPlans(c, { extOrPort: { address: '127.0.0.1', port: 0 }, authCookieFile: '/c' }),
      TransportError,
    );
  });

  it('TOR_PT_ORPORT as tor sets it: first listening ORPort, wildcard to loopback, auto to the bound port', () => {
    const port = (p: Partial<RelaydConfig['orPorts'][number]>) => ({
      address: null,
      family: null,
      port: 9001,
      noAdvertise: false,
      noListen: false,
      ipv4Only: false,
      ipv6Only: false,
      ...p,
    });
    assert.deepEqual(ptOrPortTarget([port({})], []), { address: '127.0.0.1', port: 9001 });
    assert.deepEqual(ptOrPortTarget([port({ ipv6Only: true })], []), { address: '::1', port: 9001 });
    assert.deepEqual(ptOrPortTarget([port({ address: '0.0.0.0', family: 4 })], []), {
      address: '127.0.0.1',
      port: 9001,
    });
    assert.deepEqual(ptOrPortTarget([port({ address: '::', family: 6 })], []), {
      address: '::1',
      port: 9001,
    });
    assert.deepEqual(ptOrPortTarget([port({ address: '192.0.2.1', family: 4, port: 443 })], []), {
      address: '192.0.2.1',
      port: 443,
    });
    assert.deepEqual(
      ptOrPortTarget(
        [port({ noListen: true, port: 443 }), port({ port: 'auto' })],
        [{ orPortIndex: 1, port: 35000 }],
      ),
      { address: '127.0.0.1', port: 35000 },
    );
    assert.equal(ptOrPortTarget([port({ port: 'auto' })], []), undefined);
    assert.equal(ptOrPortTarget([port({ noListen: true })], []), undefined);
  });

  it('the state directory is DataDirectory/pt_state/ with the trailing slash', () => {
    assert.equal(ptStateLocation('/var/lib/relayd'), '/var/lib/relayd/pt_state/');
    assert.equal(ptStateLocation('/var/lib/relayd/'), '/var/lib/relayd/pt_state/');
  });
});
