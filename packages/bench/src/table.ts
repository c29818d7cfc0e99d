/**
 * Results as people read them: the relayd-vs-C tor table (plain text for
 * the terminal, Markdown for docs/performance.md), its notes and what is
 * pending, and the comparison of two results files row by row.
 */
import type { MachineInfo } from './machine.js';
import type { BenchResults, ProfileSummary, ResultRow } from './results.js';

function number(value: number | null): string {
  if (value === null) return '—';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(r: ResultRow, side: 'relayd' | 'tor'): string {
  if (side === 'relayd' && r.status === 'pending') return 'pending';
  if (r.status === 'failed' && r[side] === null) return 'failed';
  return number(r[side]);
}

function ratioCell(r: ResultRow): string {
  return r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`;
}

function textTable(header: readonly string[], rows: readonly (readonly string[])[], rightFrom = 1): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < rightFrom ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export function describeMachine(m: MachineInfo): string {
  const gib = (m.memoryBytes / 1024 ** 3).toFixed(1);
  const relayd = `relayd ${m.relayd.version}${m.relayd.commit ? ` (${m.relayd.commit}${m.relayd.dirty ? ', modified' : ''})` : ''}`;
  return `${m.cpuModel} × ${m.cores} cores, ${gib} GiB, ${m.os}, node ${m.node}, ${m.tor}, ${relayd}`;
}

function loadLine(results: BenchResults): string {
  const [a, b, c] = results.machine.loadAverageAtStart;
  const [x, y, z] = results.loadAverageAtEnd;
  return `load average ${a} ${b} ${c} at start, ${x} ${y} ${z} at end`;
}

const HEADER = ['scenario', 'metric', 'unit', 'relayd', 'C tor', 'relayd/C tor'] as const;

function rowCells(r: ResultRow): string[] {
  return [r.scenario, r.metric, r.unit, cell(r, 'relayd'), cell(r, 'tor'), ratioCell(r)];
}

/** The table, its notes, what is pending, and the profile, as terminal text. */
export function formatResults(results: BenchResults): string {
  const lines = [
    `relayd vs C tor — ${results.startedAt} (${results.settings.scenarios.join(', ')})`,
    `machine: ${describeMachine(results.machine)}`,
    loadLine(results),
    '',
    ...textTable(HEADER, results.rows.map(rowCells), 3),
    '',
  ];
  const notes = results.rows.filter((r) => r.note);
  if (notes.length > 0) lines.push('notes:', ...notes.map((r) => `  ${r.id}: ${r.note}`), '');
  if (results.pending.length > 0) {
    lines.push('pending:', ...results.pending.map((p) => `  ${p.scenario}: ${p.what} — ${p.reason}`), '');
  }
  const incidents = results.incidents ?? [];
  if (incidents.length > 0) {
    lines.push(
      'incidents (failed attempts; a scenario is tried twice):',
      ...incidents.map((i) => `  ${i.scenario} attempt ${i.attempt}: ${i.error}`),
      '',
    );
  }
  if (results.profile) lines.push(...formatProfile(results.profile), '');
  return `${lines.join('\n')}\n`;
}

export function formatProfile(p: ProfileSummary): string[] {
  return [
    `where relayd's time goes (${p.workload}; ${p.totalMs} ms of CPU sampled, ${p.file}):`,
    ...textTable(
      ['function', 'location', 'self ms', 'self %'],
      p.top.map((t) => [t.function, t.location, number(t.selfMs), `${t.selfPercent}%`]),
      2,
    ).map((l) => `  ${l}`),
    '',
    ...textTable(
      ['area', 'self ms', 'self %'],
      p.byArea.map((a) => [a.area, number(a.selfMs), `${a.selfPercent}%`]),
    ).map((l) => `  ${l}`),
  ];
}

function escapeMd(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The same table as Markdown, for docs/performance.md. */
export function formatResultsMarkdown(results: BenchResults): string {
  const lines = [
    `Run ${results.startedAt}: ${describeMachine(results.machine)}; ${loadLine(results)}.`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map((_, i) => (i < 3 ? '---' : '---:')).join(' | ')} |`,
    ...results.rows.map((r) => `| ${rowCells(r).map(escapeMd).join(' | ')} |`),
    '',
  ];
  const notes = results.rows.filter((r) => r.note);
  if (notes.length > 0) lines.push(...notes.map((r) => `- \`${r.id}\`: ${escapeMd(r.note!)}`), '');
  if (results.pending.length > 0) {
    lines.push(
      ...results.pending.map((p) => `- pending (${p.scenario}): ${p.what} — ${escapeMd(p.reason)}`),
      '',
    );
  }
  const incidents = results.incidents ?? [];
  if (incidents.length > 0) {
    lines.push(
      ...incidents.map((i) => `- incident: ${i.scenario} attempt ${i.attempt} failed: ${escapeMd(i.error)}`),
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Change from a to b in percent; null when either is missing or a is zero. */
export function changePercent(a: number | null, b: number | null): number | null {
  if (a === null || b === null || a === 0) return null;
  return ((b - a) / Math.abs(a)) * 100;
}

function change(a: number | null, b: number | null): string {
  const p = changePercent(a, b);
  return p === null ? '—' : `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
}

/** Row-by-row differences between two results files (rows matched by id). */
export function formatComparison(a: BenchResults, b: BenchResults, nameA: string, nameB: string): string {
  const ids = [...new Set([...a.rows.map((r) => r.id), ...b.rows.map((r) => r.id)])];
  const byIdA = new Map(a.rows.map((r) => [r.id, r]));
  const byIdB = new Map(b.rows.map((r) => [r.id, r]));
  const rows = ids.map((id) => {
    const ra = byIdA.get(id);
    const rb = byIdB.get(id);
    const v = (r: ResultRow | undefined, k: 'relayd' | 'tor' | 'ratio') => (r ? r[k] : null);
    return [
      id,
      number(v(ra, 'relayd')),
      number(v(rb, 'relayd')),
      change(v(ra, 'relayd'), v(rb, 'relayd')),
      number(v(ra, 'tor')),
      number(v(rb, 'tor')),
      change(v(ra, 'tor'), v(rb, 'tor')),
      v(ra, 'ratio') === null ? '—' : `${v(ra, 'ratio')!.toFixed(2)}×`,
      v(rb, 'ratio') === null ? '—' : `${v(rb, 'ratio')!.toFixed(2)}×`,
    ];
  });
  const machine = (m: MachineInfo) => describeMachine(m);
  const lines = [
    `A: ${nameA} (${a.startedAt}) — ${machine(a.machine)}; ${loadLine(a)}`,
    `B: ${nameB} (${b.startedAt}) — ${machine(b.machine)}; ${loadLine(b)}`,
  ];
  if (machine(a.machine) !== machine(b.machine))
    lines.push('note: the two runs were made on different setups');
  lines.push(
    '',
    ...textTable(
      ['metric', 'relayd A', 'relayd B', 'Δ', 'C tor A', 'C tor B', 'Δ', 'ratio A', 'ratio B'],
      rows,
    ),
  );
  return `${lines.join('\n')}\n`;
}
