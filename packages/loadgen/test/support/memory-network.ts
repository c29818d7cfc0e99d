/**
 * Two relayd engines in one process, connected in memory as the socket
 * layer would connect them after their link handshakes: a bridge (the
 * engine under load) and the load generator's sink as its next hop. The
 * load generator reaches the bridge through a LinkConnector that hands it
 * one end of an in-memory transport pair. Real time, real event loop:
 * bytes cross a pair in a setImmediate turn, like a socket's.
 *
 * The bridge's keys are real (a key store in a temporary directory), so it
 * can serve its own signed descriptor at /tor/server/authority.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ByteTransport, bytesEqual, systemClock, type TransportHandlers, utf8 } from '@relayd/common';
import { generateX25519, secureRandom } from '@relayd/crypto';
import {
  type ChannelProvider,
  type DirectoryRequest,
  type DirectoryService,
  type EstablishedChannel,
  type ExtendTarget,
  RelayEngine,
  type RelayEngineOptionsInput,
  systemScheduler,
} from '@relayd/engine';
import { generateKeys, type KeyStore } from '@relayd/keys';
import { buildBridgeServerDescriptor } from '@relayd/netdoc';
import {
  createSinkEngine,
  type LinkConnector,
  type NextHop,
  SinkDirectory,
  SinkMetrics,
} from '../../src/index.js';

/** One side of an in-memory byte pipe; a finite high-water mark makes `write` push back. */
export class MemoryTransport implements ByteTransport {
  peer!: MemoryTransport;
  highWaterMark = 256 * 1024;
  private handlers: TransportHandlers | undefined;
  private readonly held: Uint8Array[] = [];
  private outbox: Uint8Array[] = [];
  private queued = 0;
  private owesDrain = false;
  private closed = false;
  private closedNotified = false;
  private scheduled = false;

  get bufferedBytes(): number {
    return this.queued;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.outbox.push(bytes.slice());
    this.queued += bytes.length;
    this.schedule();
    if (this.queued > this.highWaterMark) {
      this.owesDrain = true;
      return false;
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    setImmediate(() => {
      this.deliver();
      this.notifyClosed();
      this.peer.peerClosed();
    });
  }

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    if (this.held.length === 0) return;
    setImmediate(() => {
      for (const bytes of this.held.splice(0)) this.handlers?.data(bytes);
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    const chunks = this.outbox;
    this.outbox = [];
    this.queued = 0;
    for (const chunk of chunks) this.peer.receive(chunk);
    if (this.owesDrain && !this.closed) {
      this.owesDrain = false;
      this.handlers?.drained();
    }
  }

  private receive(bytes: Uint8Array): void {
    if (this.closedNotified) return;
    if (this.handlers) this.handlers.data(bytes);
    else this.held.push(bytes);
  }

  private peerClosed(): void {
    this.closed = true;
    this.notifyClosed();
  }

  private notifyClosed(): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.handlers?.closed();
  }
}

export function transportPair(): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport();
  const b = new MemoryTransport();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Serves the bridge's own descriptor at /tor/server/authority, 404 for anything else. */
class BridgeDirectory implements DirectoryService {
  descriptor = '';
  requests: string[] = [];

