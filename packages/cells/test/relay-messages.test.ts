import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError, hex, toHex } from '@relayd/common';
import fc from 'fast-check';
import {
  BeginFlag,
  decodeLinkSpecifier,
  decodeLinkSpecifierList,
  decodeRelayMessage,
  EndReason,
  encodeLinkSpecifier,
  encodeLinkSpecifierList,
  encodeRelayMessage,
  endReasonName,
  formatIpAddress,
  type LinkSpecifier,
  RELAY_DATA_MAX_LENGTH,
  RelayCommand,
  type RelayMessage,
  relayCommandName,
  relayMessageCommand,
} from '../src/index.js';
import { linkSpecifierArb, relayMessageArb } from './arbitraries.js';

const ascii = (s: string) => new TextEncoder().encode(s);

function decodeOk(command: number, data: Uint8Array): RelayMessage {
  const res = decodeRelayMessage(command, data);
  if (!res.ok) throw res.error;
  return res.value;
}

function decodeErr(command: number, data: Uint8Array): DecodeError {
  const res = decodeRelayMessage(command, data);
  assert.equal(res.ok, false, 'expected a decode error');
  if (res.ok) throw new Error('unreachable');
  assert.ok(res.error instanceof DecodeError);
  return res.error;
}

/** `hexIn` decodes to `message`, which encodes to `hexOut` (default: `hexIn`). */
function vector(hexIn: string, message: RelayMessage, hexOut = hexIn): void {
  const command = relayMessageCommand(message);
  assert.deepEqual(decodeOk(command, hex(hexIn)), message);
  const encoded = encodeRelayMessage(message);
  assert.equal(encoded.command, command);
  assert.equal(toHex(encoded.data), toHex(hex(hexOut)));
}

const v4 = (text: string) => ({
  family: 'ipv4' as const,
  bytes: new Uint8Array(text.split('.').map(Number)),
});
const v6 = (hexText: string) => ({ family: 'ipv6' as const, bytes: hex(hexText) });

