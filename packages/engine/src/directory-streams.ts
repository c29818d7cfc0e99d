/**
 * Serving BEGIN_DIR streams for the engine (tor-spec 6.2.1; C tor
 * connection_exit_connect_dir() and the linked directory connection):
 *
 *   BEGIN_DIR ─▶ CONNECTED at once
 *   DATA      ─▶ request head collected (dir-stream.ts); past the cap ─▶ END DONE
 *   head done ─▶ DirectoryService.handle ─▶ response as DATA under both windows ─▶ END DONE
 *                                       └▶ rejected ─▶ END INTERNAL
 *   END       ─▶ stream forgotten, response abandoned
 *
 * Origination stops while the circuit's package window is empty or while
 * the client channel pushes back (its transport is above the high-water
 * mark or this circuit already has `originateQueueCells` queued there); the
 * circuit is then parked on the channel and resumed when it drains.
 */
import { EndReason, type RelayMessage } from '@relayd/cells';
import { describeError, type Logger } from '@relayd/common';
import type { Channel } from './channel.js';
import type { RelayCircuit } from './circuit.js';
import { DirStream, pumpDirStreams } from './dir-stream.js';
import type { DirectoryService } from './directory-service.js';
import { parseHttpRequestHead } from './http-request.js';
import type { LogLimiter } from './log-limiter.js';
import type { EngineMetrics } from './metrics.js';

export interface DirectoryStreamsHost {
  /** Originates a relay message towards the client (not counted against the package window). */
  sendRelay(circuit: RelayCircuit, streamId: number, message: RelayMessage): void;
  /** Originates one DATA cell, using up circuit window and noting its SENDME tag. */
  sendData(circuit: RelayCircuit, streamId: number, chunk: Uint8Array): void;
  guarded(channel: Channel | undefined, what: string, work: () => void): void;
  violation(channel: Channel | undefined, label: string, detail: string): void;
}

export interface DirectoryStreamsConfig {
  readonly maxRequestBytes: number;
  readonly originateQueueCells: number;
}

export class DirectoryStreams {
  constructor(
    private readonly config: DirectoryStreamsConfig,
    private readonly service: DirectoryService,
    private readonly metrics: EngineMetrics,
    private readonly logger: Logger,
    private readonly logLimiter: LogLimiter,
    private readonly host: DirectoryStreamsHost,
  ) {}

  /** Opens a stream and answers CONNECTED, with no address, as C tor does. */
  begin(circuit: RelayCircuit, streamId: number): void {
    circuit.streams.set(streamId, new DirStream(streamId, this.config.maxRequestBytes));
    this.host.sendRelay(circuit, streamId, { type: 'connected', resolved: null });
  }

  /** Request bytes from a DATA cell. */
  data(circuit: RelayCircuit, stream: DirStream, data: Uint8Array): void {
    const progress = stream.receiveData(data);
    if (progress.kind === 'too-large') {
      circuit.streams.delete(stream.streamId);
      this.metrics.directoryStream('request-too-large');
      this.host.violation(
        circuit.prev?.channel,
        'directory-request-too-large',
        'directory request head too long',
      );
      // The directory side gives up; the stream ends as at EOF (connection_edge_reached_eof()).
      this.host.sendRelay(circuit, stream.streamId, {
        type: 'end',
        reason: EndReason.DONE,
        exitPolicy: null,
      });
      return;
    }
    if (progress.kind === 'complete') this.request(circuit, stream, progress.head);
  }

  /** The client ended the stream. */
  ended(circuit: RelayCircuit, stream: DirStream): void {
    circuit.streams.delete(stream.streamId);
    if (stream.state !== 'finished') this.metrics.directoryStream('abandoned');
    stream.finish();
  }

  /** Sends what the circuit's streams may send now. */
  pump(circuit: RelayCircuit): void {
    const prev = circuit.prev;
    if (circuit.isClosed || !prev || circuit.streams.size === 0) return;
    const channel = prev.channel;
    pumpDirStreams(circuit.streams, {
      canOriginate: () => {
        if (circuit.isClosed || circuit.flow.packageWindow <= 0) return false;
        if (channel.isBlocked || channel.queuedFor(prev.circId) >= this.config.originateQueueCells) {
          channel.waitingOriginators.add(circuit);
          return false;
        }
        return true;
      },
      sendData: (streamId, chunk) => this.host.sendData(circuit, streamId, chunk),
      sendEnd: (streamId, reason) => {
        this.metrics.directoryStream('served');
        this.host.sendRelay(circuit, streamId, { type: 'end', reason, exitPolicy: null });
      },
    });
  }

  private request(circuit: RelayCircuit, stream: DirStream, head: Uint8Array): void {
    const channel = circuit.prev?.channel;
    if (!channel) return;
    const context = {
      remoteAddress: channel.peer.remoteAddress,
      transportName: channel.peer.transportName,
      createdFast: circuit.handshake === 'fast',
      channelId: channel.id,
    };
    let answering: Promise<Uint8Array>;
    try {
      answering = this.service.handle({ head, parsed: parseHttpRequestHead(head) }, context);
    } catch (error) {
      answering = Promise.reject(error);
    }
    const isCurrent = () => !circuit.isClosed && circuit.streams.get(stream.streamId) === stream;
    answering.then(
      (response) =>
        this.host.guarded(channel, 'sending a directory response', () => {
          if (!isCurrent()) return;
          if (!(response instanceof Uint8Array))
            throw new TypeError('directory service answered with no bytes');
          stream.setResponse(response);
          this.pump(circuit);
        }),
      (error: unknown) =>
        this.host.guarded(channel, 'failing a directory request', () => {
          const suppressed = this.logLimiter.take('directory-service-failed');
          if (suppressed !== undefined) {
            this.logger.warn(
              { error: describeError(error), suppressed },
              'directory service failed a request',
            );
          }
          if (!isCurrent()) return;
          circuit.streams.delete(stream.streamId);
          stream.finish();
          this.metrics.directoryStream('service-failed');
          this.host.sendRelay(circuit, stream.streamId, {
            type: 'end',
            reason: EndReason.INTERNAL,
            exitPolicy: null,
          });
        }),
    );
  }
}
