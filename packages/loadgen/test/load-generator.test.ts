/**
 * The load generator's client against two relayd engines connected in
 * memory (a bridge, and the sink as its next hop). What is checked is the
 * client's correctness, not speed: every circuit built and finished, every
 * byte verified, the relay cells each side counted agreeing exactly, the
 * SENDMEs the client sent being the ones the spec asks for (and accepted:
 * the sink closes a circuit on a wrong SENDME v1 tag), no protocol
 * violation anywhere, and failures reported by reason.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RELAY_DATA_MAX_LENGTH } from '@relayd/cells';
import {
  downloadPath,
  httpGetHead,
  LoadGenerator,
  type LoadOptionsInput,
  type LoadReport,
  releasePath,
  uploadPath,
} from '../src/index.js';
import { FakeTime } from './support/fake-time.js';
import { type MemoryNetwork, memoryNetwork, until } from './support/memory-network.js';

const networks: MemoryNetwork[] = [];
after(() => {
  for (const n of networks) n.close();
});

function network(options: Parameters<typeof memoryNetwork>[0] = {}): MemoryNetwork {
  const n = memoryNetwork(options);
  networks.push(n);
  return n;
}

async function run(
  net: MemoryNetwork,
  options: Partial<LoadOptionsInput>,
  withNtorKey = true,
): Promise<LoadReport> {
  const generator = new LoadGenerator(
    {
      target: { ...net.target, ...(withNtorKey ? { ntorOnionKey: net.bridgeNtorKey } : {}) },
      nextHop: net.nextHop,
      durationMs: 20_000,
      drainTimeoutMs: 5_000,
      progressIntervalMs: 0,
      ...options,
    },
    { connector: net.connector },
  );
  return generator.run();
}

/** Cells the sink's directory service answer occupies on the wire: head plus body in 498-byte chunks. */
function responseCells(bodyBytes: number): number {
  const head = `HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bodyBytes}\r\n\r\n`;
  return Math.ceil((head.length + bodyBytes) / RELAY_DATA_MAX_LENGTH);
}

/**
 * Relay cells each side counted must agree. Backward exactly: the client
 * tears a circuit down only after the sink's last cell. Forward, every
 * cell but the SENDMEs the client sent for the sink's last DATA cells:
 * its DESTROY follows them at once, and a relay drops the cells still
 * queued on a circuit it destroys (as C tor does).
 */
function assertCellsAgree(net: MemoryNetwork, report: LoadReport): void {
  const sink = net.sinkMetrics.counts;
  const { forward, backward, sendmes } = report.totals;
  assert.equal(
    sink.relayCellsSent,
    backward.relayCells - backward.extendCells,
    'backward relay cells from the sink',
  );
  const forwardToSink = forward.relayCells - forward.extendCells;
  assert.ok(
    sink.relayCellsReceived <= forwardToSink &&
      sink.relayCellsReceived >= forwardToSink - sendmes.circuitSent - sendmes.streamSent,
    `forward relay cells at the sink: ${sink.relayCellsReceived} of ${forwardToSink} sent`,
  );
  // A stream SENDME for the sink's last DATA cells can cross the sink's END, which finds the stream
  // gone (C tor drops such a SENDME the same way); nothing else may be out of place.
  const { 'unknown-stream': lateSendmes = 0, ...violations } = sink.protocolViolations;
  assert.deepEqual(violations, {}, 'no protocol violation at the sink');
  assert.ok(lateSendmes <= sendmes.streamSent, `${lateSendmes} stream cells for closed streams`);
  assert.deepEqual(net.bridgeMetrics.counts.protocolViolations, {}, 'no protocol violation at the bridge');
}

function assertAllFinished(report: LoadReport, circuits: number): void {
  assert.deepEqual(report.circuits.failures, {});
  assert.equal(report.circuits.launched, circuits);
  assert.equal(report.circuits.created, circuits);
  assert.equal(report.circuits.built, circuits);
  assert.equal(report.circuits.finished, circuits);
  assert.equal(report.circuits.unfinished, 0);
  assert.equal(report.accounting.complete, true);
}

