/**
 * The relay hot path, measured: relay cells through two engines in memory,
 * both ways, as a bridge relays them.
 *
 *   client ──DATA──► engine A "bridge" (decrypts its layer, passes on) ──► engine B "sink" (recognizes, drops)
 *   client ◄──DATA── engine A "bridge" (adds its layer)                ◄── engine B "sink" (originates, BEGIN_DIR)
 *
 * Phases: `forward` (an upload of N DATA cells to the sink), `backward` (a
 * directory response of N DATA cells from the sink), `both` (the two at
 * once). Each party (client, bridge, sink) runs in tasks of its own, so its
 * CPU time is measured separately; the transports cut deliveries into fresh
 * 16 KiB chunks as TLS reads do. With --expose-gc a second pass samples
 * memory around every task to estimate bytes allocated per cell.
 *
 * Run on demand (never part of the tests):
 *   npx tsc -b packages/engine
 *   node --expose-gc packages/engine/dist/bench/relay-path.bench.js [--cells 100000] [--repeat 3]
 *        [--phases forward,backward,both] [--json]
 * Profile (then open the .cpuprofile in Chrome DevTools, or summarise it
 * with scripts/cpuprofile-top.mjs):
 *   node --cpu-prof --cpu-prof-dir=/tmp/relay-prof packages/engine/dist/bench/relay-path.bench.js \
 *        --cells 300000 --phases both --no-alloc
 * Where the measured phases allocate (every sample, collected or not; summarise
 * with scripts/cpuprofile-top.mjs):
 *   node packages/engine/dist/bench/relay-path.bench.js --repeat 1 --no-alloc --heap-profile /tmp/relay
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ChannelCommand, parseIpAddress } from '@relayd/cells';
import type { Logger, Random } from '@relayd/common';
import { x25519KeypairFromRandom } from '@relayd/handshakes';
import {
  type DirectoryRequest,
  type DirectoryService,
  type EngineMetrics,
  type EstablishedChannel,
  noopEngineMetrics,
  RelayEngine,
} from '../src/index.js';
import { BenchClient, type SinkDescription } from './support/bench-client.js';
import { BenchLoop, benchTransportPair, calibrateAllocationSampling, Party } from './support/bench-loop.js';

const DATA_BYTES_PER_CELL = 498;

/** A fast, non-cryptographic Random: the bench measures the relay, not the padding source. */
class BenchRandom implements Random {
  private state = 0x2545f491;
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let x = this.state;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    this.state = x;
    return out;
  }
}

/** Counts relay cells an engine writes (both directions). */
class RelayCellCounter implements EngineMetrics {
  relayCellsSent = 0;
  relayCellsReceived = 0;
  onionskin = noopEngineMetrics.onionskin;
  circuitOpened = noopEngineMetrics.circuitOpened;
  circuitClosed = noopEngineMetrics.circuitClosed;
  channelOpened = noopEngineMetrics.channelOpened;
  channelClosed = noopEngineMetrics.channelClosed;
  createQueueWait = noopEngineMetrics.createQueueWait;
  paddingNegotiate = noopEngineMetrics.paddingNegotiate;
  extend = noopEngineMetrics.extend;
  directoryStream = noopEngineMetrics.directoryStream;
  protocolViolation(what: string): void {
    // A stream SENDME for the last cells of a response can cross the sink's END, as with real clients.
    if (what !== 'unknown-stream') throw new Error(`protocol violation in the benchmark: ${what}`);
  }
  cellReceived(command: number): void {
    if (command === ChannelCommand.RELAY || command === ChannelCommand.RELAY_EARLY) this.relayCellsReceived++;
  }
  cellSent(command: number): void {
    if (command === ChannelCommand.RELAY || command === ChannelCommand.RELAY_EARLY) this.relayCellsSent++;
  }
}

/** `/download/<bytes>`: that many zero bytes; `/upload`: never answered, so the stream takes DATA forever. */
class SinkDirectory implements DirectoryService {
  private zeros = new Uint8Array(0);
  handle(request: DirectoryRequest): Promise<Uint8Array> {
    const target = request.parsed.ok ? request.parsed.value.target : '';
    const download = /^\/download\/(\d+)$/.exec(target);
    if (download) {
      const length = Number(download[1]);
      if (this.zeros.length < length) this.zeros = new Uint8Array(length);
      return Promise.resolve(this.zeros.subarray(0, length));
    }
    if (target === '/upload') return new Promise(() => {});
    return Promise.reject(new Error(`unknown path ${target}`));
  }
}

interface World {
  readonly loop: BenchLoop;
  readonly parties: { readonly client: Party; readonly bridge: Party; readonly sink: Party };
  readonly client: BenchClient;
  readonly bridgeCounts: RelayCellCounter;
  readonly sinkCounts: RelayCellCounter;
}

