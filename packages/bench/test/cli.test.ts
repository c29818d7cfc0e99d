/**
 * The command line without running a benchmark: --show and --compare on
 * results files, Markdown output, and one-line usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  BENCH_RESULTS_VERSION,
  type BenchResults,
  BenchUsageError,
  getBenchCli,
  resolveBenchSettings,
  row,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'relayd-bench-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, relayd: number): string {
  const results: BenchResults = {
    version: BENCH_RESULTS_VERSION,
    startedAt: '2026-11-21T15:00:00.000Z',
    finishedAt: '2026-11-21T15:10:00.000Z',
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryBytes: 1024 ** 3,
      os: 'Linux',
      node: 'v20',
      tor: 'Tor version 0.4.9.11.',
      relayd: { version: '0.1.0', commit: null, dirty: null },
      openFiles: { soft: null, hard: null },
      loadAverageAtStart: [0, 0, 0],
    },
    loadAverageAtEnd: [0, 0, 0],
    settings: resolveBenchSettings({ outDir: dir }),
    rows: [
      row({
        id: 'throughput.many-circuits.mbps',
        scenario: 'throughput',
        metric: 'MB/s relayed',
        unit: 'MB/s',
        better: 'higher',
        relayd,
        tor: 20,
      }),
    ],
    pending: [],
    incidents: [],
    runs: [],
    profile: null,
  };
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(results));
  return path;
}

async function run(argv: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  await getBenchCli(argv, { out: (t) => (out += t), err: (t) => (err += `${t}\n`) }).parseAsync();
  return { out, err };
}

describe('bench command line', () => {
  it('--show prints a saved table, as text or Markdown', async () => {
    const a = file('a.json', 10);
    assert.match((await run(['--show', a])).out, /MB\/s relayed\s+MB\/s\s+10\.0\s+20\.0\s+0\.50×/);
    assert.match(
      (await run(['--show', a, '--markdown'])).out,
      /\| throughput \| MB\/s relayed \| MB\/s \| 10\.0 \| 20\.0 \| 0\.50× \|/,
    );
  });

  it('--compare prints the change between two files', async () => {
    const a = file('a.json', 10);
    const b = file('b.json', 15);
    const { out } = await run(['--compare', a, b]);
    assert.match(out, /throughput\.many-circuits\.mbps\s+10\.0\s+15\.0\s+\+50\.0%/);
  });

  it('refuses bad flags with a usage error', async () => {
    await assert.rejects(run(['--compare', 'only-one.json']), BenchUsageError);
    await assert.rejects(run(['--no-such-flag']), BenchUsageError);
    await assert.rejects(run(['--scenarios', 'speed']), BenchUsageError);
    await assert.rejects(run(['--many-circuits', '2by25']), BenchUsageError);
    await assert.rejects(run(['--show', join(dir, 'missing.json')]), /ENOENT/);
  });
});
