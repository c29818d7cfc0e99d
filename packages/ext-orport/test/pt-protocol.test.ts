import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InternalError } from '@relayd/common';
import fc from 'fast-check';
import {
  encodeServerTransportOptions,
  encodeSmethodArgs,
  encodeSocksArgs,
  findPtArg,
  type PtArg,
  PtLineSplitter,
  parseAddressPort,
  parseKvLine,
  parsePtLine,
  parseSmethodArgs,
  ptClientEnvironment,
  ptServerEnvironment,
  socks5CredentialsForArgs,
} from '../src/index.js';

function parsed(line: string) {
  const result = parsePtLine(line);
  assert.ok(result.ok, `${line}: ${!result.ok && result.error.message}`);
  return result.value;
}

function refused(line: string): void {
  assert.ok(!parsePtLine(line).ok, `accepted ${JSON.stringify(line)}`);
}

function addr(text: string) {
  const r = parseAddressPort(text);
  if (!r.ok) throw r.error;
  return r.value;
}

describe('PT stdout lines (pt-spec 3.3)', () => {
  it("parses pt-spec appendix B's server session and obfs4proxy 0.0.14's real output", () => {
    assert.deepEqual(parsed('VERSION 1'), { type: 'version', version: '1' });
    const obfs3 = parsed('SMETHOD obfs3 198.51.100.1:1984');
    assert.ok(obfs3.type === 'smethod');
    assert.equal(obfs3.argsText, undefined);
    assert.deepEqual(obfs3.args, []);
    const obfs4 = parsed(
      'SMETHOD obfs4 127.0.0.1:37271 ARGS:cert=tMSYHE5Tzrqvz8R45Ihh98O7pr/+l1werGAlAjiYiVAaj7om72j9sSuTCB2aayhcpENcRQ,iat-mode=0',
    );
    assert.ok(obfs4.type === 'smethod');
    assert.equal(obfs4.transport, 'obfs4');
    assert.equal(obfs4.address.address, '127.0.0.1');
    assert.equal(obfs4.address.port, 37271);
    assert.deepEqual(obfs4.args, [
      { key: 'cert', value: 'tMSYHE5Tzrqvz8R45Ihh98O7pr/+l1werGAlAjiYiVAaj7om72j9sSuTCB2aayhcpENcRQ' },
      { key: 'iat-mode', value: '0' },
    ]);
    assert.equal(
      obfs4.argsText,
      'cert=tMSYHE5Tzrqvz8R45Ihh98O7pr/+l1werGAlAjiYiVAaj7om72j9sSuTCB2aayhcpENcRQ,iat-mode=0',
    );
    assert.equal(findPtArg(obfs4.args, 'iat-mode'), '0');
    assert.deepEqual(parsed('SMETHODS DONE'), { type: 'smethods-done' });
  });

  it("parses pt-spec appendix A's client session", () => {
    assert.deepEqual(parsed('PROXY DONE'), { type: 'proxy-done' });
    const c = parsed('CMETHOD obfs4 socks5 127.0.0.1:37347');
    assert.deepEqual(c, {
      type: 'cmethod',
      transport: 'obfs4',
      socksVersion: 'socks5',
      address: addr('127.0.0.1:37347'),
      options: [],
    });
    assert.deepEqual(parsed('CMETHODS DONE'), { type: 'cmethods-done' });
  });

  it('errors keep their message', () => {
    assert.deepEqual(parsed('VERSION-ERROR no-version'), { type: 'version-error', message: 'no-version' });
    assert.deepEqual(parsed('ENV-ERROR No TOR_PT_AUTH_COOKIE_FILE when TOR_PT_EXTENDED_SERVER_PORT set'), {
      type: 'env-error',
      message: 'No TOR_PT_AUTH_COOKIE_FILE when TOR_PT_EXTENDED_SERVER_PORT set',
    });
    assert.deepEqual(parsed('PROXY-ERROR SOCKS 4 upstream proxies unsupported.'), {
      type: 'proxy-error',
      message: 'SOCKS 4 upstream proxies unsupported.',
    });
    assert.deepEqual(parsed('SMETHOD-ERROR trebuchet no cows available'), {
      type: 'smethod-error',
      transport: 'trebuchet',
      message: 'no cows available',
    });
    assert.deepEqual(parsed('CMETHOD-ERROR trebuchet no rocks available'), {
      type: 'cmethod-error',
      transport: 'trebuchet',
      message: 'no rocks available',
    });
  });

  it('LOG and STATUS with C-string values (goptlib sorts keys, so MESSAGE comes first)', () => {
    assert.deepEqual(parsed('LOG SEVERITY=debug MESSAGE="Connected to bridge A"'), {
      type: 'log',
      severity: 'debug',
      message: 'Connected to bridge A',
      values: [
        { key: 'SEVERITY', value: 'debug' },
        { key: 'MESSAGE', value: 'Connected to bridge A' },
      ],
    });
    const log = parsed('LOG MESSAGE="say \\"hi\\"\\n\\t\\x41\\101\\\\" SEVERITY=warning');
    assert.ok(log.type === 'log');
    assert.equal(log.message, 'say "hi"\n\tAA\\');
    assert.equal(log.severity, 'warning');
    const status = parsed(
      'STATUS TRANSPORT=obfs4 ADDRESS=198.51.100.222:2222 CONNECT=Failed FINGERPRINT=<Fingerprint> ERRSTR="Connection refused"',
    );
    assert.ok(status.type === 'status');
    assert.equal(status.transport, 'obfs4');
    assert.deepEqual(status.values.at(-1), { key: 'ERRSTR', value: 'Connection refused' });
  });

  it('unknown keywords are returned for the caller to ignore', () => {
    assert.deepEqual(parsed('PT-FUTURE some args'), {
      type: 'unknown',
      keyword: 'PT-FUTURE',
      args: 'some args',
    });
    assert.deepEqual(parsed('CMETHODSX'), { type: 'unknown', keyword: 'CMETHODSX', args: '' });
  });

  it('refuses known keywords with bad arguments', () => {
    for (const line of [
      '',
      'VERSION',
      'VERSION 1 2',
      'PROXY',
      'PROXY NOTDONE',
      'SMETHODS',
      'SMETHODS DONE now',
      'CMETHOD obfs4 socks5',
      'CMETHOD obfs4 http 127.0.0.1:1',
      'CMETHOD obfs-4 socks5 127.0.0.1:1',
      'SMETHOD obfs4',
      'SMETHOD obfs4 localhost:80',
      'SMETHOD obfs4 127.0.0.1:0',
      'SMETHOD obfs4 127.0.0.1:80 ARGS:cert',
      'SMETHOD obfs4 127.0.0.1:80 ARGS:=x',
      'SMETHOD obfs4 127.0.0.1:80 ARGS:a=b\\',
      'SMETHOD-ERROR 9lives broken',
      'LOG MESSAGE=hello',
      'LOG SEVERITY=loud MESSAGE=hello',
      'LOG SEVERITY=info MESSAGE="unterminated',
      'LOG SEVERITY=info MESSAGE="bad \\q escape"',
      'LOG SEVERITY=info MESSAGE="nul \\0 inside"',
      'LOG SEVERITY=info MESSAGE="x"y',
      'LOG SEVERITY=info novalue',
      'STATUS CONNECT=Success',
      'BAD!KEYWORD x',
      'LOG\0 x',
    ]) {
      refused(line);
    }
  });

  it('tolerates a CR before the NL and repeated spaces between words', () => {
    assert.deepEqual(parsed('VERSION 1\r'), { type: 'version', version: '1' });
    const s = parsed('SMETHOD  obfs4  [::1]:443 ');
    assert.ok(s.type === 'smethod');
    assert.equal(s.address.address, '::1');
  });

  it('property: arbitrary lines never throw', () => {
    const keyword = fc.constantFrom(
      'VERSION',
      'SMETHOD',
      'CMETHOD',
      'LOG',
      'STATUS',
      'SMETHODS',
      'PROXY',
      'X',
    );
    fc.assert(
      fc.property(keyword, fc.string({ maxLength: 100 }), (k, rest) => {
        parsePtLine(`${k} ${rest}`);
        parsePtLine(rest);
        parseKvLine(rest);
      }),
    );
  });
});

