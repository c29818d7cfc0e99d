/**
 * The relay path over real TLS: the load generator's clients and its sink
 * relay (this process) against one relayd worker (`startWorker`, in a child
 * process of its own so its CPU time can be read from /proc). Circuits are
 * built with CREATE_FAST at the worker and extended with ntor to the sink;
 * each downloads and uploads a large amount, so the worker spends its time
 * relaying cells both ways. Reports the worker's CPU time per MB relayed.
 *
 * Run on demand (not a test):
 *   npx tsc -b test
 *   node test/dist/perf/worker-relay.bench.js [--seconds 6] [--connections 3] [--circuits 2] [--repeat 3]
 * Profile the worker (the profile is written when it exits):
 *   node test/dist/perf/worker-relay.bench.js --worker-flags="--cpu-prof --cpu-prof-dir=/tmp/worker-prof"
 *   node scripts/cpuprofile-top.mjs /tmp/worker-prof/*.cpuprofile
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fromBase64, fromHex, toBase64Unpadded, toHex, utf8 } from '@relayd/common';
import { parseConfig } from '@relayd/config';
import { generateKeys } from '@relayd/keys';
import { LoadGenerator, type LoadReport, SinkRelay } from '@relayd/loadgen';
import { startWorker, WORKER_START_DATA_VERSION } from '@relayd/worker';

interface WorkerInfo {
  readonly port: number;
  readonly fingerprint: string;
  readonly ed25519Identity: string;
  readonly ntorOnionKey: string;
}

/** Child mode: one worker on 127.0.0.1, its address and keys on stdout, until stdin closes or SIGTERM. */
async function serve(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'relayd-worker-bench-'));
  const store = generateKeys(join(root, 'data'), { nowMs: Date.now(), nickname: 'workerBench' });
  const parsed = parseConfig(
    `DataDirectory ${store.dataDir}\nNickname workerBench\nORPort 127.0.0.1:auto\nExtendAllowPrivateAddresses 1\n`,
  );
  if (!parsed.ok) throw new Error(`bad bench config: ${JSON.stringify(parsed.error)}`);
  const worker = await startWorker(
    {
      version: WORKER_START_DATA_VERSION,
      workerId: 1,
      keys: store.workerSnapshot(),
      config: parsed.value.config,
      publicAddresses: ['127.0.0.1'],
    },
    { directoryService: { handle: async () => utf8('HTTP/1.0 404 Not found\r\n\r\n') } },
  );
  const info: WorkerInfo = {
    port: worker.listeners[0]!.port,
    fingerprint: toHex(store.rsaIdentity.publicKey.fingerprint()),
    ed25519Identity: toBase64Unpadded(store.ed25519Identity),
    ntorOnionKey: toBase64Unpadded(store.ntorOnionKey.publicKey),
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  const stop = async () => {
    await worker.stop();
    rmSync(root, { recursive: true, force: true });
    // A normal exit, so --cpu-prof writes its profile.
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.stdin.once('end', () => void stop());
  process.stdin.resume();
}

function startChild(workerFlags: string[]): Promise<{ child: ChildProcess; info: WorkerInfo }> {
  const child = spawn(process.execPath, [...workerFlags, new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code}`)));
    // The worker's first JSON line (node flags such as --trace-gc print to stdout too).
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('{')) {
        clearTimeout(timer);
        resolve({ child, info: JSON.parse(line) as WorkerInfo });
      } else {
        process.stderr.write(`worker: ${line}\n`);
      }
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function summarise(report: LoadReport): string {
  const { forward, backward } = report.throughput;
  const megabytes =
    (forward.megabytesPerSecond + backward.megabytesPerSecond) * report.window.measuredSeconds;
  const bridge = report.bridgeProcess;
  const loadgen = report.loadgenProcess;
  const msPerMb = bridge && megabytes > 0 ? ((bridge.cpuSeconds * 1000) / megabytes).toFixed(1) : '?';
  return [
    `relayed ${megabytes.toFixed(0)} MB in ${report.window.measuredSeconds.toFixed(1)} s`,
    `(${forward.megabytesPerSecond.toFixed(1)} MB/s forward, ${backward.megabytesPerSecond.toFixed(1)} MB/s backward)`,
    `worker CPU ${bridge?.cpuPercentMean ?? '?'}% = ${msPerMb} ms per MB`,
    `loadgen+sink CPU ${loadgen?.cpuPercentMean ?? '?'}%`,
    `circuits ${report.circuits.finished} finished, ${report.circuits.failed} failed`,
  ].join('  ');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '6' },
      connections: { type: 'string', default: '3' },
      circuits: { type: 'string', default: '2' },
      'transfer-bytes': { type: 'string', default: '20000000' },
      repeat: { type: 'string', default: '3' },
      'worker-flags': { type: 'string', default: '' },
    },
  });
  if (values.serve) {
    await serve();
    return;
  }
  const workerFlags = values['worker-flags'].split(' ').filter((f) => f.length > 0);
  const { child, info } = await startChild(workerFlags);
  const sink = await SinkRelay.start({ host: '127.0.0.1' });
  try {
    console.log(
      `worker pid ${child.pid}: ${values.connections} connections × ${values.circuits} circuits, ` +
        `${values['transfer-bytes']} bytes each way per circuit, ${values.seconds} s runs`,
    );
    for (let i = 0; i < Number(values.repeat); i++) {
      const transfer = Number(values['transfer-bytes']);
      const report = await new LoadGenerator({
        target: {
          address: '127.0.0.1',
          port: info.port,
          rsaIdentity: fromHex(info.fingerprint)!,
          ed25519Identity: fromBase64(info.ed25519Identity)!,
          ntorOnionKey: fromBase64(info.ntorOnionKey)!,
        },
        nextHop: sink.nextHop,
        handshake: 'fast',
        extendHandshake: 'ntor',
        connections: Number(values.connections),
        circuitsPerConnection: Number(values.circuits),
        downloadBytes: transfer,
        uploadBytes: transfer,
        durationMs: Number(values.seconds) * 1000,
        warmupMs: 1000,
        drainTimeoutMs: 0,
        bridgePid: child.pid,
        sampleIntervalMs: 250,
        progressIntervalMs: 0,
      }).run();
      console.log(summarise(report));
    }
  } finally {
    await sink.close();
    await stopChild(child);
  }
}

await main();
