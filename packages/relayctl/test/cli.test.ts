import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCli, RELAYCTL_VERSION, UsageError } from '../src/index.js';

describe('relayctl CLI', () => {
  it('prints build info and rejects unknown commands', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {} };
    await getCli(['build-info', '--json'], io).parseAsync();
    assert.equal(JSON.parse(out.join('')).version, RELAYCTL_VERSION);
    await assert.rejects(async () => getCli(['nope'], io).parseAsync(), UsageError);
  });
});