describe('PT arguments', () => {
  it('SMETHOD ARGS escaping: = , and \\ (goptlib encodeSmethodArgs)', () => {
    const args: PtArg[] = [
      { key: 'shared-secret', value: 'a=b,c\\d' },
      { key: 'k,=', value: '' },
    ];
    const text = encodeSmethodArgs(args);
    assert.equal(text, 'shared-secret=a\\=b\\,c\\\\d,k\\,\\==');
    assert.deepEqual(parseSmethodArgs(text), { ok: true, value: args });
  });

  it('property: parseSmethodArgs(encodeSmethodArgs(x)) = x', () => {
    const arg = fc
      .tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 10 }))
      .map(([key, value]): PtArg => ({ key, value }));
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 5 }), (args) => {
        assert.deepEqual(parseSmethodArgs(encodeSmethodArgs(args)), { ok: true, value: args });
      }),
    );
  });

  it('SOCKS arguments (pt-spec 3.5) and their RFC 1929 split', () => {
    assert.equal(
      encodeSocksArgs([
        { key: 'shared-secret', value: 'rahasia' },
        { key: 'secrets-file', value: '/tmp/blob' },
      ]),
      'shared-secret=rahasia;secrets-file=/tmp/blob',
    );
    assert.equal(encodeSocksArgs([{ key: 'a;b', value: 'c=d\\' }]), 'a\\;b=c\\=d\\\\');
    const short = socks5CredentialsForArgs('cert=abc;iat-mode=0');
    assert.ok(short);
    assert.equal(new TextDecoder().decode(short.username), 'cert=abc;iat-mode=0');
    assert.deepEqual(short.password, Uint8Array.of(0));
    const long = socks5CredentialsForArgs('x'.repeat(300));
    assert.ok(long);
    assert.equal(long.username.length, 255);
    assert.equal(long.password.length, 45);
    assert.equal(socks5CredentialsForArgs('x'.repeat(511)), undefined);
    assert.equal(socks5CredentialsForArgs(''), undefined);
  });

  it('TOR_PT_SERVER_TRANSPORT_OPTIONS escaping (pt-spec 3.2.3 example, C tor escapes ":;\\\\")', () => {
    assert.equal(
      encodeServerTransportOptions([
        { transport: 'scramblesuit', key: 'key', value: 'banana' },
        { transport: 'automata', key: 'rule', value: '110' },
        { transport: 'automata', key: 'depth', value: '3' },
      ]),
      'scramblesuit:key=banana;automata:rule=110;automata:depth=3',
    );
    assert.equal(
      encodeServerTransportOptions([{ transport: 'x', key: 'k', value: 'a:b;c\\' }]),
      'x:k=a\\:b\\;c\\\\',
    );
    assert.equal(encodeServerTransportOptions([]), undefined);
    assert.throws(
      () => encodeServerTransportOptions([{ transport: 'x-y', key: 'k', value: 'v' }]),
      InternalError,
    );
  });
});

