/**
 * RelayEngine: a worker's sans-IO relay. It adopts channels whose link
 * handshake is done and serves everything after it: circuit creation
 * (through the create queue), relay cell switching with tor1 crypto,
 * EXTEND2 through a ChannelProvider, DESTROY and TRUNCATE, directory streams
 * with flow control, and the idle/keepalive housekeeping. Time, randomness,
 * deferred work and I/O all come in through its modules.
 *
 * Cell routing (C tor command.c):
 *   PADDING, VPADDING, VERSIONS, NETINFO, AUTHORIZE, unknown → dropped
 *   CERTS, AUTH_CHALLENGE, AUTHENTICATE                     → close the channel
 *   PADDING_NEGOTIATE                                       → counted (no padding is sent)
 *   CREATE_FAST, CREATE2                                    → create queue → CREATED_FAST / CREATED2
 *   CREATED2 (from a next hop)                              → EXTENDED2 to the client
 *   RELAY, RELAY_EARLY from the client side                 → decrypt; recognized → relay-dispatch,
 *                                                             else forward to the next hop
 *   RELAY from the next hop                                 → add our layer, send to the client
 *   DESTROY                                                 → close, DESTROY(DESTROYED) onwards
 *
 * Failure containment: every callback into the engine (transport events,
 * deferred turns, timers, promise settlements) runs under `guarded`, which
 * turns an exception into a "bug" log line and closes the one channel whose
 * work it was. Peer input never throws: it is decoded into Results.
 */
import {
  CellBodySlab,
  type ChannelCell,
  ChannelCommand,
  channelCommandDisposition,
  DestroyReason,
  decodeChannelMessage,
  encodeChannelMessage,
  encodeRelayMessageCell,
  MAX_CREATED2_HANDSHAKE_LENGTH,
  RELAY_DATA_MAX_LENGTH,
  RELAY_PAYLOAD_LENGTH,
  type RelayMessage,
  viewRelayCell,
} from '@relayd/cells';
import {
  type Clock,
  type DecodeError,
  describeError,
  type Logger,
  type Random,
  sensitive,
  silentLogger,
} from '@relayd/common';
import type { ServerOnionKeys } from '@relayd/handshakes';
import { Tor1RelayCrypto } from '@relayd/relay-crypto';
import { Channel, type ChannelHost } from './channel.js';
import type { ChannelProvider, EstablishedChannel } from './channel-types.js';
import { type CircuitEnd, RelayCircuit } from './circuit.js';
import { CircuitExtender } from './circuit-extender.js';
import { isAcceptablePeerCircId } from './circuit-id-map.js';
import { answerCreate, classifyCreate, type X25519KeypairLike } from './create-handshake.js';
import { CreateQueue } from './create-queue.js';
import type { DirectoryService } from './directory-service.js';
import { DirectoryStreams } from './directory-streams.js';
import { channelAction, drawIdleTimeoutMs, isIdleCircuit } from './housekeeping.js';
import { LogLimiter } from './log-limiter.js';
import { type ChannelCloseCause, type EngineMetrics, noopEngineMetrics } from './metrics.js';
import { type RelayEngineOptions, type RelayEngineOptionsInput, resolveEngineOptions } from './options.js';
import { dispatchRelayCell, type RelayDispatchHost } from './relay-dispatch.js';
import type { Scheduler, TimerHandle } from './scheduler.js';

/** The relay's long-term identities, as circuit handshakes and EXTEND2 checks need them. */
export interface RelayIdentity {
  /** SHA-1 digest of the RSA identity key (20 bytes): ntor's NODEID, EXTEND2's legacy id. */
  readonly rsaIdentityDigest: Uint8Array;
  /** The Ed25519 identity key (32 bytes): ntor v3's ID. */
  readonly ed25519Identity: Uint8Array;
}

