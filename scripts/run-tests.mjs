#!/usr/bin/env node
// Runs every compiled test file with node's test runner.
//   --only unit         package unit tests (packages/*/dist/test)
//   --only integration  cross-package and real-network tests (test/dist)
//   --grep PATTERN      only files whose path matches PATTERN
// Node 20's `--test` takes no globs, so the files are collected here.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
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