async function buildWorld(): Promise<World> {
  const random = new BenchRandom();
  const parties = { client: new Party('client'), bridge: new Party('bridge'), sink: new Party('sink') };
  const loop = new BenchLoop([parties.client, parties.bridge, parties.sink]);
  const sinkKeys = { current: x25519KeypairFromRandom(random) };
  const sinkIdentity = { rsaIdentityDigest: random.bytes(20), ed25519Identity: random.bytes(32) };
  const sinkAddress = parseIpAddress('203.0.113.20');
  if (sinkAddress?.family !== 'ipv4') throw new Error('unreachable');
  const sinkCounts = new RelayCellCounter();
  const bridgeCounts = new RelayCellCounter();
  const common = { random, ephemeralKeypair: () => x25519KeypairFromRandom(random), logger: failLoudly };

  const sink = new RelayEngine(
    {},
    {
      ...common,
      identity: sinkIdentity,
      onionKeys: sinkKeys,
      clock: parties.sink,
      scheduler: parties.sink,
      channelProvider: { openChannel: () => Promise.reject(new Error('the sink does not extend')) },
      directoryService: new SinkDirectory(),
      metrics: sinkCounts,
    },
  );
  const bridge = new RelayEngine(
    {},
    {
      ...common,
      identity: { rsaIdentityDigest: random.bytes(20), ed25519Identity: random.bytes(32) },
      onionKeys: { current: x25519KeypairFromRandom(random) },
      clock: parties.bridge,
      scheduler: parties.bridge,
      channelProvider: {
        openChannel: async (): Promise<EstablishedChannel> => {
          const [near, far] = benchTransportPair(parties.bridge, parties.sink);
          const unauthenticated = { rsaIdentity: undefined, ed25519Identity: undefined };
          sink.adoptChannel({
            transport: far,
            peer: {
              linkVersion: 5,
              initiatedLocally: false,
              ...unauthenticated,
              remoteAddress: '198.51.100.1',
              remotePort: 40000,
            },
            leftover: new Uint8Array(0),
          });
          return {
            transport: near,
            peer: {
              linkVersion: 5,
              initiatedLocally: true,
              rsaIdentity: sinkIdentity.rsaIdentityDigest,
              ed25519Identity: sinkIdentity.ed25519Identity,
              remoteAddress: '203.0.113.20',
              remotePort: 9001,
            },
            leftover: new Uint8Array(0),
          };
        },
      },
      directoryService: new SinkDirectory(),
      metrics: bridgeCounts,
    },
  );

  const [near, far] = benchTransportPair(parties.client, parties.bridge);
  bridge.adoptChannel({
    transport: far,
    peer: {
      linkVersion: 5,
      initiatedLocally: false,
      rsaIdentity: undefined,
      ed25519Identity: undefined,
      remoteAddress: '192.0.2.1',
      remotePort: 50000,
    },
    leftover: new Uint8Array(0),
  });
  const client = new BenchClient(parties.client, near, random, 0x80000001);
  const sinkDescription: SinkDescription = {
    rsaIdentityDigest: sinkIdentity.rsaIdentityDigest,
    ntorOnionKey: sinkKeys.current.publicKey,
    specifiers: [
      { kind: 'ipv4', address: sinkAddress, port: 9001 },
      { kind: 'legacy-id', rsaIdentity: sinkIdentity.rsaIdentityDigest },
      { kind: 'ed25519-id', ed25519Identity: sinkIdentity.ed25519Identity },
    ],
  };
  await client.createFast(loop);
  await client.extend(loop, sinkDescription);
  return { loop, parties, client, bridgeCounts, sinkCounts };
}

/** Anything the engines report at warn or error is a broken benchmark. */
const failLoudly: Logger = {
  error: (fields, message) => console.error('engine error:', message, fields),
  warn: (fields, message) => console.error('engine warning:', message, fields),
  notice() {},
  info() {},
  debug() {},
  child: () => failLoudly,
};

type Phase = 'forward' | 'backward' | 'both';

let nextStreamId = 1;

/** Runs one phase of `cells` DATA cells per direction and waits until every cell arrived. */
async function runPhase(world: World, phase: Phase, cells: number): Promise<void> {
  const { client, loop, sinkCounts } = world;
  const waits: Array<() => boolean> = [];
  if (phase !== 'backward') {
    const streamId = nextStreamId++;
    client.request(streamId, '/upload');
    loop.runUntilIdle();
    const target = sinkCounts.relayCellsReceived + cells;
    client.startUpload(streamId, cells);
    waits.push(() => client.uploadDone && sinkCounts.relayCellsReceived >= target);
  }
  if (phase !== 'forward') {
    const streamId = nextStreamId++;
    client.request(streamId, `/download/${cells * DATA_BYTES_PER_CELL}`);
    waits.push(() => client.streamEnded(streamId));
  }
  await loop.runUntil(() => waits.every((done) => done()), `the ${phase} phase`);
}

interface PhaseResult {
  phase: Phase;
  dataCells: number;
  bridgeRelayCells: number;
  wallMs: number;
  processCpuMs: number;
  cpuMs: { client: number; bridge: number; sink: number };
  gcCount: number;
  gcMs: number;
  /** Bytes allocated per bridge relay cell, by party (allocation pass only). */
  allocated?: { client: number; bridge: number; sink: number; bridgeHeap: number; bridgeExternal: number };
}

