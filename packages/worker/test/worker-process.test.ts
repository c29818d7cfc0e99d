/**
 * The worker side of a worker process, in this process with a fake IPC
 * channel: start → ready and heartbeats; messages that arrive while it
 * starts wait for it; malformed messages are dropped without harm; stop,
 * drain and a lost channel end the process with the right status; a new
 * Log configuration reopens the logs. Plus the retargetable logger and the
 * worker's counters.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parseIpAddress } from '@relayd/common';
import { parseConfig, type RelaydConfig } from '@relayd/config';
import { secureRandom } from '@relayd/crypto';
import {
  type FromWorkerMessage,
  IPC_PROTOCOL_VERSION,
  MAX_TRACKED_TRANSPORTS,
  message,
  OTHER_TRANSPORTS,
  type StartMessage,
} from '@relayd/ipc';
import { generateKeys, type KeyStore } from '@relayd/keys';
import { dialExtOrPort } from '@relayd/net';
import { parseMetricsJson } from '@relayd/telemetry';
import {
  type ClosableLogger,
  RetargetableLogger,
  TransportConnectionCounts,
  WorkerCounters,
  WorkerProcess,
} from '../src/index.js';

interface Line {
  readonly sink: string;
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

function sinkLogger(sink: string, lines: Line[], bindings: Record<string, unknown> = {}): ClosableLogger {
  const at = (level: string) => (fields: object, msg: string) =>
    lines.push({
      sink,
      level,
      fields: { ...bindings, ...(fields as Record<string, unknown>) },
      message: msg,
    });
  return {
    error: at('err'),
    warn: at('warn'),
    notice: at('notice'),
    info: at('info'),
    debug: at('debug'),
    child: (more) => sinkLogger(sink, lines, { ...bindings, ...(more as Record<string, unknown>) }),
    close: () => lines.push({ sink, level: 'closed', fields: {}, message: '' }),
  };
}

class FakeChannel {
  readonly sent: FromWorkerMessage[] = [];
  private onMessage: ((m: unknown, h: unknown) => void) | undefined;
  private onDisconnect: (() => void) | undefined;
  readonly port = {
    send: (m: FromWorkerMessage) => this.sent.push(m),
    onMessage: (l: (m: unknown, h: unknown) => void) => {
      this.onMessage = l;
    },
    onDisconnect: (l: () => void) => {
      this.onDisconnect = l;
    },
  };
  deliver(m: unknown, handle?: unknown): void {
    this.onMessage!(m, handle);
  }
  disconnect(): void {
    this.onDisconnect!();
  }
  kinds(): string[] {
    return this.sent.map((m) => m.kind);
  }
}

async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('WorkerProcess', { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-worker-process-'));
  let keys: KeyStore;
  let config: RelaydConfig;
  let start: StartMessage;

  before(() => {
    keys = generateKeys(join(root, 'data'), { nowMs: Date.now(), nickname: 'procTest' });
    const parsed = parseConfig(
      `DataDirectory ${join(root, 'data')}\nNickname procTest\nContactInfo ops@example.org\nORPort 127.0.0.1:auto\n`,
    );
    assert.ok(parsed.ok);
    config = parsed.value.config;
    start = message({
      kind: 'start',
      workerId: 2,
      keys: keys.workerSnapshot(),
      config,
      publicAddresses: ['127.0.0.1'],
      directory: {
        consensus: undefined,
        certificates: new Uint8Array(0),
        microdescriptors: new Uint8Array(0),
        serverDescriptor: undefined,
        extraInfo: undefined,
      },
      heartbeatIntervalMs: 50,
    });
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  function run(options: { processMetrics?: boolean } = {}) {
    const channel = new FakeChannel();
    const lines: Line[] = [];
    const exits: number[] = [];
    let opened = 0;
    const worker = new WorkerProcess({
      channel: channel.port,
      createLogger: () => sinkLogger(`logs${++opened}`, lines),
      exit: (code) => exits.push(code),
      ...options,
    });
    return { channel, lines, exits, worker };
  }

  /** The metric families a worker started from `startMessage` answers with. */
  async function metricFamilies(channel: FakeChannel, requestId: number) {
    channel.deliver(message({ kind: 'metrics-request', requestId }));
    await until('the metrics', () =>
      channel.sent.some((m) => m.kind === 'metrics' && m.requestId === requestId),
    );
    const answer = channel.sent.find((m) => m.kind === 'metrics' && m.requestId === requestId);
    assert.ok(answer?.kind === 'metrics');
    const parsed = parseMetricsJson(answer.metrics);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    return parsed.value;
  }

  it('starts from the start message, says ready, sends heartbeats, and stops on request', async () => {
    const { channel, exits, worker } = run();
    channel.deliver(start);
    // Arrives while starting: applied once the worker runs.
    channel.deliver(message({ kind: 'keys', keys: keys.workerSnapshot() }));
    await until('ready', () => channel.kinds().includes('ready'));
    assert.deepEqual(channel.sent[0], {
      v: IPC_PROTOCOL_VERSION,
      kind: 'ready',
      workerId: 2,
      pid: process.pid,
    });
    await until('two heartbeats', () => channel.kinds().filter((k) => k === 'heartbeat').length >= 2);
    const beat = channel.sent.find((m) => m.kind === 'heartbeat');
    assert.ok(beat?.kind === 'heartbeat');
    assert.equal(beat.stats.workerId, 2);
    assert.equal(beat.stats.pid, process.pid);
    assert.equal(beat.stats.channels, 0);
    assert.equal(worker.handle?.listeners.length, 0, 'a worker process opens no ORPort of its own');
    channel.deliver(message({ kind: 'stop' }));
    await until('exit', () => exits.length > 0);
    assert.deepEqual(exits, [0]);
  });

  it('answers a metrics request with its registry: engine, directory, channels and statistics', async () => {
    const { channel, exits } = run();
    channel.deliver(start);
    // Asked while starting: answered once the worker runs, with the same request id.
    channel.deliver(message({ kind: 'metrics-request', requestId: 41 }));
    await until('the metrics', () => channel.kinds().includes('metrics'));
    const answer = channel.sent.find((m) => m.kind === 'metrics');
    assert.ok(answer?.kind === 'metrics');
    assert.equal(answer.requestId, 41);
    const parsed = parseMetricsJson(answer.metrics);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    const family = (name: string) => parsed.value.find((f) => f.name === name);
    // The worker's statistics, read at the request: no channel, no circuit yet.
    assert.deepEqual(
      family('relayd_channels')?.values.map((v) => v.value),
      [0],
    );
    // Sinks handed to the engine, the directory service and the channels are in the same registry.
    for (const name of [
      'tor_relay_load_onionskins_total',
      'relayd_create_queue_wait_seconds',
      'tor_relay_connections',
      'relayd_directory_responses_total',
      'tor_relay_traffic_bytes_total',
    ]) {
      assert.ok(family(name), `${name} is exposed`);
    }
    assert.equal(family('process_cpu_seconds_total'), undefined, 'process metrics only where the entry asks');
    channel.deliver(message({ kind: 'stop' }));
    await until('exit', () => exits.length > 0);
  });

  it('adds the process metrics the entry asks for only when there is a MetricsPort to read them', async () => {
    const without = run({ processMetrics: true });
    without.channel.deliver(start);
    const plain = await metricFamilies(without.channel, 1);
    assert.equal(
      plain.find((f) => f.name === 'process_cpu_seconds_total'),
      undefined,
      'no MetricsPort: nothing reads them, nothing collects them',
    );
    const parsed = parseConfig(
      `DataDirectory ${join(root, 'data')}\nNickname procTest\nContactInfo ops@example.org\nORPort 127.0.0.1:auto\nMetricsPort 127.0.0.1:9035\n`,
    );
    assert.ok(parsed.ok);
    const withPort = run({ processMetrics: true });
    withPort.channel.deliver({ ...start, config: parsed.value.config });
    const families = await metricFamilies(withPort.channel, 2);
    assert.ok(families.find((f) => f.name === 'process_cpu_seconds_total'));
    assert.ok(
      families.find((f) => f.name === 'relayd_channels'),
      'beside the worker’s own',
    );
    for (const { channel, exits } of [without, withPort]) {
      channel.deliver(message({ kind: 'stop' }));
      await until('exit', () => exits.length > 0);
    }
  });

  it('drops malformed messages and messages before start, without throwing', async () => {
    const { channel, lines, exits } = run();
    let destroyed = 0;
    const socketLike = { unshift() {}, write() {}, destroy: () => destroyed++ };
    // Before start: a handoff's socket is closed, nothing else happens.
    channel.deliver(message({ kind: 'handoff', meta: {} }), socketLike);
    assert.equal(destroyed, 1);
    channel.deliver(start);
    await until('ready', () => channel.kinds().includes('ready'));
    for (const junk of [
      undefined,
      'stop',
      { v: IPC_PROTOCOL_VERSION },
      { v: IPC_PROTOCOL_VERSION, kind: 'keys', keys: {} },
      { v: IPC_PROTOCOL_VERSION + 1, kind: 'stop' },
    ]) {
      channel.deliver(junk);
    }
    channel.deliver(
      { v: IPC_PROTOCOL_VERSION, kind: 'handoff', meta: { leftover: 'not bytes' } },
      socketLike,
    );
    assert.equal(destroyed, 2, 'the socket of a malformed handoff is closed');
    assert.equal(lines.filter((l) => /ignored a malformed message/.test(l.message)).length, 6);
    channel.deliver(message({ kind: 'handoff', meta: {} }));
    assert.ok(lines.some((l) => /without a socket/.test(l.message)));
    assert.deepEqual(exits, []);
    channel.disconnect();
    await until('exit', () => exits.length > 0);
    assert.deepEqual(exits, [0]);
  });

  it('reopens the logs when the Log lines change, and only then', async () => {
    const { channel, lines, exits } = run();
    channel.deliver(start);
    await until('ready', () => channel.kinds().includes('ready'));
    channel.deliver(message({ kind: 'reconfigure', config }));
    assert.equal(lines.filter((l) => l.level === 'closed').length, 0);
    const changed = {
      ...config,
      logs: [{ minSeverity: 'info', maxSeverity: 'err', destination: { kind: 'stderr' } }],
    };
    channel.deliver(message({ kind: 'reconfigure', config: changed as RelaydConfig }));
    assert.deepEqual(
      lines.filter((l) => l.level === 'closed').map((l) => l.sink),
      ['logs1'],
    );
    assert.ok(lines.some((l) => l.sink === 'logs2' && /reopened the logs/.test(l.message)));
    channel.deliver(message({ kind: 'drain', timeoutMs: 5_000 }));
    // Idle (no circuits): it stops at once.
    await until('exit', () => exits.length > 0);
    assert.deepEqual(exits, [0]);
  });
});

