import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, InternalError, toHex } from '@relayd/common';
import fc from 'fast-check';
import {
  createCookieFile,
  DEFAULT_EXT_OR_COOKIE_FILE_NAME,
  decodeCookieFile,
  EXT_OR_COOKIE_FILE_LENGTH,
  encodeCookieFile,
} from '../src/index.js';
import { ascii, scriptedRandom } from './helpers.js';

describe('cookie file', () => {
  it('is the 32-byte static header then the cookie (C tor test_ext_or_init_auth checks the same layout)', () => {
    const cookie = new Uint8Array(32).map((_, i) => i);
    const file = encodeCookieFile(cookie);
    assert.equal(file.length, 64);
    assert.equal(EXT_OR_COOKIE_FILE_LENGTH, 64);
    assert.equal(toHex(file.subarray(0, 32)), toHex(ascii('! Extended ORPort Auth Cookie !\x0a')));
    assert.deepEqual(file.subarray(32), cookie);
    assert.equal(DEFAULT_EXT_OR_COOKIE_FILE_NAME, 'extended_orport_auth_cookie');
  });

  it('createCookieFile draws 32 bytes from the Random', () => {
    const cookie = new Uint8Array(32).fill(0x5a);
    const created = createCookieFile(scriptedRandom(cookie));
    assert.deepEqual(created.cookie, cookie);
    assert.deepEqual(created.fileBytes, encodeCookieFile(cookie));
  });

  it('round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (cookie) => {
        assert.deepEqual(decodeCookieFile(encodeCookieFile(cookie)), { ok: true, value: cookie });
      }),
    );
  });

  it('refuses a wrong length (goptlib also refuses a 65th byte) and a wrong header', () => {
    const good = encodeCookieFile(new Uint8Array(32));
    for (const bytes of [good.subarray(0, 63), concatBytes(good, Uint8Array.of(0x0a)), new Uint8Array(0)]) {
      const result = decodeCookieFile(bytes);
      assert.ok(!result.ok);
      assert.equal(result.error.code, 'COOKIE_FILE_BAD_LENGTH');
      assert.equal(result.error.kind, 'bad-input');
    }
    const controlCookie = concatBytes(
      ascii('! Tor Control Cookie !\x0a'.padEnd(32, ' ')),
      new Uint8Array(32),
    );
    const bad = good.slice();
    bad[31] = 0x0d;
    for (const bytes of [bad, controlCookie]) {
      const result = decodeCookieFile(bytes);
      assert.ok(!result.ok);
      assert.equal(result.error.code, 'COOKIE_FILE_BAD_HEADER');
    }
    assert.throws(() => encodeCookieFile(new Uint8Array(33)), InternalError);
  });
});