describe('load generator against in-memory engines', { timeout: 120_000 }, () => {
  it('builds every circuit (CREATE2 ntor + EXTEND2 ntor) and accounts for every byte both ways', async () => {
    const net = network();
    // Over 1000 cells each way per circuit: progress needs SENDMEs in both directions.
    const down = 600_000;
    const up = 550_000;
    const report = await run(net, {
      connections: 3,
      circuitsPerConnection: 4,
      maxCircuits: 12,
      downloadBytes: down,
      uploadBytes: up,
    });
    assertAllFinished(report, 12);
    assert.equal(report.connections.opened, 3);
    assert.equal(report.accounting.downloadBytesVerified, 12 * down);
    assert.equal(report.accounting.uploadBytesAcknowledged, 12 * up);
    assert.equal(net.sinkDirectory.counts.bodyBytesServed, 12 * down);
    assert.equal(net.sinkDirectory.counts.downloads, 12);
    assert.equal(net.sinkDirectory.counts.uploadsHeld, 12);
    assert.equal(net.sinkDirectory.counts.uploadsReleased, 12);
    assert.equal(net.sinkDirectory.heldUploads, 0);
    assert.equal(net.sinkMetrics.counts.circuitsOpened.ntor, 12);
    assert.equal(net.bridgeMetrics.counts.circuitsOpened.ntor, 12);
    assertCellsAgree(net, report);

    // Backward: per circuit, the download answer plus the two empty upload/release answers.
    const downCells = responseCells(down);
    const emptyCells = 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'.length <= RELAY_DATA_MAX_LENGTH ? 1 : 2;
    const backwardDataPerCircuit = downCells + 2 * emptyCells;
    assert.equal(report.totals.backward.dataCells, 12 * backwardDataPerCircuit);
    // One SENDME v1 per 100 DATA cells from the sink on each circuit; one stream SENDME per 50 on the download.
    assert.equal(report.totals.sendmes.circuitSent, 12 * Math.floor(backwardDataPerCircuit / 100));
    assert.equal(report.totals.sendmes.streamSent, 12 * Math.floor(downCells / 50));
    // Forward: three request heads and the upload; the sink acknowledged every 100th with a tag we checked.
    const forwardDataPerCircuit = 3 + Math.ceil(up / RELAY_DATA_MAX_LENGTH);
    assert.equal(report.totals.forward.dataCells, 12 * forwardDataPerCircuit);
    const token = '0'.repeat(16);
    const heads =
      httpGetHead(downloadPath(down)).length +
      httpGetHead(uploadPath(token)).length +
      httpGetHead(releasePath(token)).length;
    assert.equal(report.totals.forward.dataBytes, 12 * (up + heads));
    assert.equal(report.totals.sendmes.circuitReceived, 12 * Math.floor(forwardDataPerCircuit / 100));
    assert.equal(
      report.totals.sendmes.streamReceived,
      12 * Math.floor((1 + Math.ceil(up / RELAY_DATA_MAX_LENGTH)) / 50),
    );
    // Every circuit is gone from both engines once the run is over.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(net.bridge.stats.circuits, 0);
    assert.equal(net.sink.stats.circuits, 0);
  });

  for (const [create, extend] of [
    ['ntor-v3', 'ntor-v3'],
    ['fast', 'ntor'],
    ['ntor', 'ntor-v3'],
  ] as const) {
    it(`builds circuits with ${create} to the bridge and ${extend} to the sink`, async () => {
      const net = network();
      const report = await run(net, {
        connections: 2,
        circuitsPerConnection: 3,
        maxCircuits: 12,
        handshake: create,
        extendHandshake: extend,
        downloadBytes: 20_000,
        uploadBytes: 10_000,
      });
      assertAllFinished(report, 12);
      const label = (h: string) => (h === 'ntor-v3' ? 'ntor_v3' : h);
      assert.equal(net.bridgeMetrics.counts.circuitsOpened[label(create)], 12);
      assert.equal(net.sinkMetrics.counts.circuitsOpened[label(extend)], 12);
      assert.equal(report.circuits.extendMs.count, 12);
      assertCellsAgree(net, report);
    });
  }

  it('sends the forward load as DROP cells with barriers when asked', async () => {
    const net = network();
    const up = 700_000; // three DROP batches of 500 cells, the last one short
    const report = await run(net, {
      connections: 1,
      circuitsPerConnection: 4,
      maxCircuits: 4,
      uploadBytes: up,
      uploadCells: 'drop',
    });
    assertAllFinished(report, 4);
    const dropCells = Math.ceil(up / RELAY_DATA_MAX_LENGTH);
    assert.equal(report.totals.forward.dropCells, 4 * dropCells);
    assert.equal(report.totals.forward.dropBytes, 4 * up);
    assert.equal(report.accounting.uploadBytesAcknowledged, 4 * up);
    // One barrier request (GET /loadgen/bytes/0) per batch.
    assert.equal(net.sinkDirectory.counts.downloads, 4 * Math.ceil(dropCells / 500));
    assertCellsAgree(net, report);
  });

  it('measures creation alone on one-hop circuits (no sink)', async () => {
    const net = network();
    const report = await run(net, {
      nextHop: undefined,
      connections: 2,
      circuitsPerConnection: 5,
      maxCircuits: 40,
      handshake: 'fast',
    });
    assertAllFinished(report, 40);
    assert.equal(report.circuits.extendMs.count, 0);
    assert.equal(report.circuits.createMs.count, 40);
    assert.equal(report.totals.forward.relayCells, 0);
    assert.equal(net.bridgeMetrics.counts.circuitsOpened.fast, 40);
    assert.equal(net.sinkMetrics.counts.createsReceived, 0);
  });

  it('learns the bridge ntor key from its verified descriptor when none is given', async () => {
    const net = network();
    const report = await run(net, { maxCircuits: 3, circuitsPerConnection: 3, downloadBytes: 1_000 }, false);
    assertAllFinished(report, 3);
    assert.equal(report.config.ntorOnionKeySource, 'descriptor');
    assert.deepEqual(net.bridgeDirectory.requests, ['/tor/server/authority']);
  });

  it('keeps to the circuit rate and measures only after the warm-up', async () => {
    const net = network();
    const time = new FakeTime();
    const generator = new LoadGenerator(
      {
        target: { ...net.target, ntorOnionKey: net.bridgeNtorKey },
        connections: 2,
        circuitsPerConnection: 20,
        circuitRate: 40,
        durationMs: 1_500,
        warmupMs: 500,
        handshake: 'ntor',
        progressIntervalMs: 0,
      },
      { connector: net.connector, clock: time, scheduler: time },
    );
    const running = generator.run();
    // Time stands still while the bridge answers; it moves only once every circuit launched so far is done.
    const idle = (): boolean => {
      time.runDeferred();
      return generator.progress().phase === 'running' && generator.progress().circuitsActive === 0;
    };
    for (let elapsedMs = 0; elapsedMs < 1_500; elapsedMs += 25) {
      await until(idle, `the circuits launched by ${elapsedMs} ms to finish`);
      // 40/s with one token at the start: one launch at 0 ms and one every 25 ms after.
      assert.equal(generator.stats.circuits.launched, elapsedMs / 25 + 1, `launched by ${elapsedMs} ms`);
      time.advance(25);
    }
    const report = await running;
    // 40/s for 1.5 s; the launch due at 1500 ms finds the run over.
    assert.equal(report.circuits.launched, 60);
    assert.equal(report.circuits.created, 60);
    assert.equal(report.circuits.finished, 60);
    assert.equal(report.circuits.failed, 0);
    // The measured window is the 1 s after the warm-up; it holds the circuits launched from 500 ms on.
    assert.equal(report.window.measuredSeconds, 1);
    assert.equal(report.window.runSeconds, 1.5);
    assert.equal(report.circuits.measured.created, 40);
    assert.equal(report.circuits.createsPerSecond, 40);
  });

  it('reports failures by reason: a wrong onion key for the bridge', async () => {
    const net = network();
    const generator = new LoadGenerator(
      {
        target: { ...net.target, ntorOnionKey: net.nextHop.ntorOnionKey },
        nextHop: net.nextHop,
        maxCircuits: 5,
        circuitsPerConnection: 5,
        progressIntervalMs: 0,
      },
      { connector: net.connector },
    );
    const report = await generator.run();
    assert.equal(report.circuits.failed, 5);
    assert.deepEqual(report.circuits.failures, { 'creating/destroy-PROTOCOL': 5 });
    assert.equal(report.accounting.complete, false);
  });

  it('reports failures by reason: a next hop that cannot be reached', async () => {
    const net = network({ nextHopOverride: { port: 9999 } });
    const report = await run(net, { maxCircuits: 4, circuitsPerConnection: 2, downloadBytes: 100 });
    assert.equal(report.circuits.failed, 4);
    const reasons = Object.keys(report.circuits.failures);
    assert.equal(reasons.length, 1);
    assert.match(reasons[0]!, /^extending\/(destroy|truncated)-/);
    assert.equal(report.circuits.created, 4);
    assert.equal(report.circuits.built, 0);
  });

  it('fails a circuit whose sink answer stalls, by timeout', async () => {
    const net = network();
    // Hold the sink's answers: the upload is never released because its release never gets through.
    net.sinkDirectory.handle = () => new Promise<Uint8Array>(() => {});
    const report = await run(net, {
      maxCircuits: 2,
      circuitsPerConnection: 2,
      downloadBytes: 1_000,
      stallTimeoutMs: 300,
    });
    assert.deepEqual(report.circuits.failures, { 'open/stalled': 2 });
  });

  it('stops when asked and leaves running circuits as unfinished after the drain time', async () => {
    const net = network();
    net.sinkDirectory.handle = () => new Promise<Uint8Array>(() => {});
    const time = new FakeTime();
    const generator = new LoadGenerator(
      {
        target: { ...net.target, ntorOnionKey: net.bridgeNtorKey },
        nextHop: net.nextHop,
        circuitsPerConnection: 3,
        downloadBytes: 1_000,
        drainTimeoutMs: 200,
        progressIntervalMs: 0,
      },
      { connector: net.connector, clock: time, scheduler: time },
    );
    let ended = false;
    const running = generator.run().finally(() => {
      ended = true;
    });
    // All three circuits are built and wait for a download the sink never answers.
    await until(() => {
      time.runDeferred();
      return generator.stats.circuits.built === 3;
    }, 'the three circuits to be built');
    time.advance(300);
    generator.stop();
    assert.equal(generator.progress().phase, 'draining');
    // The drain time runs from the stop: one millisecond short of it, the circuits are still waited for.
    time.advance(199);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ended, false);
    assert.equal(generator.progress().circuitsActive, 3);
    time.advance(1);
    const report = await running;
    assert.equal(report.circuits.launched, 3);
    assert.equal(report.circuits.built, 3);
    assert.equal(report.circuits.finished, 0);
    assert.equal(report.circuits.unfinished, 3);
    assert.deepEqual(report.circuits.failures, {});
    assert.equal(report.accounting.complete, false);
    assert.equal(report.window.measuredSeconds, 0.3);
    assert.equal(report.window.runSeconds, 0.5);
  });
});
