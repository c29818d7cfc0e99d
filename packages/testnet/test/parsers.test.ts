import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, DecodeError, toBase64Unpadded, utf8 } from '@relayd/common';
import fc from 'fast-check';
import {
  parseConsensusSummary,
  parseHttpResponse,
  parseListFingerprintOutput,
  policySummaryAllows,
  TestnetError,
} from '../src/index.js';

describe('parseHttpResponse', () => {
  const body = utf8('hello, network');

  it('splits status, headers and body', () => {
    const raw = concatBytes(
      utf8('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 14\r\n\r\n'),
      body,
    );
    const r = parseHttpResponse(raw);
    assert.ok(r.ok);
    assert.equal(r.value.status, 200);
    assert.equal(r.value.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(r.value.body, body);
  });

  it('accepts a body without Content-Length (read to close)', () => {
    const r = parseHttpResponse(concatBytes(utf8('HTTP/1.0 404 Not Found\r\n\r\n'), body));
    assert.ok(r.ok);
    assert.equal(r.value.status, 404);
    assert.equal(r.value.body.length, body.length);
  });

  it('reports a body cut short as incomplete, and extra bytes or bad framing as malformed', () => {
    const head = utf8('HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n');
    const short = parseHttpResponse(concatBytes(head, body));
    assert.ok(!short.ok && short.error.failure === 'incomplete');
    const long = parseHttpResponse(concatBytes(head, body, utf8('xx')));
    assert.ok(!long.ok && long.error.failure === 'malformed');
    const noEnd = parseHttpResponse(utf8('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n'));
    assert.ok(!noEnd.ok && noEnd.error.failure === 'incomplete');
    for (const bad of [
      'SSH-2.0-OpenSSH\r\n\r\n',
      'HTTP/1.1 20 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    ]) {
      const r = parseHttpResponse(utf8(bad));
      assert.ok(!r.ok && r.error.failure === 'malformed', bad);
    }
  });

  it('never throws on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = parseHttpResponse(concatBytes(utf8('HTTP/1.1 200 OK\r\n'), bytes));
        if (!r.ok) assert.ok(r.error instanceof DecodeError);
      }),
    );
  });
});

describe('parseConsensusSummary', () => {
  const id = (byte: number) => toBase64Unpadded(new Uint8Array(20).fill(byte));
  const digest = toBase64Unpadded(new Uint8Array(20).fill(9));
  const consensus = [
    'network-status-version 3',
    'vote-status consensus',
    'valid-after 2025-11-21 14:16:00',
    'fresh-until 2025-11-21 14:16:10',
    'valid-until 2025-11-21 14:16:30',
    'dir-source auth0 AAAA 127.0.0.2 127.0.0.2 7000 5000',
    `r auth0 ${id(1)} ${digest} 2025-11-21 14:15:58 127.0.0.2 5000 7000`,
    's Authority Exit Fast Guard HSDir Running Stable V2Dir Valid',
    'v Tor 0.4.9.11',
    'w Bandwidth=0 Unmeasured=1',
    'p reject 1-65535',
    `r exit0 ${id(0xab)} ${digest} 2025-11-21 14:15:58 127.0.0.8 5001 0`,
    's Exit Fast Guard Running Valid',
    'p accept 443,28656',
    `r relay0 ${id(2)} ${digest} 2025-11-21 14:15:58 127.0.0.5 5002 0`,
    's Fast Running',
    'directory-footer',
    `r ignored ${id(3)} ${digest} 2025-11-21 14:15:58 127.0.0.6 5003 0`,
    '',
  ].join('\n');

  it('reads validity times and every router with identity, address, flags and policy', () => {
    const r = parseConsensusSummary(consensus);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    const c = r.value;
    assert.equal(c.flavor, 'ns');
    assert.equal(c.validAfter, '2025-11-21 14:16:00');
    assert.equal(c.freshUntil, '2025-11-21 14:16:10');
    assert.equal(c.validUntil, '2025-11-21 14:16:30');
    assert.deepEqual(
      c.routers.map((x) => x.nickname),
      ['auth0', 'exit0', 'relay0'],
    );
    const exit = c.routers[1]!;
    assert.equal(exit.fingerprint, 'AB'.repeat(20));
    assert.equal(exit.address, '127.0.0.8');
    assert.equal(exit.orPort, 5001);
    assert.equal(exit.dirPort, 0);
    assert.deepEqual(exit.flags, ['Exit', 'Fast', 'Guard', 'Running', 'Valid']);
    assert.deepEqual(exit.policy, {
      accept: true,
      ranges: [
        [443, 443],
        [28656, 28656],
      ],
    });
    assert.equal(c.routers[0]!.dirPort, 7000);
    assert.equal(c.routers[2]!.policy, undefined);
  });

  it('evaluates policy summaries', () => {
    const c = parseConsensusSummary(consensus);
    assert.ok(c.ok);
    const [auth, exit, relay] = c.value.routers;
    assert.equal(policySummaryAllows(exit!.policy, 28656), true);
    assert.equal(policySummaryAllows(exit!.policy, 80), false);
    assert.equal(policySummaryAllows(auth!.policy, 443), false);
    assert.equal(policySummaryAllows(relay!.policy, 443), false, 'no p line: no exit');
    assert.equal(policySummaryAllows({ accept: false, ranges: [[1, 79]] }, 80), true);
    assert.equal(policySummaryAllows({ accept: false, ranges: [[1, 79]] }, 22), false);
  });

  it('reads the microdesc flavour (no digest in "r")', () => {
    const md = [
      'network-status-version 3 microdesc',
      'valid-after a',
      'fresh-until b',
      'valid-until c',
      `r exit0 ${id(0xab)} 2025-11-21 14:15:58 127.0.0.8 5001 0`,
      'm sha256digest',
      's Exit Running Valid',
    ].join('\n');
    const r = parseConsensusSummary(md);
    assert.ok(r.ok);
    assert.equal(r.value.flavor, 'microdesc');
    assert.equal(r.value.routers[0]!.orPort, 5001);
  });

  it('rejects what is not a consensus', () => {
    for (const text of [
      '',
      '<html>404</html>',
      'network-status-version 3\nvalid-after a\nfresh-until b\n',
      consensus.replace(`r relay0 ${id(2)}`, 'r relay0 !!!'),
      consensus.replace('5002 0', '99999 0'),
      consensus.replace('p accept 443,28656', 'p accept 0-5'),
      consensus.replace('p accept 443,28656', 'p maybe 443'),
      consensus.replace('127.0.0.5 5002 0', '127.0.0.5 5002'),
    ]) {
      const r = parseConsensusSummary(text);
      assert.ok(!r.ok && r.error instanceof DecodeError, text.slice(0, 40));
    }
  });

  it('never throws on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 20 }), (lines) => {
        parseConsensusSummary(['network-status-version 3', ...lines].join('\n'));
        parseConsensusSummary(['network-status-version 3', 'r', ...lines.map((l) => `r ${l}`)].join('\n'));
      }),
    );
  });
});

describe('parseListFingerprintOutput', () => {
  it('takes the fingerprint from the last line tor prints', () => {
    assert.equal(
      parseListFingerprintOutput(
        'Nov 21 [warn] something\nUnnamed E088 B737 DC19 0640 8012 3CA6 2435 9A77 6592 EB7C\n',
      ),
      'E088B737DC19064080123CA624359A776592EB7C',
    );
  });

  it('refuses anything else', () => {
    assert.throws(() => parseListFingerprintOutput(''), TestnetError);
    assert.throws(() => parseListFingerprintOutput('Unnamed E088 B737\n'), TestnetError);
  });
});
