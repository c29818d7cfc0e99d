/**
 * A small Tor client over a real TLS channel, for tests that talk to a
 * running relayd: it opens the channel with net's TlsChannelProvider (TLS,
 * the initiator link handshake, and a check of relayd's identities), then
 * sends cells — well-formed or not — and collects what comes back.
 *
 * Circuits are built with @relayd/handshakes' client side and
 * Tor1ClientCrypto, as a tor client would; circuit IDs have the high bit
 * set, since we opened the channel (tor-spec 5.1.1).
 */
import {
  type ChannelCell,
  ChannelCommand,
  type ChannelMessage,
  decodeChannelCell,
  decodeChannelCellMessage,
  decodeRelayCell,
  decodeRelayCellMessage,
  encodeChannelCell,
  encodeChannelMessageCell,
  encodeRelayMessageCell,
  HandshakeType,
  type RelayMessage,
} from '@relayd/cells';
import { concatBytes, utf8 } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import type { EstablishedChannel } from '@relayd/engine';
import {
  createFastClientCreate,
  createFastClientFinish,
  ntorClientCreate,
  ntorClientFinish,
} from '@relayd/handshakes';
import { TlsChannelProvider } from '@relayd/net';
import { Tor1ClientCrypto } from '@relayd/relay-crypto';

export interface RelayTarget {
  readonly address: string;
  readonly port: number;
  readonly rsaIdentity: Uint8Array;
  readonly ed25519Identity?: Uint8Array;
}

/** A circuit this client built: its ID and relay crypto. */
export interface ClientCircuit {
  readonly circId: number;
  readonly crypto: Tor1ClientCrypto;
}

export class LinkClient {
  readonly cells: ChannelCell[] = [];
  private pending: Uint8Array = new Uint8Array(0);
  private readonly waiters = new Set<() => void>();
  private closedFlag = false;
  private readonly usedIds = new Set<number>();
  /** Per circuit: how many of `cells` relayMessages() has looked at. */
  private readonly decryptedUpTo = new Map<number, number>();
  /** Settles when the channel is gone (either side closed it). */
  readonly closed: Promise<void>;

  private constructor(readonly channel: EstablishedChannel) {
    let resolveClosed!: () => void;
    this.closed = new Promise((resolve) => {
      resolveClosed = resolve;
    });
    channel.transport.attach({
      data: (bytes) => this.receive(bytes),
      closed: () => {
        this.closedFlag = true;
        resolveClosed();
        this.wake();
      },
      drained: () => {},
    });
    if (channel.leftover.length > 0) this.receive(channel.leftover);
  }

  /** Opens a channel to `target`, proving its identity. */
  static async open(target: RelayTarget, timeoutMs = 15_000): Promise<LinkClient> {
    const provider = new TlsChannelProvider({ connectTimeoutMs: timeoutMs, handshakeTimeoutMs: timeoutMs });
    const channel = await provider.openChannel({
      addresses: [{ address: target.address, port: target.port }],
      rsaIdentity: target.rsaIdentity,
      ed25519Identity: target.ed25519Identity,
    });
    return new LinkClient(channel);
  }

