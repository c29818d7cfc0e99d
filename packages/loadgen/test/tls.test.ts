/**
 * The whole socket path on loopback: the load generator's default TLS
 * connector to a relayd bridge (RelayEngine behind acceptLinks, extending
 * with TlsChannelProvider) and on to a SinkRelay, every hop a real TLS link
 * handshake. Also the command line, driven through getCli.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock, toHex, utf8 } from '@relayd/common';
import { generateX25519, secureRandom } from '@relayd/crypto';
import { RelayEngine, systemScheduler } from '@relayd/engine';
import { generateKeys, type WorkerKeys, workerKeysFromSnapshot } from '@relayd/keys';
import { acceptLinks, type LinkListener, TlsChannelProvider } from '@relayd/net';
import {
  getCli,
  LoadGenerator,
  LoadgenError,
  type LoadReport,
  nextHopToJson,
  SinkMetrics,
  SinkRelay,
  UsageError,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'relayd-loadgen-tls-'));
let keys: WorkerKeys;
let bridge: RelayEngine;
let bridgeMetrics: SinkMetrics;
let listener: LinkListener;
let sink: SinkRelay;

before(async () => {
  keys = workerKeysFromSnapshot(generateKeys(join(root, 'bridge'), { nowMs: Date.now() }).workerSnapshot());
  bridgeMetrics = new SinkMetrics();
  bridge = new RelayEngine(
    { extendAllowPrivateAddresses: true },
    {
      identity: {
        rsaIdentityDigest: keys.rsaIdentity.publicKey.fingerprint(),
        ed25519Identity: keys.ed25519Identity,
      },
      onionKeys: { current: keys.ntorOnionKey },
      random: secureRandom,
      clock: systemClock,
      scheduler: systemScheduler,
      channelProvider: new TlsChannelProvider(),
      directoryService: { handle: async () => utf8('HTTP/1.0 404 Not found\r\n\r\n') },
      ephemeralKeypair: generateX25519,
      metrics: bridgeMetrics,
    },
  );
  listener = await acceptLinks({
    host: '127.0.0.1',
    port: 0,
    keys,
    onChannel: (channel) => bridge.adoptChannel(channel),
  });
  sink = await SinkRelay.start();
});

after(async () => {
  await sink?.close();
  await listener?.close();
  bridge?.close();
  rmSync(root, { recursive: true, force: true });
});

const target = () => ({
  address: '127.0.0.1',
  port: listener.port,
  rsaIdentity: keys.rsaIdentity.publicKey.fingerprint(),
  ntorOnionKey: keys.ntorOnionKey.publicKey,
});

describe('over TLS on loopback', { timeout: 60_000 }, () => {
  it('builds circuits through a relayd bridge to the sink and accounts for every byte', async () => {
    const before = sink.stats;
    const report = await new LoadGenerator({
      target: target(),
      nextHop: sink.nextHop,
      connections: 2,
      circuitsPerConnection: 3,
      maxCircuits: 9,
      downloadBytes: 300_000,
      uploadBytes: 200_000,
      progressIntervalMs: 0,
    }).run();
    assert.deepEqual(report.circuits.failures, {});
    assert.equal(report.circuits.finished, 9);
    assert.equal(report.accounting.complete, true);
    assert.equal(report.connections.opened, 2);
    assert.equal(report.connections.linkHandshakeMs.count, 2);
    // The link handshake proved the bridge's Ed25519 identity; nobody had to give it.
    assert.equal(
      report.config.ed25519Identity,
      Buffer.from(keys.ed25519Identity).toString('base64').replace(/=+$/, ''),
    );
    const after = sink.stats;
    assert.equal(after.directory.bodyBytesServed - before.directory.bodyBytesServed, 9 * 300_000);
    assert.equal(after.directory.uploadsReleased - before.directory.uploadsReleased, 9);
    assert.equal(after.engine.circuitsOpened.ntor, 9);
    assert.equal(after.linkHandshakeFailures, 0);
    assert.ok(report.loadgenProcess && report.loadgenProcess.samples >= 2);
  });

  it('refuses a bridge that proves another identity', async () => {
    const wrong = { ...target(), rsaIdentity: new Uint8Array(20).fill(7) };
    await assert.rejects(
      new LoadGenerator({ target: wrong, connections: 2, progressIntervalMs: 0 }).run(),
      (e: unknown) =>
        e instanceof LoadgenError && e.code === 'NO_CONNECTION' && /IDENTITY_MISMATCH \(2\)/.test(e.message),
    );
  });
});

describe('command line', { timeout: 60_000 }, () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
  };

  it('runs a load with the options it was given and writes the JSON report', async () => {
    const { out, io: cliIo } = io();
    const json = join(root, 'report.json');
    const sinkInfo = join(root, 'sink.json');
    writeFileSync(sinkInfo, JSON.stringify(nextHopToJson(sink.nextHop)));
    await getCli(
      [
        '--target',
        `127.0.0.1:${listener.port}`,
        '--fingerprint',
        toHex(keys.rsaIdentity.publicKey.fingerprint()),
        '--ntor-onion-key',
        Buffer.from(keys.ntorOnionKey.publicKey).toString('base64'),
        '--handshake',
        'fast',
        '--connections',
        '2',
        '--circuits-per-connection',
        '2',
        '--max-circuits',
        '6',
        '--download-bytes',
        '5000',
        '--upload-bytes',
        '3000',
        '--upload-cells',
        'drop',
        '--sink-info',
        sinkInfo,
        '--json',
        json,
        '--quiet',
        '--check',
      ],
      cliIo,
    ).parseAsync();
    const written = JSON.parse(readFileSync(json, 'utf8')) as LoadReport & { sink: unknown };
    assert.equal(written.config.handshake, 'fast');
    assert.equal(written.config.uploadCells, 'drop');
    assert.equal(written.config.connections, 2);
    assert.equal(written.circuits.finished, 6);
    assert.equal(written.accounting.complete, true);
    assert.equal(written.sink, null, 'the sink ran elsewhere');
    assert.match(
      out.join('\n'),
      /accounting: 30,000\/30,000 B down verified, 18,000\/18,000 B up acknowledged — complete/,
    );
  });

  it('runs a sink alone until interrupted and prints how to reach it', async () => {
    const { out, io: cliIo } = io();
    let interrupt!: () => void;
    const interrupted = new Promise<void>((resolve) => {
      interrupt = resolve;
    });
    const running = getCli(['sink', '--port', '0'], {
      ...cliIo,
      interrupted: () => interrupted,
    }).parseAsync();
    while (out.length === 0) await new Promise((r) => setTimeout(r, 10));
    const info = JSON.parse(out[0]!) as { address: string; port: number; fingerprint: string };
    assert.equal(info.address, '127.0.0.1');
    assert.ok(info.port > 0);
    assert.match(info.fingerprint, /^[0-9A-F]{40}$/);
    interrupt();
    await running;
    assert.equal(out.length, 2, 'the sink prints its counts when it stops');
  });

  it('reports bad command lines as usage errors', async () => {
    for (const argv of [
      ['--fingerprint', 'AB'.repeat(20)],
      ['--target', '127.0.0.1:1', '--fingerprint', 'AB'.repeat(20), '--handshake', 'tap'],
      ['--target', '127.0.0.1:1', '--fingerprint', 'AB'.repeat(20), '--no-such-option'],
    ]) {
      await assert.rejects(async () => getCli(argv, io().io).parseAsync(), UsageError, argv.join(' '));
    }
    await assert.rejects(
      async () => getCli(['--target', 'nowhere', '--fingerprint', 'AB'.repeat(20)], io().io).parseAsync(),
      (e: unknown) => e instanceof LoadgenError && e.code === 'BAD_OPTION',
    );
  });
});
