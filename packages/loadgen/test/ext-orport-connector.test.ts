/**
 * The Extended ORPort connector on loopback, against an ExtORPort front
 * built from @relayd/ext-orport's server state machine and @relayd/net's
 * `acceptLinkOnSocket` in front of a relayd RelayEngine: SAFE_COOKIE,
 * USERADDR and TRANSPORT as a transport sends them, then TLS and the link
 * handshake over the same socket, then whole circuits to the sink. Also
 * what a wrong cookie, a DENY, a front that goes silent and one that
 * speaks out of turn after OKAY do to a connection, each counted by its
 * own error code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { concatBytes, systemClock, utf8 } from '@relayd/common';
import { generateX25519, secureRandom } from '@relayd/crypto';
import { RelayEngine, systemScheduler } from '@relayd/engine';
import { createCookieFile, type ExtOrDecision, type ExtOrMetadata, ExtOrServer } from '@relayd/ext-orport';
import { generateKeys, type WorkerKeys, workerKeysFromSnapshot } from '@relayd/keys';
import { acceptLinkOnSocket, acceptLinks, type LinkListener, TlsChannelProvider } from '@relayd/net';
import {
  DEFAULT_LOAD_TRANSPORT_NAME,
  extOrPortLinkConnector,
  LoadGenerator,
  loadgenClientAddress,
  SinkMetrics,
  SinkRelay,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'relayd-loadgen-extor-'));
const cookie = createCookieFile(secureRandom).cookie;
let keys: WorkerKeys;
let bridge: RelayEngine;
let listener: LinkListener;
let front: Server;
let frontPort = 0;
let sink: SinkRelay;
let decision: ExtOrDecision = 'okay';
/** 'silent': the front never answers; 'chatty': it sends bytes of its own right behind OKAY. */
let frontBehaviour: 'bridge' | 'silent' | 'chatty' = 'bridge';
const seen: ExtOrMetadata[] = [];
const peers: string[] = [];
const sockets = new Set<Socket>();

/** One connection at the front: the ExtORPort exchange, then the link handshake on the same socket. */
function serveExtOr(socket: Socket): void {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  peers.push(socket.remoteAddress ?? '');
  if (frontBehaviour === 'silent') return;
  const server = new ExtOrServer({
    cookie,
    random: secureRandom,
    admit: (metadata) => {
      seen.push(metadata);
      return decision;
    },
  });
  socket.write(server.start());
  const onData = (chunk: Buffer) => {
    const step = server.receive(chunk);
    if (step.status === 'accepted' && frontBehaviour === 'chatty') {
      socket.off('data', onData);
      socket.write(concatBytes(step.output, utf8('hello')));
      return;
    }
    if (step.output.length > 0) socket.write(step.output);
    if (step.status === 'running') return;
    socket.off('data', onData);
    if (step.status !== 'accepted') {
      socket.end();
      return;
    }
    socket.pause();
    if (step.outcome.leftover.length > 0) socket.unshift(step.outcome.leftover);
    acceptLinkOnSocket(socket, { tls: listener.tls, transportName: step.outcome.transportName }).then(
      (channel) => bridge.adoptChannel(channel),
      () => socket.destroy(),
    );
  };
  socket.on('data', onData);
}

before(async () => {
  keys = workerKeysFromSnapshot(generateKeys(join(root, 'bridge'), { nowMs: Date.now() }).workerSnapshot());
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
      metrics: new SinkMetrics(),
    },
  );
  // The ORPort listener only lends its TLS contexts to the front.
  listener = await acceptLinks({
    host: '127.0.0.1',
    port: 0,
    keys,
    onChannel: (channel) => bridge.adoptChannel(channel),
  });
  front = createServer(serveExtOr);
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontPort = (front.address() as { port: number }).port;
  sink = await SinkRelay.start();
});

after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => front?.close(() => resolve()));
  await sink?.close();
  await listener?.close();
  bridge?.close();
  rmSync(root, { recursive: true, force: true });
});

const target = () => ({
  address: '127.0.0.1',
  port: frontPort,
  rsaIdentity: keys.rsaIdentity.publicKey.fingerprint(),
  ntorOnionKey: keys.ntorOnionKey.publicKey,
});