// Unless marked otherwise, vectors are from Arti's crates/tor-cell/tests/testvec_relaymsg.rs
// (captured from tor 0.4.5.0-alpha-dev in chutney, or hand-made there where it says so).
describe('relay message vectors', () => {
  it('BEGIN', () => {
    vector('3132372E302E302E313A3730303300', { type: 'begin', address: '127.0.0.1', port: 7003, flags: 0 });
    // Arti hand-made: flags; IPv6 literal in brackets.
    vector('7777772e786b63642e636f6d3a34343300 00000003', {
      type: 'begin',
      address: 'www.xkcd.com',
      port: 443,
      flags: BeginFlag.IPV6_OK | BeginFlag.IPV4_NOT_OK,
    });
    vector('5b323030313a6462383a3a315d3a323200', {
      type: 'begin',
      address: '2001:db8::1',
      port: 22,
      flags: 0,
    });
    // Arti hand-made failures: no port after an IPv6 literal (and no NUL), non-ASCII.
    assert.equal(decodeErr(RelayCommand.BEGIN, hex('5b3a3a5d21')).failure, 'malformed');
    assert.equal(decodeErr(RelayCommand.BEGIN, hex('5b3a3a5d2100')).failure, 'malformed');
    assert.equal(
      decodeErr(RelayCommand.BEGIN, hex('746f7270726f6a656374e284a22e6f72673a34343300')).failure,
      'malformed',
    );
  });

  it('BEGIN edge cases (hand-computed)', () => {
    // C tor clients send an empty address on onion-service circuits.
    assert.deepEqual(decodeOk(RelayCommand.BEGIN, ascii(':80\0')), {
      type: 'begin',
      address: '',
      port: 80,
      flags: 0,
    });
    // Fewer than four bytes after the NUL carry no flags; more than four are ignored.
    assert.deepEqual(decodeOk(RelayCommand.BEGIN, new Uint8Array([...ascii('a:1\0'), 0, 0, 1])), {
      type: 'begin',
      address: 'a',
      port: 1,
      flags: 0,
    });
    assert.deepEqual(decodeOk(RelayCommand.BEGIN, new Uint8Array([...ascii('a:1\0'), 0, 0, 0, 5, 9, 9])), {
      type: 'begin',
      address: 'a',
      port: 1,
      flags: 5,
    });
    for (const bad of [
      'a:0',
      'a:65536',
      'a:',
      'a',
      'a:b',
      '1::2:80',
      '[1.2.3.4]:80',
      '[::1:80',
      'a b:80',
      'a:+80',
    ]) {
      assert.equal(decodeErr(RelayCommand.BEGIN, ascii(`${bad}\0`)).failure, 'malformed', bad);
    }
    assert.throws(() => encodeRelayMessage({ type: 'begin', address: 'a', port: 0, flags: 0 }), /port/);
    assert.throws(() => encodeRelayMessage({ type: 'begin', address: 'ü', port: 1, flags: 0 }), /ASCII/);
  });

  it('BEGIN_DIR, DROP, TRUNCATE ignore their payload', () => {
    vector('', { type: 'begin-dir' });
    vector('', { type: 'drop' });
    vector('', { type: 'truncate' });
    assert.deepEqual(decodeOk(RelayCommand.BEGIN_DIR, new Uint8Array(10)), { type: 'begin-dir' });
    assert.deepEqual(decodeOk(RelayCommand.DROP, hex('ffee')), { type: 'drop' });
  });

  it('CONNECTED', () => {
    vector('', { type: 'connected', resolved: null });
    vector('7F000001 00000E10', { type: 'connected', resolved: { address: v4('127.0.0.1'), ttl: 0xe10 } });
    // Arti hand-made IPv6 form.
    vector('00000000 06 20010db8 00000000 00000000 00001122 00000E10', {
      type: 'connected',
      resolved: { address: v6('20010db8000000000000000000001122'), ttl: 0xe10 },
    });
    assert.equal(
      decodeErr(RelayCommand.CONNECTED, hex('00000000 07 20010db8 00000000 00000000 00001122 00000E10'))
        .failure,
      'malformed',
    );
    // C tor test_cell_formats.c test_cfmt_connected_cells: formatting 30.40.50.60 / TTL 1024,
    // parsing 2607:f8b0:400c:c02::68 / TTL 600, and refusing the 3-byte and truncated-IPv6 bodies.
    vector('1e28323c 00000400', { type: 'connected', resolved: { address: v4('30.40.50.60'), ttl: 1024 } });
    const six = decodeOk(
      RelayCommand.CONNECTED,
      hex('00000000 06 2607f8b0400c0c020000000000000068 00000258'),
    );
    assert.ok(six.type === 'connected' && six.resolved);
    assert.equal(formatIpAddress(six.resolved.address), '2607:f8b0:400c:c02::68');
    assert.equal(six.resolved.ttl, 600);
    assert.equal(decodeErr(RelayCommand.CONNECTED, hex('000102')).failure, 'incomplete');
    assert.equal(
      decodeErr(RelayCommand.CONNECTED, hex('00000000 06 2607f8b0400c0c020000000000000068 000002')).failure,
      'incomplete',
    );
    assert.throws(
      () => encodeRelayMessage({ type: 'connected', resolved: { address: v4('0.0.0.0'), ttl: 1 } }),
      /0\.0\.0\.0/,
    );
  });

  it('END', () => {
    vector('01', { type: 'end', reason: EndReason.MISC, exitPolicy: null });
    vector('06', { type: 'end', reason: EndReason.DONE, exitPolicy: null });
    // Arti hand-made exit-policy rejections.
    vector('04 7f000007 00000100', {
      type: 'end',
      reason: 4,
      exitPolicy: { address: v4('127.0.0.7'), ttl: 256 },
    });
    vector('04 20010db8 00000000 00000000 0000f00b 00000200', {
      type: 'end',
      reason: 4,
      exitPolicy: { address: v6('20010db80000000000000000 0000f00b'), ttl: 512 },
    });
    // Empty means MISC; a missing TTL reads as 0xffffffff.
    vector('', { type: 'end', reason: EndReason.MISC, exitPolicy: null }, '01');
    vector(
      '04 7f000007',
      { type: 'end', reason: 4, exitPolicy: { address: v4('127.0.0.7'), ttl: 0xffffffff } },
      '04 7f000007 ffffffff',
    );
    // Hand-computed: a wrong-length address is dropped, and other reasons ignore trailing bytes.
    assert.deepEqual(decodeOk(RelayCommand.END, hex('04 7f0000')), {
      type: 'end',
      reason: 4,
      exitPolicy: null,
    });
    assert.deepEqual(decodeOk(RelayCommand.END, hex('06 7f000007')), {
      type: 'end',
      reason: 6,
      exitPolicy: null,
    });
    assert.deepEqual(decodeOk(RelayCommand.END, hex('c8')), { type: 'end', reason: 200, exitPolicy: null });
    assert.equal(endReasonName(14), 'NOTDIRECTORY');
    assert.equal(endReasonName(99), undefined);
    assert.throws(
      () => encodeRelayMessage({ type: 'end', reason: 6, exitPolicy: { address: v4('1.2.3.4'), ttl: 1 } }),
      /exit-policy/,
    );
  });

  it('SENDME v0, v1 and unknown versions', () => {
    vector('', { type: 'sendme', kind: 'v0' });
    vector('01 0014 F01234989823478bcdefabcdef01234567890123', {
      type: 'sendme',
      kind: 'v1',
      digest: hex('F01234989823478bcdefabcdef01234567890123'),
    });
    // Hand-computed from tor-spec 7.3.1.
    assert.deepEqual(decodeOk(RelayCommand.SENDME, hex('00 0002 abcd')), { type: 'sendme', kind: 'v0' });
    const longer = decodeOk(
      RelayCommand.SENDME,
      hex('01 0016 F01234989823478bcdefabcdef01234567890123 eeee'),
    );
    assert.deepEqual(longer, {
      type: 'sendme',
      kind: 'v1',
      digest: hex('F01234989823478bcdefabcdef01234567890123'),
    });
    const short = decodeErr(RelayCommand.SENDME, hex('01 0013 F01234989823478bcdefabcdef012345678901'));
    assert.equal(short.failure, 'malformed');
    assert.equal(decodeErr(RelayCommand.SENDME, hex('01 0014 F012')).failure, 'incomplete');
    vector('02 0003 010203', { type: 'sendme', kind: 'unknown-version', version: 2, data: hex('010203') });
  });

  it('EXTEND2 (captured) and EXTENDED2', () => {
    const handshake = hex(
      '03479E93EBF3FF2C58C1C9DBF2DE9DE9C2801B3E36A3E0BDB1F1A10579820243DD2E228B902940EB49EF842646E3926768C28410074BEE50A535116D657C6BFB7E5114119DC69F05DF907EF62002EA782B0A357F',
    );
    vector(
      `02 00 06 7F0000011388 02 14 03479E93EBF3FF2C58C1C9DBF2DE9DE9C2801B3E 0002 0054 ${toHex(handshake)}`,
      {
        type: 'extend2',
        linkSpecifiers: [
          { kind: 'ipv4', address: v4('127.0.0.1'), port: 5000 },
          { kind: 'legacy-id', rsaIdentity: hex('03479E93EBF3FF2C58C1C9DBF2DE9DE9C2801B3E') },
        ],
        handshakeType: 2,
        handshakeData: handshake,
      },
    );
    const reply = hex(
      '0026619058EB2661834D54C2624828728F28915587CDAD1AD3373B85F33A480EEA9D3B2CEF8D39C1DBD2FA519E75296B96960690C79A28D6A0D9454F8E9634BD',
    );
    vector(`0040 ${toHex(reply)}`, { type: 'extended2', handshakeData: reply });
    assert.equal(decodeErr(RelayCommand.EXTENDED2, hex('0040 0102')).failure, 'incomplete');
  });

  it("EXTEND2 bodies from C tor's test_cell_formats.c test_cfmt_extend_cells", () => {
    // A minimal ntor EXTEND2: 18.244.0.1:61681 and the identity "anarchoindividualist".
    const skin = new Uint8Array(84).map((_, i) => (i * 7) & 0xff);
    const minimal = `02 0006 12f40001 f0f1 0214 ${toHex(ascii('anarchoindividualist'))} 0002 0054 ${toHex(skin)}`;
    vector(minimal, {
      type: 'extend2',
      linkSpecifiers: [
        { kind: 'ipv4', address: v4('18.244.0.1'), port: 61681 },
        { kind: 'legacy-id', rsaIdentity: ascii('anarchoindividualist') },
      ],
      handshakeType: 2,
      handshakeData: skin,
    });
    // The "fanciful" one: an IPv6 specifier and an unknown type-0xf0 "Konami code" specifier,
    // handshake type 0x105 of 99 bytes. C tor drops the unknown specifier when it re-encodes;
    // relayd keeps it, so the bytes round-trip unchanged.
    const hdata = new Uint8Array(99).map((_, i) => 255 - i);
    const fanciful =
      `04 0006 12f40001 f0f1 0214 ${toHex(ascii('anthropomorphization'))} ` +
      `0112 20020000000000000000000000f0c51e 1112 f020 ${toHex(ascii('upupdowndownleftrightleftrightba'))} ` +
      `0105 0063 ${toHex(hdata)}`;
    const message = decodeOk(RelayCommand.EXTEND2, hex(fanciful));
    assert.ok(message.type === 'extend2');
    assert.deepEqual(message.linkSpecifiers, [
      { kind: 'ipv4', address: v4('18.244.0.1'), port: 61681 },
      { kind: 'legacy-id', rsaIdentity: ascii('anthropomorphization') },
      { kind: 'ipv6', address: v6('20020000000000000000000000f0c51e'), port: 4370 },
      { kind: 'unrecognized', specifierType: 0xf0, body: ascii('upupdowndownleftrightleftrightba') },
    ]);
    const ipv6 = message.linkSpecifiers[2];
    assert.ok(ipv6?.kind === 'ipv6');
    assert.equal(formatIpAddress(ipv6.address), '2002::f0:c51e');
    assert.equal(message.handshakeType, 0x105);
    assert.equal(toHex(encodeRelayMessage(message).data), toHex(hex(fanciful)));
    // "IPv6 without IPv4", inside a zero-padded 498-byte buffer: the trailing zeros are ignored.
    const padded = new Uint8Array(RELAY_DATA_MAX_LENGTH);
    padded.set(
      hex(
        `02 0214 ${toHex(ascii('anthropomorphization'))} 0112 ${toHex(ascii('xxxxxxxxxxxxxxxxYY'))} ffff 0020`,
      ),
    );
    const v6only = decodeOk(RelayCommand.EXTEND2, padded);
    assert.ok(v6only.type === 'extend2');
    assert.equal(toHex(encodeRelayMessage(v6only).data).length, (47 + 32) * 2);
    assert.equal(
      toHex(encodeRelayMessage(v6only).data).slice(0, 94),
      `020214${toHex(ascii('anthropomorphization'))}0112${'78'.repeat(16)}5959ffff0020`,
    );
  });

  it("rejects C tor's junk EXTEND2 bodies that break the wire format", () => {
    const id = toHex(ascii('anarchoindividualist'));
    const inRelayCell = (h: string) => {
      const out = new Uint8Array(RELAY_DATA_MAX_LENGTH);
      out.set(hex(h));
      return out;
    };
    // A handshake longer than the cell, IPv4 specifiers of length 7 and 5, IPv6 of 0x13 and 0x11, running out of space.
    const cases: Array<[string, 'incomplete' | 'malformed']> = [
      [`02 0006 12f40001f0f1 0214 ${id} ffff 01d0`, 'incomplete'],
      [`02 0007 12f40001f0f1ff 0214 ${id} ffff 0010`, 'malformed'],
      [`02 0005 12f40001f0 0214 ${id} ffff 0010`, 'malformed'],
      [`03 0006 12f40001f0f1 0214 ${id} 0113 ${toHex(ascii('xxxxxxxxxxxxxxxxYYZ'))} ffff 0020`, 'malformed'],
      [`03 0006 12f40001f0f1 0214 ${id} 0111 ${toHex(ascii('xxxxxxxxxxxxxxxxY'))} ffff 0020`, 'malformed'],
    ];
    for (const [h, failure] of cases)
      assert.equal(decodeErr(RelayCommand.EXTEND2, inRelayCell(h)).failure, failure, h);
    const outOfSpace = inRelayCell('050aff');
    outOfSpace.set(hex('0aff'), 3 + 255);
    assert.equal(decodeErr(RelayCommand.EXTEND2, outOfSpace).failure, 'incomplete');
  });

  it('TRUNCATED, DATA and unrecognized commands', () => {
    vector('08', { type: 'truncated', reason: 8 });
    assert.equal(decodeErr(RelayCommand.TRUNCATED, new Uint8Array(0)).failure, 'incomplete');
    vector('474554202f20485454502f312e310d0a0d0a', { type: 'data', data: ascii('GET / HTTP/1.1\r\n\r\n') });
    vector('617262697472617279206279746573', {
      type: 'unrecognized',
      command: 249,
      data: ascii('arbitrary bytes'),
    });
    // A known command without a codec here is carried as unrecognized data too.
    vector('0102', { type: 'unrecognized', command: RelayCommand.EXTEND, data: hex('0102') });
    assert.equal(relayCommandName(RelayCommand.EXTEND), 'EXTEND');
    assert.throws(
      () => encodeRelayMessage({ type: 'unrecognized', command: RelayCommand.DATA, data: hex('00') }),
      /own message type/,
    );
    assert.throws(() => encodeRelayMessage({ type: 'data', data: new Uint8Array(499) }), /too long/);
    assert.equal(decodeErr(RelayCommand.DATA, new Uint8Array(499)).failure, 'malformed');
  });

  it('names the relay commands, with C tor numbering for flow control', () => {
    assert.equal(relayCommandName(13), 'BEGIN_DIR');
    assert.equal(relayCommandName(19), 'CONFLUX_LINK');
    assert.equal(relayCommandName(41), 'PADDING_NEGOTIATE');
    assert.equal(relayCommandName(43), 'XOFF');
    assert.equal(relayCommandName(44), 'XON');
    assert.equal(relayCommandName(23), undefined);
  });
});

