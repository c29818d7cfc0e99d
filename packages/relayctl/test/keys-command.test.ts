import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KeyStoreError } from '@relayd/keys';
import { getCli, type KeysShowJson, UsageError } from '../src/index.js';

const T0 = Date.UTC(2026, 2, 1, 8, 15, 0);
const root = mkdtempSync(join(tmpdir(), 'relayctl-keys-'));
after(() => rmSync(root, { recursive: true, force: true }));

function run(argv: string[], nowMs = T0) {
  const out: string[] = [];
  const errs: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => errs.push(t), nowMs: () => nowMs };
  // yargs throws synchronously from a synchronous handler; wrap so every outcome is a promise.
  return { out, errs, done: (async () => getCli(argv, io).parseAsync())() };
}

describe('relayctl keys', () => {
  const dir = join(root, 'data');

  it('generate creates the keys and prints the identity', async () => {
    const r = run(['keys', 'generate', '--data-dir', dir, '--nickname', 'ctlTest', '--json']);
    await r.done;
    const report = JSON.parse(r.out.join('')) as KeysShowJson;
    assert.match(report.rsaFingerprint, /^[0-9A-F]{40}$/);
    assert.equal(readFileSync(join(dir, 'fingerprint'), 'latin1'), `ctlTest ${report.rsaFingerprint}\n`);
    assert.equal(
      readFileSync(join(dir, 'fingerprint-ed25519'), 'latin1'),
      `ctlTest ${report.ed25519Identity}\n`,
    );
    assert.equal(report.signingCertExpires, '2026-03-31T09:00:00.000Z');
    assert.equal(report.masterSecretKeyPresent, true);
  });

  it('show prints the same facts, as JSON and as text', async () => {
    const gen = readFileSync(join(dir, 'fingerprint'), 'latin1').trim().split(' ')[1];
    const json = run(['keys', 'show', '--data-dir', dir, '--json']);
    await json.done;
    const report = JSON.parse(json.out.join('')) as KeysShowJson;
    assert.deepEqual(Object.keys(report), [
      'dataDirectory',
      'rsaFingerprint',
      'hashedFingerprint',
      'ed25519Identity',
      'signingCertExpires',
      'signingCertExpired',
      'masterSecretKeyPresent',
      'ntorOnionKey',
      'previousNtorOnionKey',
    ]);
    assert.equal(report.rsaFingerprint, gen);
    assert.equal(report.signingCertExpired, false);
    const text = run(['keys', 'show', '--data-dir', dir], T0 + 40 * 86_400_000);
    await text.done;
    assert.ok(text.out.some((l) => l.includes(gen!)));
    assert.ok(text.out.some((l) => /signing cert expires: +2026-03-31T09:00:00.000Z \(EXPIRED\)/.test(l)));
  });

  it('generate refuses an existing identity; show refuses an empty directory', async () => {
    await assert.rejects(run(['keys', 'generate', '--data-dir', dir]).done, (e: unknown) => {
      return e instanceof KeyStoreError && /refusing to overwrite/.test(e.message) && e.message.includes(dir);
    });
    await assert.rejects(run(['keys', 'show', '--data-dir', join(root, 'empty')]).done, KeyStoreError);
  });

  it('usage mistakes are UsageErrors', async () => {
    await assert.rejects(run(['keys', 'show']).done, UsageError);
    await assert.rejects(run(['keys']).done, UsageError);
    await assert.rejects(run(['keys', 'rotate', '--data-dir', dir]).done, UsageError);
  });
});
