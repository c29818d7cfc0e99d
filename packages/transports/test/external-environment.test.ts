import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, parseConfig, type RelaydConfig } from '@relayd/config';
import {
  externalTransportEnvironmentFile,
  externalTransportEnvironmentFiles,
  renderEnvironmentFile,
  TransportError,
} from '../src/index.js';

function config(text: string): RelaydConfig {
  const r = parseConfig(`ORPort 9001\nContactInfo ops@example.org\nExtORPort 127.0.0.1:10001\n${text}`, {
    fileName: 'torrc',
    cpuCount: 1,
  });
  assert.ok(r.ok, !r.ok ? r.error.errors.map(formatDiagnostic).join('\n') : '');
  return r.value.config;
}

const ENDPOINTS = {
  extOrPort: { address: '127.0.0.1', port: 10001 },
  authCookieFile: '/var/lib/relayd/extended_orport_auth_cookie',
  orPort: { address: '127.0.0.1', port: 9001 },
};

describe('the environment file of an external transport', () => {
  it('has the TOR_PT_* a managed launch would have, except TOR_PT_EXIT_ON_STDIN_CLOSE', () => {
    const text = externalTransportEnvironmentFile({
      transports: ['snowflake'],
      bindAddresses: [{ transport: 'snowflake', address: { address: '0.0.0.0', port: 443 } }],
      endpoints: ENDPOINTS,
      stateLocation: '/var/lib/snowflake-server/pt_state/',
    });
    assert.equal(
      text,
      [
        '# Environment of the snowflake pluggable transport, started beside relayd',
        "# (systemd EnvironmentFile=). It forwards clients to relayd's Extended ORPort",
        "# and authenticates with relayd's cookie file. Written by relayd; do not edit.",
        'TOR_PT_MANAGED_TRANSPORT_VER=1',
        'TOR_PT_STATE_LOCATION=/var/lib/snowflake-server/pt_state/',
        'TOR_PT_SERVER_TRANSPORTS=snowflake',
        'TOR_PT_SERVER_BINDADDR=snowflake-0.0.0.0:443',
        'TOR_PT_ORPORT=127.0.0.1:9001',
        'TOR_PT_EXTENDED_SERVER_PORT=127.0.0.1:10001',
        'TOR_PT_AUTH_COOKIE_FILE=/var/lib/relayd/extended_orport_auth_cookie',
        '',
      ].join('\n'),
    );
    assert.doesNotMatch(text, /EXIT_ON_STDIN_CLOSE/);
  });

  it('one file per proxy line of the configuration, bound where the line says, with its options', () => {
    const c = config(
      [
        'DataDirectory /var/lib/relayd',
        'ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy',
        'ServerTransportPlugin snowflake proxy 0.0.0.0:443',
        'ServerTransportOptions snowflake url=https://snowflake.example/ x=a;b',
      ].join('\n'),
    );
    const files = externalTransportEnvironmentFiles(c, ENDPOINTS);
    assert.equal(files.length, 1);
    const [file] = files;
    assert.deepEqual(file?.transports, ['snowflake']);
    assert.equal(file?.fileName, 'pt-snowflake.env');
    const lines = file!.text.split('\n');
    assert.ok(lines.includes('TOR_PT_SERVER_BINDADDR=snowflake-0.0.0.0:443'));
    assert.ok(lines.includes('TOR_PT_STATE_LOCATION=/var/lib/relayd/pt_state/'));
    // Backslashes from pt-spec escaping are doubled inside the double quotes.
    assert.ok(
      lines.includes(
        'TOR_PT_SERVER_TRANSPORT_OPTIONS="snowflake:url=https\\\\://snowflake.example/;snowflake:x=a\\\\;b"',
      ),
      file!.text,
    );
  });

  it('quotes values with spaces, refuses what a file cannot carry', () => {
    assert.equal(renderEnvironmentFile({ A: 'x y', B: '/p', C: '' }), 'A="x y"\nB=/p\nC=\n');
    for (const value of ['a\nb', 'a$b', 'a"b', "a'b", 'a`b', 'a\tb']) {
      assert.throws(
        () => renderEnvironmentFile({ A: value }),
        (e: unknown) => e instanceof TransportError && e.code === 'BAD_ENVIRONMENT_VALUE',
        JSON.stringify(value),
      );
    }
    assert.throws(() => renderEnvironmentFile({ 'A-B': 'x' }), TransportError);
  });

  it('an external line for two transports is refused, as C tor refuses it', () => {
    const c = config('ServerTransportPlugin snowflake,meek proxy 127.0.0.1:443');
    assert.throws(
      () => externalTransportEnvironmentFiles(c, ENDPOINTS),
      (e: unknown) => e instanceof TransportError && e.code === 'EXTERNAL_TRANSPORT_COUNT',
    );
  });
});