export interface RelayEngineModules {
  readonly identity: RelayIdentity;
  /** The ntor onion keys: current, and the previous one during its grace period. */
  readonly onionKeys: ServerOnionKeys;
  readonly random: Random;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly channelProvider: ChannelProvider;
  readonly directoryService: DirectoryService;
  /** Fresh X25519 keypairs for the relay side of ntor and ntor v3 (the worker passes crypto's generateX25519). */
  readonly ephemeralKeypair: () => X25519KeypairLike;
  readonly logger?: Logger;
  readonly metrics?: EngineMetrics;
}

/** Read-only counts, for health reports and gauges. */
export interface RelayEngineStats {
  readonly channels: number;
  readonly circuits: number;
  readonly createQueueLength: number;
  readonly directoryStreams: number;
  /** Channels the provider is still opening for EXTEND2. */
  readonly pendingChannelOpens: number;
}

const DESTROY_BODY_LENGTH = 1;

function destroyBody(reason: number): Uint8Array {
  const body = new Uint8Array(DESTROY_BODY_LENGTH);
  body[0] = reason & 0xff;
  return body;
}

/** EXTENDED2 carries HLEN and HDATA in at most 498 bytes of relay data. */
const MAX_EXTENDED2_HANDSHAKE_LENGTH = Math.min(RELAY_DATA_MAX_LENGTH - 2, MAX_CREATED2_HANDSHAKE_LENGTH);

export class RelayEngine {
  private readonly options: RelayEngineOptions;
  private readonly identity: RelayIdentity;
  private onionKeys: ServerOnionKeys;
  private readonly random: Random;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly ephemeralKeypair: () => X25519KeypairLike;
  private readonly logger: Logger;
  private readonly metrics: EngineMetrics;
  private readonly logLimiter: LogLimiter;

  private readonly channels = new Set<Channel>();
  private readonly circuits = new Set<RelayCircuit>();
  /**
   * Memory for every cell body the channels read and every relay payload
   * the engine originates: bodies are decrypted in place and queued as they
   * are, so a relayed cell is copied once between the read and the write.
   */
  private readonly bodies = new CellBodySlab();
  private readonly extender: CircuitExtender;
  private readonly directoryStreams: DirectoryStreams;
  private readonly createQueue: CreateQueue<RelayCircuit>;
  private nextChannelId = 1;
  private nextCircuitSerial = 1;
  private housekeepingTimer: TimerHandle | undefined;
  private closed = false;

  private readonly channelHost: ChannelHost = {
    onCell: (channel, cell) => this.handleCell(channel, cell),
    onMalformed: (channel, error) => this.handleMalformed(channel, error),
    onWritable: (channel) => this.handleWritable(channel),
    requestFlush: (channel) =>
      this.scheduler.defer(() => this.guarded(channel, 'flushing', () => channel.flush())),
  };

  private readonly dispatchHost: RelayDispatchHost;

