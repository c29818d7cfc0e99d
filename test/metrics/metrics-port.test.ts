/**
 * The MetricsPort over real loopback HTTP: net's server with telemetry's
 * MetricsPortPolicy. A peer the policy refuses (a second loopback address,
 * 127.0.0.2, against "MetricsPortPolicy accept 127.0.0.1") gets 403 and
 * nothing is collected; other paths 404, other methods 405; scrapes beyond
 * the concurrency bound and scrapes that time out 503; a failing collect
 * 500. Without a policy, loopback peers are allowed.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parsePolicyLine } from '@relayd/config';
import { type MetricsHttpServer, startMetricsHttpServer } from '@relayd/net';
import { METRICS_CONTENT_TYPE, metricsPortAccess } from '@relayd/telemetry';
import { get } from './helpers.js';

const BODY = '# HELP relayd_test_total A test.\n# TYPE relayd_test_total counter\nrelayd_test_total 1\n';

function rules(line: string) {
  const parsed = parsePolicyLine(line);
  assert.ok(parsed.ok);
  return parsed.value.rules;
}

describe('MetricsPort HTTP server', { timeout: 60_000 }, () => {
  const servers: MetricsHttpServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  async function serve(
    policyLine: string | undefined,
    collect: () => Promise<string>,
    extra: { maxConcurrentScrapes?: number; scrapeTimeoutMs?: number } = {},
  ): Promise<MetricsHttpServer> {
    const server = await startMetricsHttpServer({
      host: '127.0.0.1',
      port: 0,
      isAllowed: metricsPortAccess(policyLine === undefined ? [] : rules(policyLine)),
      collect,
      contentType: METRICS_CONTENT_TYPE,
      ...extra,
    });
    servers.push(server);
    return server;
  }

  it('serves /metrics to an allowed peer and refuses another loopback address with 403', async () => {
    let collects = 0;
    const server = await serve('accept 127.0.0.1', async () => {
      collects++;
      return BODY;
    });
    assert.ok(server.port > 0);

    const allowed = await get(server.port, '/metrics', { localAddress: '127.0.0.1' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(allowed.body, BODY);
    assert.equal(collects, 1);

    const refused = await get(server.port, '/metrics', { localAddress: '127.0.0.2' });
    assert.equal(refused.status, 403);
    assert.doesNotMatch(refused.body, /relayd_test_total/);
    assert.equal(collects, 1, 'nothing collected for a refused peer');

    // A query string is still /metrics.
    assert.equal((await get(server.port, '/metrics?x=1', { localAddress: '127.0.0.1' })).status, 200);
  });

  it('allows any loopback peer without a policy', async () => {
    const server = await serve(undefined, async () => BODY);
    assert.equal((await get(server.port, '/metrics', { localAddress: '127.0.0.2' })).status, 200);
    assert.equal((await get(server.port, '/metrics', { localAddress: '127.0.0.1' })).status, 200);
  });

  it('answers 404 for other paths, 405 for other methods, HEAD without a body', async () => {
    const server = await serve('accept 127.0.0.0/8', async () => BODY);
    for (const path of ['/', '/metric', '/metrics/', '/favicon.ico', '/tor/status-vote/current/consensus']) {
      assert.equal((await get(server.port, path)).status, 404, path);
    }
    const post = await get(server.port, '/metrics', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await get(server.port, '/metrics', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(BODY)));
  });

  it('answers 503 to scrapes beyond the concurrency bound, then serves again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let collects = 0;
    const server = await serve(
      'accept 127.0.0.1',
      async () => {
        collects++;
        await gate;
        return BODY;
      },
      { maxConcurrentScrapes: 1, scrapeTimeoutMs: 20_000 },
    );
    const first = get(server.port, '/metrics');
    while (collects === 0) await new Promise((r) => setTimeout(r, 10));
    const second = await get(server.port, '/metrics');
    assert.equal(second.status, 503);
    assert.equal(second.headers['retry-after'], '1');
    assert.equal(collects, 1, 'the refused scrape collected nothing');
    release();
    assert.equal((await first).status, 200);
    assert.equal((await get(server.port, '/metrics')).status, 200);
  });

  it('answers 503 when a scrape takes longer than the timeout, and 500 when collecting fails', async () => {
    const slow = await serve('accept 127.0.0.1', () => new Promise<string>(() => {}), {
      scrapeTimeoutMs: 200,
    });
    const started = Date.now();
    const late = await get(slow.port, '/metrics');
    assert.equal(late.status, 503);
    assert.ok(Date.now() - started < 5_000);

    const failing = await serve('accept 127.0.0.1', async () => {
      throw new Error('worker 2 sent garbage');
    });
    const failed = await get(failing.port, '/metrics');
    assert.equal(failed.status, 500);
    assert.doesNotMatch(failed.body, /garbage/, 'the error stays in the log');
  });

  it('refuses to start on a port in use', async () => {
    const first = await serve('accept 127.0.0.1', async () => BODY);
    await assert.rejects(
      startMetricsHttpServer({
        host: '127.0.0.1',
        port: first.port,
        isAllowed: () => true,
        collect: async () => BODY,
        contentType: METRICS_CONTENT_TYPE,
      }),
      /EADDRINUSE/,
    );
  });
});
