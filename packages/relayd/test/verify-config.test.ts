import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigInvalidError } from '@relayd/config';
import { DEFAULT_CONFIG_FILE, getCli, UsageError } from '../src/index.js';

function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const cli = getCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { cli, out, err };
}

describe('relayd --verify-config', () => {
  let dir = '';
  let good = '';
  let bad = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'relayd-verify-'));
    good = join(dir, 'good.torrc');
    bad = join(dir, 'bad.torrc');
    writeFileSync(good, 'BridgeRelay 1\nORPort 9001\nContactInfo ops@example.org\nExitPolicy reject *:*\n');
    writeFileSync(
      bad,
      'ORPort 9001\nContactInfo x\nORPrt 9002\nBandwidthRate 1 GiB\n%include missing.conf\n',
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const argv of [
    ['--verify-config', '-f'],
    ['verify-config', '-f'],
    ['--verify-config', '--torrc-file'],
  ]) {
    it(`a valid file: warnings, then "Configuration was valid" (${argv.join(' ')})`, async () => {
      const { cli, out, err } = run([...argv, good]);
      await cli.parseAsync();
      assert.deepEqual(out, ['Configuration was valid']);
      assert.deepEqual(err, [
        `${good}:4: warning: 'ExitPolicy' is a C tor option relayd does not implement; ignored (relayd is a bridge and never an exit)`,
      ]);
    });
  }

  it('an invalid file: every error as FILE:LINE: message, then a ConfigInvalidError (exit status 1)', async () => {
    const { cli, out, err } = run(['--verify-config', '-f', bad]);
    await assert.rejects(
      async () => cli.parseAsync(),
      (e: unknown) => {
        assert.ok(e instanceof ConfigInvalidError);
        assert.equal(e.kind, 'bad-config');
        assert.equal(e.errors.length, 3);
        return true;
      },
    );
    assert.deepEqual(out, []);
    assert.equal(err.length, 3);
    assert.equal(err[0], `${bad}:3: Unknown option 'ORPrt'. Did you mean 'ORPort'?`);
    assert.match(err[1]!, new RegExp(`^${bad}:4: BandwidthRate: unknown unit`));
    assert.match(err[2]!, new RegExp(`^${bad}:5: %include "missing.conf": no such file or directory`));
  });

  it('a missing file is an error naming it', async () => {
    const missing = join(dir, 'nope.torrc');
    const { cli, err } = run(['verify-config', '-f', missing]);
    await assert.rejects(async () => cli.parseAsync(), ConfigInvalidError);
    assert.deepEqual(err, [`${missing}: no such file or directory: ${missing}`]);
  });

  it('without --verify-config runs the daemon on the -f file (default /etc/relayd/torrc)', async () => {
    for (const [argv, expected] of [
      [['-f', good], good],
      [['--torrc-file', good], good],
      [[], DEFAULT_CONFIG_FILE],
    ] as const) {
      const started: string[] = [];
      const cli = getCli(
        [...argv],
        { out: () => {}, err: () => {} },
        {
          runDaemon: async (file) => {
            started.push(file);
          },
        },
      );
      await cli.parseAsync();
      assert.deepEqual(started, [expected]);
    }
  });

  it('stays strict: stray arguments and unknown options are usage errors', async () => {
    await assert.rejects(
      async () => run(['--verify-config', '-f', good, 'extra']).cli.parseAsync(),
      UsageError,
    );
    await assert.rejects(async () => run(['--verify-config', '--frobnicate']).cli.parseAsync(), UsageError);
    await assert.rejects(async () => run(['--verify-config', '-f']).cli.parseAsync(), UsageError);
  });
});
