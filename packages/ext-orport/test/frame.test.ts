import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InternalError, toHex } from '@relayd/common';
import fc from 'fast-check';
import {
  DEFAULT_MAX_EXT_OR_BODY_LENGTH,
  decodeExtOrFrame,
  decodeExtOrMessage,
  ExtOrCommand,
  type ExtOrMessage,
  encodeExtOrFrame,
  encodeExtOrMessage,
  extOrCommandName,
  MAX_EXT_OR_BODY_LENGTH,
  parseAddressPort,
} from '../src/index.js';
import { ascii } from './helpers.js';

describe('Extended ORPort frames', () => {
  // C tor src/test/test_extorport.c test_ext_or_write_command (tor HEAD~1).
  it('encodes the C tor write_command vectors', () => {
    assert.equal(toHex(encodeExtOrFrame(0x99)), '00990000');
    assert.equal(toHex(encodeExtOrFrame(0x99, ascii('Wai\0Hello'))), `00990009${toHex(ascii('Wai\0Hello'))}`);
    const long = new Uint8Array(65535).fill(0x78);
    const frame = encodeExtOrFrame(0xf00d, long);
    assert.equal(frame.length, 65539);
    assert.equal(toHex(frame.subarray(0, 4)), 'f00dffff');
    assert.deepEqual(frame.subarray(4), long);
    assert.throws(() => encodeExtOrFrame(100, new Uint8Array(100000)), InternalError);
  });

  it('spec command table', () => {
    assert.deepEqual(
      { ...ExtOrCommand },
      { DONE: 0, USERADDR: 1, TRANSPORT: 2, OKAY: 0x1000, DENY: 0x1001, CONTROL: 0x1002 },
    );
    assert.equal(extOrCommandName(0x1001), 'DENY');
    assert.equal(extOrCommandName(0xfff0), '0xfff0');
  });

  it('frames from a stream: incomplete, then whole, with the bytes after it left alone', () => {
    const wire = Uint8Array.of(0x00, 0x01, 0x00, 0x0c, ...ascii('1.2.3.4:5678'), 0x00, 0x00);
    assert.deepEqual(decodeExtOrFrame(wire.subarray(0, 3)), { kind: 'incomplete', bytesNeeded: 4 });
    assert.deepEqual(decodeExtOrFrame(wire.subarray(0, 10)), { kind: 'incomplete', bytesNeeded: 16 });
    const result = decodeExtOrFrame(wire);
    assert.equal(result.kind, 'frame');
    if (result.kind !== 'frame') return;
    assert.equal(result.bytesConsumed, 16);
    assert.equal(result.frame.command, ExtOrCommand.USERADDR);
    assert.equal(new TextDecoder().decode(result.frame.body), '1.2.3.4:5678');
  });

  it('refuses an overlong body as soon as the header is in', () => {
    const header = Uint8Array.of(0x00, 0x02, 0x10, 0x01); // BODYLEN 4097
    const result = decodeExtOrFrame(header);
    assert.equal(result.kind, 'malformed');
    if (result.kind === 'malformed')
      assert.match(result.error.message, /TRANSPORT body of 4097 bytes exceeds the limit of 4096/);
    assert.equal(decodeExtOrFrame(header, { maxBodyLength: MAX_EXT_OR_BODY_LENGTH }).kind, 'incomplete');
    assert.equal(DEFAULT_MAX_EXT_OR_BODY_LENGTH, 4096);
    assert.throws(() => decodeExtOrFrame(header, { maxBodyLength: 70000 }), InternalError);
  });
});