describe('link specifiers (tor-spec 5.1.2)', () => {
  it('encodes each known type exactly (hand-computed)', () => {
    const cases: Array<[LinkSpecifier, string]> = [
      [{ kind: 'ipv4', address: v4('1.2.3.4'), port: 9001 }, '0006 01020304 2329'],
      [
        { kind: 'ipv6', address: v6('20010db8000000000000000000000001'), port: 443 },
        '0112 20010db8000000000000000000000001 01bb',
      ],
      [{ kind: 'legacy-id', rsaIdentity: new Uint8Array(20).fill(0xab) }, `0214 ${'ab'.repeat(20)}`],
      [{ kind: 'ed25519-id', ed25519Identity: new Uint8Array(32).fill(0xcd) }, `0320 ${'cd'.repeat(32)}`],
      [{ kind: 'unrecognized', specifierType: 4, body: hex('0102') }, '0402 0102'],
    ];
    for (const [spec, wire] of cases) {
      assert.equal(toHex(encodeLinkSpecifier(spec)), toHex(hex(wire)));
      assert.deepEqual(decodeLinkSpecifier(hex(wire)), { ok: true, value: spec });
    }
    assert.throws(
      () => encodeLinkSpecifier({ kind: 'unrecognized', specifierType: 2, body: new Uint8Array(20) }),
      /known/,
    );
    const trailing = decodeLinkSpecifier(hex('0402 0102 ff'));
    assert.ok(!trailing.ok && trailing.error.failure === 'malformed');
    const wrongEd = decodeLinkSpecifier(hex(`031f ${'cd'.repeat(31)}`));
    assert.ok(!wrongEd.ok && wrongEd.error.failure === 'malformed');
  });

  it('decode(encode(list)) == list, and random bytes never throw', () => {
    fc.assert(
      fc.property(fc.array(linkSpecifierArb, { maxLength: 8 }), (specs) => {
        assert.deepEqual(decodeLinkSpecifierList(encodeLinkSpecifierList(specs)), { ok: true, value: specs });
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const res = decodeLinkSpecifierList(bytes);
        if (!res.ok) assert.ok(res.error instanceof DecodeError);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('relay message properties', () => {
  it('decode(encode(m)) == m for every message', () => {
    fc.assert(
      fc.property(relayMessageArb, (message) => {
        const { command, data } = encodeRelayMessage(message);
        assert.ok(data.length <= RELAY_DATA_MAX_LENGTH);
        assert.deepEqual(decodeRelayMessage(command, data), { ok: true, value: message });
      }),
      { numRuns: 1000 },
    );
  });

  it('every relay command decoder returns ok or a DecodeError for random bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 520 }), (command, bytes) => {
        const res = decodeRelayMessage(command, bytes);
        if (!res.ok) assert.ok(res.error instanceof DecodeError);
      }),
      { numRuns: 2000 },
    );
    for (const command of Object.values(RelayCommand)) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 520 }), (bytes) => {
          const res = decodeRelayMessage(command, bytes);
          if (!res.ok) assert.ok(res.error instanceof DecodeError);
        }),
        { numRuns: 200 },
      );
    }
  });

  it('truncated encodings give ok or a DecodeError, never an exception', () => {
    fc.assert(
      fc.property(relayMessageArb, fc.nat(), (message, cut) => {
        const { command, data } = encodeRelayMessage(message);
        const res = decodeRelayMessage(command, data.subarray(0, data.length === 0 ? 0 : cut % data.length));
        if (!res.ok) assert.ok(res.error instanceof DecodeError);
      }),
      { numRuns: 1000 },
    );
  });
});
