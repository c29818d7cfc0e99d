/**
 * What a relay cell recognized at this hop does (tor-spec 6, 7; C tor
 * relay.c connection_edge_process_relay_cell() and
 * handle_relay_cell_command(), connection_edge.c connection_exit_begin_conn()).
 *
 *   DATA      circuit deliver window (+ SENDME v1 every 100), then the stream's
 *             window (+ SENDME every 50), then the request bytes of a directory stream
 *   SENDME    stream 0: circuit package window, authenticated by the echoed tag;
 *             otherwise the stream's package window
 *   BEGIN_DIR open a directory stream (CONNECTED at once, as C tor does)
 *   BEGIN     END: TORPROTOCOL from a client channel ("single-hop proxy"),
 *             MISC from an authenticated relay (a bridge is no exit)
 *   END       forget the stream
 *   EXTEND2   only in RELAY_EARLY and on stream 0, else dropped; then extend
 *   TRUNCATE  drop the next hop, answer TRUNCATED(REQUESTED)
 *   DROP, unknown and unsupported commands: dropped ("for forward compatibility")
 *
 * Errors that C tor answers by closing the circuit close it with PROTOCOL;
 * the rest are counted and dropped. The host carries out sends and closes.
 */
import {
  DestroyReason,
  decodeRelayCellMessage,
  EndReason,
  type Extend2Message,
  RELAY_HEADER_LENGTH,
  type RelayCell,
  RelayCommand,
  type RelayMessage,
  relayCommandName,
} from '@relayd/cells';
import type { RelayCircuit } from './circuit.js';
import type { DirStream } from './dir-stream.js';

export interface RelayDispatchHost {
  readonly sendmeAcceptMinVersion: 0 | 1;
  /** Originates a relay message towards the client (not DATA: no package window used). */
  sendRelay(circuit: RelayCircuit, streamId: number, message: RelayMessage): void;
  closeCircuit(circuit: RelayCircuit, reason: number, detail: string): void;
  /** Counts, and logs at a rate-limited debug level, a peer's protocol slip that is dropped. */
  violation(circuit: RelayCircuit, label: string, detail: string): void;
  extend(circuit: RelayCircuit, message: Extend2Message): void;
  truncate(circuit: RelayCircuit, reason: number): void;
  beginDir(circuit: RelayCircuit, streamId: number): void;
  /** Request bytes for a directory stream. */
  streamData(circuit: RelayCircuit, stream: DirStream, data: Uint8Array): void;
  /** The client ended a stream. */
  streamEnded(circuit: RelayCircuit, stream: DirStream, reason: number): void;
  /** Windows opened: send what the circuit's streams may now send. */
  resumeStreams(circuit: RelayCircuit): void;
}

/** How a recognized cell arrived. */
export interface RecognizedCell {
  readonly cell: RelayCell;
  /** The decrypted 509-byte payload (TRUNCATE's reason byte is read from it, as C tor does). */
  readonly payload: Uint8Array;
  /** The cell's SENDME tag, from decryptForward. */
  readonly tag: Uint8Array;
  /** It came in a RELAY_EARLY cell. */
  readonly early: boolean;
}

/** "Relay command %d with zero stream_id. Dropping." */
const STREAM_COMMANDS: ReadonlySet<number> = new Set([
  RelayCommand.BEGIN,
  RelayCommand.CONNECTED,
  RelayCommand.END,
  RelayCommand.RESOLVE,
  RelayCommand.RESOLVED,
  RelayCommand.BEGIN_DIR,
]);