describe('WorkerProcess and the balancer', { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-worker-balancer-'));
  let start: StartMessage;
  const sockets = new Set<Socket>();

  before(() => {
    const keys = generateKeys(join(root, 'data'), { nowMs: Date.now(), nickname: 'balTest' });
    const parsed = parseConfig(
      `DataDirectory ${join(root, 'data')}\nNickname balTest\nContactInfo ops@example.org\nORPort 127.0.0.1:auto\n`,
    );
    assert.ok(parsed.ok);
    start = message({
      kind: 'start',
      workerId: 3,
      keys: keys.workerSnapshot(),
      config: parsed.value.config,
      publicAddresses: ['127.0.0.1'],
      directory: {
        consensus: undefined,
        certificates: new Uint8Array(0),
        microdescriptors: new Uint8Array(0),
        serverDescriptor: undefined,
        extraInfo: undefined,
      },
      heartbeatIntervalMs: 50,
    });
  });

  after(() => {
    for (const socket of sockets) socket.destroy();
    rmSync(root, { recursive: true, force: true });
  });

  function run() {
    const channel = new FakeChannel();
    const lines: Line[] = [];
    const exits: number[] = [];
    const worker = new WorkerProcess({
      channel: channel.port,
      createLogger: () => sinkLogger('logs', lines),
      exit: (code) => exits.push(code),
    });
    return { channel, lines, exits, worker };
  }

  /** A connected pair of sockets on loopback; the server side is not reading (as a listener with pauseOnConnect gives it). */
  async function socketPair(): Promise<{ server: Socket; client: Socket }> {
    const listener = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
    const client = createConnection({ host: '127.0.0.1', port });
    client.on('error', () => {});
    const server = await accepted;
    listener.close();
    sockets.add(client);
    sockets.add(server);
    return { server, client };
  }

  it('reports handed-over connections that ended, by id, gathered in one message', async () => {
    const { channel, exits } = run();
    channel.deliver(start);
    await until('ready', () => channel.kinds().includes('ready'));
    const a = await socketPair();
    const b = await socketPair();
    channel.deliver(
      message({ kind: 'handoff', meta: { transportName: 'obfs4' }, connectionId: 7 }),
      a.server,
    );
    channel.deliver(message({ kind: 'handoff', meta: {}, connectionId: 8 }), b.server);
    // No socket came with it: reported as ended at once.
    channel.deliver(message({ kind: 'handoff', meta: {}, connectionId: 9 }));
    await new Promise((r) => setTimeout(r, 300));
    const early = channel.sent.filter((m) => m.kind === 'closed');
    assert.deepEqual(
      early.flatMap((m) => (m.kind === 'closed' ? m.connectionIds : [])),
      [9],
      'open connections are not reported',
    );
    // The clients go away before their TLS handshake: the worker's sockets close.
    a.client.destroy();
    b.client.destroy();
    await until('both closings reported', () =>
      channel.sent.some(
        (m) => m.kind === 'closed' && m.connectionIds.includes(7) && m.connectionIds.includes(8),
      ),
    );
    const beat = channel.sent.findLast((m) => m.kind === 'heartbeat');
    assert.ok(beat?.kind === 'heartbeat');
    assert.deepEqual(beat.stats.connectionsByTransport, {
      vanilla: { connections: 1, linksAccepted: 0 },
      pluggable: { obfs4: { connections: 1, linksAccepted: 0 } },
    });
    channel.deliver(message({ kind: 'stop' }));
    await until('exit', () => exits.length > 0);
  });

  it('opens the Extended ORPort backend it is asked for: its port goes with ready; only the cookie opens it', async () => {
    const { channel, exits, worker } = run();
    const cookie = secureRandom.bytes(32);
    channel.deliver({ ...start, extOrBackend: { host: '127.0.0.1', cookie } });
    await until('ready', () => channel.kinds().includes('ready'));
    const ready = channel.sent.find((m) => m.kind === 'ready');
    assert.ok(ready?.kind === 'ready');
    const port = ready.extOrBackendPort;
    assert.ok(port !== undefined && port > 0, 'the ready message names the port');
    const ip = parseIpAddress('192.0.2.44');
    assert.ok(ip);
    const dialed = await dialExtOrPort({
      host: '127.0.0.1',
      port,
      cookie,
      clientAddress: { ...ip, address: '192.0.2.44', port: 5555 },
      transportName: 'snowflake',
    });
    assert.equal(dialed.status, 'accepted');
    if (dialed.status === 'accepted') sockets.add(dialed.socket);
    await until('the connection counted under its transport', () => {
      const counts = worker.handle?.stats().connectionsByTransport;
      return counts?.pluggable['snowflake']?.connections === 1;
    });
    // Another cookie is refused before anything reaches the worker.
    await assert.rejects(
      dialExtOrPort({ host: '127.0.0.1', port, cookie: secureRandom.bytes(32) }),
      /SERVER_HASH_MISMATCH|hash/i,
    );
    assert.equal(worker.handle?.stats().connectionsReceived, 1);
    // Draining closes the backend: the balancer can no longer connect.
    channel.deliver(message({ kind: 'drain', timeoutMs: 5_000 }));
    await until('exit', () => exits.length > 0);
    await assert.rejects(dialExtOrPort({ host: '127.0.0.1', port, cookie, deadlineMs: 2_000 }));
  });
});

