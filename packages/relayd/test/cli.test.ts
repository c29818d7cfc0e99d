import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCli, RELAYD_VERSION, UsageError } from '../src/index.js';

function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const cli = getCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { cli, out, err };
}

describe('relayd CLI', () => {
  it('prints build info as JSON', async () => {
    const { cli, out } = run(['build-info', '--json']);
    await cli.parseAsync();
    const info = JSON.parse(out.join(''));
    assert.equal(info.name, 'relayd');
    assert.equal(info.version, RELAYD_VERSION);
    assert.match(info.node, /^v\d+/);
  });

  it('rejects unknown commands and options as usage errors', async () => {
    await assert.rejects(async () => run(['frobnicate']).cli.parseAsync(), UsageError);
    await assert.rejects(async () => run(['build-info', '--nope']).cli.parseAsync(), UsageError);
  });
});
