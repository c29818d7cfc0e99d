import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { constantTimeEqual, fromBase64, fromHex, toBase64Unpadded, toHex } from '../src/index.js';

describe('encoding', () => {
  it('hex round-trips and rejects bad input', () => {
    fc.assert(fc.property(fc.uint8Array(), (b) => assert.deepEqual(fromHex(toHex(b)), b)));
    assert.equal(fromHex('abc'), undefined);
    assert.equal(fromHex('zz'), undefined);
  });

  it('writes unpadded base64 like tor', () => {
    assert.equal(toBase64Unpadded(new Uint8Array(32)), 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    fc.assert(fc.property(fc.uint8Array(), (b) => assert.deepEqual(fromBase64(toBase64Unpadded(b)), b)));
    assert.equal(fromBase64('a$b'), undefined);
  });

  it('compares in constant time', () => {
    assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
    assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
    assert.equal(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 3])), false);
  });
});