describe('TransportConnectionCounts', () => {
  it('counts by transport name, vanilla apart, and lumps names beyond the limit together', () => {
    const counts = new TransportConnectionCounts();
    counts.connection(undefined);
    counts.linkAccepted(undefined);
    counts.connection('obfs4');
    counts.connection('obfs4');
    counts.linkAccepted('obfs4');
    counts.connection('__proto__');
    assert.deepEqual(counts.snapshot().vanilla, { connections: 1, linksAccepted: 1 });
    assert.deepEqual(counts.snapshot().pluggable['obfs4'], { connections: 2, linksAccepted: 1 });
    assert.deepEqual(Object.getOwnPropertyDescriptor(counts.snapshot().pluggable, '__proto__')?.value, {
      connections: 1,
      linksAccepted: 0,
    });
    for (let i = 0; i < MAX_TRACKED_TRANSPORTS + 5; i++) counts.connection(`t${i}`);
    const snapshot = counts.snapshot();
    assert.equal(Object.keys(snapshot.pluggable).length, MAX_TRACKED_TRANSPORTS + 1);
    // obfs4 and __proto__ took two places; the rest of the limit went to t0…, the remainder to _other.
    assert.equal(snapshot.pluggable[OTHER_TRANSPORTS]?.connections, 7);
    assert.equal(snapshot.pluggable['t29']?.connections, 1);
    assert.equal(snapshot.pluggable['t30'], undefined);
    // A name already counted apart stays apart.
    counts.connection('obfs4');
    assert.equal(counts.snapshot().pluggable['obfs4']?.connections, 3);
  });
});

