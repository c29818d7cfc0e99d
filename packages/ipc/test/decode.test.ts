import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { parseConfig, type RelaydConfig } from '@relayd/config';
import { generateKeys } from '@relayd/keys';
import fc from 'fast-check';
import {
  decodeFromWorkerMessage,
  decodeToWorkerMessage,
  emptyConnectionsByTransport,
  emptyOnionskinStats,
  type FromWorkerMessage,
  IPC_PROTOCOL_VERSION,
  IpcErrorCode,
  message,
  type StartMessage,
  type ToWorkerMessage,
  totalStats,
  type WorkerStatsReport,
} from '../src/index.js';

/** What Node's `serialization: 'advanced'` does to a message on its way (v8 structured clone). */
function overTheChannel<T>(value: T): unknown {
  return deserialize(serialize(value));
}

function stats(workerId: number, overrides: Partial<WorkerStatsReport> = {}): WorkerStatsReport {
  return {
    workerId,
    pid: 4242,
    uptimeMs: 1000,
    channels: 2,
    circuits: 3,
    createQueueLength: 0,
    directoryStreams: 1,
    pendingChannelOpens: 0,
    pendingHandshakes: 1,
    linksAccepted: 5,
    linkHandshakesFailed: 1,
    connectionsReceived: 6,
    connectionsByTransport: {
      vanilla: { connections: 2, linksAccepted: 2 },
      pluggable: { obfs4: { connections: 4, linksAccepted: 3 } },
    },
    onionskins: emptyOnionskinStats(),
    cellsReceived: 100,
    cellsSent: 90,
    bytesReceived: 51_400,
    bytesSent: 46_260,
    ...overrides,
  };
}