  async handle(request: DirectoryRequest): Promise<Uint8Array> {
    const target = request.parsed.ok ? request.parsed.value.target : '';
    this.requests.push(target);
    if (target === '/tor/server/authority') {
      return utf8(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n${this.descriptor}`);
    }
    return utf8('HTTP/1.0 404 Not found\r\n\r\n');
  }
}

export interface MemoryNetwork {
  readonly bridge: RelayEngine;
  readonly bridgeMetrics: SinkMetrics;
  readonly bridgeKeys: KeyStore;
  readonly bridgeDirectory: BridgeDirectory;
  readonly sink: RelayEngine;
  readonly sinkMetrics: SinkMetrics;
  readonly sinkDirectory: SinkDirectory;
  readonly nextHop: NextHop;
  /** Connections the load generator opened to the bridge. */
  readonly clientTransports: MemoryTransport[];
  readonly connector: LinkConnector;
  /** The target the load generator is given (no ntor key: pass `bridgeNtorKey` to skip the descriptor). */
  readonly target: { address: string; port: number; rsaIdentity: Uint8Array; ed25519Identity: Uint8Array };
  readonly bridgeNtorKey: Uint8Array;
  close(): void;
}

export interface MemoryNetworkOptions {
  readonly bridge?: RelayEngineOptionsInput;
  readonly sink?: RelayEngineOptionsInput;
  /** The next hop the load generator is told about; default the sink as it is. */
  readonly nextHopOverride?: Partial<NextHop>;
}

const SINK_ADDRESS = '127.0.0.1';
const SINK_PORT = 9101;

export function memoryNetwork(options: MemoryNetworkOptions = {}): MemoryNetwork {
  const dataDir = mkdtempSync(join(tmpdir(), 'relayd-loadgen-test-'));
  const bridgeKeys = generateKeys(dataDir, { nowMs: Date.now(), nickname: 'memoryBridge' });
  const bridgeRsa = bridgeKeys.rsaIdentity.publicKey.fingerprint();

  const sinkOnion = generateX25519();
  const sinkIdentity = { rsaIdentityDigest: secureRandom.bytes(20), ed25519Identity: secureRandom.bytes(32) };
  const sinkDirectory = new SinkDirectory();
  const sinkMetrics = new SinkMetrics();
  const sink = createSinkEngine(
    {
      identity: sinkIdentity,
      onionKeys: { current: sinkOnion },
      directory: sinkDirectory,
      metrics: sinkMetrics,
    },
    options.sink,
  );

  const provider: ChannelProvider = {
    async openChannel(target: ExtendTarget): Promise<EstablishedChannel> {
      await Promise.resolve();
      const at = target.addresses.some((a) => a.address === SINK_ADDRESS && a.port === SINK_PORT);
      if (!at || !bytesEqual(target.rsaIdentity, sinkIdentity.rsaIdentityDigest)) {
        throw new Error('no such relay');
      }
      if (target.ed25519Identity && !bytesEqual(target.ed25519Identity, sinkIdentity.ed25519Identity)) {
        throw new Error('Ed25519 identity mismatch');
      }
      const [near, far] = transportPair();
      sink.adoptChannel({
        transport: far,
        peer: {
          linkVersion: 5,
          initiatedLocally: false,
          rsaIdentity: undefined,
          ed25519Identity: undefined,
          remoteAddress: '127.0.0.2',
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
          remoteAddress: SINK_ADDRESS,
          remotePort: SINK_PORT,
        },
        leftover: new Uint8Array(0),
      };
    },
  };

  const bridgeMetrics = new SinkMetrics();
  const bridgeDirectory = new BridgeDirectory();
  const bridge = new RelayEngine(
    { extendAllowPrivateAddresses: true, ...options.bridge },
    {
      identity: { rsaIdentityDigest: bridgeRsa, ed25519Identity: bridgeKeys.ed25519Identity },
      onionKeys: { current: bridgeKeys.ntorOnionKey },
      random: secureRandom,
      clock: systemClock,
      scheduler: systemScheduler,
      channelProvider: provider,
      directoryService: bridgeDirectory,
      ephemeralKeypair: generateX25519,
      metrics: bridgeMetrics,
    },
  );
  const nowSeconds = Math.floor(Date.now() / 1000);
  bridgeDirectory.descriptor = buildBridgeServerDescriptor({
    nickname: 'memoryBridge',
    address: '192.0.2.1',
    orPort: 443,
    platform: 'relayd test',
    protocols: 'Link=4-5 Relay=2-4',
    published: nowSeconds,
    uptime: 0,
    bandwidth: { average: 1_000_000, burst: 1_000_000, observed: 0 },
    keys: {
      identityKey: bridgeKeys.rsaIdentity,
      signingKey: bridgeKeys.signingKey,
      signingCert: bridgeKeys.signingCert,
      ntorOnionSecret: bridgeKeys.ntorOnionKey.secretKey,
      tapOnionKey: bridgeKeys.tapOnionKey,
    },
  });

  const clientTransports: MemoryTransport[] = [];
  const connector: LinkConnector = async () => {
    await Promise.resolve();
    const [near, far] = transportPair();
    clientTransports.push(near);
    bridge.adoptChannel({
      transport: far,
      peer: {
        linkVersion: 5,
        initiatedLocally: false,
        rsaIdentity: undefined,
        ed25519Identity: undefined,
        remoteAddress: '192.0.2.50',
        remotePort: 50000 + clientTransports.length,
      },
      leftover: new Uint8Array(0),
    });
    return {
      transport: near,
      peer: {
        linkVersion: 5,
        initiatedLocally: true,
        rsaIdentity: bridgeRsa,
        ed25519Identity: bridgeKeys.ed25519Identity,
        remoteAddress: '192.0.2.1',
        remotePort: 443,
      },
      leftover: new Uint8Array(0),
    };
  };

  return {
    bridge,
    bridgeMetrics,
    bridgeKeys,
    bridgeDirectory,
    sink,
    sinkMetrics,
    sinkDirectory,
    nextHop: {
      address: SINK_ADDRESS,
      port: SINK_PORT,
      rsaIdentity: sinkIdentity.rsaIdentityDigest,
      ed25519Identity: sinkIdentity.ed25519Identity,
      ntorOnionKey: sinkOnion.publicKey,
      ...options.nextHopOverride,
    },
    clientTransports,
    connector,
    target: {
      address: '192.0.2.1',
      port: 443,
      rsaIdentity: bridgeRsa,
      ed25519Identity: bridgeKeys.ed25519Identity,
    },
    bridgeNtorKey: bridgeKeys.ntorOnionKey.publicKey,
    close: () => {
      bridge.close();
      sink.close();
      sinkDirectory.releaseAll();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `condition` holds (bounded). */
export async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
