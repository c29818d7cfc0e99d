/**
 * Keeps docs/architecture.md and the tree in step, and enforces the layering:
 * the package table in the doc is the single source of truth.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;

interface PackageRow {
  name: string;
  layer: number;
  mayDependOn: string[];
  nodeIo: string[];
}

/** Parses the "## Packages" table of docs/architecture.md. */
export function parsePackageTable(markdown: string): PackageRow[] {
  const section = markdown.split(/^## Packages$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows: PackageRow[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').map((c) => c.trim());
    // Skip the header and the separator row (however the formatter pads it).
    if (cells[1] === 'Package' || /^:?-+:?$/.test(cells[1] ?? '')) continue;
    const [, name, layer, , deps, io] = cells;
    const list = (text: string | undefined) =>
      !text || text === '—'
        ? []
        : text
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    rows.push({ name: name!, layer: Number(layer), mayDependOn: list(deps), nodeIo: list(io) });
  }
  return rows;
}

const IO_MODULES = [
  'node:net',
  'node:tls',
  'node:dgram',
  'node:fs',
  'node:fs/promises',
  'node:child_process',
  'node:cluster',
  'node:http',
  'node:https',
  'node:crypto',
];
const OWNED_LIBRARIES: Record<string, string> = {
  '@noble/curves': 'crypto',
  '@noble/hashes': 'crypto',
  '@noble/ciphers': 'crypto',
  'node-forge': 'crypto',
  pino: 'telemetry',
  'prom-client': 'telemetry',
};

function sourceFiles(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  const re =
    /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

const rows = parsePackageTable(readFileSync(join(root, 'docs/architecture.md'), 'utf8'));
const byName = new Map(rows.map((r) => [r.name, r]));
const dirs = readdirSync(join(root, 'packages')).filter((d) =>
  existsSync(join(root, 'packages', d, 'package.json')),
);

describe('architecture', () => {
  it('the package table lists exactly the packages in the tree', () => {
    assert.ok(rows.length > 0, 'no package table found in docs/architecture.md');
    assert.deepEqual([...byName.keys()].sort(), [...dirs].sort());
  });

  it('every dependency is allowed, no higher layer, and acyclic', () => {
    for (const row of rows) {
      for (const dep of row.mayDependOn) {
        const target = byName.get(dep);
        assert.ok(target, `${row.name} may depend on unknown package ${dep}`);
        assert.ok(
          target.layer <= row.layer,
          `${row.name} (layer ${row.layer}) lists higher-layer ${dep} (layer ${target.layer})`,
        );
      }
    }
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, path: string[]) => {
      if (done.has(name)) return;
      assert.ok(!visiting.has(name), `dependency cycle: ${[...path, name].join(' -> ')}`);
      visiting.add(name);
      for (const dep of byName.get(name)?.mayDependOn ?? []) visit(dep, [...path, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const row of rows) visit(row.name, []);
  });

  for (const dir of dirs) {
    it(`${dir}: package.json and imports respect the table`, () => {
      const row = byName.get(dir);
      assert.ok(row, `packages/${dir} is not in docs/architecture.md`);
      const manifest = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
      assert.equal(manifest.name, `@relayd/${dir}`, 'package name must be @relayd/<directory>');
      for (const dep of Object.keys(manifest.dependencies ?? {})) {
        if (dep.startsWith('@relayd/')) {
          assert.ok(
            row.mayDependOn.includes(dep.slice(8)),
            `${dir} declares ${dep}, not allowed by the table`,
          );
        }
      }
      const files = [
        ...sourceFiles(join(root, 'packages', dir, 'src')),
        ...sourceFiles(join(root, 'packages', dir, 'test')),
      ];
      for (const file of files) {
        const isTest = file.includes('/test/');
        for (const spec of importsOf(file)) {
          const where = `${file.slice(root.length)} imports ${spec}`;
          if (spec.startsWith('@relayd/')) {
            const target = spec.slice(8).split('/')[0]!;
            assert.ok(
              row.mayDependOn.includes(target) || target === dir,
              `${where}: not allowed by the table`,
            );
          } else if (spec.startsWith('node:')) {
            const base = spec === 'node:fs/promises' ? 'node:fs' : spec;
            if (IO_MODULES.includes(spec) && !isTest) {
              assert.ok(row.nodeIo.includes(base), `${where}: ${dir} may not use ${base}`);
            }
          } else if (!spec.startsWith('.')) {
            const owner = OWNED_LIBRARIES[packageOf(spec)];
            if (owner && !isTest)
              assert.equal(dir, owner, `${where}: only ${owner} may import ${packageOf(spec)}`);
          }
        }
      }
    });
  }

  it('the checker catches a violation', () => {
    const table = parsePackageTable(
      '## Packages\n\n| Package | Layer | Responsibility | May depend on | Node I/O |\n| ------- | :---: | --- | --- | --- |\n| a | 1 | x | b, c | node:fs |\n',
    );
    assert.deepEqual(table, [{ name: 'a', layer: 1, mayDependOn: ['b', 'c'], nodeIo: ['node:fs'] }]);
  });
});
