import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { readTar, type TarEntry, writeTar } from '../src/index.js';

const LIMITS = { maxEntries: 100, maxTotalBytes: 1 << 20 };
const root = mkdtempSync(join(tmpdir(), 'relayd-tar-'));
after(() => rmSync(root, { recursive: true, force: true }));

const T = Date.UTC(2026, 2, 1, 8, 15, 0);
const entries: TarEntry[] = [
  {
    path: 'manifest.json',
    type: 'file',
    mode: 0o600,
    mtimeMs: T,
    bytes: new TextEncoder().encode('{"a":1}\n'),
  },
  { path: 'keys', type: 'directory', mode: 0o700, mtimeMs: T, bytes: new Uint8Array(0) },
  {
    path: 'keys/secret_id_key',
    type: 'file',
    mode: 0o600,
    mtimeMs: T - 86_400_000,
    bytes: new Uint8Array(1000).fill(7),
  },
  { path: 'keys/empty', type: 'file', mode: 0o600, mtimeMs: T, bytes: new Uint8Array(0) },
  { path: 'keys/exact', type: 'file', mode: 0o600, mtimeMs: T, bytes: new Uint8Array(512).fill(1) },
];

describe('ustar archives', () => {
  it('round-trip files and directories with their modes and times (to the second)', () => {
    const archive = writeTar(entries);
    assert.equal(archive.length % 512, 0);
    const back = readTar(archive, LIMITS);
    assert.ok(back.ok, back.ok ? '' : back.error);
    assert.deepEqual(back.value, entries);
  });

  const tar = ['/usr/bin/tar', '/bin/tar'].find((p) => existsSync(p));
  it('are what the system tar reads and writes', { skip: tar ? false : 'no tar installed' }, () => {
    const file = join(root, 'ours.tar');
    writeFileSync(file, writeTar(entries));
    const listing = execFileSync(tar!, ['tvf', file], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'UTC' },
    });
    assert.match(listing, /^-rw------- root\/root +8 2026-03-01 08:15 manifest\.json$/m);
    assert.match(listing, /^drwx------ root\/root +0 .* keys\/$/m);
    assert.match(listing, /^-rw------- root\/root +1000 2026-02-28 08:15 keys\/secret_id_key$/m);
    const out = join(root, 'extracted');
    mkdirSync(out);
    execFileSync(tar!, ['xpf', file, '-C', out]);
    assert.deepEqual(new Uint8Array(readFileSync(join(out, 'keys/secret_id_key'))), entries[2]!.bytes);
    assert.equal(statSync(join(out, 'keys/secret_id_key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, 'keys/secret_id_key')).mtimeMs, T - 86_400_000);

    // And an archive GNU tar writes in ustar format reads back here.
    const theirs = join(root, 'theirs.tar');
    execFileSync(tar!, ['--format=ustar', '-cf', theirs, '-C', out, 'manifest.json', 'keys']);
    const read = readTar(new Uint8Array(readFileSync(theirs)), LIMITS);
    assert.ok(read.ok, read.ok ? '' : read.error);
    const byPath = new Map(read.value.map((e) => [e.path, e]));
    assert.deepEqual(byPath.get('keys/secret_id_key')?.bytes, entries[2]!.bytes);
    assert.equal(byPath.get('keys')?.type, 'directory');
  });

  it('refuse damaged, truncated and foreign archives with a reason', () => {
    const archive = writeTar(entries);
    const flipped = archive.slice();
    flipped[10] = flipped[10]! ^ 1;
    assert.deepEqual(readTar(flipped, LIMITS), { ok: false, error: 'header at byte 0: bad checksum' });
    assert.deepEqual(readTar(archive.subarray(0, 1024 + 600), LIMITS), {
      ok: false,
      error: 'the archive ends without its end-of-archive blocks',
    });
    const bigSize = writeTar([{ ...entries[2]!, bytes: new Uint8Array(10_000) }]);
    const truncated = readTar(bigSize.subarray(0, 2048), LIMITS);
    assert.ok(!truncated.ok);
    assert.match(truncated.error, /entry "keys\/secret_id_key" is truncated/);
    assert.deepEqual(readTar(archive, { maxEntries: 2, maxTotalBytes: 1 << 20 }), {
      ok: false,
      error: 'more than 2 entries',
    });
    assert.deepEqual(readTar(archive, { maxEntries: 100, maxTotalBytes: 100 }), {
      ok: false,
      error: 'more than 100 bytes of files',
    });
    // A symbolic link entry (typeflag '2') is refused even with a valid checksum.
    const link = writeTar([entries[0]!]);
    link[156] = 0x32;
    link.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += link[i]!;
    link.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
    const refused = readTar(link, LIMITS);
    assert.ok(!refused.ok);
    assert.match(
      refused.error,
      /entry "manifest.json" is of tar type "2"; a key backup holds only files and directories/,
    );
    assert.deepEqual(readTar(new Uint8Array(0), LIMITS), {
      ok: false,
      error: 'the archive ends without its end-of-archive blocks',
    });
  });

  it('never throw on arbitrary bytes', () => {
    const valid = writeTar(entries);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        readTar(bytes, LIMITS);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        (edits) => {
          const copy = valid.slice();
          for (const [at, b] of edits) copy[at] = b;
          readTar(copy, LIMITS);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