describe('the Extended ORPort connector', { timeout: 60_000 }, () => {
  it('authenticates, sends USERADDR and TRANSPORT, and carries whole circuits over the link', async () => {
    decision = 'okay';
    seen.length = 0;
    peers.length = 0;
    const report = await new LoadGenerator(
      {
        target: target(),
        nextHop: sink.nextHop,
        connections: 3,
        circuitsPerConnection: 2,
        maxCircuits: 12,
        downloadBytes: 20_000,
        uploadBytes: 10_000,
        durationMs: 30_000,
        progressIntervalMs: 0,
      },
      {
        connector: extOrPortLinkConnector({
          extOrPort: { address: '127.0.0.1', port: frontPort },
          cookie,
          sourceAddresses: ['127.0.5.1', '127.0.5.2'],
        }),
      },
    ).run();
    assert.equal(report.connections.opened, 3);
    assert.deepEqual(report.circuits.failures, {});
    assert.equal(report.circuits.finished, 12);
    assert.equal(report.accounting.complete, true);
    assert.equal(report.accounting.downloadBytesVerified, 12 * 20_000);
    assert.equal(seen.length, 3);
    assert.deepEqual(
      seen.map((m) => m.transportName),
      Array(3).fill(DEFAULT_LOAD_TRANSPORT_NAME),
    );
    const addresses = seen.map((m) => m.clientAddress?.address).sort();
    assert.deepEqual(addresses, ['198.18.0.0', '198.18.0.1', '198.18.0.2']);
    // Connection i comes from sourceAddresses[i mod 2].
    assert.deepEqual(peers.sort(), ['127.0.5.1', '127.0.5.1', '127.0.5.2']);
  });

  it('fails a connection whose cookie the bridge does not hold (wrong ServerHash)', async () => {
    const connect = extOrPortLinkConnector({
      extOrPort: { address: '127.0.0.1', port: frontPort },
      cookie: createCookieFile(secureRandom).cookie,
    });
    await assert.rejects(connect(target(), 0), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'SERVER_HASH_MISMATCH');
      return true;
    });
  });

  it('fails a connection the bridge answers with DENY', async () => {
    decision = 'deny';
    const connect = extOrPortLinkConnector({ extOrPort: { address: '127.0.0.1', port: frontPort }, cookie });
    await assert.rejects(connect(target(), 7), /DENY/);
    decision = 'okay';
  });

  it('fails a connection whose exchange outlasts the connect timeout as CONNECT_TIMEOUT', async () => {
    frontBehaviour = 'silent';
    try {
      const connect = extOrPortLinkConnector({
        extOrPort: { address: '127.0.0.1', port: frontPort },
        cookie,
        connectTimeoutMs: 200,
      });
      await assert.rejects(connect(target(), 0), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'CONNECT_TIMEOUT');
        return true;
      });
    } finally {
      frontBehaviour = 'bridge';
    }
  });

  it('fails a connection whose bridge speaks between OKAY and the TLS ClientHello', async () => {
    frontBehaviour = 'chatty';
    try {
      const connect = extOrPortLinkConnector({
        extOrPort: { address: '127.0.0.1', port: frontPort },
        cookie,
      });
      await assert.rejects(connect(target(), 0), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'NO_CONNECTION');
        assert.match(error.message, /5 bytes after OKAY/);
        return true;
      });
    } finally {
      frontBehaviour = 'bridge';
    }
  });

  it('fails at once when nothing listens at the Extended ORPort', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const connect = extOrPortLinkConnector({ extOrPort: { address: '127.0.0.1', port }, cookie });
    await assert.rejects(connect(target(), 0), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CONNECT_FAILED');
      return true;
    });
  });
});

describe('loadgenClientAddress', () => {
  it('gives every connection its own benchmarking-range address', () => {
    const seenAddresses = new Set<string>();
    for (let i = 0; i < 131_072; i += 97) {
      const a = loadgenClientAddress(i);
      assert.equal(a.family, 'ipv4');
      assert.ok(a.address.startsWith('198.18.') || a.address.startsWith('198.19.'), a.address);
      assert.ok(a.port >= 1024 && a.port < 61_024);
      seenAddresses.add(a.address);
    }
    assert.equal(seenAddresses.size, Math.ceil(131_072 / 97));
    assert.equal(loadgenClientAddress(65_536).address, '198.19.0.0');
  });
});
