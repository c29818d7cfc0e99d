/**
 * The cookie files: the front's is written 0600 (whatever the umask), with
 * the static header and a fresh cookie each time, replaced atomically; a
 * backend's is read back and refused when it is not a cookie file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bytesEqual } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import { EXT_OR_COOKIE_FILE_HEADER_TEXT } from '@relayd/ext-orport';
import { BalancerError, readExtOrCookieFile, writeExtOrCookieFile } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'relayd-balancer-cookie-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('Extended ORPort cookie files', () => {
  it('writes header + 32-byte cookie, mode 0600 even under umask 000, in a new 0700 directory', async () => {
    const path = join(root, 'data', 'extended_orport_auth_cookie');
    const previous = process.umask(0o000);
    let cookie: Uint8Array;
    try {
      cookie = await writeExtOrCookieFile(path, secureRandom);
    } finally {
      process.umask(previous);
    }
    const bytes = readFileSync(path);
    assert.equal(bytes.length, 64);
    assert.equal(bytes.subarray(0, 32).toString('latin1'), EXT_OR_COOKIE_FILE_HEADER_TEXT);
    assert.equal(bytes.subarray(0, 32).toString('latin1'), '! Extended ORPort Auth Cookie !\n');
    assert.ok(bytesEqual(new Uint8Array(bytes.subarray(32)), cookie));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'data')).mode & 0o777, 0o700);
    assert.ok(bytesEqual(await readExtOrCookieFile(path), cookie));
  });

  it('a second start replaces the file with a fresh cookie and leaves no temporary file', async () => {
    const path = join(root, 'again');
    const first = await writeExtOrCookieFile(path, secureRandom);
    writeFileSync(path, 'tampered', { mode: 0o644 });
    const second = await writeExtOrCookieFile(path, secureRandom);
    assert.ok(!bytesEqual(first, second));
    assert.ok(bytesEqual(await readExtOrCookieFile(path), second));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(
      readdirSync(root).filter((n) => n.includes('.tmp-')),
      [],
    );
  });

  it('reading refuses a missing file, a wrong length and a wrong header with typed errors', async () => {
    await assert.rejects(readExtOrCookieFile(join(root, 'missing')), (e: unknown) => {
      assert.ok(e instanceof BalancerError);
      assert.equal(e.code, 'COOKIE_FILE_READ');
      return true;
    });
    const short = join(root, 'short');
    writeFileSync(short, Buffer.alloc(63));
    await assert.rejects(readExtOrCookieFile(short), { code: 'COOKIE_FILE_INVALID' });
    const header = join(root, 'header');
    writeFileSync(
      header,
      Buffer.concat([Buffer.from('! Extended ORPort Auth Cookie ?\n'), Buffer.alloc(32)]),
    );
    await assert.rejects(readExtOrCookieFile(header), /does not start with/);
  });

  it('a path it cannot write is a COOKIE_FILE_WRITE error', async () => {
    const blocker = join(root, 'not-a-directory');
    writeFileSync(blocker, 'x');
    await assert.rejects(writeExtOrCookieFile(join(blocker, 'cookie'), secureRandom), {
      code: 'COOKIE_FILE_WRITE',
    });
  });
});