  constructor(options: RelayEngineOptionsInput, modules: RelayEngineModules) {
    this.options = resolveEngineOptions(options);
    this.identity = modules.identity;
    this.onionKeys = modules.onionKeys;
    this.random = modules.random;
    this.clock = modules.clock;
    this.scheduler = modules.scheduler;
    this.ephemeralKeypair = modules.ephemeralKeypair;
    this.logger = (modules.logger ?? silentLogger).child({ module: 'engine' });
    this.metrics = modules.metrics ?? noopEngineMetrics;
    this.logLimiter = new LogLimiter(this.clock);
    this.createQueue = new CreateQueue<RelayCircuit>(this.options.createQueue, this.clock, this.scheduler, {
      process: (circuit, waitedMs) =>
        this.guarded(circuit.prev?.channel, 'answering a CREATE', () => {
          this.metrics.createQueueWait(waitedMs);
          this.answer(circuit);
        }),
      expire: (circuit) =>
        this.guarded(circuit.prev?.channel, 'expiring a CREATE', () => {
          this.metrics.onionskin(circuit.handshake, 'dropped');
          this.closeCircuit(circuit, DestroyReason.RESOURCELIMIT, 'waited too long in the create queue');
        }),
    });
    this.dispatchHost = {
      sendmeAcceptMinVersion: this.options.sendmeAcceptMinVersion,
      sendRelay: (circuit, streamId, message) => this.sendRelay(circuit, streamId, message),
      closeCircuit: (circuit, reason, detail) => this.closeCircuit(circuit, reason, detail),
      violation: (circuit, label, detail) => this.violation(circuit.prev?.channel, label, detail),
      extend: (circuit, message) => this.extender.extend(circuit, message),
      truncate: (circuit, reason) => this.truncate(circuit, reason),
      beginDir: (circuit, streamId) => this.directoryStreams.begin(circuit, streamId),
      streamData: (circuit, stream, data) => this.directoryStreams.data(circuit, stream, data),
      streamEnded: (circuit, stream) => this.directoryStreams.ended(circuit, stream),
      resumeStreams: (circuit) => this.directoryStreams.pump(circuit),
    };
    this.extender = new CircuitExtender(
      {
        allowPrivateAddresses: this.options.extendAllowPrivateAddresses,
        ourRsaIdentity: this.identity.rsaIdentityDigest,
        ourEd25519Identity: this.identity.ed25519Identity,
      },
      modules.channelProvider,
      this.random,
      this.metrics,
      this.logger,
      this.logLimiter,
      {
        isClosed: () => this.closed,
        adopt: (established) => this.adopt(established),
        closeCircuit: (circuit, reason, detail) => this.closeCircuit(circuit, reason, detail),
        queueToNext: (circuit, command, body) => this.queueToNext(circuit, command, body),
        guarded: (channel, what, work) => this.guarded(channel, what, work),
        violation: (channel, label, detail) => this.violation(channel, label, detail),
      },
    );
    this.directoryStreams = new DirectoryStreams(
      {
        maxRequestBytes: this.options.maxDirectoryRequestBytes,
        originateQueueCells: this.options.originateQueueCells,
      },
      modules.directoryService,
      this.metrics,
      this.logger,
      this.logLimiter,
      {
        sendRelay: (circuit, streamId, message) => {
          this.sendRelay(circuit, streamId, message);
        },
        sendData: (circuit, streamId, chunk) => this.sendData(circuit, streamId, chunk),
        guarded: (channel, what, work) => this.guarded(channel, what, work),
        violation: (channel, label, detail) => this.violation(channel, label, detail),
      },
    );
    this.armHousekeeping();
  }

  // ---------------------------------------------------------------- public API

  /**
   * Takes over a channel whose link handshake is complete: processes
   * `leftover` first, then attaches to the transport. Returns the channel's
   * engine identifier, or undefined if the engine is closed or the channel
   * was refused (the transport is then closed).
   */
  adoptChannel(established: EstablishedChannel): number | undefined {
    return this.adopt(established)?.id;
  }

  /** Replaces the onion keys used for new handshakes (and for those still queued). */
  updateOnionKeys(keys: ServerOnionKeys): void {
    this.onionKeys = keys;
  }

  /** Rotation: `next` becomes the current onion key and the current one becomes the previous one. */
  rotateOnionKey(next: X25519KeypairLike): void {
    this.onionKeys = { current: next, previous: this.onionKeys.current };
  }

