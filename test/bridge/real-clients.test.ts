/**
 * relayd as the bridge of real tor clients, end to end, on the private
 * network of real C tor relays (@relayd/testnet):
 *
 * - relayd runs as its own process (`node bin/relayd -f torrc`), started and
 *   stopped by PID through the network's ProcessRegistry, with the torrc an
 *   operator would write (TestingTorNetwork, the network's DirAuthority
 *   lines, PublishServerDescriptor 0);
 * - it writes its fingerprint, bridge line and signed documents to its
 *   DataDirectory, serves the descriptor over BEGIN_DIR, and python3-stem
 *   validates both documents and their signatures;
 * - three tor clients with only relayd's bridge line bootstrap at once and
 *   download the payload through relayd → middle → exit with the right
 *   SHA-256, while a hostile client breaks the protocol ten ways on other
 *   connections, each refused with the reason the engine uses;
 * - the same three-client run through a C tor bridge of the same network,
 *   for the side-by-side numbers (reported, not asserted);
 * - SIGTERM stops relayd cleanly with exit status 0.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { DestroyReason } from '@relayd/cells';
import { fromBase64, fromHex } from '@relayd/common';
import { RELAYD_PROTOCOL_LINE } from '@relayd/supervisor';
import {
  type ClientNode,
  isPidAlive,
  type RelaydBridgeNode,
  startNetwork,
  startRelaydBridge,
  type TestNetwork,
} from '@relayd/testnet';
import { LinkClient, type RelayTarget } from '../support/link-client.js';
import { type ProbeOutcome, runHostileProbes } from './hostile-client.js';

const CLIENTS = 3;
const PAYLOAD_BYTES = 16 * 1024 * 1024;
const BOOTSTRAP_TIMEOUT_MS = 90_000;
const DOWNLOAD_TIMEOUT_MS = 120_000;
const PYTHON = '/usr/bin/python3';

const STEM_SCRIPT = `
import sys, json
from stem.descriptor.server_descriptor import RelayDescriptor
from stem.descriptor.extrainfo_descriptor import RelayExtraInfoDescriptor
out = {}
try:
    d = RelayDescriptor(open(sys.argv[1], 'rb').read(), validate=True)
    d.certificate.validate(d)
    out['descriptor'] = {
        'nickname': d.nickname, 'fingerprint': d.fingerprint, 'address': d.address, 'or_port': d.or_port,
        'ed25519_master_key': d.ed25519_master_key, 'extra_info_digest': d.extra_info_digest,
        'extra_info_sha256_digest': d.extra_info_sha256_digest, 'bridge_distribution': d.bridge_distribution,
        'platform': d.platform.decode('utf-8') if d.platform else None,
        'protocols': {k: sorted(v) for k, v in d.protocols.items()},
        'tunnelled_dir_server': d.allow_tunneled_dir_requests,
    }
except Exception as e:
    out['descriptor_error'] = repr(e)
try:
    e = RelayExtraInfoDescriptor(open(sys.argv[2], 'rb').read(), validate=True)
    out['extra_info'] = {
        'nickname': e.nickname, 'fingerprint': e.fingerprint, 'digest': e.digest(),
        'sha256': e.digest('SHA256', 'BASE64'), 'transports': list(e.transport.keys()),
    }
except Exception as ex:
    out['extra_info_error'] = repr(ex)
print(json.dumps(out))
`;

function stemAvailable(): boolean {
  return (
    spawnSync(PYTHON, ['-c', 'import stem.descriptor.server_descriptor, cryptography'], { timeout: 30_000 })
      .status === 0
  );
}

interface RunNumbers {
  readonly bootstrapMs: number[];
  readonly downloadMs: number[];
  readonly mbPerSecond: number[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function describeRun(label: string, run: RunNumbers): string {
  const list = (xs: readonly number[], digits: number) => xs.map((x) => x.toFixed(digits)).join(', ');
  return (
    `${label}: bootstrap ${list(run.bootstrapMs, 0)} ms (median ${median(run.bootstrapMs).toFixed(0)}); ` +
    `${PAYLOAD_BYTES / 1048576} MiB download ${list(run.downloadMs, 0)} ms, ${list(run.mbPerSecond, 1)} MB/s ` +
    `(median ${median(run.mbPerSecond).toFixed(1)} MB/s)`
  );
}

/** Starts `CLIENTS` tor clients on `bridgeLine` at once, waits for their bootstrap, downloads in parallel. */
async function clientsThrough(
  network: TestNetwork,
  bridgeLine: string,
  whileDownloading: () => Promise<void> = async () => {},
): Promise<{ clients: ClientNode[]; run: RunNumbers }> {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, () => network.startClient({ bridgeLines: [bridgeLine] })),
  );
  const bootstrapMs = await Promise.all(clients.map((c) => c.waitForBootstrap(BOOTSTRAP_TIMEOUT_MS)));
  const [downloads] = await Promise.all([
    Promise.all(clients.map((c) => c.download(network.payload.url, DOWNLOAD_TIMEOUT_MS))),
    whileDownloading(),
  ]);
  for (const [i, download] of downloads.entries()) {
    assert.equal(download.status, 200);
    assert.equal(download.body.length, network.payload.sizeBytes, `${clients[i]!.nickname} got every byte`);
    assert.equal(
      download.sha256Hex,
      network.payload.sha256Hex,
      `${clients[i]!.nickname} got the right bytes`,
    );
  }
  return {
    clients,
    run: {
      bootstrapMs,
      downloadMs: downloads.map((d) => d.elapsedMs),
      mbPerSecond: downloads.map((d) => d.body.length / 1e6 / (d.elapsedMs / 1000)),
    },
  };
}

