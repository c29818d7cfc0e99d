/**
 * Fixed-window flow control and authenticated SENDMEs (tor-spec 7.3, 7.4;
 * proposal 289; C tor sendme.c) for the circuits and streams that end here.
 *
 * Package windows count DATA cells we may still originate; deliver windows
 * count DATA cells we may still receive before we owe the sender a SENDME.
 * For every 100th DATA cell originated on a circuit we remember its SENDME
 * tag (the running backward digest after it); the client's circuit-level
 * SENDME must echo the oldest remembered tag. Pure state: the caller sends
 * cells and closes circuits.
 */

import type { SendmeMessage } from '@relayd/cells';
import { constantTimeEqual } from '@relayd/common';

/** CIRCWINDOW_START and CIRCWINDOW_START_MAX (or.h; tor-spec 7.3). */
export const CIRCUIT_WINDOW_START = 1000;
/** CIRCWINDOW_INCREMENT: cells acknowledged by one circuit-level SENDME. */
export const CIRCUIT_WINDOW_INCREMENT = 100;
/** STREAMWINDOW_START and STREAMWINDOW_START_MAX (tor-spec 7.4). */
export const STREAM_WINDOW_START = 500;
/** STREAMWINDOW_INCREMENT: cells acknowledged by one stream-level SENDME. */
export const STREAM_WINDOW_INCREMENT = 50;

/** Why a circuit-level SENDME was refused (each closes the circuit with PROTOCOL, as C tor does). */
export type SendmeRefusal =
  | 'version-too-low'
  | 'version-unsupported'
  | 'no-digest-expected'
  | 'digest-mismatch'
  | 'window-overflow';

export class CircuitFlowControl {
  /** DATA cells we may still originate before a SENDME. */
  packageWindow = CIRCUIT_WINDOW_START;
  /** DATA cells we may still receive before we owe a SENDME. */
  deliverWindow = CIRCUIT_WINDOW_START;
  /** Tags of the 100th, 200th, ... DATA cell sent, oldest first. */
  private readonly expectedTags: Uint8Array[] = [];

  /**
   * Whether the DATA cell about to be originated is one whose tag the client
   * will echo: C tor's circuit_sent_cell_for_sendme(), checked before the
   * package window is decremented.
   */
  isSendmeTagNext(): boolean {
    const w = this.packageWindow;
    return w !== CIRCUIT_WINDOW_START && (w - 1) % CIRCUIT_WINDOW_INCREMENT === 0;
  }

  /** Records an originated DATA cell: remembers its tag when one is expected, then uses up window. */
  noteDataOriginated(tag: Uint8Array): void {
    if (this.isSendmeTagNext()) this.expectedTags.push(tag);
    this.packageWindow--;
  }

  /** Tags still awaiting a SENDME (for tests and diagnostics). */
  get pendingSendmeTags(): number {
    return this.expectedTags.length;
  }

  /**
   * Applies a circuit-level SENDME from the client (sendme_is_valid() then
   * sendme_process_circuit_level_impl()). The oldest remembered tag is
   * consumed whatever the version, as C tor does.
   */
  acceptSendme(message: SendmeMessage, acceptMinVersion: 0 | 1): SendmeRefusal | undefined {
    const version = message.kind === 'v0' ? 0 : message.kind === 'v1' ? 1 : message.version;
    if (version < acceptMinVersion) return 'version-too-low';
    if (message.kind === 'unknown-version') return 'version-unsupported';
    const expected = this.expectedTags.shift();
    if (!expected) return 'no-digest-expected';
    if (message.kind === 'v1' && !constantTimeEqual(expected, message.digest)) return 'digest-mismatch';
    if (this.packageWindow + CIRCUIT_WINDOW_INCREMENT > CIRCUIT_WINDOW_START) return 'window-overflow';
    this.packageWindow += CIRCUIT_WINDOW_INCREMENT;
    return undefined;
  }

  /**
   * Records a DATA cell received. Returns false when the deliver window went
   * negative (the sender ignored flow control: close with PROTOCOL).
   */
  noteDataReceived(): boolean {
    this.deliverWindow--;
    return this.deliverWindow >= 0;
  }

  /**
   * Whether we now owe the client a circuit-level SENDME; if so the window is
   * credited and the caller sends one carrying the triggering cell's tag
   * (sendme_circuit_consider_sending(): at most one per cell).
   */
  takeSendmeDue(): boolean {
    if (this.deliverWindow > CIRCUIT_WINDOW_START - CIRCUIT_WINDOW_INCREMENT) return false;
    this.deliverWindow += CIRCUIT_WINDOW_INCREMENT;
    return true;
  }
}

export class StreamFlowControl {
  packageWindow = STREAM_WINDOW_START;
  deliverWindow = STREAM_WINDOW_START;

  /** Applies a stream-level SENDME. Returns false when it would overfill the window (close with PROTOCOL). */
  acceptSendme(): boolean {
    if (this.packageWindow + STREAM_WINDOW_INCREMENT > STREAM_WINDOW_START) return false;
    this.packageWindow += STREAM_WINDOW_INCREMENT;
    return true;
  }

  /** Records a DATA cell received. Returns false when the window went negative. */
  noteDataReceived(): boolean {
    this.deliverWindow--;
    return this.deliverWindow >= 0;
  }

  /** How many stream-level SENDMEs are owed now; the window is credited for each. */
  takeSendmesDue(): number {
    let due = 0;
    while (this.deliverWindow <= STREAM_WINDOW_START - STREAM_WINDOW_INCREMENT) {
      this.deliverWindow += STREAM_WINDOW_INCREMENT;
      due++;
    }
    return due;
  }
}
