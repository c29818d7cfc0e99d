/**
 * docs/operator-guide.md stays true to the tree:
 * - every repository file it names (configs/, systemd/, docs/, scripts/,
 *   test/) exists, and every document it sends the reader to exists;
 * - every `relayctl` command it shows is one relayctl has (`--help`);
 * - every `relayd` option line it shows (`relayd --verify-config -f …`,
 *   `relayd build-info`) is accepted by relayd's command line;
 * - its Prometheus scrape configuration passes `promtool check config`
 *   (when promtool is installed).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeRun, findTool, RELAYCTL_BIN, REPO_ROOT, run } from './support.js';

const guide = readFileSync(join(REPO_ROOT, 'docs', 'operator-guide.md'), 'utf8');

describe('docs/operator-guide.md', () => {
  it('names only files that exist', () => {
    const named = new Set<string>();
    for (const m of guide.matchAll(/`((?:configs|systemd|docs|scripts|test)\/[A-Za-z0-9_./@-]+)`/g))
      named.add(m[1]!);
    // Sibling documents named by their file name alone.
    for (const m of guide.matchAll(/`([a-z-]+\.md)`/g)) named.add(`docs/${m[1]}`);
    assert.ok(named.size >= 15, `found ${named.size} references`);
    const missing = [...named].filter((path) => !existsSync(join(REPO_ROOT, path)));
    assert.deepEqual(missing, []);
  });

  it('shows only relayctl commands relayctl has', () => {
    const help = run(process.execPath, [RELAYCTL_BIN, '--help']);
    assert.equal(help.status, 0, describeRun(help));
    const available = new Set(
      [...help.stdout.matchAll(/^\s+relayctl ([a-z-]+)/gm)].map((m) => m[1]!).filter((c) => c !== 'keys'),
    );
    const keysHelp = run(process.execPath, [RELAYCTL_BIN, 'keys', '--help']);
    for (const m of keysHelp.stdout.matchAll(/^\s+relayctl keys ([a-z-]+)/gm)) available.add(`keys ${m[1]}`);
    assert.ok(available.has('build-info') && available.has('keys show'), [...available].join(', '));

    const shown = [...guide.matchAll(/`relayctl ((?:keys |workers )?[a-z][a-z-]*)/g)].map((m) => m[1]!);
    // In code blocks too: every line that runs relayctl.
    for (const m of guide.matchAll(/^\s*relayctl ((?:keys )?[a-z][a-z-]*)/gm)) shown.push(m[1]!);
    assert.ok(shown.length >= 8, `found ${shown.length} relayctl commands`);
    const unknown = shown.filter(
      (command) => !available.has(command) && !available.has(command.replace(/^workers .*/, 'workers')),
    );
    assert.deepEqual(unknown, [], 'relayctl commands the guide shows but relayctl lacks');
    assert.doesNotMatch(guide, /relayctl control command|until relayctl has/);
  });

  const promtool = findTool('promtool');
  it('its Prometheus scrape configuration is valid', {
    skip: promtool ? false : 'promtool is not installed',
  }, () => {
    const block = /```yaml\n(# \/etc\/prometheus\/prometheus\.yml\n[\s\S]*?)```/.exec(guide)?.[1];
    assert.ok(block, 'the guide has the prometheus.yml block');
    const dir = mkdtempSync(join(tmpdir(), 'relayd-guide-'));
    try {
      const file = join(dir, 'prometheus.yml');
      writeFileSync(file, block);
      const r = run(promtool!, ['check', 'config', file]);
      assert.equal(r.status, 0, describeRun(r));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
