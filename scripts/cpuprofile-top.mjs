#!/usr/bin/env node
// Summarises a V8 profile: the functions with the most self time in a
// .cpuprofile (`node --cpu-prof`), or the most bytes allocated in a
// .heapprofile (`node --heap-prof`, or the relay-path bench's --heap-profile),
// grouped by package too.
//   node scripts/cpuprofile-top.mjs <file.cpuprofile|file.heapprofile> [--top 30]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' } },
});
if (positionals.length !== 1) {
  console.error('usage: node scripts/cpuprofile-top.mjs <file.cpuprofile|file.heapprofile> [--top N]');
  process.exit(2);
}
const file = positionals[0];
const profile = JSON.parse(readFileSync(file, 'utf8'));

/** [callFrame, amount] pairs: self time in µs, or self bytes. */
const entries = [];
if (file.endsWith('.heapprofile')) {
  const walk = (node) => {
    entries.push([node.callFrame, node.selfSize]);
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
} else {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  // Samples are node ids; timeDeltas[i] is the time before sample i.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  for (const [id, us] of selfUs) entries.push([byId.get(id).callFrame, us]);
}

const total = entries.reduce((sum, [, amount]) => sum + amount, 0);
const byFunction = new Map();
const byArea = new Map();
for (const [callFrame, amount] of entries) {
  const url = callFrame.url.replace(/^file:\/\//, '');
  const where = url
    ? `${url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${callFrame.lineNumber + 1}`
    : '';
  const key = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + amount);
  const area =
    url.match(/packages\/([^/]+)\//)?.[1] ??
    (url.startsWith('node:')
      ? 'node'
      : callFrame.functionName.startsWith('(')
        ? callFrame.functionName
        : 'other');
  byArea.set(area, (byArea.get(area) ?? 0) + amount);
}
const pct = (amount) => `${((100 * amount) / total).toFixed(1).padStart(5)}%`;
const heap = file.endsWith('.heapprofile');
console.log(
  heap
    ? `total ${(total / 1e6).toFixed(1)} MB allocated (sampled)`
    : `total ${(total / 1000).toFixed(0)} ms sampled`,
);
console.log(`\nself ${heap ? 'bytes' : 'time'} by area:`);
for (const [area, amount] of [...byArea].sort((a, b) => b[1] - a[1]))
  console.log(`  ${pct(amount)}  ${area}`);
console.log(`\ntop ${values.top} functions by self ${heap ? 'bytes' : 'time'}:`);
for (const [key, amount] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`  ${pct(amount)}  ${key}`);
}
