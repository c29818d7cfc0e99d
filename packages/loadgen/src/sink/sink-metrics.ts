/**
 * The sink engine's metrics, kept as plain counts the load generator can
 * compare with its own: relay cells in and out (which must match what the
 * clients sent and received past the bridge), circuits by handshake and
 * close reason, directory streams by outcome, and every protocol violation
 * by label (a correct load generator causes none).
 */
import { ChannelCommand } from '@relayd/cells';
import type {
  ChannelCloseCause,
  DirectoryStreamOutcome,
  EngineMetrics,
  ExtendOutcome,
  HandshakeLabel,
  OnionskinOutcome,
} from '@relayd/engine';

export interface SinkCounts {
  /** RELAY and RELAY_EARLY cells received (from the bridge). */
  relayCellsReceived: number;
  /** RELAY cells sent (towards the bridge). */
  relayCellsSent: number;
  createsReceived: number;
  destroysReceived: number;
  channelsOpened: number;
  channelsClosed: number;
  circuitsOpened: Record<string, number>;
  circuitsClosed: Record<string, number>;
  onionskins: Record<string, number>;
  directoryStreams: Record<string, number>;
  protocolViolations: Record<string, number>;
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export class SinkMetrics implements EngineMetrics {
  readonly counts: SinkCounts = {
    relayCellsReceived: 0,
    relayCellsSent: 0,
    createsReceived: 0,
    destroysReceived: 0,
    channelsOpened: 0,
    channelsClosed: 0,
    circuitsOpened: {},
    circuitsClosed: {},
    onionskins: {},
    directoryStreams: {},
    protocolViolations: {},
  };

  onionskin(type: HandshakeLabel, outcome: OnionskinOutcome): void {
    bump(this.counts.onionskins, `${type}:${outcome}`);
  }
  circuitOpened(type: HandshakeLabel): void {
    bump(this.counts.circuitsOpened, type);
  }
  circuitClosed(reason: number): void {
    bump(this.counts.circuitsClosed, String(reason));
  }
  cellReceived(command: number): void {
    if (command === ChannelCommand.RELAY || command === ChannelCommand.RELAY_EARLY)
      this.counts.relayCellsReceived++;
    else if (command === ChannelCommand.CREATE2 || command === ChannelCommand.CREATE_FAST)
      this.counts.createsReceived++;
    else if (command === ChannelCommand.DESTROY) this.counts.destroysReceived++;
  }
  cellSent(command: number): void {
    if (command === ChannelCommand.RELAY) this.counts.relayCellsSent++;
  }
  channelOpened(_initiatedLocally: boolean): void {
    this.counts.channelsOpened++;
  }
  channelClosed(_cause: ChannelCloseCause): void {
    this.counts.channelsClosed++;
  }
  createQueueWait(_waitedMs: number): void {}
  paddingNegotiate(): void {}
  extend(_outcome: ExtendOutcome): void {}
  directoryStream(outcome: DirectoryStreamOutcome): void {
    bump(this.counts.directoryStreams, outcome);
  }
  protocolViolation(what: string): void {
    bump(this.counts.protocolViolations, what);
  }
}
