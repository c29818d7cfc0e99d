#!/usr/bin/env node
// Runs every compiled test file with node's test runner.
//   --only unit         package unit tests (packages/*/dist/test)
//   --only integration  cross-package and real-network tests (test/dist)
//   --grep PATTERN      only files whose path matches PATTERN
// Node 20's `--test` takes no globs, so the files are collected here.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    grep: { type: 'string' },
    concurrency: { type: 'string', default: '2' },
  },
});

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = [];
if (values.only !== 'integration') {
  for (const pkg of readdirSync(join(root, 'packages')).sort())
    collect(join(root, 'packages', pkg, 'dist', 'test'), files);
}
if (values.only !== 'unit') collect(join(root, 'test', 'dist'), files);

const selected = values.grep ? files.filter((f) => new RegExp(values.grep).test(f)) : files;
if (selected.length === 0) {
  console.error('run-tests: no compiled test files found (did the build run?)');
  process.exit(1);
}
console.log(`run-tests: ${selected.length} test files`);
for (const f of selected) console.log(`  ${relative(root, f)}`);

/**
 * Some tests run relayctl or a client as another user (nobody) to prove the
 * control socket refuses them; that user must be able to reach the built
 * code. A checkout under a private directory (a 0700 temporary directory)
 * would make those runs fail for the wrong reason, so, as root, let other
 * users pass through (search permission only, o+x: no listing, no reading
 * of anything the files themselves do not allow) the directories above the
 * checkout that lack it, and take it back afterwards.
 */
function openPathForOtherUsers(dir) {
  if (process.getuid?.() !== 0) return [];
  const opened = [];
  for (let d = dir; ; d = dirname(d)) {
    const mode = statSync(d).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      chmodSync(d, mode | 0o001);
      opened.push({ dir: d, mode });
    }
    if (dirname(d) === d) break;
  }
  for (const { dir: d } of opened)
    console.log(`run-tests: other users may pass through ${d} during the tests`);
  return opened;
}

const opened = openPathForOtherUsers(root.replace(/\/$/, ''));
const restore = () => {
  for (const { dir: d, mode } of opened.splice(0)) chmodSync(d, mode);
};
process.on('exit', restore);

const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${values.concurrency}`,
    // A hung network test must not hang CI: every file is bounded.
    '--test-timeout=600000',
    ...selected,
  ],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