describe('ipc messages', () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-ipc-'));
  let config: RelaydConfig;
  let start: StartMessage;
  let toWorker: ToWorkerMessage[];
  let fromWorker: FromWorkerMessage[];

  before(() => {
    const parsed = parseConfig(
      `DataDirectory ${join(root, 'data')}\nNickname ipcTest\nContactInfo ops@example.org\nORPort 127.0.0.1:auto\nWorkers 3\n`,
    );
    assert.ok(parsed.ok);
    config = parsed.value.config;
    const keys = generateKeys(join(root, 'data'), { nowMs: Date.now(), nickname: 'ipcTest' });
    start = message({
      kind: 'start',
      workerId: 2,
      keys: keys.workerSnapshot(),
      config,
      publicAddresses: ['127.0.0.1'],
      directory: {
        consensus: new Uint8Array([1, 2, 3]),
        certificates: new Uint8Array(0),
        microdescriptors: new Uint8Array([4]),
        serverDescriptor: new Uint8Array([5, 6]),
        extraInfo: undefined,
      },
      heartbeatIntervalMs: 5000,
    });
    toWorker = [
      start,
      { ...start, extOrBackend: { host: '127.0.2.2', cookie: new Uint8Array(32).fill(7) } },
      message({ kind: 'keys', keys: keys.workerSnapshot() }),
      message({ kind: 'directory', snapshot: start.directory }),
      message({ kind: 'handoff', meta: {} }),
      message({
        kind: 'handoff',
        meta: {
          clientAddress: { address: '2001:db8::1', port: 443 },
          transportName: 'obfs4',
          leftover: Buffer.from([0x16, 0x03, 0x01]),
        },
      }),
      message({ kind: 'handoff', meta: { transportName: 'x'.repeat(128) }, connectionId: 2 ** 40 }),
      message({ kind: 'reconfigure', config }),
      message({ kind: 'drain', timeoutMs: 60_000 }),
      message({ kind: 'stop' }),
      message({ kind: 'metrics-request', requestId: 1 }),
    ];
    fromWorker = [
      message({ kind: 'ready', workerId: 2, pid: 4242 }),
      message({ kind: 'ready', workerId: 2, pid: 4242, extOrBackendPort: 40123 }),
      message({ kind: 'heartbeat', stats: stats(2) }),
      message({
        kind: 'heartbeat',
        stats: stats(2, { connectionsByTransport: emptyConnectionsByTransport() }),
      }),
      message({ kind: 'closed', connectionIds: [1, 2, 3] }),
      message({ kind: 'closed', connectionIds: [] }),
      message({
        kind: 'metrics',
        requestId: 7,
        metrics: [{ name: 'relayd_channels', help: 'h', type: 'gauge', values: [], aggregator: 'sum' }],
      }),
      message({ kind: 'metrics', requestId: 8, metrics: [] }),
      message({
        kind: 'error',
        workerId: 2,
        error: { kind: 'internal', code: 'BUG', message: 'bug: x' },
        fatal: true,
      }),
    ];
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it('every message survives the channel and validates, byte arrays included', () => {
    for (const m of toWorker) {
      const decoded = decodeToWorkerMessage(overTheChannel(m));
      assert.ok(decoded.ok, `${m.kind}: ${!decoded.ok && decoded.error.message}`);
      assert.deepEqual(decoded.value, overTheChannel(m));
    }
    for (const m of fromWorker) {
      const decoded = decodeFromWorkerMessage(overTheChannel(m));
      assert.ok(decoded.ok, `${m.kind}: ${!decoded.ok && decoded.error.message}`);
    }
    const arrived = decodeToWorkerMessage(overTheChannel(start));
    assert.ok(arrived.ok && arrived.value.kind === 'start');
    assert.ok(arrived.value.keys.ntorOnionKey.secretKey instanceof Uint8Array);
    assert.equal(arrived.value.config.workers, 3);
  });

  it('the key snapshot it carries has no master identity secret', () => {
    const text = JSON.stringify(Object.keys(start.keys));
    assert.doesNotMatch(text, /master|identitySecret|ed25519IdentitySecret/i);
  });

  it('names what is wrong: version, kind, a missing or mistyped field', () => {
    const v = decodeToWorkerMessage({ ...start, v: 1 });
    assert.ok(!v.ok);
    assert.equal(v.error.code, IpcErrorCode.UNSUPPORTED_VERSION);
    const k = decodeToWorkerMessage({ v: IPC_PROTOCOL_VERSION, kind: 'ready', workerId: 1, pid: 1 });
    assert.ok(!k.ok, 'a worker-to-supervisor kind is not accepted by a worker');
    assert.equal(k.error.code, IpcErrorCode.UNKNOWN_KIND);
    const inherited = decodeToWorkerMessage({ v: IPC_PROTOCOL_VERSION, kind: 'toString' });
    assert.ok(!inherited.ok && inherited.error.code === IpcErrorCode.UNKNOWN_KIND);

    const cases: [unknown, RegExp][] = [
      [{ ...start, workerId: 0 }, /start\.workerId/],
      [
        { ...start, keys: { ...start.keys, ed25519Identity: new Uint8Array(31) } },
        /keys\.ed25519Identity is 31 bytes/,
      ],
      [{ ...start, keys: { ...start.keys, previousNtorOnionKey: undefined } }, /previousNtorOnionKey/],
      [{ ...start, directory: { ...start.directory, certificates: 'x' } }, /directory\.certificates/],
      [{ ...start, config: { ...start.config, logs: [{}] } }, /config\.logs\[0\]\.minSeverity/],
      [{ ...start, heartbeatIntervalMs: -1 }, /heartbeatIntervalMs/],
      [{ v: 2, kind: 'handoff', meta: { leftover: new Uint8Array(64 * 1024 + 1) } }, /leftover is longer/],
      [{ v: 2, kind: 'handoff', meta: { transportName: 'obfs4 x' } }, /transportName/],
      [{ v: 2, kind: 'handoff', meta: { transportName: 'x'.repeat(129) } }, /transportName/],
      [{ v: 2, kind: 'handoff', meta: { clientAddress: { address: '1.2.3.4', port: 70000 } } }, /port/],
      [{ v: 2, kind: 'handoff' }, /handoff\.meta is not an object/],
      [{ v: 2, kind: 'handoff', meta: {}, connectionId: 0 }, /handoff\.connectionId/],
      [{ v: 2, kind: 'handoff', meta: {}, connectionId: 1.5 }, /handoff\.connectionId/],
      [{ v: 2, kind: 'drain', timeoutMs: 1.5 }, /timeoutMs/],
      [{ ...start, extOrBackend: { host: '0.0.0.0', cookie: new Uint8Array(32) } }, /extOrBackend\.host/],
      [{ ...start, extOrBackend: { host: '127.0.2.1', cookie: new Uint8Array(31) } }, /extOrBackend\.cookie/],
    ];
    for (const [value, pattern] of cases) {
      const r = decodeToWorkerMessage(overTheChannel(value));
      assert.ok(!r.ok, `accepted ${pattern}`);
      assert.equal(r.error.code, IpcErrorCode.BAD_FIELD);
      assert.match(r.error.message, pattern);
    }
    const badStats = decodeFromWorkerMessage(
      message({ kind: 'heartbeat', stats: { ...stats(1), circuits: Number.NaN } }),
    );
    assert.ok(!badStats.ok);
    assert.match(badStats.error.message, /stats\.circuits/);
    const badOnion = decodeFromWorkerMessage(
      message({
        kind: 'heartbeat',
        stats: {
          ...stats(1),
          onionskins: { ...emptyOnionskinStats(), ntor: { processed: -1, failed: 0, dropped: 0 } },
        },
      }),
    );
    assert.ok(!badOnion.ok);
    assert.match(badOnion.error.message, /onionskins\.ntor\.processed/);
    const fromCases: [unknown, RegExp][] = [
      [message({ kind: 'ready', workerId: 1, pid: 7, extOrBackendPort: 0 }), /ready\.extOrBackendPort/],
      [message({ kind: 'closed', connectionIds: [1, -2] }), /closed\.connectionIds\[1\]/],
      [message({ kind: 'metrics', requestId: 0, metrics: [] }), /metrics\.requestId/],
      [{ v: 2, kind: 'metrics', requestId: 1, metrics: {} }, /metrics\.metrics/],
      [{ v: 2, kind: 'metrics', requestId: 1, metrics: [1] }, /metrics\.metrics\[0\]/],
      [{ v: 2, kind: 'metrics', requestId: 1, metrics: new Array(2001).fill({}) }, /more than 2000/],
      [{ v: 2, kind: 'closed', connectionIds: new Array(4097).fill(1) }, /more than 4096/],
      [
        message({
          kind: 'heartbeat',
          stats: {
            ...stats(1),
            connectionsByTransport: {
              vanilla: { connections: 0, linksAccepted: 0 },
              pluggable: { 'a b': { connections: 1, linksAccepted: 1 } },
            },
          },
        }),
        /connectionsByTransport\.pluggable has a key/,
      ],
      [
        message({
          kind: 'heartbeat',
          stats: {
            ...stats(1),
            connectionsByTransport: {
              vanilla: { connections: 0, linksAccepted: 0 },
              pluggable: Object.fromEntries(
                Array.from({ length: 34 }, (_, i) => [`t${i}`, { connections: 1, linksAccepted: 0 }]),
              ),
            },
          },
        }),
        /more than 33 entries/,
      ],
      [
        message({
          kind: 'heartbeat',
          stats: {
            ...stats(1),
            connectionsByTransport: {
              vanilla: { connections: 0, linksAccepted: 0 },
              pluggable: { obfs4: { connections: -1, linksAccepted: 0 } },
            },
          },
        }),
        /pluggable\.obfs4\.connections/,
      ],
    ];
    for (const [value, pattern] of fromCases) {
      const r = decodeFromWorkerMessage(overTheChannel(value));
      assert.ok(!r.ok, `accepted ${pattern}`);
      assert.match(r.error.message, pattern);
    }
  });

  it('random values are refused without throwing (property)', () => {
    fc.assert(
      fc.property(
        fc.anything({ withTypedArray: true, withMap: true, withSet: true, withNullPrototype: true }),
        (value) => {
          const a = decodeToWorkerMessage(value);
          const b = decodeFromWorkerMessage(value);
          assert.ok(!a.ok && !b.ok);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('random objects of a known kind are refused without throwing, unless they are well-formed (property)', () => {
    const toKinds = ['start', 'keys', 'directory', 'handoff', 'reconfigure', 'drain', 'stop'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...toKinds),
        fc.dictionary(fc.string(), fc.anything({ withTypedArray: true })),
        (kind, rest) => {
          const r = decodeToWorkerMessage({ ...rest, v: IPC_PROTOCOL_VERSION, kind });
          // Only "stop" has no required field.
          assert.equal(r.ok, kind === 'stop');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a valid message with one value replaced anywhere is judged without throwing (property)', () => {
    const valid = overTheChannel(start) as Record<string, unknown>;
    const paths: string[][] = [];
    const walk = (value: unknown, path: string[]) => {
      if (value && typeof value === 'object' && !(value instanceof Uint8Array) && path.length < 4) {
        for (const key of Object.keys(value)) {
          paths.push([...path, key]);
          walk((value as Record<string, unknown>)[key], [...path, key]);
        }
      }
    };
    walk(valid, []);
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.anything({ withTypedArray: true }), (path, replacement) => {
        const copy = overTheChannel(valid) as Record<string, unknown>;
        let at: Record<string, unknown> = copy;
        for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
        at[path.at(-1)!] = replacement;
        const r = decodeToWorkerMessage(copy);
        assert.equal(typeof r.ok, 'boolean');
      }),
      { numRuns: 1000 },
    );
  });

  it('sums statistics across workers', () => {
    const a = stats(1, {
      circuits: 2,
      onionskins: { ...emptyOnionskinStats(), ntor: { processed: 5, failed: 1, dropped: 2 } },
    });
    const b = stats(2, {
      circuits: 7,
      onionskins: { ...emptyOnionskinStats(), ntor: { processed: 3, failed: 0, dropped: 1 } },
    });
    const total = totalStats([a, b]);
    assert.equal(total.workers, 2);
    assert.equal(total.circuits, 9);
    assert.equal(total.bytesSent, 2 * 46_260);
    assert.deepEqual(total.onionskins.ntor, { processed: 8, failed: 1, dropped: 3 });
    assert.deepEqual(total.onionskins.fast, { processed: 0, failed: 0, dropped: 0 });
    assert.deepEqual(total.connectionsByTransport, {
      vanilla: { connections: 4, linksAccepted: 4 },
      pluggable: { obfs4: { connections: 8, linksAccepted: 6 } },
    });
    // Names are summed apart and listed in order; "__proto__" is an ordinary name.
    const c = stats(3, {
      connectionsByTransport: {
        vanilla: { connections: 0, linksAccepted: 0 },
        pluggable: Object.fromEntries([
          ['snowflake', { connections: 1, linksAccepted: 1 }],
          ['__proto__', { connections: 2, linksAccepted: 0 }],
        ]),
      },
    });
    const mixed = totalStats([a, c]).connectionsByTransport;
    assert.deepEqual(Object.keys(mixed.pluggable), ['__proto__', 'obfs4', 'snowflake']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(mixed.pluggable, '__proto__')?.value, {
      connections: 2,
      linksAccepted: 0,
    });
  });
});
