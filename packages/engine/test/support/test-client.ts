/**
 * A minimal Tor client for engine tests: link protocol 5 framing over a
 * MemoryTransport, circuits built with @relayd/handshakes' client side, and
 * Tor1ClientCrypto for the relay layers. It records everything it receives
 * so tests can assert on it, and can answer DATA with SENDMEs as a C tor
 * client does (circuit level v1 every 100 cells, stream level every 50).
 */
import {
  type ChannelCell,
  ChannelCommand,
  type ChannelMessage,
  type Create2Message,
  decodeChannelCell,
  decodeChannelCellMessage,
  decodeRelayCell,
  decodeRelayCellMessage,
  encodeChannelCell,
  encodeChannelMessageCell,
  encodeRelayMessageCell,
  HandshakeType,
  type LinkSpecifier,
  type RelayCell,
  type RelayMessage,
} from '@relayd/cells';
import { concatBytes, type Random } from '@relayd/common';
import {
  createFastClientCreate,
  createFastClientFinish,
  decodeNtorV3Extensions,
  encodeNtorV3Extensions,
  NTOR_V3_CIRCUIT_VERIFICATION,
  type NtorV3Extension,
  ntorClientCreate,
  ntorClientFinish,
  ntorV3ClientCreate,
  ntorV3ClientFinish,
} from '@relayd/handshakes';
import { Tor1ClientCrypto } from '@relayd/relay-crypto';
import type { FakeTime } from './fake-time.js';
import type { MemoryTransport } from './memory-transport.js';

export const LINK_VERSION = 5;

/** What a client knows about a relay it builds through. */
export interface RelayDescription {
  readonly rsaIdentityDigest: Uint8Array;
  readonly ed25519Identity: Uint8Array;
  readonly ntorOnionKey: Uint8Array;
}

export interface ReceivedRelay {
  readonly hop: number;
  readonly cell: RelayCell;
  readonly message: RelayMessage;
  readonly tag: Uint8Array;
}

/** A handshake in progress, finished by the reply bytes. */
type PendingHandshake = (reply: Uint8Array) => Uint8Array;

export class ClientCircuit {
  readonly crypto = new Tor1ClientCrypto();
  /** Non-relay cells received for this circuit (CREATED*, DESTROY). */
  readonly cells: ChannelCell[] = [];
  readonly relay: ReceivedRelay[] = [];
  /** Backward cells no hop recognized. */
  unrecognized = 0;
  autoCircuitSendme = true;
  autoStreamSendme = true;
  /** DATA bytes per stream. */
  readonly streamData = new Map<number, Uint8Array[]>();
  /** DATA cells received per hop (for circuit SENDMEs). */
  private readonly dataPerHop = new Map<number, number>();
  private readonly dataPerStream = new Map<string, number>();
  /** Tags of received DATA cells, per hop, in order. */
  readonly dataTags = new Map<number, Uint8Array[]>();

  constructor(
    readonly client: TestClient,
    readonly circId: number,
  ) {}

  /** The reason of the DESTROY received, if any. */
  get destroyReason(): number | undefined {
    const destroy = this.cells.find((c) => c.command === ChannelCommand.DESTROY);
    return destroy ? destroy.body[0] : undefined;
  }

  get lastHop(): number {
    return this.crypto.hopCount - 1;
  }

  /** Originates a relay message to `hop`. Returns the cell's forward SENDME tag. */
  send(hop: number, streamId: number, message: RelayMessage, early = false): Uint8Array {
    const payload = encodeRelayMessageCell(streamId, message, this.client.random);
    const tag = this.crypto.originateForward(payload, hop);
    this.client.sendCell(this.circId, { type: early ? 'relay-early' : 'relay', payload });
    return tag;
  }

  /** Sends an already-encrypted 509-byte payload as is. */
  sendRawPayload(payload: Uint8Array, early = false): void {
    this.client.sendCell(this.circId, { type: early ? 'relay-early' : 'relay', payload });
  }

  /** Relay messages of a type received so far. */
  messages<T extends RelayMessage['type']>(
    type: T,
  ): Array<ReceivedRelay & { message: Extract<RelayMessage, { type: T }> }> {
    return this.relay.filter((r) => r.message.type === type) as Array<
      ReceivedRelay & { message: Extract<RelayMessage, { type: T }> }
    >;
  }

  /** All DATA bytes received on a stream. */
  dataOn(streamId: number): Uint8Array {
    return concatBytes(...(this.streamData.get(streamId) ?? []));
  }

