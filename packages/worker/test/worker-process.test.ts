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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parseConfig, type RelaydConfig } from '@relayd/config';
import { type FromWorkerMessage, message, type StartMessage } from '@relayd/ipc';
import { generateKeys, type KeyStore } from '@relayd/keys';
import { type ClosableLogger, RetargetableLogger, WorkerCounters, WorkerProcess } from '../src/index.js';

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

  function run() {
    const channel = new FakeChannel();
    const lines: Line[] = [];
    const exits: number[] = [];
    let opened = 0;
    const worker = new WorkerProcess({
      channel: channel.port,
      createLogger: () => sinkLogger(`logs${++opened}`, lines),
      exit: (code) => exits.push(code),
    });
    return { channel, lines, exits, worker };
  }

  it('starts from the start message, says ready, sends heartbeats, and stops on request', async () => {
    const { channel, exits, worker } = run();
    channel.deliver(start);
    // Arrives while starting: applied once the worker runs.
    channel.deliver(message({ kind: 'keys', keys: keys.workerSnapshot() }));
    await until('ready', () => channel.kinds().includes('ready'));
    assert.deepEqual(channel.sent[0], { v: 1, kind: 'ready', workerId: 2, pid: process.pid });
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
      { v: 1 },
      { v: 1, kind: 'keys', keys: {} },
      { v: 2, kind: 'stop' },
    ]) {
      channel.deliver(junk);
    }
    channel.deliver({ v: 1, kind: 'handoff', meta: { leftover: 'not bytes' } }, socketLike);
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
