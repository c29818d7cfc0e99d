import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTransportArguments, parseTransportArguments } from '@relayd/netdoc';
import {
  bridgeLines,
  extraInfoTransportInfo,
  extraInfoTransportLines,
  extraInfoTransports,
  type RunningTransport,
  type ServerTransportState,
  transportBridgeLine,
  vanillaBridgeLine,
} from '../src/index.js';

const FINGERPRINT = '4C1F0E1D2B3A4958677685A4B3C2D1E0F1029384';
const CERT = '3cH4zhzuKUKPIt1XKnYiO/yDC+/bKrTF7g1kGZZA1xXjT/uk6aGfQAmaN0scS1I95wLyaw';
const PUBLISHED = { ipv4: '203.0.113.5' };

function running(p: Partial<RunningTransport>): RunningTransport {
  return {
    name: 'obfs4',
    proxy: 'obfs4',
    path: '/usr/bin/obfs4proxy',
    restarts: 0,
    status: 'running',
    pid: 4242,
    address: '::',
    family: 'ipv6',
    port: 36089,
    args: [
      { key: 'cert', value: CERT },
      { key: 'iat-mode', value: '0' },
    ],
    argsText: `cert=${CERT},iat-mode=0`,
    implementation: undefined,
    sinceMs: 0,
    ...p,
  };
}

const failed: ServerTransportState = {
  name: 'webtunnel',
  proxy: 'webtunnel',
  path: '/usr/bin/webtunnel',
  restarts: 2,
  status: 'failed',
  error: 'exited with status 1',
  retryAtMs: 5000,
};

describe('what the bridge publishes about its transports', () => {
  it('a transport on every interface is published at the public IPv4 address with its own port', () => {
    const states = [running({}), failed];
    assert.deepEqual(extraInfoTransportLines(states, PUBLISHED), [
      `transport obfs4 203.0.113.5:36089 cert=${CERT},iat-mode=0`,
    ]);
    assert.deepEqual(extraInfoTransports(states, PUBLISHED), [
      {
        name: 'obfs4',
        address: { family: 4, address: '203.0.113.5', port: 36089 },
        arguments: [
          ['cert', CERT],
          ['iat-mode', '0'],
        ],
      },
    ]);
    assert.deepEqual(
      bridgeLines({ fingerprint: FINGERPRINT, addresses: PUBLISHED, orPort: 443, transports: states }),
      {
        lines: [
          `Bridge 203.0.113.5:443 ${FINGERPRINT}`,
          `Bridge obfs4 203.0.113.5:36089 ${FINGERPRINT} cert=${CERT} iat-mode=0`,
        ],
        skipped: [],
      },
    );
    // 0.0.0.0 is every interface too.
    assert.deepEqual(extraInfoTransportLines([running({ address: '0.0.0.0', family: 'ipv4' })], PUBLISHED), [
      `transport obfs4 203.0.113.5:36089 cert=${CERT},iat-mode=0`,
    ]);
  });

  it('a transport bound to one address is published there (IPv6 in brackets)', () => {
    const v4 = running({ address: '198.51.100.7', family: 'ipv4', port: 443 });
    const v6 = running({
      name: 'webtunnel',
      address: '2001:db8::1',
      family: 'ipv6',
      port: 8443,
      args: [],
      argsText: undefined,
    });
    assert.deepEqual(extraInfoTransportLines([v4, v6], PUBLISHED), [
      `transport obfs4 198.51.100.7:443 cert=${CERT},iat-mode=0`,
      'transport webtunnel [2001:db8::1]:8443',
    ]);
    assert.deepEqual(extraInfoTransports([v6], PUBLISHED), [
      { name: 'webtunnel', address: { family: 6, address: '2001:db8::1', port: 8443 } },
    ]);
    assert.deepEqual(transportBridgeLine(v6, PUBLISHED, FINGERPRINT), {
      ok: true,
      line: `Bridge webtunnel [2001:db8::1]:8443 ${FINGERPRINT}`,
    });
  });

  it("netdoc's re-encoding of the decoded ARGS gives back the transport's text when nothing is over-escaped", () => {
    const t = running({});
    const [published] = extraInfoTransports([t], PUBLISHED);
    assert.equal(formatTransportArguments(published!.arguments!), t.argsText);
    // An escaped comma survives both ways.
    const escaped = running({ args: [{ key: 'k', value: 'a,b=c' }], argsText: 'k=a\\,b\\=c' });
    const [e] = extraInfoTransports([escaped], PUBLISHED);
    assert.equal(formatTransportArguments(e!.arguments!), escaped.argsText);
    assert.deepEqual(parseTransportArguments(escaped.argsText!), [['k', 'a,b=c']]);
  });

  it('an argument with white space cannot be in a Bridge line: that transport is skipped, with the reason', () => {
    const t = running({ args: [{ key: 'url', value: 'a b' }], argsText: 'url=a b' });
    const r = bridgeLines({ fingerprint: FINGERPRINT, addresses: PUBLISHED, orPort: 443, transports: [t] });
    assert.deepEqual(r.lines, [`Bridge 203.0.113.5:443 ${FINGERPRINT}`]);
    assert.deepEqual(r.skipped, [
      { transport: 'obfs4', reason: 'argument "url" cannot be written in a Bridge line' },
    ]);
  });

  it('refuses a fingerprint that is not 40 upper-case hex digits', () => {
    assert.equal(vanillaBridgeLine(PUBLISHED, 9001, FINGERPRINT), `Bridge 203.0.113.5:9001 ${FINGERPRINT}`);
    assert.throws(() => vanillaBridgeLine(PUBLISHED, 9001, FINGERPRINT.toLowerCase()), /fingerprint/);
    assert.throws(() => transportBridgeLine(running({}), PUBLISHED, '4C1F 0E1D'), /fingerprint/);
  });

  it('transport-info comes from the first running transport that named itself', () => {
    assert.equal(extraInfoTransportInfo([running({})]), undefined);
    assert.deepEqual(
      extraInfoTransportInfo([
        running({}),
        running({ name: 'x', implementation: { name: 'lyrebird', version: '0.5.0' } }),
      ]),
      { implementation: 'lyrebird', version: '0.5.0' },
    );
  });
});
