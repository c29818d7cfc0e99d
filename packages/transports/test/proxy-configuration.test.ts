import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type ProxyLineOutcome, ServerProxyConfiguration } from '../src/index.js';

function feed(machine: ServerProxyConfiguration, lines: string[]): ProxyLineOutcome[] {
  return lines.map((l) => machine.receive(l));
}

describe('ServerProxyConfiguration (pt-spec 3.3, C tor handle_proxy_line order)', () => {
  it('VERSION 1, SMETHOD with ARGS, SMETHODS DONE: configured with the method, ARGS decoded and verbatim', () => {
    const m = new ServerProxyConfiguration(['obfs4']);
    assert.equal(m.phase, 'launched');
    const outcomes = feed(m, [
      'VERSION 1',
      'SMETHOD obfs4 [::]:36089 ARGS:cert=3cH4zhzu+KUKPIt1/XKn\\,x,iat-mode=0',
      'SMETHODS DONE',
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ['progress', 'progress', 'configured'],
    );
    assert.equal(m.phase, 'configured');
    const method = m.methods.get('obfs4');
    assert.ok(method);
    assert.equal(method.address.address, '::');
    assert.equal(method.address.family, 'ipv6');
    assert.equal(method.address.port, 36089);
    assert.equal(method.argsText, 'cert=3cH4zhzu+KUKPIt1/XKn\\,x,iat-mode=0');
    assert.deepEqual(method.args, [
      { key: 'cert', value: '3cH4zhzu+KUKPIt1/XKn,x' },
      { key: 'iat-mode', value: '0' },
    ]);
  });

  it('records SMETHOD-ERROR per transport and keeps the others', () => {
    const m = new ServerProxyConfiguration(['obfs4', 'meek']);
    feed(m, ['VERSION 1', 'SMETHOD-ERROR meek no cows available', 'SMETHOD obfs4 127.0.0.1:5555']);
    assert.equal(m.receive('SMETHODS DONE').kind, 'configured');
    assert.equal(m.methodErrors.get('meek'), 'no cows available');
    assert.equal(m.methods.get('obfs4')?.address.port, 5555);
    assert.equal(m.methods.get('obfs4')?.argsText, undefined);
    assert.deepEqual(m.methods.get('obfs4')?.args, []);
  });

  for (const [name, lines, reason] of [
    ['ENV-ERROR', ['ENV-ERROR no TOR_PT_SERVER_BINDADDR'], /did not understand its environment: no TOR_PT/],
    ['VERSION-ERROR', ['VERSION-ERROR no-version'], /no protocol version/],
    ['another version', ['VERSION 2'], /version 2/],
    ['SMETHOD before VERSION', ['SMETHOD obfs4 127.0.0.1:1'], /SMETHOD out of order/],
    ['SMETHODS DONE before VERSION', ['SMETHODS DONE'], /SMETHODS DONE out of order/],
    ['a second VERSION', ['VERSION 1', 'VERSION 1'], /VERSION out of order/],
    ['a malformed SMETHOD', ['VERSION 1', 'SMETHOD obfs4 localhost:80'], /malformed/],
    ['bad ARGS', ['VERSION 1', 'SMETHOD obfs4 127.0.0.1:80 ARGS:novalue'], /malformed/],
    ['ENV-ERROR while accepting methods', ['VERSION 1', 'ENV-ERROR late'], /environment/],
  ] as const) {
    it(`${name} breaks the proxy`, () => {
      const m = new ServerProxyConfiguration(['obfs4']);
      const outcomes = feed(m, [...lines]);
      const last = outcomes.at(-1)!;
      assert.equal(last.kind, 'broken', JSON.stringify(outcomes));
      assert.match((last as { reason: string }).reason, reason);
      assert.equal(m.phase, 'broken');
    });
  }

  it('forwards LOG with its severity and STATUS with its values, in any phase', () => {
    const m = new ServerProxyConfiguration(['obfs4']);
    assert.deepEqual(m.receive('LOG SEVERITY=warning MESSAGE="bad \\"thing\\" happened"'), {
      kind: 'log',
      severity: 'warning',
      message: 'bad "thing" happened',
    });
    feed(m, ['VERSION 1', 'SMETHOD obfs4 127.0.0.1:1', 'SMETHODS DONE']);
    const status = m.receive('STATUS TRANSPORT=obfs4 ADDRESS=198.51.100.123:1234 CONNECT=Success');
    assert.equal(status.kind, 'status');
    assert.equal((status as { transport: string }).transport, 'obfs4');
    assert.deepEqual(
      (status as { values: readonly { key: string; value: string }[] }).values.map((v) => v.key),
      ['TRANSPORT', 'ADDRESS', 'CONNECT'],
    );
    assert.equal(m.receive('LOG SEVERITY=debug MESSAGE=x').kind, 'log');
  });

  it('understands STATUS TYPE=version with and without TRANSPORT', () => {
    const m = new ServerProxyConfiguration(['obfs4']);
    assert.deepEqual(m.receive('STATUS TYPE=version IMPLEMENTATION=lyrebird VERSION=0.5.0'), {
      kind: 'implementation',
      implementation: 'lyrebird',
      version: '0.5.0',
    });
    assert.deepEqual(m.receive('STATUS TRANSPORT=obfs4 TYPE=version IMPLEMENTATION="x y" VERSION=1'), {
      kind: 'implementation',
      implementation: 'x y',
      version: '1',
    });
    assert.equal(m.receive('STATUS TYPE=version VERSION=1').kind, 'ignored');
  });

  it('a malformed LOG or STATUS costs only that line', () => {
    const m = new ServerProxyConfiguration(['obfs4']);
    for (const line of ['LOG MESSAGE=no-severity', 'LOG SEVERITY=loud MESSAGE=x', 'STATUS CONNECT=Success']) {
      const o = m.receive(line);
      assert.equal(o.kind, 'ignored', line);
      assert.equal((o as { severity: string }).severity, 'warn');
    }
    assert.equal(m.phase, 'launched');
    assert.equal(m.receive('VERSION 1').kind, 'progress');
  });

  it('ignores unknown keywords, client lines, and SMETHODs nobody asked for', () => {
    const m = new ServerProxyConfiguration(['obfs4']);
    assert.deepEqual(m.receive('FUTURE-THING a b c'), {
      kind: 'ignored',
      severity: 'notice',
      reason: 'unknown line "FUTURE-THING"',
    });
    m.receive('VERSION 1');
    assert.equal(m.receive('CMETHOD obfs4 socks5 127.0.0.1:1').kind, 'ignored');
    assert.equal(m.receive('SMETHOD webtunnel 127.0.0.1:2').kind, 'ignored');
    assert.equal(m.receive('SMETHOD obfs4 127.0.0.1:3').kind, 'progress');
    assert.equal(m.receive('SMETHOD obfs4 127.0.0.1:4').kind, 'ignored');
    m.receive('SMETHODS DONE');
    assert.deepEqual([...m.methods.keys()], ['obfs4']);
    assert.equal(m.methods.get('obfs4')?.address.port, 3);
  });

  it('after SMETHODS DONE, method lines and errors are ignored, not fatal', () => {
    const m = new ServerProxyConfiguration(['obfs4']);
    feed(m, ['VERSION 1', 'SMETHOD obfs4 127.0.0.1:3', 'SMETHODS DONE']);
    for (const line of [
      'SMETHOD obfs4 127.0.0.1:9',
      'SMETHODS DONE',
      'ENV-ERROR x',
      'VERSION 1',
      'SMETHOD x',
    ]) {
      assert.equal(m.receive(line).kind, 'ignored', line);
    }
    assert.equal(m.phase, 'configured');
    assert.equal(m.methods.get('obfs4')?.address.port, 3);
  });

  it('never throws, whatever the transport prints', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.constantFrom('VERSION 1', 'SMETHODS DONE', 'SMETHOD obfs4 127.0.0.1:1 ARGS:a=b'),
            fc.string().map((s) => `SMETHOD ${s}`),
            fc.string().map((s) => `LOG ${s}`),
            fc.string().map((s) => `STATUS ${s}`),
          ),
          { maxLength: 12 },
        ),
        (lines) => {
          const m = new ServerProxyConfiguration(['obfs4']);
          for (const line of lines) {
            const outcome = m.receive(line);
            assert.ok(outcome.kind.length > 0);
          }
          assert.ok(['launched', 'accepting-methods', 'configured', 'broken'].includes(m.phase));
        },
      ),
    );
  });
});
