/**
 * Builds engines and their surroundings for tests: identities and onion keys,
 * a recording metrics sink, a fake directory service, an in-memory channel
 * provider that connects engines to each other, and clients.
 */
import { type LinkSpecifier, parseIpAddress } from '@relayd/cells';
import { bytesEqual, toHex, utf8 } from '@relayd/common';
import { type ServerOnionKeys, x25519KeypairFromRandom } from '@relayd/handshakes';
import {
  type ChannelPeer,
  type ChannelProvider,
  type DirectoryRequest,
  type DirectoryRequestContext,
  type DirectoryService,
  type EngineMetrics,
  type EstablishedChannel,
  type ExtendTarget,
  RelayEngine,
  type RelayEngineOptionsInput,
} from '../../src/index.js';
import { FakeTime } from './fake-time.js';
import { transportPair } from './memory-transport.js';
import { type RelayDescription, TestClient } from './test-client.js';
import { TestRandom } from './test-random.js';

/** Counts every metrics call by a "name:label" key. */
export class RecordingMetrics implements EngineMetrics {
  readonly counts = new Map<string, number>();
  /** Set to make `cellReceived` throw for a command (to simulate an engine bug). */
  throwOnCellReceived: number | undefined;

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  private add(key: string): void {
    this.counts.set(key, this.count(key) + 1);
  }

  onionskin(type: string, outcome: string): void {
    this.add(`onionskin:${type}:${outcome}`);
  }
  circuitOpened(type: string): void {
    this.add(`circuitOpened:${type}`);
  }
  circuitClosed(reason: number): void {
    this.add(`circuitClosed:${reason}`);
  }
  cellReceived(command: number): void {
    if (command === this.throwOnCellReceived) throw new Error('metrics sink exploded');
    this.add(`cellReceived:${command}`);
  }
  cellSent(command: number): void {
    this.add(`cellSent:${command}`);
  }
  channelOpened(initiatedLocally: boolean): void {
    this.add(`channelOpened:${initiatedLocally ? 'outbound' : 'inbound'}`);
  }
  channelClosed(cause: string): void {
    this.add(`channelClosed:${cause}`);
  }
  /** Waits in the create queue, in order. */
  readonly createQueueWaits: number[] = [];
  createQueueWait(waitedMs: number): void {
    this.createQueueWaits.push(waitedMs);
    this.add('createQueueWait');
  }
  paddingNegotiate(): void {
    this.add('paddingNegotiate');
  }
  extend(outcome: string): void {
    this.add(`extend:${outcome}`);
  }
  directoryStream(outcome: string): void {
    this.add(`directoryStream:${outcome}`);
  }
  protocolViolation(what: string): void {
    this.add(`violation:${what}`);
  }
}

/** Answers every request with "HTTP/1.0 200 OK" and a deterministic body of `bodyLength` bytes. */
export class FakeDirectory implements DirectoryService {
  readonly requests: Array<{ request: DirectoryRequest; context: DirectoryRequestContext }> = [];
  bodyLength = 1000;
  fail = false;

  static body(length: number): Uint8Array {
    const body = new Uint8Array(length);
    for (let i = 0; i < length; i++) body[i] = (i * 31 + (i >> 8)) & 0xff;
    return body;
  }

  static response(length: number): Uint8Array {
    const head = utf8(`HTTP/1.0 200 OK\r\nContent-Length: ${length}\r\n\r\n`);
    const out = new Uint8Array(head.length + length);
    out.set(head);
    out.set(FakeDirectory.body(length), head.length);
    return out;
  }

  async handle(request: DirectoryRequest, context: DirectoryRequestContext): Promise<Uint8Array> {
    this.requests.push({ request, context });
    if (this.fail) throw new Error('directory unavailable');
    return FakeDirectory.response(this.bodyLength);
  }
}

export interface TestRelay {
  readonly engine: RelayEngine;
  readonly description: RelayDescription;
  readonly onionKeys: ServerOnionKeys;
  readonly metrics: RecordingMetrics;
  readonly directory: FakeDirectory;
  readonly address: string;
  readonly port: number;
  /** Link specifiers a client puts in EXTEND2 to reach this relay. */
  specifiers(options?: { withEd25519?: boolean }): LinkSpecifier[];
}

export interface TestNetwork {
  readonly time: FakeTime;
  readonly random: TestRandom;
  readonly provider: InMemoryProvider;
  relay(options?: RelayEngineOptionsInput, address?: string): TestRelay;
  client(relay: TestRelay, address?: string, peer?: Partial<ChannelPeer>): TestClient;
}