  get linkVersion(): number {
    return this.channel.peer.linkVersion;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** A fresh circuit ID with the high bit set. */
  freshCircId(): number {
    for (;;) {
      const r = secureRandom.bytes(4);
      const id =
        this.linkVersion >= 4
          ? (((r[0]! | 0x80) << 24) >>> 0) + ((r[1]! << 16) | (r[2]! << 8) | r[3]!)
          : ((r[0]! | 0x80) << 8) | r[1]!;
      if (!this.usedIds.has(id)) {
        this.usedIds.add(id);
        return id;
      }
    }
  }

  sendCell(circId: number, message: ChannelMessage): void {
    this.channel.transport.write(encodeChannelMessageCell(circId, message, this.linkVersion));
  }

  sendRawCell(circId: number, command: number, body: Uint8Array): void {
    this.channel.transport.write(encodeChannelCell({ circId, command, body }, this.linkVersion));
  }

  sendBytes(bytes: Uint8Array): void {
    this.channel.transport.write(bytes);
  }

  close(): void {
    this.channel.transport.close();
  }

  /** Resolves with the first cell (received so far or later) matching `match`; rejects after `timeoutMs`. */
  waitForCell(match: (cell: ChannelCell) => boolean, what: string, timeoutMs = 10_000): Promise<ChannelCell> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.cells.find(match);
        if (found) {
          finish();
          resolve(found);
        } else if (this.closedFlag) {
          finish();
          reject(new Error(`channel closed while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The first cell for `circId` among `commands`. */
  waitForCircuitCell(circId: number, commands: readonly number[], timeoutMs = 10_000): Promise<ChannelCell> {
    return this.waitForCell(
      (c) => c.circId === circId && commands.includes(c.command),
      `a reply on circuit ${circId}`,
      timeoutMs,
    );
  }

  /** Builds a one-hop circuit with CREATE_FAST; rejects if it is refused. */
  async createFast(timeoutMs = 10_000): Promise<ClientCircuit> {
    const circId = this.freshCircId();
    const start = createFastClientCreate(secureRandom);
    this.sendCell(circId, { type: 'create-fast', keyMaterial: start.onionskin });
    const reply = await this.waitForCircuitCell(
      circId,
      [ChannelCommand.CREATED_FAST, ChannelCommand.DESTROY],
      timeoutMs,
    );
    const message = decodeChannelCellMessage(reply);
    if (!message.ok || message.value.type !== 'created-fast') throw new Error('CREATE_FAST was refused');
    const keys = createFastClientFinish(
      start.state,
      concatBytes(message.value.keyMaterial, message.value.derivativeKeyData),
    );
    if (!keys.ok) throw new Error(`CREATED_FAST did not verify: ${keys.error.message}`);
    const crypto = new Tor1ClientCrypto();
    crypto.addHop(keys.value.keyMaterial);
    return { circId, crypto };
  }

  /**
   * Sends CREATE2 (ntor) to the relay with onion key `ntorOnionKey`.
   * Resolves with the circuit, or with the DESTROY reason if refused.
   */
  async createNtor(
    relay: { readonly rsaIdentity: Uint8Array; readonly ntorOnionKey: Uint8Array },
    timeoutMs = 10_000,
  ): Promise<ClientCircuit | { readonly destroyed: number }> {
    const circId = this.freshCircId();
    const start = ntorClientCreate(
      { rsaIdentityDigest: relay.rsaIdentity, ntorOnionKey: relay.ntorOnionKey },
      secureRandom,
    );
    this.sendCell(circId, {
      type: 'create2',
      handshakeType: HandshakeType.NTOR,
      handshakeData: start.onionskin,
    });
    const reply = await this.waitForCircuitCell(
      circId,
      [ChannelCommand.CREATED2, ChannelCommand.DESTROY],
      timeoutMs,
    );
    if (reply.command === ChannelCommand.DESTROY) return { destroyed: reply.body[0]! };
    const message = decodeChannelCellMessage(reply);
    if (!message.ok || message.value.type !== 'created2') throw new Error('bad CREATED2');
    const keys = ntorClientFinish(start.state, message.value.handshakeData);
    if (!keys.ok) throw new Error(`CREATED2 did not verify: ${keys.error.message}`);
    const crypto = new Tor1ClientCrypto();
    crypto.addHop(keys.value.keyMaterial);
    return { circId, crypto };
  }

  /** Originates a relay message on `circuit` to its last hop. */
  sendRelay(circuit: ClientCircuit, streamId: number, message: RelayMessage, early = false): void {
    const payload = encodeRelayMessageCell(streamId, message, secureRandom);
    circuit.crypto.originateForward(payload, circuit.crypto.hopCount - 1);
    this.sendCell(circuit.circId, { type: early ? 'relay-early' : 'relay', payload });
  }

  /** Decrypts the relay cells received on `circuit` since the last call (relay crypto is a stream). */
  relayMessages(circuit: ClientCircuit): RelayMessage[] {
    const out: RelayMessage[] = [];
    const from = this.decryptedUpTo.get(circuit.circId) ?? 0;
    this.decryptedUpTo.set(circuit.circId, this.cells.length);
    for (const cell of this.cells.slice(from)) {
      if (cell.circId !== circuit.circId || cell.command !== ChannelCommand.RELAY) continue;
      if (!circuit.crypto.decryptBackward(cell.body)) continue;
      const relayCell = decodeRelayCell(cell.body);
      if (!relayCell.ok) continue;
      const message = decodeRelayCellMessage(relayCell.value);
      if (message.ok) out.push(message.value);
    }
    return out;
  }

  /** Resolves once more than `seen` cells have arrived (or the channel closed); rejects after `timeoutMs`. */
  waitForMoreCells(seen: number, timeoutMs: number): Promise<void> {
    return this.waitForCell(
      () => this.cells.length > seen || this.closedFlag,
      'another cell',
      timeoutMs,
    ).then(
      () => undefined,
      (error: Error) => {
        if (this.closedFlag) return;
        throw error;
      },
    );
  }

  /**
   * Fetches `path` over a BEGIN_DIR stream on a fresh CREATE_FAST circuit, as
   * a bridge client does: BEGIN_DIR, wait for CONNECTED, send the HTTP GET,
   * read DATA until END. Resolves with the raw HTTP response.
   */
  async fetchDirectory(path: string, timeoutMs = 15_000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    const circuit = await this.createFast(timeoutMs);
    const streamId = 1;
    this.sendRelay(circuit, streamId, { type: 'begin-dir' });
    let connected = false;
    const body: Uint8Array[] = [];
    for (;;) {
      const seen = this.cells.length;
      for (const message of this.relayMessages(circuit)) {
        if (message.type === 'connected' && !connected) {
          connected = true;
          this.sendRelay(circuit, streamId, { type: 'data', data: utf8(`GET ${path} HTTP/1.0\r\n\r\n`) });
        } else if (message.type === 'data') {
          body.push(message.data);
        } else if (message.type === 'end') {
          return concatBytes(...body);
        }
      }
      if (this.closedFlag) throw new Error(`the channel closed while fetching ${path}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete answer for ${path} within ${timeoutMs} ms`);
      await this.waitForMoreCells(seen, left);
    }
  }

  private receive(bytes: Uint8Array): void {
    this.pending = this.pending.length === 0 ? bytes : concatBytes(this.pending, bytes);
    for (;;) {
      const frame = decodeChannelCell(this.pending, this.linkVersion);
      if (frame.kind !== 'cell') break;
      this.cells.push(frame.cell);
      this.pending = this.pending.subarray(frame.bytesConsumed);
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
