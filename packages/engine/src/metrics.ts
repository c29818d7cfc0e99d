/**
 * What the engine counts, as a sink interface. The telemetry package maps
 * these calls onto prom-client counters (names modelled on C tor's
 * relay_metrics.c, e.g. `tor_relay_load_onionskins_total{type,action}`);
 * tests record them. The engine never reads a metric back.
 *
 * Every method is called on the hot path at most once per cell, so an
 * implementation must be cheap and must not throw (a throw is treated as an
 * engine bug on the channel being served).
 */

/** Handshake labels, as C tor's metrics name them. */
export type HandshakeLabel = 'fast' | 'ntor' | 'ntor_v3' | 'tap' | 'unknown';

/**
 * - `processed`: answered with CREATED_FAST / CREATED2;
 * - `failed`: the handshake did not verify (wrong key, bad MAC, bad length);
 * - `dropped`: refused unprocessed because the create queue was full or the
 *   request waited too long in it.
 */
export type OnionskinOutcome = 'processed' | 'failed' | 'dropped';

/** Why a channel went away. */
export type ChannelCloseCause =
  /** The transport reported the connection gone. */
  | 'remote'
  /** The peer broke the channel protocol (bad framing, handshake cell when open). */
  | 'protocol'
  /** No circuits for the idle timeout. */
  | 'idle'
  /** Bytes queued for the peer and nothing drained for a long time. */
  | 'stuck'
  /** An engine bug on this channel's path. */
  | 'internal'
  /** The engine was closed. */
  | 'shutdown'
  /** A channel from the provider that did not prove the identity asked for. */
  | 'wrong-identity';

/** How an EXTEND2 request ended. */
export type ExtendOutcome =
  /** Sent CREATE2 on a channel that was already open. */
  | 'reused-channel'
  /** Sent CREATE2 on a channel the provider opened. */
  | 'new-channel'
  /** Refused or failed before CREATE2 was sent. */
  | 'failed';

/** How a BEGIN_DIR stream ended. */
export type DirectoryStreamOutcome =
  /** The whole response was sent and the stream ended with END DONE. */
  | 'served'
  /** The request head grew past the cap without ending. */
  | 'request-too-large'
  /** The directory service failed (rejected its promise). */
  | 'service-failed'
  /** The client or the circuit went away first. */
  | 'abandoned';

export interface EngineMetrics {
  /** One circuit extension handshake by type and outcome. */
  onionskin(type: HandshakeLabel, outcome: OnionskinOutcome): void;
  /** A circuit was answered (CREATED_FAST / CREATED2 sent). */
  circuitOpened(type: HandshakeLabel): void;
  /** A circuit was torn down, with the DESTROY reason used (tor-spec 5.4). */
  circuitClosed(reason: number): void;
  /** One cell read from a channel, by channel command. */
  cellReceived(command: number): void;
  /** One cell written to a channel, by channel command. */
  cellSent(command: number): void;
  /** A channel was adopted. */
  channelOpened(initiatedLocally: boolean): void;
  /** A channel was closed. */
  channelClosed(cause: ChannelCloseCause): void;
  /** A CREATE/CREATE_FAST left the create queue to be answered after waiting `waitedMs`. */
  createQueueWait(waitedMs: number): void;
  /** A PADDING_NEGOTIATE cell was accepted (relayd sends no padding either way). */
  paddingNegotiate(): void;
  /** An EXTEND2 request ended. */
  extend(outcome: ExtendOutcome): void;
  /** A BEGIN_DIR stream ended. */
  directoryStream(outcome: DirectoryStreamOutcome): void;
  /**
   * A peer broke the protocol in a way that is dropped or answered with a
   * DESTROY/END rather than logged (`what` is a short fixed label such as
   * "zero-circ-id" or "relay-early-limit").
   */
  protocolViolation(what: string): void;
}

/** A sink that discards everything. */
export const noopEngineMetrics: EngineMetrics = {
  onionskin() {},
  circuitOpened() {},
  circuitClosed() {},
  cellReceived() {},
  cellSent() {},
  channelOpened() {},
  channelClosed() {},
  createQueueWait() {},
  paddingNegotiate() {},
  extend() {},
  directoryStream() {},
  protocolViolation() {},
};