  receiveRelay(payload: Uint8Array): void {
    const recognized = this.crypto.decryptBackward(payload);
    if (!recognized) {
      this.unrecognized++;
      return;
    }
    const cell = decodeRelayCell(payload);
    if (!cell.ok) throw new Error(`client got a bad relay cell: ${cell.error.message}`);
    const message = decodeRelayCellMessage(cell.value);
    if (!message.ok) throw new Error(`client got a bad relay message: ${message.error.message}`);
    const hop = recognized.hop;
    this.relay.push({ hop, cell: cell.value, message: message.value, tag: recognized.sendmeTag });
    if (message.value.type !== 'data') return;
    const streamId = cell.value.streamId;
    let chunks = this.streamData.get(streamId);
    if (!chunks) {
      chunks = [];
      this.streamData.set(streamId, chunks);
    }
    chunks.push(message.value.data);
    let tags = this.dataTags.get(hop);
    if (!tags) {
      tags = [];
      this.dataTags.set(hop, tags);
    }
    tags.push(recognized.sendmeTag);
    const onHop = (this.dataPerHop.get(hop) ?? 0) + 1;
    this.dataPerHop.set(hop, onHop);
    if (this.autoCircuitSendme && onHop % 100 === 0) {
      this.send(hop, 0, { type: 'sendme', kind: 'v1', digest: recognized.sendmeTag });
    }
    const key = `${hop}/${streamId}`;
    const onStream = (this.dataPerStream.get(key) ?? 0) + 1;
    this.dataPerStream.set(key, onStream);
    if (this.autoStreamSendme && onStream % 50 === 0)
      this.send(hop, streamId, { type: 'sendme', kind: 'v0' });
  }

  /**
   * Extends the circuit from its last hop with ntor (or ntor v3 when
   * `ntorV3` is set) to `relay`, reachable at `specifiers`. Returns the
   * EXTENDED2 outcome after the network settles.
   */
  async extend(
    time: FakeTime,
    relay: RelayDescription,
    specifiers: readonly LinkSpecifier[],
    options: { ntorV3?: boolean; early?: boolean } = {},
  ): Promise<'extended' | 'destroyed' | 'no-answer'> {
    const { create, finish } = this.client.startHandshake(relay, options.ntorV3 ?? false);
    const before = this.messages('extended2').length;
    this.send(
      this.lastHop,
      0,
      {
        type: 'extend2',
        linkSpecifiers: specifiers,
        handshakeType: create.handshakeType,
        handshakeData: create.handshakeData,
      },
      options.early ?? true,
    );
    await time.settle();
    const extended = this.messages('extended2')[before];
    if (extended) {
      this.crypto.addHop(finish(extended.message.handshakeData));
      return 'extended';
    }
    return this.destroyReason !== undefined ? 'destroyed' : 'no-answer';
  }
}

export class TestClient {
  readonly circuits = new Map<number, ClientCircuit>();
  /** Cells for circuits this client does not know, and channel-level cells. */
  readonly otherCells: ChannelCell[] = [];
  closed = false;
  private pending: Uint8Array = new Uint8Array(0);
  private readonly usedIds = new Set<number>();

  constructor(
    readonly transport: MemoryTransport,
    readonly random: Random,
    readonly linkVersion = LINK_VERSION,
  ) {
    transport.attach({
      data: (bytes) => this.receive(bytes),
      closed: () => {
        this.closed = true;
      },
      drained: () => {},
    });
  }

  /** A fresh circuit ID with the high bit set (we opened the channel, tor-spec 5.1.1). */
  freshCircId(): number {
    for (;;) {
      const r = this.random.bytes(4);
      const id =
        this.linkVersion >= 4
          ? (((r[0]! | 0x80) << 24) >>> 0) + ((r[1]! << 16) | (r[2]! << 8) | r[3]!)
          : (r[0]! << 8) | r[1]!;
      if (id !== 0 && !this.usedIds.has(id)) {
        this.usedIds.add(id);
        return id;
      }
    }
  }

  sendCell(circId: number, message: ChannelMessage): void {
    this.transport.write(encodeChannelMessageCell(circId, message, this.linkVersion));
  }

  sendRawCell(circId: number, command: number, body: Uint8Array): void {
    this.transport.write(encodeChannelCell({ circId, command, body }, this.linkVersion));
  }

  sendBytes(bytes: Uint8Array): void {
    this.transport.write(bytes);
  }

  /** Registers a circuit ID so that cells for it are collected. */
  track(circId: number): ClientCircuit {
    const circuit = new ClientCircuit(this, circId);
    this.circuits.set(circId, circuit);
    this.usedIds.add(circId);
    return circuit;
  }

