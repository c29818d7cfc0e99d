/**
 * The benchmark's client: one channel (link protocol 5) and one circuit,
 * built with CREATE_FAST to the bridge and extended with ntor to the sink.
 * It keeps its own per-cell work small (fixed-length framing on offsets,
 * cells batched into one write per task) so that the engines dominate the
 * profile, and keeps tor's flow control as a client does: a SENDME v1 for
 * every 100th DATA cell received, a stream SENDME for every 50th, and
 * uploads only while the sink's SENDMEs keep its windows open.
 */
import {
  ChannelCommand,
  type ChannelMessage,
  decodeChannelMessage,
  encodeChannelMessageCell,
  encodeRelayMessageCell,
  HandshakeType,
  type LinkSpecifier,
  RELAY_DATA_MAX_LENGTH,
  RelayCommand,
  type RelayMessage,
} from '@relayd/cells';
import { concatBytes, type Random } from '@relayd/common';
import {
  createFastClientCreate,
  createFastClientFinish,
  ntorClientCreate,
  ntorClientFinish,
} from '@relayd/handshakes';
import { Tor1ClientCrypto } from '@relayd/relay-crypto';
import type { BenchLoop, BenchTransport, Party } from './bench-loop.js';

const CELL_LENGTH = 514;
const BODY_AT = 5;
const CELLS_PER_WRITE = 32;
const CIRCUIT_WINDOW = 1000;
const STREAM_WINDOW = 500;

export interface SinkDescription {
  readonly rsaIdentityDigest: Uint8Array;
  readonly ntorOnionKey: Uint8Array;
  readonly specifiers: LinkSpecifier[];
}

interface Stream {
  dataReceived: number;
  ended: boolean;
  packageWindow: number;
}

export class BenchClient {
  readonly crypto = new Tor1ClientCrypto();
  /** DATA cells received from the sink, all streams. */
  dataCellsReceived = 0;
  /** DATA cells sent to the sink on the upload stream. */
  uploadCellsSent = 0;
  private readonly streams = new Map<number, Stream>();
  private circuitPackageWindow = CIRCUIT_WINDOW;
  private dataSinceCircuitSendme = 0;
  private readonly partial = new Uint8Array(CELL_LENGTH);
  private partialLength = 0;
  private outCells: Uint8Array[] = [];
  private blocked = false;
  private createdBody: Uint8Array | undefined;
  private extendedData: Uint8Array | undefined;
  private upload: { streamId: number; remaining: number } | undefined;
  private pumpScheduled = false;
  private readonly uploadData = new Uint8Array(RELAY_DATA_MAX_LENGTH).fill(0x61);

  constructor(
    private readonly party: Party,
    private readonly transport: BenchTransport,
    private readonly random: Random,
    readonly circId: number,
  ) {
    transport.attach({
      data: (chunk) => this.receive(chunk),
      closed: () => {
        throw new Error('the bridge closed the client channel');
      },
      drained: () => {
        this.blocked = false;
        this.schedulePump();
      },
    });
  }

  // ------------------------------------------------------------ setup

  /** Builds the first hop with CREATE_FAST. */
  async createFast(loop: BenchLoop): Promise<void> {
    const start = createFastClientCreate(this.random);
    this.sendChannel({ type: 'create-fast', keyMaterial: start.onionskin });
    await loop.runUntil(() => this.createdBody !== undefined, 'CREATED_FAST');
    const decoded = decodeChannelMessage(ChannelCommand.CREATED_FAST, this.createdBody!);
    if (!decoded.ok || decoded.value.type !== 'created-fast') throw new Error('bad CREATED_FAST');
    const keys = createFastClientFinish(
      start.state,
      concatBytes(decoded.value.keyMaterial, decoded.value.derivativeKeyData),
    );
    if (!keys.ok) throw new Error(keys.error.message);
    this.crypto.addHop(keys.value.keyMaterial);
  }

  /** Extends the circuit to the sink with EXTEND2 (ntor) in a RELAY_EARLY cell. */
  async extend(loop: BenchLoop, sink: SinkDescription): Promise<void> {
    const start = ntorClientCreate(
      { rsaIdentityDigest: sink.rsaIdentityDigest, ntorOnionKey: sink.ntorOnionKey },
      this.random,
    );
    this.sendRelay(
      0,
      0,
      {
        type: 'extend2',
        linkSpecifiers: sink.specifiers,
        handshakeType: HandshakeType.NTOR,
        handshakeData: start.onionskin,
      },
      true,
    );
    this.flushOut();
    await loop.runUntil(() => this.extendedData !== undefined, 'EXTENDED2');
    const data = this.extendedData!;
    const length = (data[0]! << 8) | data[1]!;
    const keys = ntorClientFinish(start.state, data.subarray(2, 2 + length));
    if (!keys.ok) throw new Error(keys.error.message);
    this.crypto.addHop(keys.value.keyMaterial);
  }

  // ------------------------------------------------------------ streams

  /** Opens a BEGIN_DIR stream at the sink and sends an HTTP GET for `path`. */
  request(streamId: number, path: string): void {
    this.streams.set(streamId, { dataReceived: 0, ended: false, packageWindow: STREAM_WINDOW });
    this.sendRelay(1, streamId, { type: 'begin-dir' });
    const get = new TextEncoder().encode(`GET ${path} HTTP/1.0\r\n\r\n`);
    this.sendRelay(1, streamId, { type: 'data', data: get });
    this.flushOut();
  }

