import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError, hex, toHex } from '@relayd/common';
import fc from 'fast-check';
import {
  decodeSocks5ConnectReply,
  decodeSocks5MethodSelection,
  describeSocks5Reply,
  encodeSocks5Connect,
  encodeSocks5Greeting,
  SOCKS5_REPLY,
} from '../src/index.js';

function request(host: string, port: number): string {
  const r = encodeSocks5Connect({ host, port });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return toHex(r.value);
}

describe('SOCKS5 requests (RFC 1928)', () => {
  it('greets offering only "no authentication"', () => {
    assert.equal(toHex(encodeSocks5Greeting()), '050100');
  });

  it('encodes CONNECT to an IPv4 literal with ATYP 1', () => {
    assert.equal(request('127.0.0.1', 8080), '050100017f0000011f90');
    assert.equal(request('10.255.0.7', 1), '050100010aff00070001');
  });

  it('encodes CONNECT to an IPv6 literal with ATYP 4', () => {
    assert.equal(request('::1', 443), `05010004${'00'.repeat(15)}0101bb`);
    assert.equal(
      request('[2001:db8::ff00:42]', 80),
      '05010004 20010db8 0000000000000000 ff000042 0050'.replace(/ /g, ''),
    );
    assert.equal(
      request('1:2:3:4:5:6:7:8', 65535),
      '05010004 00010002000300040005000600070008 ffff'.replace(/ /g, ''),
    );
    assert.equal(request('::', 0), `05010004${'00'.repeat(16)}0000`);
  });

  it('sends anything else as a domain name with ATYP 3 and a length byte', () => {
    assert.equal(request('example.com', 80), '050100030b6578616d706c652e636f6d0050');
    // Not valid literals: the proxy gets them as names.
    assert.equal(request('256.0.0.1', 1).slice(6, 8), '03');
    assert.equal(request('01.2.3.4', 1).slice(6, 8), '03');
    assert.equal(request('1:::2', 1).slice(6, 8), '03');
    assert.equal(request('1:2:3:4:5:6:7:8:9', 1).slice(6, 8), '03');
  });

  it('refuses what cannot be encoded', () => {
    for (const [host, port] of [
      ['', 80],
      ['a'.repeat(256), 80],
      ['127.0.0.1', 65536],
      ['127.0.0.1', -1],
      ['127.0.0.1', 1.5],
    ] as const) {
      const r = encodeSocks5Connect({ host, port });
      assert.equal(r.ok, false, `${host.slice(0, 10)}:${port}`);
      if (!r.ok) assert.ok(r.error instanceof DecodeError);
    }
  });

  it('encodes every IPv4 address and port in 10 bytes (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 65535 }), (ip, port) => {
        const r = encodeSocks5Connect({ host: ip, port });
        assert.ok(r.ok);
        assert.equal(r.value.length, 10);
        assert.deepEqual([...r.value.subarray(4, 8)], ip.split('.').map(Number));
        assert.equal((r.value[8]! << 8) | r.value[9]!, port);
      }),
    );
  });
});

describe('SOCKS5 replies', () => {
  it('decodes the method selection', () => {
    const r = decodeSocks5MethodSelection(hex('0500'));
    assert.ok(r.ok);
    assert.deepEqual(r.value, { value: 0, length: 2 });
    const none = decodeSocks5MethodSelection(hex('05ff'));
    assert.ok(none.ok);
    assert.equal(none.value.value, 0xff);
  });

  it('reports a short method selection as incomplete and a wrong version as malformed', () => {
    for (const bytes of ['', '05']) {
      const r = decodeSocks5MethodSelection(hex(bytes));
      assert.ok(!r.ok && r.error.failure === 'incomplete');
    }
    const r = decodeSocks5MethodSelection(hex('0400'));
    assert.ok(!r.ok && r.error.failure === 'malformed');
  });

  it('decodes a CONNECT reply and says how long it was, leaving following data alone', () => {
    const r = decodeSocks5ConnectReply(hex('05000001 7f000001 1f90 48545450'));
    assert.ok(r.ok);
    assert.deepEqual(r.value, { value: { reply: 0, boundHost: '127.0.0.1', boundPort: 8080 }, length: 10 });
    const v6 = decodeSocks5ConnectReply(hex(`05000004${'00'.repeat(15)}010050`));
    assert.ok(v6.ok);
    assert.deepEqual(v6.value.value, { reply: 0, boundHost: '0:0:0:0:0:0:0:1', boundPort: 80 });
    const name = decodeSocks5ConnectReply(hex('0500000303616263 0016'));
    assert.ok(name.ok);
    assert.deepEqual(name.value, { value: { reply: 0, boundHost: 'abc', boundPort: 22 }, length: 10 });
  });

  it('passes refusals through with their code', () => {
    const r = decodeSocks5ConnectReply(hex('05050001000000000000'));
    assert.ok(r.ok);
    assert.equal(r.value.value.reply, SOCKS5_REPLY.connectionRefused);
    assert.equal(describeSocks5Reply(5), 'connection refused');
    assert.equal(describeSocks5Reply(0xf6), 'unknown reply 0xf6');
  });

  it('reports every strict prefix of a reply as incomplete', () => {
    for (const full of ['050000017f0000011f90', `05000004${'00'.repeat(16)}0050`, '05000003036162630016']) {
      const bytes = hex(full);
      for (let n = 0; n < bytes.length; n++) {
        const r = decodeSocks5ConnectReply(bytes.subarray(0, n));
        assert.ok(!r.ok && r.error.failure === 'incomplete', `${full} cut at ${n}`);
      }
    }
  });

  it('rejects a bad version or address type as malformed', () => {
    for (const bytes of ['040000017f0000011f90', '050000027f0000011f90']) {
      const r = decodeSocks5ConnectReply(hex(bytes));
      assert.ok(!r.ok && r.error.failure === 'malformed', bytes);
    }
  });

  it('never throws on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const r of [decodeSocks5ConnectReply(bytes), decodeSocks5MethodSelection(bytes)]) {
          if (!r.ok) assert.ok(r.error instanceof DecodeError);
          else assert.ok(r.value.length <= bytes.length);
        }
      }),
    );
  });
});
