/**
 * Fixed-window flow control as a circuit's origin keeps it (tor-spec 7.3,
 * 7.4; proposal 289), one `HopWindows` per hop and one `StreamWindows` per
 * stream. Pure bookkeeping: the circuit sends the cells and closes.
 *
 * Sending (forward): the hop lets us originate CIRCUIT_WINDOW_START DATA
 * cells and acknowledges every CIRCUIT_WINDOW_INCREMENT-th with an
 * authenticated SENDME v1 whose digest is the running forward digest after
 * that cell; we remember those digests ("tags") in order and check each
 * SENDME against the oldest. Streams count STREAM_WINDOW_START cells and
 * take unauthenticated SENDMEs of STREAM_WINDOW_INCREMENT.
 *
 * Receiving (backward): after every CIRCUIT_WINDOW_INCREMENT-th DATA cell
 * from a hop we owe it a SENDME v1 carrying that cell's own tag, and after
 * every STREAM_WINDOW_INCREMENT-th on a stream a stream-level SENDME.
 */
import type { SendmeMessage } from '@relayd/cells';
import { constantTimeEqual } from '@relayd/common';
import {
  CIRCUIT_WINDOW_INCREMENT,
  CIRCUIT_WINDOW_START,
  STREAM_WINDOW_INCREMENT,
  STREAM_WINDOW_START,
} from '@relayd/engine';

/** Why a circuit-level SENDME from a hop was refused (the circuit is then closed). */
export type SendmeProblem = 'not-v1' | 'unexpected' | 'digest-mismatch' | 'window-overflow';

export class HopWindows {
  /** DATA cells we may still send to this hop. */
  packageWindow = CIRCUIT_WINDOW_START;
  /** DATA cells this hop may still send us before we owe it a SENDME. */
  deliverWindow = CIRCUIT_WINDOW_START;
  private readonly awaitedTags: Uint8Array[] = [];

  /**
   * Records one DATA cell sent to this hop with its tag. The hop answers the
   * cell sent while the window stands at 1 above a multiple of the increment
   * (the 100th, 200th, ... since the window was full).
   */
  noteDataSent(tag: Uint8Array): void {
    const w = this.packageWindow;
    if (w !== CIRCUIT_WINDOW_START && (w - 1) % CIRCUIT_WINDOW_INCREMENT === 0) this.awaitedTags.push(tag);
    this.packageWindow--;
  }

  /** Applies a circuit-level SENDME from this hop; undefined when accepted. */
  acceptSendme(message: SendmeMessage): SendmeProblem | undefined {
    if (message.kind !== 'v1') return 'not-v1';
    const expected = this.awaitedTags.shift();
    if (!expected) return 'unexpected';
    if (!constantTimeEqual(expected, message.digest)) return 'digest-mismatch';
    if (this.packageWindow + CIRCUIT_WINDOW_INCREMENT > CIRCUIT_WINDOW_START) return 'window-overflow';
    this.packageWindow += CIRCUIT_WINDOW_INCREMENT;
    return undefined;
  }

  /** SENDMEs this hop still owes us. */
  get awaitedSendmes(): number {
    return this.awaitedTags.length;
  }

  /**
   * Records one DATA cell from this hop. Returns 'overflow' when the hop
   * ignored flow control, 'sendme' when a SENDME (with this cell's tag) is
   * now due (the window is credited), 'ok' otherwise.
   */
  noteDataReceived(): 'ok' | 'sendme' | 'overflow' {
    this.deliverWindow--;
    if (this.deliverWindow < 0) return 'overflow';
    if (this.deliverWindow > CIRCUIT_WINDOW_START - CIRCUIT_WINDOW_INCREMENT) return 'ok';
    this.deliverWindow += CIRCUIT_WINDOW_INCREMENT;
    return 'sendme';
  }
}

export class StreamWindows {
  packageWindow = STREAM_WINDOW_START;
  deliverWindow = STREAM_WINDOW_START;

  noteDataSent(): void {
    this.packageWindow--;
  }

  /** Applies a stream-level SENDME. Returns false when it overfills the window. */
  acceptSendme(): boolean {
    if (this.packageWindow + STREAM_WINDOW_INCREMENT > STREAM_WINDOW_START) return false;
    this.packageWindow += STREAM_WINDOW_INCREMENT;
    return true;
  }

  /**
   * Records one DATA cell received on the stream. Returns 'overflow' when the
   * sender ignored the window, 'sendme' when a stream SENDME is now due.
   */
  noteDataReceived(): 'ok' | 'sendme' | 'overflow' {
    this.deliverWindow--;
    if (this.deliverWindow < 0) return 'overflow';
    if (this.deliverWindow > STREAM_WINDOW_START - STREAM_WINDOW_INCREMENT) return 'ok';
    this.deliverWindow += STREAM_WINDOW_INCREMENT;
    return 'sendme';
  }
}
