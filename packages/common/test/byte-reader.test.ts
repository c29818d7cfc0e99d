import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ByteReader, ByteWriter, DecodeError, decodeWith } from '../src/index.js';

describe('ByteReader / ByteWriter', () => {
  it('round-trips integers big-endian', () => {
    const bytes = new ByteWriter().u8(0xab).u16(0x1234).u32(0xdeadbeef).u64(0x0102030405060708n).finish();
    assert.deepEqual([...bytes.subarray(0, 3)], [0xab, 0x12, 0x34]);
    const r = new ByteReader(bytes);
    assert.equal(r.u8(), 0xab);
    assert.equal(r.u16(), 0x1234);
    assert.equal(r.u32(), 0xdeadbeef);
    assert.equal(r.u64(), 0x0102030405060708n);
    r.expectExhausted();
  });

  it('back-fills nested lengths and checks them on read', () => {
    const bytes = new ByteWriter().nested16((w) => w.bytes(new Uint8Array([1, 2, 3]))).finish();
    assert.deepEqual([...bytes], [0, 3, 1, 2, 3]);
    const inner = new ByteReader(bytes).nested16('body', (r) => [...r.rest()]);
    assert.deepEqual(inner, [1, 2, 3]);
    const leftover = decodeWith(bytes, 'thing', (r) => r.nested16('body', (inner) => inner.u8()));
    assert.equal(leftover.ok, false);
    assert.ok(!leftover.ok && leftover.error.failure === 'malformed');
  });

  it('reports truncation as incomplete, naming the object', () => {
    const res = decodeWith(new Uint8Array([0, 5, 1]), 'CERTS cell', (r) =>
      r.nested16('cert', (i) => i.rest()),
    );
    assert.ok(!res.ok);
    assert.ok(res.error instanceof DecodeError);
    assert.equal(res.error.failure, 'incomplete');
    assert.match(res.error.message, /^CERTS cell: truncated cert/);
  });

  it('never throws past decodeWith for any input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const res = decodeWith(bytes, 'fuzz', (r) => {
          const out: number[] = [];
          while (r.remaining > 0) out.push(r.nested8('item', (i) => i.u16()));
          return out;
        });
        assert.equal(typeof res.ok, 'boolean');
      }),
    );
  });

  it('rejects out-of-range writes as bugs', () => {
    assert.throws(() => new ByteWriter().u8(256), /bug: u8 out of range/);
    assert.throws(() => new ByteWriter().u16(-1), /bug: u16 out of range/);
  });
});