/** Connects engines to each other in memory, as the socket layer would after a link handshake. */
export class InMemoryProvider implements ChannelProvider {
  readonly relays: TestRelay[] = [];
  readonly requests: ExtendTarget[] = [];
  /** Make every open fail. */
  failing = false;
  /** Answer opens with this instead of connecting to a test relay. */
  scripted: ((target: ExtendTarget) => EstablishedChannel) | undefined;
  constructor(private readonly time: FakeTime) {}

  async openChannel(target: ExtendTarget): Promise<EstablishedChannel> {
    this.requests.push(target);
    await Promise.resolve();
    if (this.failing) throw new Error('connection refused');
    if (this.scripted) return this.scripted(target);
    const relay = this.relays.find(
      (r) =>
        bytesEqual(r.description.rsaIdentityDigest, target.rsaIdentity) &&
        target.addresses.some((a) => a.address === r.address && a.port === r.port),
    );
    if (!relay) throw new Error(`no relay ${toHex(target.rsaIdentity)} at the requested address`);
    if (target.ed25519Identity && !bytesEqual(target.ed25519Identity, relay.description.ed25519Identity)) {
      throw new Error('Ed25519 identity mismatch');
    }
    const [near, far] = transportPair(this.time);
    // The far relay sees a client-like peer: a bridge does not authenticate outwards.
    relay.engine.adoptChannel({
      transport: far,
      peer: {
        linkVersion: 5,
        initiatedLocally: false,
        rsaIdentity: undefined,
        ed25519Identity: undefined,
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
        rsaIdentity: relay.description.rsaIdentityDigest,
        ed25519Identity: relay.description.ed25519Identity,
        remoteAddress: relay.address,
        remotePort: relay.port,
      },
      leftover: new Uint8Array(0),
    };
  }
}

let relayCounter = 0;

export function testNetwork(seed = 1): TestNetwork {
  const time = new FakeTime();
  const random = new TestRandom(seed);
  const provider = new InMemoryProvider(time);
  let clientCounter = 0;
  return {
    time,
    random,
    provider,
    relay(options: RelayEngineOptionsInput = {}, address = `203.0.113.${10 + relayCounter}`): TestRelay {
      relayCounter++;
      const onionKeys: ServerOnionKeys = { current: x25519KeypairFromRandom(random) };
      const description: RelayDescription = {
        rsaIdentityDigest: random.bytes(20),
        ed25519Identity: random.bytes(32),
        ntorOnionKey: onionKeys.current.publicKey,
      };
      const metrics = new RecordingMetrics();
      const directory = new FakeDirectory();
      const engine = new RelayEngine(options, {
        identity: {
          rsaIdentityDigest: description.rsaIdentityDigest,
          ed25519Identity: description.ed25519Identity,
        },
        onionKeys,
        random,
        clock: time,
        scheduler: time,
        channelProvider: provider,
        directoryService: directory,
        ephemeralKeypair: () => x25519KeypairFromRandom(random),
        metrics,
      });
      const port = 9001;
      const ipv4 = parseIpAddress(address);
      if (ipv4?.family !== 'ipv4') throw new Error('test relays use IPv4');
      const relay: TestRelay = {
        engine,
        description,
        onionKeys,
        metrics,
        directory,
        address,
        port,
        specifiers: ({ withEd25519 = true } = {}) => [
          { kind: 'ipv4', address: ipv4, port },
          { kind: 'legacy-id', rsaIdentity: description.rsaIdentityDigest },
          ...(withEd25519
            ? [{ kind: 'ed25519-id' as const, ed25519Identity: description.ed25519Identity }]
            : []),
        ],
      };
      provider.relays.push(relay);
      return relay;
    },
    client(
      relay: TestRelay,
      address = `192.0.2.${++clientCounter}`,
      overrides: Partial<ChannelPeer> = {},
    ): TestClient {
      const [near, far] = transportPair(time);
      const peer: ChannelPeer = {
        linkVersion: 5,
        initiatedLocally: false,
        rsaIdentity: undefined,
        ed25519Identity: undefined,
        remoteAddress: address,
        remotePort: 50000 + clientCounter,
        transportName: 'obfs4',
        ...overrides,
      };
      relay.engine.adoptChannel({ transport: far, peer, leftover: new Uint8Array(0) });
      return new TestClient(near, random, peer.linkVersion);
    },
  };
}

/** An HTTP GET as a tor client sends it on a BEGIN_DIR stream. */
export function httpGet(path: string): Uint8Array {
  return utf8(`GET ${path} HTTP/1.0\r\n\r\n`);
}
