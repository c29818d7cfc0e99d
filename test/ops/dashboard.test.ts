/**
 * docs/grafana-dashboard.json:
 * - parses, and is a Grafana dashboard (panels with grid positions, a
 *   Prometheus datasource variable, unique panel ids);
 * - every metric its PromQL uses is in DASHBOARD_METRICS below, and every
 *   one of those is used: a metric renamed in the code must be renamed
 *   here and in the dashboard together;
 * - each metric relayd defines is defined in packages/telemetry under that
 *   name (prom-client's own process metrics are checked against prom-client
 *   itself), so a rename there fails here;
 * - every expression is valid PromQL (`promtool check rules` on a rule file
 *   made of them, Grafana's variables replaced), when promtool is installed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeRun, findTool, REPO_ROOT, run } from './support.js';

/** The metric names the dashboard is built on, with their type (histograms: the _bucket/_sum/_count series). */
const DASHBOARD_METRICS: ReadonlyMap<string, 'counter' | 'gauge' | 'histogram'> = new Map([
  // C tor's names (relay_metrics.c), as relayd exposes them.
  ['tor_relay_connections', 'gauge'],
  // C tor: tor_relay_circuits_total, a gauge under a counter's name.
  ['tor_relay_circuits', 'gauge'],
  ['tor_relay_load_onionskins_total', 'counter'],
  // C tor: tor_relay_traffic_bytes, a counter without _total.
  ['tor_relay_traffic_bytes_total', 'counter'],
  ['tor_relay_dos_total', 'counter'],
  ['tor_relay_signing_cert_expiry_timestamp', 'gauge'],
  // relayd's own.
  ['relayd_worker_restarts_total', 'counter'],
  ['relayd_worker_healthy', 'gauge'],
  ['relayd_balancer_choices_total', 'counter'],
  ['relayd_balancer_failures_total', 'counter'],
  ['relayd_balancer_backend_up', 'gauge'],
  ['relayd_create_queue_wait_seconds', 'histogram'],
  ['relayd_pt_process_up', 'gauge'],
  ['relayd_directory_document_age_seconds', 'gauge'],
  ['relayd_internal_connections', 'gauge'],
  // prom-client's Node.js process metrics.
  ['process_open_fds', 'gauge'],
  ['process_max_fds', 'gauge'],
]);

/** The part of prom-client this test uses (it is a dependency of packages/telemetry, not of the tests). */
interface PromClient {
  Registry: new () => { getMetricsAsJSON(): Promise<Array<{ name: string }>> };
  collectDefaultMetrics(options: { register: unknown }): void;
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

interface Target {
  readonly expr: string;
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly targets?: Target[];
}
interface Dashboard {
  readonly title: string;
  readonly uid: string;
  readonly panels: Panel[];
  readonly templating: { list: Array<{ name: string; type: string; query: unknown; definition?: string }> };
}

const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'topk',
  'bottomk',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'rate',
  'irate',
  'increase',
  'delta',
  'histogram_quantile',
  'time',
  'label_values',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
]);

/**
 * The metric names an expression selects: identifiers that are neither
 * functions, keywords, label names (inside `{…}` or `by (…)`), nor strings.
 */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutMatchers = withoutStrings.replace(/\{[^}]*\}/g, '{}');
  const withoutGrouping = withoutMatchers.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  const withoutRanges = withoutGrouping.replace(/\[[^\]]*\]/g, '[]');
  const names = new Set<string>();
  for (const m of withoutRanges.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    if (PROMQL_WORDS.has(word)) continue;
    names.add(word);
  }
  return [...names];
}

/** The metric a series name belongs to: a histogram's _bucket/_sum/_count map to the histogram. */
function baseMetric(series: string): string {
  for (const suffix of HISTOGRAM_SUFFIXES) {
    const base = series.slice(0, -suffix.length);
    if (series.endsWith(suffix) && DASHBOARD_METRICS.get(base) === 'histogram') return base;
  }
  return series;
}

