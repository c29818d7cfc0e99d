/**
 * The checks on a worker's metrics JSON as it crosses IPC: prom-client's own
 * output passes; anything malformed is refused with a reason, never thrown.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  createMetricsRegistry,
  createWorkerMetrics,
  MAX_METRIC_SAMPLES,
  parseMetricsJson,
} from '../src/index.js';
import { workerStats } from './metrics-helpers.js';

const good = () => [
  {
    name: 'relayd_x_total',
    help: 'x',
    type: 'counter',
    aggregator: 'sum',
    values: [{ value: 1, labels: { a: 'b' } }],
  },
];

describe('parseMetricsJson', () => {
  it("accepts a real registry's JSON, process metrics and histograms included", async () => {
    const registry = createMetricsRegistry({ processMetrics: true });
    const metrics = createWorkerMetrics(registry);
    metrics.setStatsSource(() => workerStats());
    metrics.engine.createQueueWait(5);
    const parsed = parseMetricsJson(structuredClone(await registry.getMetricsAsJSON()));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    const histogram = parsed.value.find((f) => f.name === 'relayd_create_queue_wait_seconds');
    assert.equal(histogram?.type, 'histogram');
    assert.ok(histogram?.values.some((v) => v.labels.le === '+Inf'));
  });

  it('keeps NaN and infinities, which the exposition format has', () => {
    const input = good();
    input[0]!.values = [
      { value: Number.NaN, labels: { a: 'x' } },
      { value: Number.POSITIVE_INFINITY, labels: { a: 'y' } },
    ];
    const parsed = parseMetricsJson(input);
    assert.ok(parsed.ok);
    assert.ok(Number.isNaN(parsed.value[0]!.values[0]!.value));
  });

  it('defaults a missing aggregator to sum', () => {
    const input: Record<string, unknown>[] = good();
    delete input[0]!.aggregator;
    const parsed = parseMetricsJson(input);
    assert.ok(parsed.ok);
    assert.equal(parsed.value[0]!.aggregator, 'sum');
  });

  const refusals: Array<[string, (x: Array<Record<string, unknown>>) => unknown]> = [
    ['not an array', () => ({})],
    ['a family that is not an object', () => [42]],
    ['a bad metric name', (x) => [{ ...x[0], name: '9lives' }]],
    ['a metric twice', (x) => [x[0], x[0]]],
    ['an unknown type', (x) => [{ ...x[0], type: 'untyped' }]],
    ['an unknown aggregator', (x) => [{ ...x[0], aggregator: 'median' }]],
    ['help that is not text', (x) => [{ ...x[0], help: 3 }]],
    ['values that are not a list', (x) => [{ ...x[0], values: {} }]],
    ['a value that is not a number', (x) => [{ ...x[0], values: [{ value: '1', labels: {} }] }]],
    ['a reserved label name', (x) => [{ ...x[0], values: [{ value: 1, labels: { __name__: 'x' } }] }]],
    ['a bad label name', (x) => [{ ...x[0], values: [{ value: 1, labels: { 'a-b': 'x' } }] }]],
    ['a label value that is an object', (x) => [{ ...x[0], values: [{ value: 1, labels: { a: {} } }] }]],
    [
      'a series of another family',
      (x) => [{ ...x[0], values: [{ value: 1, labels: {}, metricName: 'other' }] }],
    ],
    [
      'too many samples',
      (x) => [
        { ...x[0], values: Array.from({ length: MAX_METRIC_SAMPLES + 1 }, () => ({ value: 1, labels: {} })) },
      ],
    ],
  ];
  for (const [what, make] of refusals) {
    it(`refuses ${what}`, () => {
      const parsed = parseMetricsJson(make(good()));
      assert.equal(parsed.ok, false);
    });
  }

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (input) => {
        const parsed = parseMetricsJson(input);
        assert.equal(typeof parsed.ok, 'boolean');
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.oneof(fc.constant('relayd_a_total'), fc.string()),
            help: fc.string(),
            type: fc.constantFrom('counter', 'gauge', 'histogram', 'summary', 'x'),
            aggregator: fc.constantFrom('sum', 'first', 'omit', undefined, 7),
            values: fc.array(
              fc.record({
                value: fc.oneof(fc.double(), fc.string()),
                labels: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.object())),
                metricName: fc.option(fc.string(), { nil: undefined }),
              }),
            ),
          }),
        ),
        (input) => {
          assert.equal(typeof parseMetricsJson(input).ok, 'boolean');
        },
      ),
      { numRuns: 300 },
    );
  });
});