const gcEntries: Array<{ startTime: number; duration: number }> = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    gcEntries.push({ startTime: entry.startTime, duration: entry.duration });
}).observe({ entryTypes: ['gc'] });

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Samples every allocation (including objects the GC has since collected)
 * while `work` runs, and writes a .heapprofile for Chrome DevTools.
 */
async function withAllocationSampling(file: string, work: () => Promise<void>): Promise<void> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await work();
  const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
  console.log(`allocation profile written to ${file}`);
}

let heapProfileFile: string | undefined;

async function measure(phase: Phase, cells: number, sampleAllocations: boolean): Promise<PhaseResult> {
  const world = await buildWorld();
  // Warm up the JIT on the same world, then measure.
  await runPhase(world, phase, Math.min(cells, 5_000));
  collectGarbage();
  const all = Object.values(world.parties);
  for (const party of all) party.resetCounters();
  world.loop.sampleAllocations = sampleAllocations;
  const relayBefore = world.bridgeCounts.relayCellsSent;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  if (heapProfileFile && !sampleAllocations) {
    await withAllocationSampling(`${heapProfileFile}.${phase}.heapprofile`, () =>
      runPhase(world, phase, cells),
    );
  } else {
    await runPhase(world, phase, cells);
  }
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  // GC entries reach the observer a little later.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const gcs = gcEntries.filter((e) => e.startTime >= start && e.startTime <= start + wallMs);
  const bridgeRelayCells = world.bridgeCounts.relayCellsSent - relayBefore;
  const { client, bridge, sink } = world.parties;
  const perCell = (party: Party) => (party.heapBytes + party.externalBytes) / bridgeRelayCells;
  return {
    phase,
    dataCells: phase === 'both' ? 2 * cells : cells,
    bridgeRelayCells,
    wallMs,
    processCpuMs: (cpu.user + cpu.system) / 1000,
    cpuMs: { client: client.cpuMs, bridge: bridge.cpuMs, sink: sink.cpuMs },
    gcCount: gcs.length,
    gcMs: gcs.reduce((sum, e) => sum + e.duration, 0),
    ...(sampleAllocations
      ? {
          allocated: {
            client: perCell(client),
            bridge: perCell(bridge),
            sink: perCell(sink),
            bridgeHeap: bridge.heapBytes / bridgeRelayCells,
            bridgeExternal: bridge.externalBytes / bridgeRelayCells,
          },
        }
      : {}),
  };
}

function formatTiming(r: PhaseResult): string {
  const megabytes = (r.dataCells * DATA_BYTES_PER_CELL) / 1e6;
  const us = (ms: number) => ((ms * 1000) / r.bridgeRelayCells).toFixed(2).padStart(6);
  return [
    r.phase.padEnd(8),
    `${Math.round(r.bridgeRelayCells / (r.wallMs / 1000))
      .toLocaleString('en')
      .padStart(9)} cells/s`,
    `cpu/cell ${us(r.processCpuMs)} us (bridge ${us(r.cpuMs.bridge)}, sink ${us(r.cpuMs.sink)}, client ${us(r.cpuMs.client)})`,
    `bridge ${(r.cpuMs.bridge / megabytes).toFixed(1).padStart(5)} ms/MB`,
    `gc ${String(r.gcCount).padStart(4)} × ${r.gcMs.toFixed(0).padStart(4)} ms`,
  ].join('  ');
}

function formatAllocation(r: PhaseResult): string {
  const a = r.allocated!;
  const b = (n: number) => n.toFixed(0).padStart(5);
  return `${r.phase.padEnd(8)}  allocated per relayed cell: bridge ${b(a.bridge)} B (heap ${b(a.bridgeHeap)}, ArrayBuffer ${b(a.bridgeExternal)}), sink ${b(a.sink)} B, client ${b(a.client)} B`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cells: { type: 'string', default: '100000' },
      repeat: { type: 'string', default: '3' },
      phases: { type: 'string', default: 'forward,backward,both' },
      'no-alloc': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'heap-profile': { type: 'string' },
    },
  });
  heapProfileFile = values['heap-profile'];
  const cells = Number(values.cells);
  const repeat = Number(values.repeat);
  const phases = values.phases.split(',') as Phase[];
  for (const phase of phases) {
    if (!['forward', 'backward', 'both'].includes(phase)) throw new Error(`unknown phase ${phase}`);
  }
  const results: PhaseResult[] = [];
  console.log(
    `relay path: ${cells} DATA cells per direction per phase, ${repeat} runs, node ${process.version}`,
  );
  for (const phase of phases) {
    for (let i = 0; i < repeat; i++) {
      const result = await measure(phase, cells, false);
      results.push(result);
      console.log(formatTiming(result));
    }
  }
  const canSample = typeof (globalThis as { gc?: unknown }).gc === 'function';
  if (!values['no-alloc']) {
    if (!canSample) {
      console.log('(allocation pass skipped: run with --expose-gc)');
    } else {
      calibrateAllocationSampling();
      for (const phase of phases) {
        const result = await measure(phase, Math.min(cells, 50_000), true);
        results.push(result);
        console.log(formatAllocation(result));
      }
    }
  }
  if (values.json) console.log(JSON.stringify(results));
}

await main();
