/**
 * The published multi-instance bridge arrangement, with relayd's balancer
 * in place of HAProxy and extor-static-cookie:
 *
 *   tor client ─(managed obfs4proxy)─obfs4─▶ obfs4proxy server (external PT)
 *     ─TOR_PT_EXTENDED_SERVER_PORT─▶ balancer ExtORPort (SAFE_COOKIE with its cookie file)
 *       ─proxy, from 127.0.1.x─▶ C tor bridge A's ExtORPort (its own cookie file)
 *                             └▶ C tor bridge B's ExtORPort (its own cookie file)
 *
 * A and B are real C tor bridges of a private network sharing one identity:
 * B's `keys/` is copied from A before B starts, as operators do. Real tor
 * clients, knowing only an obfs4 Bridge line with that fingerprint,
 * bootstrap through the arrangement and download the payload (SHA-256
 * checked); the balancer's counters show both C tor instances carried
 * clients' traffic. Every process is stopped by PID, also on failure.
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Balancer, startBalancer } from '@relayd/balancer';
import { type AddressPort, findPtArg, parseAddressPort, ptServerEnvironment } from '@relayd/ext-orport';
import {
  BridgeNode,
  bridgeLine,
  bridgeTorrc,
  type ClientNode,
  createNodeLayout,
  launchTor,
  startNetwork,
  type TestNetwork,
  type TorrcEntry,
} from '@relayd/testnet';
import { ManagedPt, OBFS4_CLIENT_TORRC } from '../support/managed-pt.js';

const CLIENTS = 3;
const BOOTSTRAP_MS = 120_000;

function addressPort(address: string, port: number): AddressPort {
  const parsed = parseAddressPort(`${address}:${port}`, 'address', { allowZeroPort: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

describe('balancer in front of two C tor bridges sharing keys, obfs4proxy in front', {
  timeout: 300_000,
}, () => {
  let network: TestNetwork | undefined;
  let balancer: Balancer | undefined;
  let serverPt: ManagedPt | undefined;
  let orPortTrap: Server | undefined;
  let orPortTrapConnections = 0;
  const bridges: BridgeNode[] = [];
  const backendPorts: Array<{ id: string; host: string; port: number; cookieFile: string }> = [];
  let obfs4BridgeLine = '';
  const clients: ClientNode[] = [];

  const diagnostics = () =>
    [
      network?.describe() ?? '',
      JSON.stringify(balancer?.stats(), null, 1),
      serverPt?.diagnostics() ?? '',
      ...bridges.map((b) => b.describeLogs()),
      ...clients.map((c) => c.describeLogs()),
    ].join('\n');

  before(async () => {
    network = await startNetwork();
    const net = network;

    // Each C tor instance: its own ExtORPort on its own loopback address, its own cookie file.
    const extOrEntries = async (name: string): Promise<TorrcEntry[]> => {
      const host = await net.allocateAddress();
      const port = await net.allocatePort(host);
      const cookieDir = join(net.baseDir, `cookie-${name}`);
      mkdirSync(cookieDir, { recursive: true, mode: 0o700 });
      const cookieFile = join(cookieDir, 'extended_orport_auth_cookie');
      backendPorts.push({ id: name, host, port, cookieFile });
      return [
        ['ExtORPort', `${host}:${port}`],
        ['ExtORPortCookieAuthFile', cookieFile],
      ];
    };

    const a = await net.startBridge({ nickname: 'sharedA', extraTorrc: await extOrEntries('tor-a') });
    bridges.push(a);

    // B: the same identity. startBridge would make new keys, so B is assembled from the
    // harness's parts with A's keys/ copied in before tor first starts.
    const extraB = await extOrEntries('tor-b');
    const nickname = net.claimNickname('sharedB', 'bridge');
    const address = await net.allocateAddress();
    const orPort = await net.allocatePort(address);
    const layout = createNodeLayout(net.baseDir, nickname);
    cpSync(join(a.dataDir, 'keys'), join(layout.dataDir, 'keys'), { recursive: true });
    chmodSync(join(layout.dataDir, 'keys'), 0o700);
    const torrc = bridgeTorrc({
      ...net.nodeSpec(layout, address),
      orPort,
      resolvConfPath: net.resolvConfPath,
      extraTorrc: extraB,
    });
    const child = launchTor(net.processes, net.binaries, layout, torrc, net.emptyFile);
    const b = new BridgeNode(
      address,
      layout,
      child,
      orPort,
      a.fingerprint,
      bridgeLine(address, orPort, a.fingerprint),
    );
    bridges.push(b);
    net.bridges.push(b);
    await b.waitForBootstrap(60_000);

    // The balancer's front: ExtORPort and cookie file for the transport; the two tors as backends.
    const frontHost = await net.allocateAddress();
    const frontPort = await net.allocatePort(frontHost);
    balancer = await startBalancer({
      mode: 'proxy',
      extOrPorts: [{ host: frontHost, port: frontPort }],
      cookieFile: join(net.baseDir, 'balancer', 'extended_orport_auth_cookie'),
      orPorts: [],
      backends: backendPorts.map((p) => ({
        id: p.id,
        host: p.host,
        port: p.port,
        cookie: { file: p.cookieFile },
      })),
      sourceAddresses: [{ first: '127.0.1.1', last: '127.0.1.32' }],
      maxConnectionsPerAddress: 0,
      healthCheckIntervalMs: 2_000,
    });

    // obfs4proxy as an external server transport, pointed at the balancer (a systemd sibling in production).
    orPortTrap = createServer((socket) => {
      orPortTrapConnections++;
      socket.destroy();
    });
    const trapHost = frontHost;
    const trapPort = await net.allocatePort(trapHost);
    await new Promise<void>((resolve) => orPortTrap!.listen(trapPort, trapHost, resolve));
    const obfsHost = await net.allocateAddress();
    const obfsPort = await net.allocatePort(obfsHost);
    const stateDir = join(net.baseDir, 'obfs4-server');
    serverPt = new ManagedPt(
      'obfs4proxy server',
      stateDir,
      ptServerEnvironment({
        stateLocation: stateDir,
        transports: ['obfs4'],
        bindAddresses: [{ transport: 'obfs4', address: addressPort(obfsHost, obfsPort) }],
        orPort: addressPort(trapHost, trapPort),
        extendedServerPort: {
          address: addressPort(frontHost, balancer.extOrPorts[0]!.port),
          authCookieFile: balancer.cookieFile!,
        },
      }),
    );
    const methods = await serverPt.waitForMethods('smethods-done', 15_000);
    const smethod = methods.find((m) => m.type === 'smethod');
    assert.ok(smethod && smethod.type === 'smethod', serverPt.diagnostics());
    const cert = findPtArg(smethod.args, 'cert');
    assert.ok(cert, 'no cert in SMETHOD ARGS');
    obfs4BridgeLine = `Bridge obfs4 ${obfsHost}:${smethod.address.port} ${a.fingerprint} cert=${cert} iat-mode=0`;
  });

  after(async () => {
    await serverPt?.stop();
    await balancer?.close();
    await new Promise<void>((resolve) => (orPortTrap ? orPortTrap.close(() => resolve()) : resolve()));
    await network?.close();
  });

  it('the two C tor bridges share one identity and each wrote its own cookie', () => {
    assert.equal(bridges.length, 2);
    const fingerprint = (b: BridgeNode) =>
      readFileSync(join(b.dataDir, 'fingerprint'), 'utf8').split(' ')[1]!.trim();
    assert.equal(fingerprint(bridges[0]!), bridges[0]!.fingerprint);
    assert.equal(fingerprint(bridges[1]!), bridges[0]!.fingerprint);
    const cookies = backendPorts.map((p) => readFileSync(p.cookieFile));
    for (const c of cookies) assert.equal(c.length, 64);
    assert.notDeepEqual(cookies[0]!.subarray(32), cookies[1]!.subarray(32));
  });

  it('health checks authenticate to both tor ExtORPorts with their cookies', async () => {
    const deadline = Date.now() + 20_000;
    while (!balancer!.stats().backends.every((b) => b.checksPassed >= 1 && b.healthy)) {
      if (Date.now() > deadline) assert.fail(`backends not healthy\n${diagnostics()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(
      balancer!.stats().backends.every((b) => b.checksFailed === 0),
      diagnostics(),
    );
  });

  it(`${CLIENTS} tor clients bootstrap over obfs4 through the balancer and download the payload`, async () => {
    const net = network!;
    for (let i = 0; i < CLIENTS; i++) {
      clients.push(
        await net.startClient({
          bridgeLines: [obfs4BridgeLine],
          extraTorrc: OBFS4_CLIENT_TORRC,
        }),
      );
    }
    try {
      await Promise.all(clients.map((c) => c.waitForBootstrap(BOOTSTRAP_MS)));
      const downloads = await Promise.all(clients.map((c) => c.download()));
      for (const d of downloads) assert.equal(d.sha256Hex, net.payload.sha256Hex);
    } catch (error) {
      assert.fail(`${(error as Error).message}\n${diagnostics()}`);
    }
  });

  it('both C tor instances carried clients, the PT only ever used the ExtORPort', (t) => {
    const stats = balancer!.stats();
    for (const b of stats.backends) {
      t.diagnostic(
        `${b.id}: ${b.connections} connections (${b.active} open), ${b.bytesToBackend} bytes to it, ${b.bytesFromBackend} from it, checks ${b.checksPassed} passed`,
      );
    }
    const front = stats.fronts[0]!;
    assert.ok(front.admitted >= CLIENTS, diagnostics());
    assert.deepEqual(front.failed, {}, diagnostics());
    for (const backend of stats.backends) {
      assert.ok(backend.connections >= 1, `${backend.id} took no connection\n${diagnostics()}`);
      // At least a link handshake (CERTS alone is over a kilobyte) came back through each.
      assert.ok(
        backend.bytesFromBackend > 1000,
        `${backend.id}: ${backend.bytesFromBackend} bytes\n${diagnostics()}`,
      );
    }
    const live = stats.backends.reduce((n, b) => n + b.active, 0);
    assert.ok(live >= CLIENTS, `${live} proxied connections open for ${CLIENTS} clients`);
    assert.equal(stats.proxy?.unreachable, 0);
    assert.equal(orPortTrapConnections, 0);
  });
});
