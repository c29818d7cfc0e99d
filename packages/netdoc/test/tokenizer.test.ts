import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { utf8 } from '@relayd/common';
import fc from 'fast-check';
import { NetDocError } from '../src/errors.js';
import { decodeBase64, tokenize } from '../src/tokenizer.js';
import { fixture } from './helpers.js';

const tok = (text: string) => tokenize(utf8(text), 'test document');

function failure(text: string): NetDocError {
  const r = tok(text);
  assert.ok(!r.ok, `expected a failure for ${JSON.stringify(text)}`);
  assert.ok(r.error instanceof NetDocError);
  return r.error;
}

describe('tokenizer', () => {
  it('splits keyword lines, arguments and objects, with offsets and line numbers', () => {
    const text =
      'router a 1.2.3.4  9001\t0 0\n\nopt platform Tor x\nsigning-key\n-----BEGIN RSA PUBLIC KEY-----\nAAEC\nAw==\n-----END RSA PUBLIC KEY-----\nlast';
    const r = tok(text);
    assert.ok(r.ok);
    const [router, platform, key, last] = r.value;
    assert.equal(r.value.length, 4);
    assert.deepEqual(
      { kw: router!.keyword, args: router!.args, line: router!.line, start: router!.start, end: router!.end },
      { kw: 'router', args: ['a', '1.2.3.4', '9001', '0', '0'], line: 1, start: 0, end: 27 },
    );
    assert.equal(platform!.keyword, 'platform');
    assert.equal(platform!.argText, 'Tor x');
    assert.equal(platform!.line, 3);
    assert.equal(key!.keyword, 'signing-key');
    assert.deepEqual(key!.object, { label: 'RSA PUBLIC KEY', data: new Uint8Array([0, 1, 2, 3]) });
    assert.equal(key!.line, 4);
    assert.equal(
      text.slice(key!.start, key!.end),
      text.slice(text.indexOf('signing-key'), text.indexOf('last')),
    );
    assert.equal(last!.keyword, 'last');
    assert.equal(last!.end, text.length);
    assert.equal(last!.line, 9);
  });

  it('tokenizes real documents item by item', () => {
    const r = tokenize(fixture('real-bridge-server-descriptor.txt'));
    assert.ok(r.ok);
    assert.deepEqual(
      r.value.map((i) => i.keyword),
      [
        'router',
        'identity-ed25519',
        'master-key-ed25519',
        'platform',
        'proto',
        'published',
        'fingerprint',
        'uptime',
        'bandwidth',
        'extra-info-digest',
        'onion-key',
        'signing-key',
        'onion-key-crosscert',
        'ntor-onion-key-crosscert',
        'hidden-service-dir',
        'contact',
        'bridge-distribution-request',
        'ntor-onion-key',
        'reject',
        'tunnelled-dir-server',
        'router-sig-ed25519',
        'router-signature',
      ],
    );
  });

  it('names the line of each kind of malformation', () => {
    const cases: [string, number, RegExp][] = [
      ['a\n-----BEGIN X-----\nAAAA\n-----END Y-----\n', 4, /mismatched end/],
      ['a\n-----BEGIN X-----\nAA!A\n-----END X-----\n', 3, /bad base64/],
      ['a\n-----BEGIN X-----\nAAAA\n', 4, /no end line/],
      ['a\n-----BEGIN X-----', 2, /truncated/],
      ['a\n-----BEGIN  X-----\n', 2, /object begin/],
      ['ok\nbad\rline\n', 2, /control character 0x0d/],
      ['ok\n-----END X-----\n', 2, /without a keyword/],
      ['ok\n\n @x\n', 3, /keyword/],
      ['ok\n@purpose general\n', 2, /annotations/],
      ['ok\nkey=word\n', 2, /after keyword/],
      ['a\n-----BEGIN X-----\nA===\n-----END X-----\n', 4, /bad base64/],
    ];
    for (const [text, line, pattern] of cases) {
      const e = failure(text);
      assert.equal(e.line, line, `${JSON.stringify(text)}: ${e.message}`);
      assert.match(e.message, pattern);
      assert.equal(e.failure, 'malformed');
      assert.equal(e.kind, 'protocol-violation');
    }
  });

  it('decodes base64 with or without padding, and refuses the rest', () => {
    assert.deepEqual(decodeBase64('AQI'), new Uint8Array([1, 2]));
    assert.deepEqual(decodeBase64('AQI='), new Uint8Array([1, 2]));
    assert.equal(decodeBase64('AQI=='), undefined);
    assert.equal(decodeBase64('A'), undefined);
    assert.equal(decodeBase64('A=QI'), undefined);
    assert.equal(decodeBase64('AQ I'), undefined);
  });

  it('is total over arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = tokenize(bytes);
        if (!r.ok) assert.ok(r.error instanceof NetDocError);
      }),
      { numRuns: 2000 },
    );
  });

  it('is total over document-shaped text, and every item lies inside the input', () => {
    const line = fc.oneof(
      fc.constantFrom('-----BEGIN A B-----', '-----END A B-----', '-----BEGIN X-----', '', 'opt', 'opt x y'),
      fc.stringMatching(/^[A-Za-z0-9+/=@ \t-]{0,30}$/),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.boolean(), (lines, trailing) => {
        const text = lines.join('\n') + (trailing ? '\n' : '');
        const r = tok(text);
        if (!r.ok) return;
        let last = 0;
        for (const item of r.value) {
          assert.ok(item.start >= last && item.end > item.start && item.end <= text.length);
          last = item.end;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