const dashboard = JSON.parse(
  readFileSync(join(REPO_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8'),
) as Dashboard;
const expressions = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

describe('docs/grafana-dashboard.json', () => {
  it('the metric-name extractor finds metrics and only metrics (control)', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (le) (rate(relayd_create_queue_wait_seconds_bucket{instance=~"$instance", x="a b"}[5m]))) / on(instance) tor_relay_circuits',
      ).sort(),
      ['relayd_create_queue_wait_seconds_bucket', 'tor_relay_circuits'],
    );
    assert.deepEqual(metricNames('sum(tor_relay_circuit{state="opened"})'), ['tor_relay_circuit']);
  });

  it('is a Grafana dashboard with panels, a Prometheus datasource and a bridge selector', () => {
    assert.equal(dashboard.uid, 'relayd-bridge');
    assert.ok(dashboard.panels.length >= 20);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of dashboard.panels) {
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
      if (p.type !== 'row') assert.ok((p.targets ?? []).length > 0, `${p.title} has a query`);
    }
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    assert.equal(variables.get('datasource')?.type, 'datasource');
    assert.equal(variables.get('datasource')?.query, 'prometheus');
    assert.equal(variables.get('instance')?.definition, 'label_values(tor_relay_connections, instance)');
  });

  it('uses exactly the listed metrics', () => {
    const used = new Set<string>();
    for (const expr of expressions) for (const name of metricNames(expr)) used.add(baseMetric(name));
    // A variable's label_values(METRIC, LABEL): the first argument is a metric, the second a label.
    for (const v of dashboard.templating.list) {
      const metric = v.definition ? /^label_values\((\w+)\s*,\s*\w+\)$/.exec(v.definition)?.[1] : undefined;
      if (metric) used.add(metric);
    }
    const unknown = [...used].filter((n) => !DASHBOARD_METRICS.has(n)).sort();
    assert.deepEqual(unknown, [], 'metrics used by the dashboard but not in DASHBOARD_METRICS');
    const unused = [...DASHBOARD_METRICS.keys()].filter((n) => !used.has(n)).sort();
    assert.deepEqual(unused, [], 'metrics in DASHBOARD_METRICS the dashboard does not use');
  });

  it('rates only counters and histograms, and takes quantiles of histograms only', () => {
    for (const expr of expressions) {
      for (const m of expr.matchAll(/\b(rate|increase)\((\w+)/g)) {
        const type = DASHBOARD_METRICS.get(baseMetric(m[2]!));
        assert.ok(type === 'counter' || type === 'histogram', `${m[1]}() of ${m[2]} (a ${type})`);
      }
      for (const m of expr.matchAll(/histogram_quantile\([^,]+,[^(]*\(\s*rate\((\w+)/g)) {
        assert.ok(m[1]!.endsWith('_bucket'), `${m[1]} in histogram_quantile`);
      }
    }
  });

  it('every relayd and C tor metric is defined under that name in packages/telemetry', () => {
    const sourceDir = join(REPO_ROOT, 'packages', 'telemetry', 'src', 'metrics');
    const source = readdirSync(sourceDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(sourceDir, f), 'utf8'))
      .join('\n');
    for (const name of DASHBOARD_METRICS.keys()) {
      if (name.startsWith('process_')) continue;
      assert.ok(source.includes(`'${name}'`), `packages/telemetry defines no metric named ${name}: renamed?`);
    }
  });

  it("prom-client's process metrics include the two the dashboard uses", async () => {
    const requireFromTelemetry = createRequire(join(REPO_ROOT, 'packages', 'telemetry', 'package.json'));
    const prom = requireFromTelemetry('prom-client') as PromClient;
    const registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry });
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    for (const name of DASHBOARD_METRICS.keys()) {
      if (name.startsWith('process_')) assert.ok(names.includes(name), `prom-client exposes ${name}`);
    }
  });

  const promtool = findTool('promtool');
  it('every expression is valid PromQL (promtool check rules)', {
    skip: promtool ? false : 'promtool is not installed',
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'relayd-dashboard-'));
    try {
      const rules = expressions.map((expr, i) => {
        const concrete = expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*');
        return `      - record: dashboard:panel_expression_${i}\n        expr: ${JSON.stringify(concrete)}`;
      });
      const file = join(dir, 'rules.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      const r = run(promtool!, ['check', 'rules', file]);
      assert.equal(r.status, 0, describeRun(r));
      assert.match(r.stdout, new RegExp(`SUCCESS: ${expressions.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