  streamEnded(streamId: number): boolean {
    return this.streams.get(streamId)?.ended ?? false;
  }

  /** Starts sending `cells` full DATA cells on an open stream, as fast as the windows allow. */
  startUpload(streamId: number, cells: number): void {
    this.upload = { streamId, remaining: cells };
    this.schedulePump();
  }

  get uploadDone(): boolean {
    return this.upload === undefined || this.upload.remaining === 0;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.uploadDone) return;
    this.pumpScheduled = true;
    this.party.defer(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Sends up to two writes' worth of DATA, then yields to the other parties. */
  private pump(): void {
    const upload = this.upload;
    if (!upload) return;
    const stream = this.streams.get(upload.streamId)!;
    let sent = 0;
    while (
      upload.remaining > 0 &&
      !this.blocked &&
      this.circuitPackageWindow > 0 &&
      stream.packageWindow > 0 &&
      sent < 2 * CELLS_PER_WRITE
    ) {
      this.sendRelay(1, upload.streamId, { type: 'data', data: this.uploadData });
      this.circuitPackageWindow--;
      stream.packageWindow--;
      upload.remaining--;
      this.uploadCellsSent++;
      sent++;
    }
    this.flushOut();
    if (sent === 2 * CELLS_PER_WRITE) this.schedulePump();
  }

  // ------------------------------------------------------------ cells out

  private sendChannel(message: ChannelMessage): void {
    this.outCells.push(encodeChannelMessageCell(this.circId, message, 5));
    this.flushOut();
  }

  private sendRelay(hop: number, streamId: number, message: RelayMessage, early = false): void {
    const payload = encodeRelayMessageCell(streamId, message, this.random);
    this.crypto.originateForward(payload, hop);
    this.outCells.push(
      encodeChannelMessageCell(this.circId, { type: early ? 'relay-early' : 'relay', payload }, 5),
    );
    if (this.outCells.length >= CELLS_PER_WRITE) this.flushOut();
  }

  private flushOut(): void {
    if (this.outCells.length === 0) return;
    const bytes = this.outCells.length === 1 ? this.outCells[0]! : concatBytes(...this.outCells);
    this.outCells = [];
    if (!this.transport.write(bytes)) this.blocked = true;
  }

  // ------------------------------------------------------------ cells in

  private receive(chunk: Uint8Array): void {
    let at = 0;
    if (this.partialLength > 0) {
      const take = Math.min(CELL_LENGTH - this.partialLength, chunk.length);
      this.partial.set(chunk.subarray(0, take), this.partialLength);
      this.partialLength += take;
      at = take;
      if (this.partialLength < CELL_LENGTH) return;
      this.partialLength = 0;
      this.handleCell(this.partial, 0);
    }
    for (; at + CELL_LENGTH <= chunk.length; at += CELL_LENGTH) this.handleCell(chunk, at);
    if (at < chunk.length) {
      this.partial.set(chunk.subarray(at));
      this.partialLength = chunk.length - at;
    }
    this.flushOut();
  }

  private handleCell(bytes: Uint8Array, at: number): void {
    const command = bytes[at + 4]!;
    if (command === ChannelCommand.VERSIONS || command >= 128) {
      throw new Error(`the bench client frames fixed-length cells only, got command ${command}`);
    }
    const circId =
      ((bytes[at]! << 24) >>> 0) + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
    if (circId !== this.circId) return;
    const body = bytes.subarray(at + BODY_AT, at + CELL_LENGTH);
    switch (command) {
      case ChannelCommand.CREATED_FAST:
        this.createdBody = body.slice();
        return;
      case ChannelCommand.RELAY:
        this.handleRelay(body);
        return;
      case ChannelCommand.DESTROY:
        throw new Error(`circuit destroyed with reason ${body[0]}`);
    }
  }

  private handleRelay(payload: Uint8Array): void {
    const recognized = this.crypto.decryptBackward(payload);
    if (!recognized) throw new Error('a backward cell no hop recognized');
    const command = payload[0]!;
    const streamId = (payload[3]! << 8) | payload[4]!;
    const length = (payload[9]! << 8) | payload[10]!;
    switch (command) {
      case RelayCommand.EXTENDED2:
        this.extendedData = payload.slice(11, 11 + length);
        return;
      case RelayCommand.CONNECTED:
        return;
      case RelayCommand.DATA: {
        this.dataCellsReceived++;
        if (++this.dataSinceCircuitSendme === 100) {
          this.dataSinceCircuitSendme = 0;
          this.sendRelay(recognized.hop, 0, { type: 'sendme', kind: 'v1', digest: recognized.sendmeTag });
        }
        const stream = this.streams.get(streamId);
        if (!stream) throw new Error(`DATA on unknown stream ${streamId}`);
        if (++stream.dataReceived % 50 === 0) {
          this.sendRelay(recognized.hop, streamId, { type: 'sendme', kind: 'v0' });
        }
        return;
      }
      case RelayCommand.SENDME:
        if (streamId === 0) this.circuitPackageWindow += 100;
        else this.streams.get(streamId)!.packageWindow += 50;
        this.schedulePump();
        return;
      case RelayCommand.END: {
        const stream = this.streams.get(streamId);
        if (stream) stream.ended = true;
        return;
      }
      default:
        throw new Error(`unexpected relay command ${command}`);
    }
  }
}
