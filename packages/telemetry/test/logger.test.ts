import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sensitive } from '@relayd/common';
import {
  applySafeLogging,
  createLogger,
  type LogDestinationSetting,
  type LogSinkSetting,
  type SafeLoggingMode,
} from '../src/index.js';

/** Collects what each destination receives, parsed as JSON lines. */
function capture(logs: LogSinkSetting[], safeLogging: SafeLoggingMode = 'all') {
  const written = new Map<string, string[]>();
  const placeOf = (d: LogDestinationSetting) => (d.kind === 'file' ? d.path : d.kind);
  const logger = createLogger({
    logs,
    safeLogging,
    bindings: { process: 'test' },
    openDestination: (d) => {
      const lines: string[] = [];
      written.set(placeOf(d), lines);
      return { write: (line: string) => lines.push(line) };
    },
  });
  const records = (place: string) =>
    (written.get(place) ?? []).map((l) => {
      assert.ok(l.endsWith('\n'), 'one line per record');
      return JSON.parse(l) as Record<string, unknown>;
    });
  return { logger, records, written };
}

function everyLevel(logger: ReturnType<typeof createLogger>) {
  logger.debug({}, 'd');
  logger.info({}, 'i');
  logger.notice({}, 'n');
  logger.warn({}, 'w');
  logger.error({}, 'e');
}

describe('telemetry logger', () => {
  it("without Log lines writes notice and above to stdout, as tor's default", () => {
    const { logger, records } = capture([]);
    everyLevel(logger);
    const lines = records('stdout');
    assert.deepEqual(
      lines.map((r) => [r['level'], r['msg']]),
      [
        ['notice', 'n'],
        ['warn', 'w'],
        ['err', 'e'],
      ],
    );
    const first = lines[0]!;
    assert.equal(first['process'], 'test');
    assert.equal(first['pid'], process.pid);
    assert.match(String(first['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(logger.isLevelEnabled('info'), false);
    assert.equal(logger.isLevelEnabled('notice'), true);
  });

  it('honours MIN-MAX ranges per Log line and sends each line to its own destination', () => {
    const { logger, records } = capture([
      { minSeverity: 'info', maxSeverity: 'notice', destination: { kind: 'file', path: '/x/info.log' } },
      { minSeverity: 'warn', maxSeverity: 'err', destination: { kind: 'stderr' } },
      { minSeverity: 'debug', maxSeverity: 'err', destination: { kind: 'stdout' } },
    ]);
    everyLevel(logger);
    assert.deepEqual(
      records('/x/info.log').map((r) => r['msg']),
      ['i', 'n'],
    );
    assert.deepEqual(
      records('stderr').map((r) => r['msg']),
      ['w', 'e'],
    );
    assert.deepEqual(
      records('stdout').map((r) => r['msg']),
      ['d', 'i', 'n', 'w', 'e'],
    );
  });

  it('shares one stream between lines naming the same destination', () => {
    const { logger, records, written } = capture([
      { minSeverity: 'debug', maxSeverity: 'debug', destination: { kind: 'stdout' } },
      { minSeverity: 'err', maxSeverity: 'err', destination: { kind: 'stdout' } },
    ]);
    everyLevel(logger);
    assert.equal(written.size, 1);
    assert.deepEqual(
      records('stdout').map((r) => r['level']),
      ['debug', 'err'],
    );
  });

  it('child loggers add their bindings and keep the parent levels', () => {
    const { logger, records } = capture([]);
    const child = logger.child({ module: 'engine' }).child({ channel: 7 });
    child.info({}, 'hidden');
    child.notice({ circuit: 3 }, 'shown');
    const [line] = records('stdout');
    assert.equal(line?.['module'], 'engine');
    assert.equal(line?.['channel'], 7);
    assert.equal(line?.['circuit'], 3);
    assert.equal(line?.['msg'], 'shown');
  });

  it('scrubs sensitive values with SafeLogging on (1 and relay), at any depth', () => {
    for (const mode of ['all', 'relay'] as const) {
      const { logger, records } = capture([], mode);
      logger
        .child({ peer: sensitive('192.0.2.7') })
        .notice({ address: sensitive('198.51.100.1'), nested: { list: [sensitive('2001:db8::1')] } }, 'm');
      const [line] = records('stdout');
      assert.equal(line?.['peer'], '[scrubbed]');
      assert.equal(line?.['address'], '[scrubbed]');
      assert.deepEqual(line?.['nested'], { list: ['[scrubbed]'] });
      assert.doesNotMatch(JSON.stringify(line), /192\.0\.2\.7|198\.51\.100\.1|2001:db8/);
    }
  });

  it('shows the real values with SafeLogging 0', () => {
    const { logger, records } = capture([], 'none');
    logger
      .child({ peer: sensitive('192.0.2.7') })
      .notice({ address: sensitive('198.51.100.1'), nested: { list: [sensitive('2001:db8::1')] } }, 'm');
    const [line] = records('stdout');
    assert.equal(line?.['peer'], '192.0.2.7');
    assert.equal(line?.['address'], '198.51.100.1');
    assert.deepEqual(line?.['nested'], { list: ['2001:db8::1'] });
  });

  it('applySafeLogging leaves objects without sensitive values untouched', () => {
    const fields = { a: 1, b: { c: [1, 2] } };
    assert.equal(applySafeLogging(fields, 'all'), fields);
    assert.equal(applySafeLogging(fields, 'none'), fields);
  });

  it('serializes errors given as err', () => {
    const { logger, records } = capture([]);
    logger.warn({ err: new Error('boom') }, 'failed');
    const err = records('stdout')[0]?.['err'] as Record<string, unknown>;
    assert.equal(err['message'], 'boom');
    assert.equal(err['type'], 'Error');
  });

  it('writes files (created 0600 with their directory) and flushes them on close', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relayd-telemetry-'));
    try {
      const path = join(dir, 'logs', 'notice.log');
      const logger = createLogger({
        logs: [{ minSeverity: 'notice', maxSeverity: 'err', destination: { kind: 'file', path } }],
        safeLogging: 'all',
      });
      for (let i = 0; i < 100; i++) logger.notice({ i }, 'line');
      logger.close();
      logger.notice({}, 'after close');
      const lines = readFileSync(path, 'utf8').trim().split('\n');
      assert.equal(lines.length, 100);
      assert.equal(JSON.parse(lines[99]!).i, 99);
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says that syslog lines go to standard error', () => {
    const { records } = capture([
      { minSeverity: 'notice', maxSeverity: 'err', destination: { kind: 'syslog' } },
    ]);
    assert.match(String(records('syslog')[0]?.['msg']), /standard error/);
  });
});
