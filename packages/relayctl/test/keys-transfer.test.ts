import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KeyBundleError } from '@relayd/control';
import { generateKeys, readKeyStatus } from '@relayd/keys';
import { ExitCode, exitCodeFor, getCli } from '../src/index.js';

const T0 = Date.UTC(2026, 2, 1, 8, 15, 0);
const root = mkdtempSync(join(tmpdir(), 'relayctl-transfer-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), nowMs: () => T0 };
  let error: unknown;
  try {
    await getCli(argv, io).parseAsync();
  } catch (e) {
    error = e;
  }
  return { out, err, error, exit: error === undefined ? 0 : exitCodeFor(error) };
}

describe('relayctl keys import, export, restore', () => {
  const tor = join(root, 'tor');
  const store = generateKeys(tor, { nowMs: T0, nickname: 'torBridge' });
  const relayd = join(root, 'relayd');

  it('import prints the identity it copied, as text and JSON', async () => {
    const r = await run(['keys', 'import', '--from', tor, '--data-dir', relayd, '--json']);
    assert.equal(r.exit, 0, String(r.error));
    const report = JSON.parse(r.out[0]!);
    assert.deepEqual(Object.keys(report), [
      'from',
      'dataDirectory',
      'nickname',
      'rsaFingerprint',
      'ed25519Identity',
      'checkedAgainst',
      'files',
      'skipped',
    ]);
    assert.equal(report.rsaFingerprint, store.fingerprint());
    assert.equal(readKeyStatus(relayd, T0).rsaFingerprint, store.fingerprint());

    const again = await run(['keys', 'import', '--from', tor, '--data-dir', relayd]);
    assert.equal(again.exit, ExitCode.ERROR);
    assert.ok(again.error instanceof KeyBundleError);
    assert.match(String((again.error as Error).message), /already has an identity; refusing to overwrite it/);
  });

  it('export then restore, with and without --force', async () => {
    const archive = join(root, 'backup.tar');
    const exported = await run(['keys', 'export', '--data-dir', relayd, '--to', archive]);
    assert.equal(exported.exit, 0, String(exported.error));
    assert.deepEqual(exported.out, [
      `backed up 7 files of ${relayd} to ${archive} (archive)`,
      `rsa fingerprint:        ${store.fingerprint()}`,
      `ed25519 identity:       ${store.ed25519IdentityBase64()}`,
    ]);
    assert.equal(statSync(archive).mode & 0o777, 0o600);

    const target = join(root, 'restored');
    const restored = await run(['keys', 'restore', '--from', archive, '--data-dir', target, '--json']);
    assert.equal(restored.exit, 0, String(restored.error));
    const report = JSON.parse(restored.out[0]!);
    assert.equal(report.rsaFingerprint, store.fingerprint());
    assert.equal(report.created, new Date(T0).toISOString());
    assert.deepEqual(
      readFileSync(join(target, 'keys', 'secret_id_key')),
      readFileSync(join(tor, 'keys', 'secret_id_key')),
    );

    const other = join(root, 'other');
    generateKeys(other, { nowMs: T0 });
    const refused = await run(['keys', 'restore', '--from', archive, '--data-dir', other]);
    assert.equal(refused.exit, ExitCode.ERROR);
    const forced = await run(['keys', 'restore', '--from', archive, '--data-dir', other, '--force']);
    assert.equal(forced.exit, 0, String(forced.error));
    assert.equal(
      forced.out.at(-1),
      `the previous files are kept in ${join(other, 'keys.replaced-20260301T081500Z')}`,
    );
    assert.equal(readKeyStatus(other, T0).rsaFingerprint, store.fingerprint());
  });

  it('usage mistakes exit 2', async () => {
    for (const argv of [
      ['keys', 'import', '--from', tor],
      ['keys', 'export', '--data-dir', relayd],
      ['keys', 'restore', '--data-dir', relayd],
      ['keys', 'frobnicate'],
    ]) {
      assert.equal((await run(argv)).exit, ExitCode.USAGE, argv.join(' '));
    }
  });
});