describe('RetargetableLogger', () => {
  it('sends every line, children included, to the current target', () => {
    const lines: Line[] = [];
    const root = RetargetableLogger.create(sinkLogger('a', lines));
    const child = root.child({ module: 'x' }).child({ worker: 3 });
    child.notice({ n: 1 }, 'one');
    root.retarget(sinkLogger('b', lines));
    child.warn({ n: 2 }, 'two');
    root.info({}, 'three');
    assert.deepEqual(
      lines.map((l) => [l.sink, l.level, l.message, l.fields.module, l.fields.worker]),
      [
        ['a', 'notice', 'one', 'x', 3],
        ['b', 'warn', 'two', 'x', 3],
        ['b', 'info', 'three', undefined, undefined],
      ],
    );
  });
});

describe('WorkerCounters', () => {
  it('counts onionskins by type and outcome and cells, and passes every call on', () => {
    const seen: string[] = [];
    const next = new Proxy(
      {},
      {
        get:
          (_target, name) =>
          (...args: unknown[]) =>
            seen.push(`${String(name)}(${args.join(',')})`),
      },
    );
    const counters = new WorkerCounters(next as never);
    counters.metrics.onionskin('ntor', 'processed');
    counters.metrics.onionskin('ntor', 'processed');
    counters.metrics.onionskin('ntor_v3', 'dropped');
    counters.metrics.onionskin('fast', 'failed');
    counters.metrics.cellReceived(3);
    counters.metrics.cellSent(4);
    counters.metrics.channelOpened(false);
    const onionskins = counters.onionskins();
    assert.deepEqual(onionskins.ntor, { processed: 2, failed: 0, dropped: 0 });
    assert.deepEqual(onionskins.ntor_v3, { processed: 0, failed: 0, dropped: 1 });
    assert.deepEqual(onionskins.fast, { processed: 0, failed: 1, dropped: 0 });
    assert.equal(counters.cellsReceived, 1);
    assert.equal(counters.cellsSent, 1);
    assert.deepEqual(seen, [
      'onionskin(ntor,processed)',
      'onionskin(ntor,processed)',
      'onionskin(ntor_v3,dropped)',
      'onionskin(fast,failed)',
      'cellReceived(3)',
      'cellSent(4)',
      'channelOpened(false)',
    ]);
    // A copy: later counts do not change what was returned.
    counters.metrics.onionskin('ntor', 'processed');
    assert.equal(onionskins.ntor.processed, 2);
  });
});