  /** Starts an ntor or ntor v3 handshake with `relay`: the CREATE2 body and how to finish it. */
  startHandshake(
    relay: RelayDescription,
    ntorV3: boolean,
    extensions: readonly NtorV3Extension[] = [],
  ): { create: Create2Message; finish: PendingHandshake; serverMessage: () => Uint8Array | undefined } {
    if (!ntorV3) {
      const start = ntorClientCreate(
        { rsaIdentityDigest: relay.rsaIdentityDigest, ntorOnionKey: relay.ntorOnionKey },
        this.random,
      );
      return {
        create: { type: 'create2', handshakeType: HandshakeType.NTOR, handshakeData: start.onionskin },
        finish: (reply) => {
          const keys = ntorClientFinish(start.state, reply);
          if (!keys.ok) throw new Error(`ntor reply did not verify: ${keys.error.message}`);
          return keys.value.keyMaterial;
        },
        serverMessage: () => undefined,
      };
    }
    const started = ntorV3ClientCreate(
      { ed25519Identity: relay.ed25519Identity, ntorOnionKey: relay.ntorOnionKey },
      encodeNtorV3Extensions(extensions),
      this.random,
      NTOR_V3_CIRCUIT_VERIFICATION,
    );
    if (!started.ok) throw new Error(started.error.message);
    let serverMessage: Uint8Array | undefined;
    return {
      create: {
        type: 'create2',
        handshakeType: HandshakeType.NTOR_V3,
        handshakeData: started.value.onionskin,
      },
      finish: (reply) => {
        const result = ntorV3ClientFinish(started.value.state, reply);
        if (!result.ok) throw new Error(`ntor v3 reply did not verify: ${result.error.message}`);
        serverMessage = result.value.serverMessage;
        return result.value.keys.keyMaterial;
      },
      serverMessage: () => serverMessage,
    };
  }

  /** Builds a one-hop circuit with CREATE_FAST. Resolves with the circuit (check `hopCount`). */
  async createFast(time: FakeTime, circId = this.freshCircId()): Promise<ClientCircuit> {
    const circuit = this.track(circId);
    const start = createFastClientCreate(this.random);
    this.sendCell(circId, { type: 'create-fast', keyMaterial: start.onionskin });
    await time.settle();
    const created = circuit.cells.find((c) => c.command === ChannelCommand.CREATED_FAST);
    if (created) {
      const message = decodeChannelCellMessage(created);
      if (!message.ok || message.value.type !== 'created-fast') throw new Error('bad CREATED_FAST');
      const keys = createFastClientFinish(
        start.state,
        concatBytes(message.value.keyMaterial, message.value.derivativeKeyData),
      );
      if (!keys.ok) throw new Error(`CREATED_FAST did not verify: ${keys.error.message}`);
      circuit.crypto.addHop(keys.value.keyMaterial);
    }
    return circuit;
  }

  /** Builds a one-hop circuit with CREATE2 (ntor, or ntor v3 with `extensions`). */
  async create2(
    time: FakeTime,
    relay: RelayDescription,
    options: { ntorV3?: boolean; extensions?: readonly NtorV3Extension[]; circId?: number } = {},
  ): Promise<ClientCircuit & { serverExtensions?: NtorV3Extension[] }> {
    const circId = options.circId ?? this.freshCircId();
    const circuit: ClientCircuit & { serverExtensions?: NtorV3Extension[] } = this.track(circId);
    const { create, finish, serverMessage } = this.startHandshake(
      relay,
      options.ntorV3 ?? false,
      options.extensions,
    );
    this.sendCell(circId, create);
    await time.settle();
    const created = circuit.cells.find((c) => c.command === ChannelCommand.CREATED2);
    if (created) {
      const message = decodeChannelCellMessage(created);
      if (!message.ok || message.value.type !== 'created2') throw new Error('bad CREATED2');
      circuit.crypto.addHop(finish(message.value.handshakeData));
      const sm = serverMessage();
      if (sm) {
        const decoded = decodeNtorV3Extensions(sm);
        if (!decoded.ok) throw new Error(`server message is not an extension list: ${decoded.error.message}`);
        circuit.serverExtensions = decoded.value;
      }
    }
    return circuit;
  }

  private receive(bytes: Uint8Array): void {
    this.pending = this.pending.length ? concatBytes(this.pending, bytes) : bytes;
    let offset = 0;
    for (;;) {
      const frame = decodeChannelCell(this.pending.subarray(offset), this.linkVersion);
      if (frame.kind !== 'cell') {
        if (frame.kind === 'malformed')
          throw new Error(`client got malformed framing: ${frame.error.message}`);
        break;
      }
      offset += frame.bytesConsumed;
      const cell = frame.cell;
      const circuit = this.circuits.get(cell.circId);
      if (!circuit) {
        this.otherCells.push(cell);
        continue;
      }
      if (cell.command === ChannelCommand.RELAY || cell.command === ChannelCommand.RELAY_EARLY) {
        circuit.receiveRelay(cell.body);
      } else {
        circuit.cells.push(cell);
      }
    }
    this.pending = this.pending.slice(offset);
  }
}
