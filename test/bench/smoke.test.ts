/**
 * The side-by-side bench at smoke size: every scenario for a second or two
 * against a real relayd and a real C tor (Debian tor 0.4.9) on loopback,
 * through the same code `pnpm bench` runs. It checks correctness, never
 * timings:
 *
 *   - the load generator's own accounting: every connection opened, every
 *     circuit built and finished, every byte verified, in every run;
 *   - every scenario produced rows for both bridges, with a ratio wherever
 *     both have a number, and a reason wherever relayd's number is pending;
 *   - the bridges' CPU and memory were sampled;
 *   - the results survive the JSON round trip, the command line writes a
 *     file `--show` reads back, and no process is left running.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type BenchResults,
  parseBenchResults,
  resolveBenchSettings,
  runBench,
  SCENARIOS,
  writeResults,
} from '@relayd/bench';
import { isPidAlive, ProcessRegistry, withTimeout } from '@relayd/testnet';

const CLI = new URL('../../../packages/bench/dist/src/cli.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'relayd-bench-smoke-'));
const registry = new ProcessRegistry();
const log: string[] = [];

after(async () => {
  await registry.stopAll();
  rmSync(root, { recursive: true, force: true });
});

function assertLoadCorrect(results: BenchResults): void {
  assert.ok(results.runs.length > 0, 'some load ran');
  for (const run of results.runs) {
    const r = run.report;
    const what = `${run.scenario} ${run.variant} against ${run.bridge}`;
    assert.equal(r.connections.opened, r.connections.requested, `${what}: every connection opened`);
    assert.deepEqual(r.circuits.failures, {}, `${what}: no circuit failed`);
    assert.ok(r.circuits.launched > 0, `${what}: circuits were launched`);
    assert.equal(r.circuits.built, r.circuits.launched, `${what}: every circuit built`);
    assert.equal(r.circuits.finished, r.circuits.launched, `${what}: every circuit finished`);
    assert.equal(r.accounting.complete, true, `${what}: every byte accounted for`);
    assert.equal(r.accounting.downloadBytesVerified, r.circuits.finished * r.config.downloadBytes, what);
    assert.equal(r.accounting.uploadBytesAcknowledged, r.circuits.finished * r.config.uploadBytes, what);
    assert.ok(
      run.bridgeUsage && run.bridgeUsage.samples >= 1 && run.bridgeUsage.rssBytesMax > 1024 * 1024,
      what,
    );
  }
}

function assertRows(results: BenchResults): void {
  for (const scenario of SCENARIOS) {
    const rows = results.rows.filter((r) => r.scenario === scenario);
    assert.ok(rows.length > 0, `${scenario} has rows`);
    for (const r of rows) {
      assert.notEqual(r.status, 'failed', `${r.id} failed: ${r.note}`);
      if (r.status === 'pending') {
        assert.ok(r.note && r.note.length > 10, `${r.id} is pending and says why`);
        assert.equal(r.relayd, null, `${r.id} is pending and has no relayd number`);
        continue;
      }
      assert.ok(r.relayd !== null && Number.isFinite(r.relayd), `${r.id} has relayd's number`);
      if (r.tor !== null && r.tor !== 0) {
        assert.ok(r.ratio !== null && Number.isFinite(r.ratio), `${r.id} has a ratio`);
        // Both the ratio and the shown values are rounded to four digits.
        const exact = r.relayd / r.tor;
        assert.ok(
          Math.abs(r.ratio! - exact) <= Math.abs(exact) * 1e-3,
          `${r.id}: the ratio is relayd / C tor`,
        );
      }
    }
  }
  // Both bridges ran in every scenario.
  for (const scenario of SCENARIOS) {
    const sides = new Set(results.runs.filter((r) => r.scenario === scenario).map((r) => r.bridge));
    if (scenario === 'scale') continue; // scale holds connections without load runs
    assert.deepEqual([...sides].sort(), ['relayd', 'tor'], `${scenario} ran against both`);
  }
  const scale = results.rows.find((r) => r.id === 'scale.rss-total');
  assert.ok(scale && scale.relayd! > 1 && scale.tor! > 1, 'memory at scale was measured for both');
  const pendingRows = results.rows.filter((r) => r.status === 'pending').map((r) => r.scenario);
  for (const scenario of new Set(pendingRows)) {
    assert.ok(
      results.pending.some((p) => p.scenario === scenario),
      `pending ${scenario} rows are listed with their reason`,
    );
  }
}

describe('the relayd-vs-C tor bench at smoke size', { timeout: 900_000 }, () => {
  it('runs every scenario against both bridges with the load fully accounted for', async () => {
    const settings = resolveBenchSettings({ outDir: join(root, 'results'), quick: true });
    const results = await runBench(settings, { log: (line) => log.push(line) });
    try {
      assertLoadCorrect(results);
      assertRows(results);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\nincidents: ${JSON.stringify(results.incidents)}\nbench log:\n${log.join('\n')}`,
        { cause: error },
      );
    }
    const file = writeResults(results, settings.outDir);
    // What is written is what is read back (JSON drops only undefined fields).
    assert.deepEqual(
      parseBenchResults(readFileSync(file, 'utf8'), file),
      JSON.parse(JSON.stringify(results)),
    );
    assert.deepEqual(parseBenchResults(readFileSync(file, 'utf8'), file).rows, results.rows);
    for (const run of results.runs) {
      const pid = run.bridgeUsage?.rootPid;
      if (pid !== undefined) assert.equal(isPidAlive(pid), false, `bridge pid ${pid} was stopped`);
    }
  });

  it('pnpm bench writes a results file that --show prints again', async () => {
    const out = join(root, 'cli');
    const child = registry.spawn(
      'bench',
      process.execPath,
      [CLI, '--quick', '--scenarios', 'creation', '--creation-steps', '1', '--out-dir', out],
      { stdoutPath: join(root, 'cli.stdout'), stderrPath: join(root, 'cli.stderr') },
    );
    const status = (await withTimeout(child.exited, 240_000)) ?? (await child.stop());
    const stderr = readFileSync(join(root, 'cli.stderr'), 'utf8');
    assert.equal(status.code, 0, stderr);
    const stdout = readFileSync(join(root, 'cli.stdout'), 'utf8');
    assert.match(stdout, /relayd vs C tor/);
    assert.match(stdout, /CREATE2 ntor sustained.*×/);
    const files = readdirSync(out).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 1);
    const results = parseBenchResults(readFileSync(join(out, files[0]!), 'utf8'), files[0]!);
    assert.equal(results.machine.cores > 0 && results.machine.tor.startsWith('Tor version'), true);
    assert.ok(results.rows.every((r) => r.scenario === 'creation'));
    const show = registry.spawn('bench-show', process.execPath, [CLI, '--show', join(out, files[0]!)], {
      stdoutPath: join(root, 'show.stdout'),
      stderrPath: join(root, 'show.stderr'),
    });
    assert.equal(((await withTimeout(show.exited, 30_000)) ?? (await show.stop())).code, 0);
    assert.match(readFileSync(join(root, 'show.stdout'), 'utf8'), /CREATE2 ntor sustained/);
  });
});
