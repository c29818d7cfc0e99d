import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KeyErrorCode } from '../src/errors.js';
import {
  decodeFixedTaggedFile,
  decodeTaggedFile,
  encodeTaggedFile,
  TAGGED_HEADER_LEN,
  TaggedType,
} from '../src/tagged-file.js';

function headerText(bytes: Uint8Array): string {
  return Buffer.from(bytes.subarray(0, TAGGED_HEADER_LEN)).toString('latin1');
}

describe('tagged key files', () => {
  it('writes the 32-byte NUL-padded header tor writes', () => {
    const out = encodeTaggedFile(TaggedType.ED25519_SECRET, 'type0', new Uint8Array(64).fill(7));
    assert.equal(out.length, 96);
    const expected = '== ed25519v1-secret: type0 ==';
    assert.equal(headerText(out), expected + '\0'.repeat(32 - expected.length));
    assert.deepEqual(out.subarray(32), new Uint8Array(64).fill(7));
    const ntor = encodeTaggedFile(TaggedType.CURVE25519_KEYPAIR, 'onion', new Uint8Array(64));
    assert.equal(headerText(ntor).replace(/\0+$/, ''), '== c25519v1: onion ==');
  });

  it('round-trips any printable type, tag and body that fit', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9-]{1,12}$/),
        fc.stringMatching(/^[a-z0-9]{1,10}$/),
        fc.uint8Array({ maxLength: 300 }),
        (type, tag, body) => {
          const decoded = decodeTaggedFile(encodeTaggedFile(type, tag, body), type);
          assert.ok(decoded.ok);
          assert.equal(decoded.value.tag, tag);
          assert.deepEqual(decoded.value.body, body);
        },
      ),
    );
  });

  it('refuses a header that does not fit', () => {
    assert.throws(
      () => encodeTaggedFile('a-very-long-type-string', 'and-a-tag', new Uint8Array(1)),
      RangeError,
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        decodeFixedTaggedFile(bytes, TaggedType.ED25519_PUBLIC, 'type0', 32);
      }),
    );
  });

  it('names what is wrong', () => {
    const good = encodeTaggedFile(TaggedType.ED25519_PUBLIC, 'type0', new Uint8Array(32));
    const code = (bytes: Uint8Array, tag = 'type0') => {
      const r = decodeFixedTaggedFile(bytes, TaggedType.ED25519_PUBLIC, tag, 32);
      return r.ok ? 'ok' : r.error.code;
    };
    assert.equal(code(good), 'ok');
    assert.equal(code(new Uint8Array(0)), KeyErrorCode.TRUNCATED);
    assert.equal(code(good.subarray(0, 20)), KeyErrorCode.TRUNCATED);
    assert.equal(code(good.subarray(0, 40)), KeyErrorCode.TRUNCATED);
    const longer = encodeTaggedFile(TaggedType.ED25519_PUBLIC, 'type0', new Uint8Array(33));
    assert.equal(code(longer), KeyErrorCode.BAD_LENGTH);
    assert.equal(code(good, 'type4'), KeyErrorCode.BAD_HEADER);
    const otherType = encodeTaggedFile(TaggedType.ED25519_SECRET, 'type0', new Uint8Array(32));
    const r = decodeFixedTaggedFile(otherType, TaggedType.ED25519_PUBLIC, 'type0', 32);
    assert.ok(!r.ok);
    assert.equal(r.error.code, KeyErrorCode.BAD_HEADER);
    assert.match(r.error.detail, /"ed25519v1-secret" file, expected "ed25519v1-public"/);
    // Junk after the text inside the padding: tor requires the rest of the header to be NUL.
    const dirty = Uint8Array.from(good);
    dirty[31] = 0x41;
    assert.equal(code(dirty), KeyErrorCode.BAD_HEADER);
    const notTagged = new Uint8Array(Buffer.from(`-----BEGIN RSA PRIVATE KEY-----\n${'A'.repeat(64)}\n`));
    assert.equal(code(notTagged), KeyErrorCode.BAD_HEADER);
  });
});