  /** Closes every channel and stops all timers. Later adoptions are refused. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.createQueue.stop();
    if (this.housekeepingTimer !== undefined) this.scheduler.clearTimeout(this.housekeepingTimer);
    this.housekeepingTimer = undefined;
    for (const channel of [...this.channels]) this.closeChannelSafely(channel, 'shutdown');
    this.extender.clear();
  }

  get stats(): RelayEngineStats {
    let directoryStreams = 0;
    for (const circuit of this.circuits) directoryStreams += circuit.streams.size;
    return {
      channels: this.channels.size,
      circuits: this.circuits.size,
      createQueueLength: this.createQueue.length,
      directoryStreams,
      pendingChannelOpens: this.extender.pendingLaunches,
    };
  }

  // ---------------------------------------------------------------- channels

  private adopt(established: EstablishedChannel): Channel | undefined {
    const { transport, peer, leftover } = established;
    if (this.closed) {
      transport.close();
      return undefined;
    }
    if (!Number.isInteger(peer.linkVersion) || peer.linkVersion < 3 || peer.linkVersion > 5) {
      this.logger.error(
        { linkVersion: peer.linkVersion },
        'bug: channel adopted with an unsupported link version',
      );
      transport.close();
      return undefined;
    }
    const channel = new Channel(
      this.nextChannelId++,
      peer,
      transport,
      this.channelHost,
      this.clock,
      this.metrics,
      this.options.maxVariableCellBodyLength,
      drawIdleTimeoutMs(peer, this.options, this.random),
      this.bodies,
    );
    this.channels.add(channel);
    this.extender.channels.add(channel);
    this.metrics.channelOpened(peer.initiatedLocally);
    this.logger.debug(
      { channel: channel.id, peer: sensitive(peer.remoteAddress), initiatedLocally: peer.initiatedLocally },
      'channel adopted',
    );
    this.guarded(channel, 'reading leftover bytes', () => channel.receive(leftover));
    if (channel.isClosed) return channel;
    this.guarded(channel, 'attaching', () =>
      transport.attach({
        data: (bytes) => this.guarded(channel, 'reading', () => channel.receive(bytes)),
        closed: (error) =>
          this.guarded(channel, 'closing', () => {
            if (error && !channel.isClosed) {
              this.logger.debug(
                { channel: channel.id, error: describeError(error) },
                'channel transport failed',
              );
            }
            this.closeChannel(channel, 'remote');
          }),
        drained: () => this.guarded(channel, 'draining', () => channel.drained()),
      }),
    );
    return channel;
  }

  /** Runs engine work for a channel; an exception is a bug that closes that channel only. */
  private guarded(channel: Channel | undefined, what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.logger.error(
        { channel: channel?.id, error: describeError(error) },
        `bug: ${what} failed; closing the channel`,
      );
      if (channel) this.closeChannelSafely(channel, 'internal');
    }
  }

  private closeChannelSafely(channel: Channel, cause: ChannelCloseCause): void {
    try {
      this.closeChannel(channel, cause);
    } catch (error) {
      this.logger.error(
        { channel: channel.id, error: describeError(error) },
        'bug: closing a channel failed',
      );
      channel.markClosed();
      this.channels.delete(channel);
      this.extender.channels.remove(channel);
      try {
        channel.transport.close();
      } catch {
        // Nothing more can be done for this transport.
      }
    }
  }

  /** Closes a channel: every circuit on it is destroyed, with DESTROY(CHANNEL_CLOSED) on its other side. */
  private closeChannel(channel: Channel, cause: ChannelCloseCause): void {
    if (channel.isClosed) return;
    channel.markClosed();
    this.channels.delete(channel);
    this.extender.channels.remove(channel);
    this.metrics.channelClosed(cause);
    for (const circuit of [...channel.circuits.values()]) {
      if (circuit.prev?.channel === channel) circuit.prev = undefined;
      if (circuit.nextEnd?.channel === channel) circuit.next = { kind: 'none' };
      this.closeCircuit(circuit, DestroyReason.CHANNEL_CLOSED, 'channel closed');
    }
    this.logger.debug({ channel: channel.id, cause }, 'channel closed');
    channel.transport.close();
  }

  private handleMalformed(channel: Channel, error: DecodeError): void {
    this.violation(channel, 'malformed-framing', error.message);
    this.closeChannel(channel, 'protocol');
  }

  private handleWritable(channel: Channel): void {
    if (channel.waitingOriginators.size === 0) return;
    const waiting = [...channel.waitingOriginators];
    channel.waitingOriginators.clear();
    for (const circuit of waiting) this.directoryStreams.pump(circuit);
  }

  /** Counts a peer's protocol slip and logs it at debug level, rate-limited per label. */
  private violation(channel: Channel | undefined, label: string, detail: string): void {
    this.metrics.protocolViolation(label);
    const suppressed = this.logLimiter.take(`violation:${label}`);
    if (suppressed === undefined) return;
    this.logger.debug({ channel: channel?.id, label, suppressed }, `protocol violation: ${detail}`);
  }

  // ---------------------------------------------------------------- cells

  private handleCell(channel: Channel, cell: ChannelCell): void {
    const disposition = channelCommandDisposition('open', cell.command);
    if (disposition === 'ignore') return;
    if (disposition === 'reject') {
      this.violation(channel, 'handshake-cell-when-open', `command ${cell.command} on an open channel`);
      this.closeChannel(channel, 'protocol');
      return;
    }
    if (cell.command === ChannelCommand.PADDING_NEGOTIATE) {
      const decoded = decodeChannelMessage(cell.command, cell.body);
      if (decoded.ok) this.metrics.paddingNegotiate();
      else this.violation(channel, 'bad-padding-negotiate', decoded.error.message);
      return;
    }
    if (cell.circId === 0) {
      this.violation(channel, 'zero-circ-id', `command ${cell.command} with circuit ID 0`);
      return;
    }
    switch (cell.command) {
      case ChannelCommand.CREATE:
      case ChannelCommand.CREATE_FAST:
      case ChannelCommand.CREATE2:
        this.handleCreate(channel, cell);
        return;
      case ChannelCommand.CREATED:
      case ChannelCommand.CREATED_FAST:
      case ChannelCommand.CREATED2:
        this.handleCreated(channel, cell);
        return;
      case ChannelCommand.RELAY:
      case ChannelCommand.RELAY_EARLY:
        this.handleRelay(channel, cell);
        return;
      case ChannelCommand.DESTROY:
        this.handleDestroy(channel, cell);
        return;
    }
  }

  /** Sends DESTROY for a circuit ID that has no circuit (a refused CREATE). */
  private refuseCreate(
    channel: Channel,
    circId: number,
    reason: number,
    label: string,
    detail: string,
  ): void {
    this.violation(channel, label, detail);
    channel.queueControlCell(circId, ChannelCommand.DESTROY, destroyBody(reason));
  }

  private handleCreate(channel: Channel, cell: ChannelCell): void {
    const circId = cell.circId;
    // "if it already has a circuit on the given connection with the given circID, it drops the cell"
    if (channel.circuits.has(circId)) {
      this.violation(channel, 'create-id-in-use', `CREATE on circuit ID ${circId} in use`);
      return;
    }
    // A bridge is not a public relay: it takes no circuits on channels it opened (command.c).
    if (channel.peer.initiatedLocally) {
      this.refuseCreate(
        channel,
        circId,
        DestroyReason.PROTOCOL,
        'create-on-outgoing',
        'CREATE on a channel we opened',
      );
      return;
    }
    if (!isAcceptablePeerCircId(circId, channel.linkVersion, channel.peer.initiatedLocally)) {
      this.refuseCreate(
        channel,
        circId,
        DestroyReason.PROTOCOL,
        'create-circ-id-msb',
        'CREATE circuit ID has the wrong high bit',
      );
      return;
    }
    const decoded = decodeChannelMessage(cell.command, cell.body);
    if (!decoded.ok) {
      this.refuseCreate(channel, circId, DestroyReason.PROTOCOL, 'bad-create', decoded.error.message);
      return;
    }
    const request = classifyCreate(decoded.value);
    if (!request.ok) {
      this.metrics.onionskin(request.error.label, 'failed');
      this.refuseCreate(channel, circId, DestroyReason.PROTOCOL, 'unsupported-create', request.error.detail);
      return;
    }
    const circuit = new RelayCircuit(
      this.nextCircuitSerial++,
      { channel, circId },
      request.value.label,
      this.clock.monotonicMs(),
    );
    circuit.pendingCreate = request.value;
    channel.circuits.set(circId, circuit);
    this.circuits.add(circuit);
    if (!this.createQueue.enqueue(circuit)) {
      this.metrics.onionskin(circuit.handshake, 'dropped');
      const suppressed = this.logLimiter.take('create-queue-full');
      if (suppressed !== undefined) {
        this.logger.warn(
          { queueLength: this.createQueue.length, suppressed },
          'too many circuit creation requests: the create queue is full; dropping them',
        );
      }
      this.closeCircuit(circuit, DestroyReason.RESOURCELIMIT, 'create queue full');
    }
  }

  /** Create queue turn: runs the handshake and answers, or refuses with PROTOCOL. */
  private answer(circuit: RelayCircuit): void {
    const request = circuit.pendingCreate;
    circuit.pendingCreate = undefined;
    if (!request || circuit.isClosed || !circuit.prev) return;
    const answer = answerCreate(request, this.handshakeKeys(), this.random, this.ephemeralKeypair);
    if (!answer.ok) {
      this.metrics.onionskin(request.label, 'failed');
      this.closeCircuit(circuit, DestroyReason.PROTOCOL, `handshake failed: ${answer.error}`);
      return;
    }
    circuit.crypto = Tor1RelayCrypto.fromKeyMaterial(answer.value.keyMaterial);
    circuit.state = 'open';
    this.metrics.onionskin(request.label, 'processed');
    this.metrics.circuitOpened(request.label);
    const { command, body } = encodeChannelMessage(answer.value.reply);
    this.queueToPrev(circuit, command, body);
  }

  private handshakeKeys() {
    return {
      rsaIdentityDigest: this.identity.rsaIdentityDigest,
      ed25519Identity: this.identity.ed25519Identity,
      onionKeys: this.onionKeys,
    };
  }

  private handleCreated(channel: Channel, cell: ChannelCell): void {
    const circuit = channel.circuits.get(cell.circId);
    if (!circuit) {
      this.violation(channel, 'unknown-circuit', 'CREATED for an unknown circuit');
      return;
    }
    const end = circuit.nextEnd;
    if (!end || end.channel !== channel || end.circId !== cell.circId) {
      this.closeCircuit(circuit, DestroyReason.PROTOCOL, 'CREATED from the client side');
      return;
    }
    if (circuit.next.kind !== 'awaiting-created' || cell.command !== ChannelCommand.CREATED2) {
      this.closeCircuit(circuit, DestroyReason.PROTOCOL, 'unexpected CREATED cell from the next hop');
      return;
    }
    const decoded = decodeChannelMessage(cell.command, cell.body);
    if (!decoded.ok || decoded.value.type !== 'created2') {
      this.closeCircuit(circuit, DestroyReason.PROTOCOL, 'unparseable CREATED2');
      return;
    }
    if (decoded.value.handshakeData.length > MAX_EXTENDED2_HANDSHAKE_LENGTH) {
      this.closeCircuit(circuit, DestroyReason.PROTOCOL, 'CREATED2 too long for EXTENDED2');
      return;
    }
    circuit.next = { kind: 'open', end };
    this.sendRelay(circuit, 0, { type: 'extended2', handshakeData: decoded.value.handshakeData });
  }

  private handleRelay(channel: Channel, cell: ChannelCell): void {
    const circuit = channel.circuits.get(cell.circId);
    if (!circuit) {
      this.violation(channel, 'unknown-circuit', 'relay cell for an unknown circuit');
      return;
    }
    if (circuit.state !== 'open' || !circuit.crypto) {
      this.closeCircuit(circuit, DestroyReason.PROTOCOL, 'relay cell before the circuit was answered');
      return;
    }
    const payload = cell.body;
    const early = cell.command === ChannelCommand.RELAY_EARLY;
    const prev = circuit.prev;
    const forward = prev !== undefined && prev.channel === channel && prev.circId === cell.circId;
    if (!forward) {
      if (early) {
        // "If it receives any inbound RELAY_EARLY cells, it MUST close the circuit immediately."
        this.metrics.protocolViolation('inbound-relay-early');
        this.closeCircuit(circuit, DestroyReason.PROTOCOL, 'inbound RELAY_EARLY');
        return;
      }
      circuit.crypto.encryptBackward(payload);
      this.queueToPrev(circuit, ChannelCommand.RELAY, payload);
      return;
    }
    if (early) {
      if (circuit.relayEarlyRemaining === 0) {
        this.metrics.protocolViolation('relay-early-limit');
        this.closeCircuit(circuit, DestroyReason.PROTOCOL, 'too many RELAY_EARLY cells');
        return;
      }
      circuit.relayEarlyRemaining--;
    }
    const tag = circuit.crypto.decryptForward(payload);
    if (tag) {
      // Views into the payload, which nothing modifies or reuses once the cell is dispatched.
      const relayCell = viewRelayCell(payload);
      if (!relayCell.ok) {
        this.closeCircuit(circuit, DestroyReason.PROTOCOL, 'relay cell length field too long');
        return;
      }
      dispatchRelayCell(this.dispatchHost, circuit, { cell: relayCell.value, payload, tag, early });
      return;
    }
    if (!circuit.nextEnd) {
      this.metrics.protocolViolation('unrecognized-at-end');
      this.closeCircuit(
        circuit,
        DestroyReason.PROTOCOL,
        'unrecognized relay cell, but the circuit stops here',
      );
      return;
    }
    // RELAY_EARLY stays RELAY_EARLY (tor-spec 5.6).
    this.queueToNext(circuit, early ? ChannelCommand.RELAY_EARLY : ChannelCommand.RELAY, payload);
  }

  private handleDestroy(channel: Channel, cell: ChannelCell): void {
    const circuit = channel.circuits.get(cell.circId);
    if (!circuit) {
      this.violation(channel, 'unknown-circuit', 'DESTROY for an unknown circuit');
      return;
    }
    const prev = circuit.prev;
    channel.removeCircuit(cell.circId);
    channel.waitingOriginators.delete(circuit);
    if (prev && prev.channel === channel && prev.circId === cell.circId) circuit.prev = undefined;
    else circuit.next = { kind: 'none' };
    // Either way C tor closes the whole circuit with DESTROYED, so the peer's
    // reason is not propagated as a side channel (command.c, tor-spec 5.4).
    this.closeCircuit(circuit, DestroyReason.DESTROYED, 'DESTROY received');
  }

  // ---------------------------------------------------------------- circuits

  /**
   * Tears a circuit down: its streams are dropped, its queued cells
   * discarded, and DESTROY(reason) goes to each side still attached.
   */
  private closeCircuit(circuit: RelayCircuit, reason: number, detail: string): void {
    if (circuit.isClosed) return;
    circuit.state = 'closed';
    circuit.pendingCreate = undefined;
    this.circuits.delete(circuit);
    for (const stream of circuit.streams.values()) {
      if (stream.state !== 'finished') this.metrics.directoryStream('abandoned');
      stream.finish();
    }
    circuit.streams.clear();
    const prev = circuit.prev;
    if (prev) this.detachEnd(circuit, prev, reason);
    circuit.prev = undefined;
    this.dropNextHop(circuit, reason);
    this.metrics.circuitClosed(reason);
    this.logger.debug({ circuit: circuit.serial, reason, detail }, 'circuit closed');
  }

  /** Removes a circuit from one channel, discarding its queue and sending DESTROY(reason). */
  private detachEnd(circuit: RelayCircuit, end: CircuitEnd, reason: number): void {
    const channel = end.channel;
    if (channel.circuits.get(end.circId) === circuit) channel.removeCircuit(end.circId);
    channel.waitingOriginators.delete(circuit);
    if (!channel.isClosed) channel.queueControlCell(end.circId, ChannelCommand.DESTROY, destroyBody(reason));
  }

  /** Forgets the next hop (pending or attached), sending DESTROY(reason) to it if attached. */
  private dropNextHop(circuit: RelayCircuit, reason: number): void {
    const next = circuit.next;
    circuit.next = { kind: 'none' };
    if (next.kind === 'awaiting-channel') {
      this.extender.forget(circuit, next.pendingKey);
    } else if (next.kind === 'awaiting-created' || next.kind === 'open') {
      this.detachEnd(circuit, next.end, reason);
    }
  }

  /** Queues a cell towards the client; a full queue closes the circuit with RESOURCELIMIT. */
  private queueToPrev(circuit: RelayCircuit, command: number, body: Uint8Array): void {
    const prev = circuit.prev;
    if (!prev || prev.channel.isClosed) return;
    if (!prev.channel.queueCircuitCell(prev.circId, command, body, this.options.maxCircuitQueueCells)) {
      this.metrics.protocolViolation('circuit-queue-full');
      this.closeCircuit(circuit, DestroyReason.RESOURCELIMIT, 'too many cells queued towards the client');
    }
  }

  /** Queues a cell towards the next hop; a full queue closes the circuit with RESOURCELIMIT. */
  private queueToNext(circuit: RelayCircuit, command: number, body: Uint8Array): void {
    const end = circuit.nextEnd;
    if (!end || end.channel.isClosed) return;
    if (!end.channel.queueCircuitCell(end.circId, command, body, this.options.maxCircuitQueueCells)) {
      this.metrics.protocolViolation('circuit-queue-full');
      this.closeCircuit(circuit, DestroyReason.RESOURCELIMIT, 'too many cells queued towards the next hop');
    }
  }

  /** Originates a relay message towards the client. Returns its SENDME tag, or undefined if nothing was sent. */
  private sendRelay(circuit: RelayCircuit, streamId: number, message: RelayMessage): Uint8Array | undefined {
    if (circuit.isClosed || !circuit.prev || !circuit.crypto) return undefined;
    const payload = encodeRelayMessageCell(
      streamId,
      message,
      this.random,
      this.bodies.take(RELAY_PAYLOAD_LENGTH),
    );
    const tag = circuit.crypto.originateBackward(payload);
    this.queueToPrev(circuit, ChannelCommand.RELAY, payload);
    return tag;
  }

  /** Originates one DATA cell, using circuit window and recording the SENDME tag when one is due. */
  private sendData(circuit: RelayCircuit, streamId: number, chunk: Uint8Array): void {
    const tag = this.sendRelay(circuit, streamId, { type: 'data', data: chunk });
    if (tag) circuit.flow.noteDataOriginated(tag);
  }

  // ---------------------------------------------------------------- TRUNCATE

  private truncate(circuit: RelayCircuit, reason: number): void {
    // C tor sends the next hop the byte where TRUNCATE's data would be (normally 0, NONE).
    this.dropNextHop(circuit, reason);
    this.sendRelay(circuit, 0, { type: 'truncated', reason: DestroyReason.REQUESTED });
  }

  // ---------------------------------------------------------------- housekeeping

  private armHousekeeping(): void {
    if (this.closed) return;
    this.housekeepingTimer = this.scheduler.setTimeout(
      () => this.housekeeping(),
      this.options.housekeepingIntervalMs,
    );
  }

  private housekeeping(): void {
    this.housekeepingTimer = undefined;
    if (this.closed) return;
    const now = this.clock.monotonicMs();
    for (const channel of [...this.channels]) {
      this.guarded(channel, 'housekeeping', () => {
        switch (channelAction(channel, now, this.options)) {
          case 'close-idle':
            this.closeChannel(channel, 'idle');
            return;
          case 'close-stuck':
            this.logger.info(
              { channel: channel.id },
              'closing a channel whose peer has read nothing for a long time',
            );
            this.closeChannel(channel, 'stuck');
            return;
          case 'keepalive':
            channel.queueControlCell(0, ChannelCommand.PADDING);
            return;
          case 'none':
            return;
        }
      });
    }
    for (const circuit of [...this.circuits]) {
      // Keystream made ahead is memory a circuit idle for a whole interval does not need.
      circuit.crypto?.dropIdleKeystreams();
      if (!isIdleCircuit(circuit, now, this.options)) continue;
      this.guarded(circuit.prev?.channel, 'closing an idle circuit', () =>
        this.closeCircuit(circuit, DestroyReason.FINISHED, 'idle'),
      );
    }
    this.armHousekeeping();
  }
}