export function dispatchRelayCell(
  host: RelayDispatchHost,
  circuit: RelayCircuit,
  recognized: RecognizedCell,
): void {
  const { cell, tag } = recognized;
  const streamId = cell.streamId;
  if (streamId === 0 && STREAM_COMMANDS.has(cell.command)) {
    host.violation(circuit, 'zero-stream-id', `relay command ${cell.command} on stream 0`);
    return;
  }

  if (cell.command === RelayCommand.DATA) {
    // Circuit-level accounting comes first, whatever the stream.
    if (!circuit.flow.noteDataReceived()) {
      host.closeCircuit(circuit, DestroyReason.PROTOCOL, 'circuit deliver window below 0');
      return;
    }
    if (circuit.flow.takeSendmeDue()) {
      host.sendRelay(circuit, 0, { type: 'sendme', kind: 'v1', digest: tag });
    }
  }

  const stream = streamId === 0 ? undefined : circuit.streams.get(streamId);

  switch (cell.command) {
    case RelayCommand.DATA: {
      if (streamId === 0) {
        host.violation(circuit, 'data-on-stream-0', 'DATA on stream 0');
        return;
      }
      if (!stream) {
        host.violation(circuit, 'unknown-stream', 'DATA for an unknown stream');
        return;
      }
      if (!stream.flow.noteDataReceived()) {
        host.sendRelay(circuit, streamId, { type: 'end', reason: EndReason.TORPROTOCOL, exitPolicy: null });
        host.closeCircuit(circuit, DestroyReason.PROTOCOL, 'stream deliver window below 0');
        return;
      }
      host.streamData(circuit, stream, cell.data);
      if (!circuit.streams.has(streamId)) return;
      for (let due = stream.flow.takeSendmesDue(); due > 0; due--) {
        host.sendRelay(circuit, streamId, { type: 'sendme', kind: 'v0' });
      }
      return;
    }
    case RelayCommand.SENDME: {
      const decoded = decodeRelayCellMessage(cell);
      if (!decoded.ok || decoded.value.type !== 'sendme') {
        host.closeCircuit(circuit, DestroyReason.PROTOCOL, 'unparseable SENDME');
        return;
      }
      if (streamId === 0) {
        const refusal = circuit.flow.acceptSendme(decoded.value, host.sendmeAcceptMinVersion);
        if (refusal) {
          host.closeCircuit(circuit, DestroyReason.PROTOCOL, `circuit SENDME refused: ${refusal}`);
          return;
        }
        host.resumeStreams(circuit);
        return;
      }
      if (!stream) {
        host.violation(circuit, 'unknown-stream', 'SENDME for an unknown stream');
        return;
      }
      if (!stream.flow.acceptSendme()) {
        host.closeCircuit(circuit, DestroyReason.PROTOCOL, 'stream SENDME overfills the window');
        return;
      }
      host.resumeStreams(circuit);
      return;
    }
    case RelayCommand.BEGIN_DIR:
      if (stream) {
        host.violation(circuit, 'begin-known-stream', 'BEGIN_DIR for a known stream');
        return;
      }
      host.beginDir(circuit, streamId);
      return;
    case RelayCommand.BEGIN: {
      if (stream) {
        host.violation(circuit, 'begin-known-stream', 'BEGIN for a known stream');
        return;
      }
      // begin_cell_parse() failures end the stream with TORPROTOCOL; a good
      // BEGIN from a client is refused as a single-hop proxy attempt, and one
      // from a relay as a non-exit (neither is ever served by a bridge).
      const decoded = decodeRelayCellMessage(cell);
      const reason =
        !decoded.ok || circuit.prev?.channel.isClient !== false ? EndReason.TORPROTOCOL : EndReason.MISC;
      host.sendRelay(circuit, streamId, { type: 'end', reason, exitPolicy: null });
      return;
    }
    case RelayCommand.END: {
      if (!stream) {
        host.violation(circuit, 'unknown-stream', 'END for an unknown stream');
        return;
      }
      const decoded = decodeRelayCellMessage(cell);
      host.streamEnded(
        circuit,
        stream,
        decoded.ok && decoded.value.type === 'end' ? decoded.value.reason : 0,
      );
      return;
    }
    case RelayCommand.CONNECTED:
      if (stream) {
        host.closeCircuit(circuit, DestroyReason.PROTOCOL, 'CONNECTED on an open stream');
        return;
      }
      host.violation(circuit, 'unknown-stream', 'CONNECTED for an unknown stream');
      return;
    case RelayCommand.EXTEND:
    case RelayCommand.EXTEND2: {
      if (streamId !== 0) {
        host.violation(circuit, 'extend-on-stream', 'EXTEND2 on a stream');
        return;
      }
      if (!recognized.early) {
        host.violation(circuit, 'extend-not-early', 'EXTEND2 not in RELAY_EARLY');
        return;
      }
      if (cell.command === RelayCommand.EXTEND) {
        // The legacy EXTEND carries a TAP handshake, which relayd does not relay.
        host.closeCircuit(circuit, DestroyReason.PROTOCOL, 'legacy EXTEND');
        return;
      }
      const decoded = decodeRelayCellMessage(cell);
      if (!decoded.ok || decoded.value.type !== 'extend2') {
        host.closeCircuit(circuit, DestroyReason.PROTOCOL, 'unparseable EXTEND2');
        return;
      }
      host.extend(circuit, decoded.value);
      return;
    }
    case RelayCommand.TRUNCATE:
      host.truncate(circuit, recognized.payload[RELAY_HEADER_LENGTH] ?? 0);
      return;
    case RelayCommand.DROP:
      return;
    case RelayCommand.EXTENDED:
    case RelayCommand.EXTENDED2:
    case RelayCommand.TRUNCATED:
      host.violation(circuit, 'origin-only-command', `${relayCommandName(cell.command)} at a relay`);
      return;
    default:
      host.violation(
        circuit,
        relayCommandName(cell.command) ? 'unsupported-relay-command' : 'unknown-relay-command',
        `relay command ${cell.command}`,
      );
  }
}
