/**
 * For the MetricsPort tests: one HTTP request from a chosen loopback source
 * address, and `promtool check metrics` on a text exposition.
 */
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request to 127.0.0.1:`port`, made from `localAddress`; bounded to 10 s. */
export function get(
  port: number,
  path: string,
  options: { localAddress?: string; method?: string; host?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.host ?? '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        agent: false,
        timeout: 10_000,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

export interface PromtoolResult {
  readonly status: number | null;
  readonly output: string;
}

/**
 * Runs `promtool check metrics` on `text`. Throws if promtool is not
 * installed (CI installs Debian's prometheus package): the check is part of
 * what the tests prove, not optional.
 */
export function promtoolCheckMetrics(text: string): PromtoolResult {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (run.error)
    throw new Error(`promtool could not be run (is the prometheus package installed?): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

/** One sample of a text exposition: its metric name, labels and value. */
export interface ExposedSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a text exposition (format 0.0.4), comments skipped. */
export function exposedSamples(text: string): ExposedSample[] {
  const out: ExposedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function sumOf(
  samples: readonly ExposedSample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
