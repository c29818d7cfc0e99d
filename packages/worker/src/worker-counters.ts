/**
 * The worker's own counters behind the engine's metrics interface:
 * onionskins by handshake type and outcome, and cells in and out. They feed
 * the heartbeat statistics the supervisor logs and writes. Calls are passed
 * on to another sink (telemetry's, when there is one) unchanged.
 */
import type { EngineMetrics, HandshakeLabel, OnionskinOutcome } from '@relayd/engine';
import { noopEngineMetrics } from '@relayd/engine';
import { ONIONSKIN_TYPES, type OnionskinStats, type OnionskinType } from '@relayd/ipc';

type MutableCounts = { processed: number; failed: number; dropped: number };

export class WorkerCounters {
  private readonly onionskinCounts: Record<OnionskinType, MutableCounts>;
  cellsReceived = 0;
  cellsSent = 0;
  /** The EngineMetrics to hand the engine: counts here, then calls `next`. */
  readonly metrics: EngineMetrics;

  constructor(next: EngineMetrics = noopEngineMetrics) {
    this.onionskinCounts = {} as Record<OnionskinType, MutableCounts>;
    for (const type of ONIONSKIN_TYPES) this.onionskinCounts[type] = { processed: 0, failed: 0, dropped: 0 };
    const counts = this.onionskinCounts;
    // Every method forwarded by name: `next` may be a class instance whose methods live on its prototype.
    this.metrics = {
      onionskin: (type: HandshakeLabel, outcome: OnionskinOutcome) => {
        const entry = counts[type] ?? counts.unknown;
        entry[outcome]++;
        next.onionskin(type, outcome);
      },
      cellReceived: (command: number) => {
        this.cellsReceived++;
        next.cellReceived(command);
      },
      cellSent: (command: number) => {
        this.cellsSent++;
        next.cellSent(command);
      },
      circuitOpened: (type) => next.circuitOpened(type),
      circuitClosed: (reason) => next.circuitClosed(reason),
      channelOpened: (initiatedLocally) => next.channelOpened(initiatedLocally),
      channelClosed: (cause) => next.channelClosed(cause),
      createQueueWait: (waitedMs) => next.createQueueWait(waitedMs),
      paddingNegotiate: () => next.paddingNegotiate(),
      extend: (outcome) => next.extend(outcome),
      directoryStream: (outcome) => next.directoryStream(outcome),
      protocolViolation: (what) => next.protocolViolation(what),
    };
  }

  /** A copy of the onionskin counts. */
  onionskins(): OnionskinStats {
    const out = {} as Record<OnionskinType, MutableCounts>;
    for (const type of ONIONSKIN_TYPES) out[type] = { ...this.onionskinCounts[type] };
    return out;
  }
}