describe('PT environment (pt-spec 3.2)', () => {
  it('server with ExtORPort, as C tor builds it', () => {
    const env = ptServerEnvironment({
      stateLocation: '/var/lib/relayd/pt_state/',
      transports: ['obfs3', 'obfs4'],
      bindAddresses: [
        { transport: 'obfs4', address: addr('[::]:443') },
        { transport: 'obfs3', address: addr('198.51.100.1:1984') },
      ],
      orPort: addr('127.0.0.1:9001'),
      extendedServerPort: { address: addr('127.0.0.1:4200'), authCookieFile: '/var/lib/relayd/cookie' },
      transportOptions: [{ transport: 'obfs4', key: 'iat-mode', value: '1' }],
    });
    assert.deepEqual(env, {
      TOR_PT_MANAGED_TRANSPORT_VER: '1',
      TOR_PT_STATE_LOCATION: '/var/lib/relayd/pt_state/',
      TOR_PT_EXIT_ON_STDIN_CLOSE: '1',
      TOR_PT_SERVER_TRANSPORTS: 'obfs3,obfs4',
      TOR_PT_SERVER_BINDADDR: 'obfs3-198.51.100.1:1984,obfs4-[::]:443',
      TOR_PT_SERVER_TRANSPORT_OPTIONS: 'obfs4:iat-mode=1',
      TOR_PT_ORPORT: '127.0.0.1:9001',
      TOR_PT_EXTENDED_SERVER_PORT: '127.0.0.1:4200',
      TOR_PT_AUTH_COOKIE_FILE: '/var/lib/relayd/cookie',
    });
  });

  it('server without ExtORPort sets TOR_PT_EXTENDED_SERVER_PORT empty; caller bugs throw', () => {
    const env = ptServerEnvironment({
      stateLocation: '/s',
      transports: ['obfs4'],
      orPort: addr('127.0.0.1:9001'),
      exitOnStdinClose: false,
    });
    assert.equal(env['TOR_PT_EXTENDED_SERVER_PORT'], '');
    assert.equal(env['TOR_PT_EXIT_ON_STDIN_CLOSE'], undefined);
    assert.throws(() => ptServerEnvironment({ stateLocation: '/s', transports: ['obfs4'] }), InternalError);
    assert.throws(
      () => ptServerEnvironment({ stateLocation: '/s', transports: [], orPort: addr('1.1.1.1:1') }),
      InternalError,
    );
    assert.throws(
      () =>
        ptServerEnvironment({
          stateLocation: '/s',
          transports: ['obfs4'],
          orPort: addr('1.1.1.1:1'),
          bindAddresses: [{ transport: 'meek', address: addr('1.1.1.1:2') }],
        }),
      InternalError,
    );
  });

  it('client', () => {
    assert.deepEqual(
      ptClientEnvironment({ stateLocation: '/c', transports: ['obfs4'], proxy: 'socks5://127.0.0.1:8001' }),
      {
        TOR_PT_MANAGED_TRANSPORT_VER: '1',
        TOR_PT_STATE_LOCATION: '/c',
        TOR_PT_EXIT_ON_STDIN_CLOSE: '1',
        TOR_PT_CLIENT_TRANSPORTS: 'obfs4',
        TOR_PT_PROXY: 'socks5://127.0.0.1:8001',
      },
    );
  });
});

describe('PtLineSplitter', () => {
  it('joins partial lines across chunks and drops overlong ones whole', () => {
    const splitter = new PtLineSplitter(16);
    assert.deepEqual(splitter.push('VERSION 1\nSMETH'), ['VERSION 1']);
    assert.deepEqual(splitter.push('ODS DONE\n'), ['SMETHODS DONE']);
    assert.deepEqual(splitter.push('x'.repeat(10)), []);
    assert.deepEqual(splitter.push('y'.repeat(10)), []);
    assert.deepEqual(splitter.push('zz\nOK\n'), ['OK']);
    assert.equal(splitter.droppedLines, 1);
    assert.deepEqual(splitter.push(`${'a'.repeat(17)}\nB\n`), ['B']);
    assert.equal(splitter.droppedLines, 2);
  });
});