describe('relayd as the bridge of real tor clients', { timeout: 420_000 }, () => {
  let network: TestNetwork | undefined;
  let relayd: RelaydBridgeNode;
  let target: RelayTarget;
  let relaydRun: RunNumbers | undefined;

  before(async () => {
    network = await startNetwork({ payloadBytes: PAYLOAD_BYTES });
    relayd = await startRelaydBridge(network);
    const ed25519 = readFileSync(join(relayd.dataDir, 'fingerprint-ed25519'), 'latin1').trim().split(' ')[1]!;
    target = {
      address: relayd.address,
      port: relayd.orPort,
      rsaIdentity: fromHex(relayd.fingerprint)!,
      ed25519Identity: fromBase64(ed25519)!,
    };
  });

  after(async () => {
    // Also runs after a failure: relayd and every tor process are stopped by PID.
    await network?.close();
  });

  it('writes its fingerprint, bridge line and signed documents to the DataDirectory', async (t: TestContext) => {
    t.diagnostic(`relayd ready ${relayd.readyMs} ms after its start`);
    const dataFile = (name: string) => readFileSync(join(relayd.dataDir, name), 'latin1');
    assert.equal(dataFile('fingerprint'), `${relayd.nickname} ${relayd.fingerprint}\n`);
    assert.equal(
      dataFile('bridge-lines.txt'),
      `Bridge ${relayd.address}:${relayd.orPort} ${relayd.fingerprint}\n`,
    );
    assert.equal(relayd.bridgeLine, `Bridge ${relayd.address}:${relayd.orPort} ${relayd.fingerprint}`);
    const descriptor = dataFile('server-descriptor');
    assert.match(
      descriptor,
      new RegExp(`^router ${relayd.nickname} ${relayd.address.replace(/\./g, '\\.')} ${relayd.orPort} 0 0\n`),
    );
    assert.ok(
      descriptor.includes(`\nproto ${RELAYD_PROTOCOL_LINE}\n`),
      'the proto line lists what relayd implements',
    );
    assert.equal(
      RELAYD_PROTOCOL_LINE,
      'Cons=1-2 Desc=1-2 DirCache=1 FlowCtrl=1 Link=3-5 LinkAuth=3 Microdesc=1-2 Relay=2-4',
    );
    assert.ok(descriptor.includes('\nbridge-distribution-request any\n'));
    assert.ok(dataFile('extra-info').startsWith(`extra-info ${relayd.nickname} ${relayd.fingerprint}\n`));
    // The directory cache is written to disk just after it is complete.
    const cached = ['cached-microdesc-consensus', 'cached-certs', 'cached-microdescs'];
    const deadline = Date.now() + 10_000;
    while (!cached.every((name) => existsSync(join(relayd.dataDir, name))) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const name of cached) assert.ok(existsSync(join(relayd.dataDir, name)), `${name} was written`);
  });

  it('serves that descriptor over BEGIN_DIR, and stem validates it and the extra-info with their signatures', {
    skip: !stemAvailable() && 'python3-stem is not installed',
  }, async () => {
    const client = await LinkClient.open(target);
    let response: string;
    try {
      response = Buffer.from(await client.fetchDirectory('/tor/server/authority')).toString('latin1');
    } finally {
      client.close();
    }
    const [head, body] = [
      response.slice(0, response.indexOf('\r\n\r\n')),
      response.slice(response.indexOf('\r\n\r\n') + 4),
    ];
    assert.match(head, /^HTTP\/1\.0 200 OK/);
    const onDisk = readFileSync(join(relayd.dataDir, 'server-descriptor'), 'latin1');
    assert.equal(body, onDisk, 'BEGIN_DIR serves the descriptor written to the DataDirectory');

    const script = join(relayd.dataDir, '..', 'stem-check.py');
    writeFileSync(script, STEM_SCRIPT);
    const out = JSON.parse(
      execFileSync(
        PYTHON,
        [script, join(relayd.dataDir, 'server-descriptor'), join(relayd.dataDir, 'extra-info')],
        {
          timeout: 60_000,
        },
      ).toString(),
    );
    assert.equal(out.descriptor_error, undefined);
    assert.equal(out.extra_info_error, undefined);
    const d = out.descriptor;
    assert.equal(d.nickname, relayd.nickname);
    assert.equal(d.fingerprint, relayd.fingerprint);
    assert.equal(d.address, relayd.address);
    assert.equal(d.or_port, relayd.orPort);
    assert.equal(
      d.ed25519_master_key,
      Buffer.from(target.ed25519Identity!).toString('base64').replace(/=+$/, ''),
    );
    assert.equal(d.bridge_distribution, 'any');
    assert.equal(d.tunnelled_dir_server, true);
    assert.match(d.platform, /^relayd \S+ on /);
    assert.deepEqual(d.protocols.Link, [3, 4, 5]);
    assert.deepEqual(d.protocols.Relay, [2, 3, 4]);
    assert.equal(d.protocols.Conflux, undefined);
    assert.equal(d.protocols.HSDir, undefined);
    const e = out.extra_info;
    assert.equal(e.nickname, relayd.nickname);
    assert.equal(e.fingerprint, relayd.fingerprint);
    assert.equal(d.extra_info_digest, e.digest, 'the descriptor names the extra-info by its SHA-1');
    assert.equal(d.extra_info_sha256_digest, e.sha256, 'and by its SHA-256');
    assert.deepEqual(e.transports, []);
  });

  it(`${CLIENTS} tor clients bootstrap through relayd at once and download intact while a hostile client misbehaves`, async (t: TestContext) => {
    const net = network!;
    const deadPort = await net.allocatePort('127.0.0.1');
    const relay0 = net.relays[0]!;
    let probes: Record<string, ProbeOutcome> = {};
    const { clients, run } = await clientsThrough(net, relayd.bridgeLine, async () => {
      probes = await runHostileProbes({
        relayd: target,
        deadPort,
        realRelay: { address: relay0.address, port: relay0.orPort },
      });
    });
    relaydRun = run;
    t.diagnostic(describeRun('through relayd', run));
    t.diagnostic(`hostile probes: ${JSON.stringify(probes)}`);

    const closed = (name: string) => {
      const outcome = probes[name];
      assert.equal(outcome?.kind, 'closed', `${name}: ${JSON.stringify(outcome)}`);
    };
    const destroyed = (name: string, reason: number) =>
      assert.deepEqual(probes[name], { kind: 'destroy', reason }, `${name}: ${JSON.stringify(probes[name])}`);
    closed('garbage-tcp');
    closed('garbage-tls');
    closed('garbage-open');
    closed('truncated-eof');
    destroyed('truncated-create2', DestroyReason.PROTOCOL);
    assert.deepEqual(
      probes['unknown-commands'],
      { kind: 'answered' },
      'unknown commands are dropped, the channel serves on',
    );
    destroyed('bad-ntor', DestroyReason.PROTOCOL);
    destroyed('unknown-htype', DestroyReason.PROTOCOL);
    destroyed('extend-nowhere', DestroyReason.CHANNEL_CLOSED);
    destroyed('extend-wrong-id', DestroyReason.CHANNEL_CLOSED);

    // Each client learned relayd's descriptor from relayd itself: it had no other way into the network.
    for (const client of clients) {
      const log = readFileSync(client.noticeLogPath, 'utf8');
      assert.match(log, new RegExp(`new bridge descriptor '${relayd.nickname}'.*\\$${relayd.fingerprint}`));
    }
    assert.ok(relayd.process.running, 'relayd survived all of it');
  });

  it(`the same ${CLIENTS} clients through a C tor bridge of the same network, for comparison`, async (t: TestContext) => {
    const net = network!;
    const bridge = await net.startBridge();
    const { run } = await clientsThrough(net, bridge.bridgeLine);
    t.diagnostic(describeRun('through C tor', run));
    if (relaydRun) {
      t.diagnostic(
        `relayd / C tor: bootstrap ${(median(relaydRun.bootstrapMs) / median(run.bootstrapMs)).toFixed(2)}x the time, ` +
          `download ${(median(relaydRun.mbPerSecond) / median(run.mbPerSecond)).toFixed(2)}x the speed`,
      );
    }
  });

  it('stops cleanly on SIGTERM: exit status 0, nothing left running', async () => {
    const status = await relayd.stop(15_000);
    assert.deepEqual(status, { code: 0, signal: null });
    assert.equal(isPidAlive(relayd.pid), false);
    const log = readFileSync(relayd.noticeLogPath, 'utf8').trim().split('\n');
    assert.match(JSON.parse(log.at(-1)!).msg, /relayd stopped/);
  });
});
