import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  isPidAlive,
  ProcessRegistry,
  startStandaloneTor,
  TestnetError,
  UNREACHABLE_DIR_AUTHORITY,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'testnet-standalone-'));
const registry = new ProcessRegistry();
after(async () => {
  await registry.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for tor: prints its arguments and the torrc it was given, then idles unless told to exit. */
const fakeTor = join(dir, 'fake-tor');
writeFileSync(
  fakeTor,
  [
    '#!/bin/sh',
    'echo "args: $*"',
    'cat "$2"',
    'echo "to stderr" >&2',
    'case "$*" in *--list-fingerprint*) echo "relaydTest 0000 0001"; exit 0;; esac',
    'echo "Opened OR listener connection (ready)"',
    'exec sleep 60',
    '',
  ].join('\n'),
);
chmodSync(fakeTor, 0o755);

describe('startStandaloneTor', () => {
  it('keeps tor on loopback: the unreachable authority is the only one', () => {
    assert.equal(
      UNREACHABLE_DIR_AUTHORITY,
      'DirAuthority unreachable orport=9 no-v2 v3ident=0000000000000000000000000000000000000000 ' +
        '127.0.0.1:9 0000000000000000000000000000000000000001',
    );
  });

  it('writes the torrc with the authority and owner, starts tor on it, and stops it by PID', async () => {
    const tor = startStandaloneTor({
      registry,
      dir: join(dir, 'relay'),
      torrcLines: ['SocksPort 0', 'Log notice stdout'],
      torBinary: fakeTor,
    });
    const line = await tor.waitForLog(/Opened OR listener connection \(ready\)/, 10_000, 'an open ORPort');
    assert.equal(line, 'Opened OR listener connection (ready)');
    assert.equal(
      readFileSync(tor.torrcPath, 'utf8'),
      `SocksPort 0\nLog notice stdout\n${UNREACHABLE_DIR_AUTHORITY}\n__OwningControllerProcess ${process.pid}\n`,
    );
    assert.match(
      tor.output,
      new RegExp(`^args: -f ${tor.torrcPath} --defaults-torrc ${join(dir, 'relay', 'empty')}\n`),
    );
    assert.match(tor.output, /to stderr\n$/);
    assert.equal(readFileSync(join(dir, 'relay', 'empty'), 'utf8'), '');
    assert.ok(isPidAlive(tor.pid));
    const status = await tor.stop();
    assert.equal(status.signal, 'SIGTERM');
    assert.equal(isPidAlive(tor.pid), false);
  });

  it('gives each run in a shared directory its own fresh logs', async () => {
    const shared = join(dir, 'shared');
    for (let i = 0; i < 2; i++) {
      const list = startStandaloneTor({
        registry,
        dir: shared,
        torrcLines: ['Nickname relaydTest'],
        extraArgs: ['--list-fingerprint'],
        name: 'list',
        torBinary: fakeTor,
      });
      const status = await list.waitForExit(10_000);
      assert.equal(status.code, 0);
      assert.equal(list.output.split('\n').filter((l) => l.startsWith('relaydTest ')).length, 1);
    }
    const tor = startStandaloneTor({ registry, dir: shared, torrcLines: [], torBinary: fakeTor });
    await tor.waitForLog(/ready/, 10_000);
    assert.ok(!tor.output.includes('relaydTest 0000 0001'));
    await tor.stop();
  });

  it('fails a wait with the log when tor exits first', async () => {
    const tor = startStandaloneTor({
      registry,
      dir: join(dir, 'exits'),
      torrcLines: [],
      extraArgs: ['--list-fingerprint'],
      torBinary: fakeTor,
    });
    await assert.rejects(
      tor.waitForLog(/Bootstrapped 100%/, 10_000, 'bootstrapping'),
      (e: unknown) =>
        e instanceof TestnetError && e.code === 'TESTNET_PROCESS_EXITED' && e.message.includes('relaydTest'),
    );
  });
});