describe('Extended ORPort messages', () => {
  const frame = (command: number, body: string) => ({ command, body: ascii(body) });

  it('USERADDR in both recognized formats', () => {
    const v4 = decodeExtOrMessage(frame(1, '1.2.3.4:5678'));
    assert.ok(v4.ok && v4.value.type === 'useraddr');
    assert.deepEqual(v4.value.address, {
      family: 'ipv4',
      address: '1.2.3.4',
      bytes: Uint8Array.of(1, 2, 3, 4),
      port: 5678,
    });
    const v6 = decodeExtOrMessage(frame(1, '[1:2::3:4]:5678'));
    assert.ok(v6.ok && v6.value.type === 'useraddr');
    assert.equal(v6.value.address.address, '1:2::3:4');
    assert.equal(v6.value.address.port, 5678);
  });

  it('refuses USERADDR bodies that do not parse, naming USERADDR', () => {
    for (const body of [
      '1.2.3.4:5678\0', // C tor test: trailing NUL
      '1.2.3.4',
      'localhost:80',
      '::1:5678',
      '[::1]',
      '[::1]:99999',
      '1.2.3.4:+80',
      ' 1.2.3.4:80',
      '1.2.3.256:80',
      '01.2.3.4:80',
      '[fe80::1%eth0]:80',
      '',
    ]) {
      const result = decodeExtOrMessage(frame(1, body));
      assert.ok(!result.ok, `accepted ${JSON.stringify(body)}`);
      assert.equal(result.error.object, 'USERADDR');
    }
  });

  it('TRANSPORT must be a C identifier (C tor test vectors rfc1149, rf*1149, rfc1149\\0)', () => {
    const good = decodeExtOrMessage(frame(2, 'rfc1149'));
    assert.ok(good.ok);
    assert.deepEqual(good.value, { type: 'transport', name: 'rfc1149' });
    for (const body of ['rf*1149', 'rfc1149\0', '', '1obfs4', 'obfs-4', 'ob fs4', 'x'.repeat(129)]) {
      const result = decodeExtOrMessage(frame(2, body));
      assert.ok(!result.ok, `accepted ${JSON.stringify(body)}`);
      assert.equal(result.error.object, 'TRANSPORT');
    }
  });

  it('keeps unknown commands (they are to be ignored, not refused) and ignores DONE/OKAY/DENY bodies', () => {
    assert.deepEqual(decodeExtOrMessage(frame(0xfff0, 'ABC')), {
      ok: true,
      value: { type: 'unrecognized', command: 0xfff0, body: ascii('ABC') },
    });
    assert.deepEqual(decodeExtOrMessage(frame(0, 'whatever')), { ok: true, value: { type: 'done' } });
    assert.deepEqual(decodeExtOrMessage(frame(0x1000, 'x')), { ok: true, value: { type: 'okay' } });
    assert.deepEqual(decodeExtOrMessage(frame(0x1001, '')), { ok: true, value: { type: 'deny' } });
  });

  it('encodes messages to the exact wire bytes', () => {
    assert.equal(toHex(encodeExtOrMessage({ type: 'done' })), '00000000');
    assert.equal(toHex(encodeExtOrMessage({ type: 'okay' })), '10000000');
    assert.equal(toHex(encodeExtOrMessage({ type: 'deny' })), '10010000');
    assert.equal(
      toHex(encodeExtOrMessage({ type: 'transport', name: 'obfs4' })),
      `00020005${toHex(ascii('obfs4'))}`,
    );
    const address = parseAddressPort('[2001:DB8:0:0::1]:443');
    assert.ok(address.ok);
    assert.equal(
      toHex(encodeExtOrMessage({ type: 'useraddr', address: address.value })),
      `00010011${toHex(ascii('[2001:db8::1]:443'))}`,
    );
    assert.throws(() => encodeExtOrMessage({ type: 'transport', name: 'no-dash' }), InternalError);
  });

  it('property: decode(encode(message)) is the message', () => {
    const ipv4 = fc
      .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(65535))
      .map(([a, b, c, d, port]) => `${a}.${b}.${c}.${d}:${port}`);
    const ipv6 = fc.ipV6().chain((ip) => fc.nat(65535).map((port) => `[${ip}]:${port}`));
    const address = fc.oneof(ipv4, ipv6).map((text) => {
      const parsed = parseAddressPort(text, 'test', { allowZeroPort: true });
      if (!parsed.ok) throw new Error(`generator made a bad address ${text}: ${parsed.error.message}`);
      return parsed.value;
    });
    const message: fc.Arbitrary<ExtOrMessage> = fc.oneof(
      fc.constant<ExtOrMessage>({ type: 'done' }),
      fc.constant<ExtOrMessage>({ type: 'okay' }),
      fc.constant<ExtOrMessage>({ type: 'deny' }),
      fc.uint8Array({ maxLength: 64 }).map((body): ExtOrMessage => ({ type: 'control', body })),
      address.map((a): ExtOrMessage => ({ type: 'useraddr', address: a })),
      fc
        .stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,30}$/)
        .map((name): ExtOrMessage => ({ type: 'transport', name })),
      fc
        .tuple(fc.integer({ min: 3, max: 0xffff }), fc.uint8Array({ maxLength: 64 }))
        .filter(([command]) => command < 0x1000 || command > 0x1002)
        .map(([command, body]): ExtOrMessage => ({ type: 'unrecognized', command, body })),
    );
    fc.assert(
      fc.property(message, (m) => {
        const wire = encodeExtOrMessage(m);
        const framed = decodeExtOrFrame(wire);
        assert.equal(framed.kind, 'frame');
        if (framed.kind !== 'frame') return;
        assert.equal(framed.bytesConsumed, wire.length);
        assert.deepEqual(decodeExtOrMessage(framed.frame), { ok: true, value: m });
      }),
    );
  });

  it('property: random bytes only ever frame, wait or refuse, and messages never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffff }), (bytes, limit) => {
        const result = decodeExtOrFrame(bytes, { maxBodyLength: limit });
        if (result.kind === 'frame') {
          assert.ok(result.bytesConsumed <= bytes.length);
          decodeExtOrMessage(result.frame);
        }
        for (const command of [0, 1, 2, 0x1000, 0x1001, 0x1002, 7])
          decodeExtOrMessage({ command, body: bytes });
      }),
    );
  });
});
