/**
 * The load generator against a REAL C tor bridge (Debian tor 0.4.9) on
 * loopback, with the load generator's own sink relay as the next hop. It
 * checks the load generator's correctness, not timings: every circuit is
 * built through the real bridge and finished, every byte verified both
 * ways, the sink's counts agree with the client's, the bridge's CPU and
 * memory are sampled from /proc, and the command line does the same.
 *
 * What C tor needs for this (learned here): a bridge extends to a relay
 * that is in no consensus when EXTEND2 names it by IPv4 address, RSA
 * identity and Ed25519 identity; to 127.0.0.1 it needs only
 * `ExtendAllowPrivateAddresses 1` (no TestingTorNetwork). Its only
 * directory authority is a fake one at 127.0.0.1:9, so nothing leaves
 * loopback. Every process is stopped by its PID in `after`, also when a
 * test fails, and every wait is bounded.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromBase64, fromHex } from '@relayd/common';
import { decodeCurve25519KeypairFile, KeyTag } from '@relayd/keys';
import {
  LoadGenerator,
  LoadgenError,
  type LoadOptionsInput,
  type LoadReport,
  SinkRelay,
  type SinkStats,
} from '@relayd/loadgen';
import {
  LoopbackAllocator,
  ProcessRegistry,
  type StandaloneTor,
  startStandaloneTor,
  withTimeout,
} from '@relayd/testnet';

const START_TIMEOUT_MS = 60_000;
const DESCRIPTOR_TIMEOUT_MS = 60_000;
const CLI = new URL('../../../packages/loadgen/dist/src/cli.js', import.meta.url).pathname;

const root = mkdtempSync(join(tmpdir(), 'relayd-loadgen-smoke-'));
const dataDir = join(root, 'bridge-data');
const registry = new ProcessRegistry();
let tor: StandaloneTor;
let sink: SinkRelay;
let orPort = 0;
let fingerprint: Uint8Array;
let ed25519Identity: Uint8Array;
let ntorOnionKey: Uint8Array;

function dataFileValue(name: string): string {
  return readFileSync(join(dataDir, name), 'latin1').trim().split(' ')[1]!;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  orPort = await new LoopbackAllocator().allocatePort('127.0.0.1');
  mkdirSync(dataDir, { mode: 0o700 });
  // startStandaloneTor adds a directory authority nobody runs (127.0.0.1:9).
  tor = startStandaloneTor({
    registry,
    dir: join(root, 'tor'),
    torrcLines: [
      `DataDirectory ${dataDir}`,
      'BridgeRelay 1',
      `ORPort 127.0.0.1:${orPort}`,
      'SocksPort 0',
      'AssumeReachable 1',
      'PublishServerDescriptor 0',
      'ExtendAllowPrivateAddresses 1',
      'ExitRelay 0',
      'Nickname relaydLoadgenSmoke',
      'ProtocolWarnings 1',
      'Log notice stdout',
    ],
  });
  await tor.waitForLog(/Opened OR listener connection \(ready\)/, START_TIMEOUT_MS, 'an open ORPort');
  await waitFor(
    () => existsSync(join(dataDir, 'fingerprint-ed25519')),
    'the fingerprint files',
    START_TIMEOUT_MS,
  );
  fingerprint = fromHex(dataFileValue('fingerprint'))!;
  ed25519Identity = fromBase64(dataFileValue('fingerprint-ed25519'))!;
  const ntorFile = decodeCurve25519KeypairFile(
    new Uint8Array(readFileSync(join(dataDir, 'keys', 'secret_onion_key_ntor'))),
    KeyTag.NTOR_ONION,
  );
  assert.ok(ntorFile.ok, 'tor wrote its ntor onion key');
  ntorOnionKey = ntorFile.value.publicKey;
  sink = await SinkRelay.start({ host: '127.0.0.1' });
});

after(async () => {
  // Every process this file started (tor, the command-line run) is stopped by its PID.
  await registry.stopAll();
  await sink?.close();
  rmSync(root, { recursive: true, force: true });
});

function load(options: Partial<LoadOptionsInput>, withNtorKey = true): Promise<LoadReport> {
  return new LoadGenerator({
    target: {
      address: '127.0.0.1',
      port: orPort,
      rsaIdentity: fingerprint,
      ed25519Identity,
      ...(withNtorKey ? { ntorOnionKey } : {}),
    },
    nextHop: sink.nextHop,
    bridgePid: tor.pid,
    durationMs: 60_000,
    drainTimeoutMs: 20_000,
    sampleIntervalMs: 200,
    progressIntervalMs: 0,
    ...options,
  }).run();
}

/** Sink stats once nothing has moved for a while (cells of the last run may still be on their way). */
async function settledSinkStats(): Promise<SinkStats> {
  let last = sink.stats;
  for (let stable = 0; stable < 3; ) {
    await new Promise((r) => setTimeout(r, 100));
    const now = sink.stats;
    const same =
      now.engine.relayCellsReceived === last.engine.relayCellsReceived &&
      now.engine.relayCellsSent === last.engine.relayCellsSent;
    stable = same ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/** What the sink saw during one run. */
function delta(before: SinkStats, after: SinkStats) {
  return {
    relayCellsReceived: after.engine.relayCellsReceived - before.engine.relayCellsReceived,
    relayCellsSent: after.engine.relayCellsSent - before.engine.relayCellsSent,
    bodyBytesServed: after.directory.bodyBytesServed - before.directory.bodyBytesServed,
    uploadsReleased: after.directory.uploadsReleased - before.directory.uploadsReleased,
  };
}

function assertComplete(report: LoadReport, circuits: number): void {
  assert.deepEqual(report.circuits.failures, {}, 'no circuit failed');
  assert.deepEqual(report.connections.failures, {}, 'no connection failed');
  assert.equal(report.circuits.launched, circuits);
  assert.equal(report.circuits.built, circuits);
  assert.equal(report.circuits.finished, circuits);
  assert.equal(report.accounting.complete, true);
}

/**
 * The sink's relay cell counts against the client's: backward exactly (the
 * client destroys a circuit only after the sink's last cell); forward all
 * but, at most, the SENDMEs for the sink's last DATA cells, which the
 * bridge drops with the circuit when the client's DESTROY overtakes them.
 */
function assertSinkAgrees(report: LoadReport, seen: ReturnType<typeof delta>): void {
  const { forward, backward, sendmes } = report.totals;
  assert.equal(seen.relayCellsSent, backward.relayCells - backward.extendCells);
  const toSink = forward.relayCells - forward.extendCells;
  assert.ok(
    seen.relayCellsReceived <= toSink &&
      seen.relayCellsReceived >= toSink - sendmes.circuitSent - sendmes.streamSent,
    `the sink received ${seen.relayCellsReceived} of ${toSink} relay cells`,
  );
  const { 'unknown-stream': _late = 0, ...violations } = sink.stats.engine.protocolViolations;
  assert.deepEqual(violations, {}, 'no protocol violation reached the sink');
}

describe('load generator against a real C tor bridge', { timeout: 300_000 }, () => {
  it('learns the ntor key from the descriptor, builds ntor circuits, and accounts for every byte', async () => {
    const before = await settledSinkStats();
    // The bridge serves its descriptor once it has built it; until then the fetch fails with DESCRIPTOR.
    let report: LoadReport | undefined;
    const deadline = Date.now() + DESCRIPTOR_TIMEOUT_MS;
    while (!report) {
      try {
        report = await load(
          {
            connections: 3,
            circuitsPerConnection: 4,
            maxCircuits: 24,
            downloadBytes: 600_000,
            uploadBytes: 550_000,
          },
          false,
        );
      } catch (error) {
        if (!(error instanceof LoadgenError && error.code === 'DESCRIPTOR') || Date.now() > deadline)
          throw error;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    assertComplete(report, 24);
    assert.equal(report.config.ntorOnionKeySource, 'descriptor');
    assert.equal(report.accounting.downloadBytesVerified, 24 * 600_000);
    assert.equal(report.accounting.uploadBytesAcknowledged, 24 * 550_000);
    // Over 1000 cells each way per circuit: both directions needed SENDMEs, and the sink's were authenticated.
    assert.ok(report.totals.sendmes.circuitSent >= 24 * 12);
    assert.ok(report.totals.sendmes.circuitReceived >= 24 * 11);
    const seen = delta(before, await settledSinkStats());
    assert.equal(seen.bodyBytesServed, 24 * 600_000);
    assert.equal(seen.uploadsReleased, 24);
    assertSinkAgrees(report, seen);
    const bridge = report.bridgeProcess;
    assert.ok(bridge, 'the bridge process was sampled');
    assert.equal(bridge.pid, tor.pid);
    assert.ok(bridge.samples >= 2 && bridge.rssBytesMax > 1024 * 1024 && !bridge.exited);
  });

  it('builds CREATE2 ntor v3 circuits through the bridge (the "circuit extend" verification C tor expects)', async () => {
    const before = await settledSinkStats();
    const report = await load({
      handshake: 'ntor-v3',
      extendHandshake: 'ntor',
      connections: 2,
      circuitsPerConnection: 3,
      maxCircuits: 12,
      downloadBytes: 100_000,
      uploadBytes: 100_000,
    });
    assertComplete(report, 12);
    assertSinkAgrees(report, delta(before, await settledSinkStats()));
  });

  it('builds CREATE_FAST circuits and pushes the forward load as DROP cells', async () => {
    const before = await settledSinkStats();
    const report = await load({
      handshake: 'fast',
      connections: 2,
      circuitsPerConnection: 2,
      maxCircuits: 8,
      uploadBytes: 400_000,
      uploadCells: 'drop',
    });
    assertComplete(report, 8);
    assert.equal(report.totals.forward.dropBytes, 8 * 400_000);
    assertSinkAgrees(report, delta(before, await settledSinkStats()));
  });

  it('runs for a duration at a circuit rate with a warm-up and leaves nothing unfinished', async () => {
    const report = await load({
      connections: 2,
      circuitsPerConnection: 10,
      circuitRate: 30,
      durationMs: 3_000,
      warmupMs: 1_000,
      downloadBytes: 50_000,
    });
    assert.deepEqual(report.circuits.failures, {});
    assert.equal(report.circuits.unfinished, 0);
    assert.equal(report.accounting.complete, true);
    assert.ok(report.circuits.launched > 30, `launched ${report.circuits.launched}`);
    assert.equal(report.window.measuredSeconds, 2);
    assert.ok(report.circuits.measured.built > 0 && report.throughput.backward.dataCells > 0);
  });

  it('does the same from the command line, with its own sink, and writes a JSON report', async () => {
    const stdoutPath = join(root, 'cli.stdout');
    const stderrPath = join(root, 'cli.stderr');
    const child = registry.spawn(
      'loadgen',
      process.execPath,
      [
        CLI,
        '--target',
        `127.0.0.1:${orPort}`,
        '--fingerprint',
        dataFileValue('fingerprint'),
        '--connections',
        '2',
        '--circuits-per-connection',
        '2',
        '--max-circuits',
        '8',
        '--download-bytes',
        '200000',
        '--upload-bytes',
        '100000',
        '--bridge-pid',
        String(tor.pid),
        '--sample-interval',
        '0.2',
        '--json',
        '-',
        '--quiet',
        '--check',
      ],
      { stdoutPath, stderrPath },
    );
    const status = (await withTimeout(child.exited, 120_000)) ?? (await child.stop());
    const code = status.code;
    const stdout = readFileSync(stdoutPath, 'utf8');
    const stderr = readFileSync(stderrPath, 'utf8');
    assert.equal(code, 0, `loadgen exited ${code}: ${stderr}`);
    const output = JSON.parse(stdout) as LoadReport & { sink: SinkStats };
    assertComplete(output, 8);
    assert.equal(output.config.ntorOnionKeySource, 'descriptor');
    assert.equal(output.sink.directory.bodyBytesServed, 8 * 200_000);
    assert.equal(output.sink.directory.uploadsReleased, 8);
    assert.ok(output.bridgeProcess && output.bridgeProcess.pid === tor.pid);
  });
});
