/**
 * The private network end to end with a real C tor bridge: three directory
 * authorities, four relays (two exits) and a payload server on loopback; a C
 * tor bridge joins it; three tor clients, each with its own DataDirectory and
 * only the bridge line, bootstrap through the bridge at the same time and
 * download the payload through 3-hop circuits. Every process is stopped by
 * PID at the end, and none may survive.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  type BridgeNode,
  type ClientNode,
  isPidAlive,
  policySummaryAllows,
  startNetwork,
  type TestNetwork,
} from '@relayd/testnet';

const CLIENTS = 3;

describe('private tor network with a C tor bridge', { timeout: 180_000 }, () => {
  let network: TestNetwork | undefined;
  let bridge: BridgeNode;
  let baseDir = '';

  before(async () => {
    network = await startNetwork();
    baseDir = network.baseDir;
    bridge = await network.startBridge();
  });

  after(async () => {
    // Also runs when a test failed half-way: nothing may outlive the file.
    await network?.close();
  });

  it('reaches a consensus listing every authority and relay, with exits usable for the payload port', () => {
    const net = network!;
    const consensus = net.consensus;
    assert.ok(consensus, 'startNetwork returns only after a consensus was seen');
    assert.equal(net.authorities.length, 3);
    assert.equal(net.relays.length, 4);
    const byFingerprint = new Map(consensus.routers.map((r) => [r.fingerprint, r]));
    for (const node of [...net.authorities, ...net.relays]) {
      const router = byFingerprint.get(node.fingerprint);
      assert.ok(router, `${node.nickname} is in the consensus`);
      assert.equal(router.address, node.address);
      assert.equal(router.orPort, node.orPort);
      assert.ok(router.flags.includes('Running') && router.flags.includes('Valid'), `${node.nickname} flags`);
    }
    assert.ok(net.exits.length >= 1);
    for (const exit of net.exits) {
      const policy = byFingerprint.get(exit.fingerprint)?.policy;
      assert.ok(policySummaryAllows(policy, net.payload.port), `${exit.nickname} exits to the payload port`);
    }
    // Middles never exit; authorities are relays too.
    for (const middle of net.relays.filter((r) => r.role === 'relay')) {
      assert.equal(
        policySummaryAllows(byFingerprint.get(middle.fingerprint)?.policy, net.payload.port),
        false,
      );
    }
    // The bridge publishes nothing: it must not be in the consensus.
    assert.equal(byFingerprint.has(bridge.fingerprint), false);
    assert.equal(net.dirAuthorityLines.length, 3);
    for (const [i, line] of net.dirAuthorityLines.entries()) {
      const auth = net.authorities[i]!;
      assert.equal(
        line,
        `DirAuthority ${auth.nickname} orport=${auth.orPort} no-v2 v3ident=${auth.v3Identity} ` +
          `${auth.address}:${auth.dirPort} ${auth.fingerprint}`,
      );
    }
  });

  it('gives the bridge a bridge line naming its own address, ORPort and identity', () => {
    assert.equal(bridge.bridgeLine, `Bridge ${bridge.address}:${bridge.orPort} ${bridge.fingerprint}`);
    // tor writes "<nickname> <FINGERPRINT>" into DataDirectory/fingerprint at start-up.
    const written = readFileSync(`${bridge.dataDir}/fingerprint`, 'utf8').trim();
    assert.equal(written, `${bridge.nickname} ${bridge.fingerprint}`);
    const addresses = new Set([...network!.authorities, ...network!.relays, bridge].map((n) => n.address));
    assert.equal(addresses.size, 8, 'every node has its own loopback address');
  });

  it(`${CLIENTS} clients bootstrap through the bridge at once and download the payload intact`, async () => {
    const net = network!;
    const clients: ClientNode[] = await Promise.all(
      Array.from({ length: CLIENTS }, () => net.startClient({ bridgeLines: [bridge.bridgeLine] })),
    );
    assert.equal(new Set(clients.map((c) => c.dataDir)).size, CLIENTS, 'one DataDirectory per client');

    const bootstrapMs = await Promise.all(clients.map((c) => c.waitForBootstrap(90_000)));
    for (const ms of bootstrapMs) assert.ok(ms > 0 && ms < 90_000);

    const servedBefore = net.payload.requestsServed;
    const downloads = await Promise.all(clients.map((c) => c.download(net.payload.url, 90_000)));
    for (const [i, download] of downloads.entries()) {
      assert.equal(download.status, 200);
      assert.equal(download.body.length, net.payload.sizeBytes, `${clients[i]!.nickname} got every byte`);
      assert.equal(download.sha256Hex, net.payload.sha256Hex, `${clients[i]!.nickname} got the right bytes`);
    }
    assert.equal(
      net.payload.requestsServed - servedBefore,
      CLIENTS,
      'each download reached the payload server',
    );

    // Each client learned the bridge's descriptor from the bridge itself: it
    // had no other way into the network.
    for (const client of clients) {
      const log = readFileSync(client.noticeLogPath, 'utf8');
      assert.match(log, new RegExp(`new bridge descriptor '${bridge.nickname}'.*\\$${bridge.fingerprint}`));
    }
  });

  it('close() stops every process it started, by PID, and removes its directory', async () => {
    const net = network!;
    const pids = net.pids;
    // 3 authorities, 4 relays, 1 bridge, 3 clients, plus the key tools that ran before them.
    assert.ok(pids.length >= 11, `recorded ${pids.length} PIDs`);
    assert.ok(net.livePids().length >= 11, 'the tor nodes were running');
    await net.close();
    assert.deepEqual(pids.filter(isPidAlive), [], 'no spawned PID is alive');
    assert.equal(existsSync(baseDir), false);
  });
});
