/**
 * The relay engine's metrics: prom-client behind the engine's `EngineMetrics`
 * sink interface, in a worker's registry.
 *
 * The engine calls the sink on its hot path, up to once per cell. Cells are
 * therefore counted in two plain arrays indexed by command and turned into
 * series only when the registry is read; the other events (a handshake, a
 * channel, a circuit) are rare enough to go straight to prom-client.
 * Nothing here throws on any input the interface allows: unknown commands,
 * DESTROY reasons and handshake labels become "unknown".
 *
 * Label values follow Prometheus habit (lower case, underscores): the
 * engine's "wrong-identity" is exposed as "wrong_identity".
 */
import { channelCommandName, destroyReasonName } from '@relayd/cells';
import type {
  ChannelCloseCause,
  DirectoryStreamOutcome,
  EngineMetrics,
  ExtendOutcome,
  HandshakeLabel,
  OnionskinOutcome,
} from '@relayd/engine';
import type { Counter, Histogram } from 'prom-client';
import {
  counter,
  type HistogramDefinition,
  histogram,
  type LabelledValue,
  labelValue,
  type MetricDefinition,
  type MetricsRegistry,
  scrapedCounter,
  zeroSeries,
} from './metric-creator.js';
import {
  ONIONSKIN_ACTION_LABELS,
  ONIONSKIN_TYPE_LABELS,
  type OnionskinTypeLabel,
  TOR_RELAY_METRICS,
} from './tor-relay-metrics.js';

/**
 * The create queue's wait times: from 1 ms (a queue that is empty most of
 * the time) to C tor's 30 s maximum wait (the engine's default `maxWaitMs`
 * is lower; waits past it are the expired ones).
 */
export const CREATE_QUEUE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const ENGINE_METRICS = {
  circuitsCreated: {
    name: 'relayd_circuits_created_total',
    help: 'Circuits answered (CREATED_FAST or CREATED2 sent), by circuit extension handshake type',
    labelNames: ['type'],
  },
  circuitsClosed: {
    name: 'relayd_circuits_closed_total',
    help: 'Circuits torn down, by the DESTROY reason used (tor-spec 5.4, lower case)',
    labelNames: ['reason'],
  },
  cells: {
    name: 'relayd_cells_total',
    help: 'Channel cells received from and sent to channels, by channel command',
    labelNames: ['direction', 'command'],
  },
  channelsOpened: {
    name: 'relayd_channels_opened_total',
    help: 'Channels whose link handshake completed and that the relay engine took over',
    labelNames: ['direction'],
  },
  channelsClosed: {
    name: 'relayd_channels_closed_total',
    help: 'Channels closed, by cause',
    labelNames: ['cause'],
  },
  paddingNegotiate: {
    name: 'relayd_padding_negotiate_total',
    help: 'PADDING_NEGOTIATE cells accepted (relayd sends no channel padding either way)',
    labelNames: [],
  },
  extends: {
    name: 'relayd_extend_total',
    help: 'EXTEND2 requests, by how they ended',
    labelNames: ['outcome'],
  },
  directoryStreamsEnded: {
    name: 'relayd_directory_streams_ended_total',
    help: 'BEGIN_DIR streams, by how they ended',
    labelNames: ['outcome'],
  },
  protocolViolations: {
    name: 'relayd_protocol_violations_total',
    help: 'Peer protocol violations dropped or answered with DESTROY/END, by kind',
    labelNames: ['what'],
  },
  createQueueWait: {
    name: 'relayd_create_queue_wait_seconds',
    help: 'Time circuit extension handshakes waited in the create queue before being answered or expired',
    labelNames: [],
    buckets: CREATE_QUEUE_WAIT_BUCKETS,
  },
} as const satisfies Record<string, MetricDefinition<string> | HistogramDefinition<string>>;

const CHANNEL_CLOSE_CAUSES: readonly ChannelCloseCause[] = [
  'remote',
  'protocol',
  'idle',
  'stuck',
  'internal',
  'shutdown',
  'wrong-identity',
];
const EXTEND_OUTCOMES: readonly ExtendOutcome[] = ['reused-channel', 'new-channel', 'failed'];
const DIRECTORY_STREAM_OUTCOMES: readonly DirectoryStreamOutcome[] = [
  'served',
  'request-too-large',
  'service-failed',
  'abandoned',
];
/** The engine's label for a circuit whose queue overflowed: C tor's circuit_killed_max_cell. */
const CIRCUIT_QUEUE_FULL = 'circuit-queue-full';
const COMMAND_SLOTS = 256;

const KNOWN_HANDSHAKES: ReadonlySet<string> = new Set(ONIONSKIN_TYPE_LABELS);

function handshakeLabel(type: HandshakeLabel): OnionskinTypeLabel {
  return KNOWN_HANDSHAKES.has(type) ? (type as OnionskinTypeLabel) : 'unknown';
}

function commandLabel(command: number): string {
  const name = channelCommandName(command);
  return name === undefined ? 'unknown' : name.toLowerCase();
}

/** Implements the engine's sink; hand `sink` (or the object itself) to the engine as `metrics`. */
export class EngineMetricsSink implements EngineMetrics {
  private readonly onionskins: Counter<'type' | 'action'>;
  private readonly circuitsCreated: Counter<'type'>;
  private readonly circuitsClosed: Counter<'reason'>;
  private readonly channelsOpened: Counter<'direction'>;
  private readonly channelsClosed: Counter<'cause'>;
  private readonly paddingNegotiates: Counter<never>;
  private readonly extends: Counter<'outcome'>;
  private readonly directoryStreamsEnded: Counter<'outcome'>;
  private readonly protocolViolations: Counter<'what'>;
  private readonly dos: Counter<'type'>;
  private readonly createQueueWaits: Histogram<never>;
  private readonly received = new Float64Array(COMMAND_SLOTS);
  private readonly sent = new Float64Array(COMMAND_SLOTS);

  constructor(registry: MetricsRegistry) {
    this.onionskins = counter(registry, TOR_RELAY_METRICS.onionskins);
    // C tor shows every type × action from the start; "unknown" only ever fails.
    zeroSeries(
      this.onionskins,
      ONIONSKIN_TYPE_LABELS.flatMap((type) =>
        ONIONSKIN_ACTION_LABELS.filter((action) => type !== 'unknown' || action === 'failed').map(
          (action) => ({ type, action }),
        ),
      ),
    );
    this.circuitsCreated = counter(registry, ENGINE_METRICS.circuitsCreated);
    this.circuitsClosed = counter(registry, ENGINE_METRICS.circuitsClosed);
    this.channelsOpened = counter(registry, ENGINE_METRICS.channelsOpened);
    zeroSeries(this.channelsOpened, [{ direction: 'initiated' }, { direction: 'received' }]);
    this.channelsClosed = counter(registry, ENGINE_METRICS.channelsClosed);
    zeroSeries(
      this.channelsClosed,
      CHANNEL_CLOSE_CAUSES.map((cause) => ({ cause: labelValue(cause) })),
    );
    this.paddingNegotiates = counter(registry, ENGINE_METRICS.paddingNegotiate);
    this.extends = counter(registry, ENGINE_METRICS.extends);
    zeroSeries(
      this.extends,
      EXTEND_OUTCOMES.map((outcome) => ({ outcome: labelValue(outcome) })),
    );
    this.directoryStreamsEnded = counter(registry, ENGINE_METRICS.directoryStreamsEnded);
    zeroSeries(
      this.directoryStreamsEnded,
      DIRECTORY_STREAM_OUTCOMES.map((outcome) => ({ outcome: labelValue(outcome) })),
    );
    this.protocolViolations = counter(registry, ENGINE_METRICS.protocolViolations);
    this.dos = counter(registry, TOR_RELAY_METRICS.dos);
    zeroSeries(this.dos, [{ type: 'circuit_killed_max_cell' }]);
    this.createQueueWaits = histogram(registry, ENGINE_METRICS.createQueueWait);
    scrapedCounter(registry, ENGINE_METRICS.cells, () => this.cellSeries());
  }

  onionskin(type: HandshakeLabel, outcome: OnionskinOutcome): void {
    this.onionskins.inc({ type: handshakeLabel(type), action: outcome });
  }

  circuitOpened(type: HandshakeLabel): void {
    this.circuitsCreated.inc({ type: handshakeLabel(type) });
  }

  circuitClosed(reason: number): void {
    const name = destroyReasonName(reason);
    this.circuitsClosed.inc({ reason: name === undefined ? 'unknown' : name.toLowerCase() });
  }

  cellReceived(command: number): void {
    this.received[command & 0xff]!++;
  }

  cellSent(command: number): void {
    this.sent[command & 0xff]!++;
  }

  channelOpened(initiatedLocally: boolean): void {
    this.channelsOpened.inc({ direction: initiatedLocally ? 'initiated' : 'received' });
  }

  channelClosed(cause: ChannelCloseCause): void {
    this.channelsClosed.inc({ cause: labelValue(cause) });
  }

  paddingNegotiate(): void {
    this.paddingNegotiates.inc();
  }

  extend(outcome: ExtendOutcome): void {
    this.extends.inc({ outcome: labelValue(outcome) });
  }

  directoryStream(outcome: DirectoryStreamOutcome): void {
    this.directoryStreamsEnded.inc({ outcome: labelValue(outcome) });
  }

  protocolViolation(what: string): void {
    this.protocolViolations.inc({ what: labelValue(what) });
    if (what === CIRCUIT_QUEUE_FULL) this.dos.inc({ type: 'circuit_killed_max_cell' });
  }

  /** A circuit extension handshake left the create queue to be answered after `waitedMs`. */
  createQueueWait(waitedMs: number): void {
    if (Number.isFinite(waitedMs) && waitedMs >= 0) this.createQueueWaits.observe(waitedMs / 1000);
  }

  private *cellSeries(): Iterable<LabelledValue<'direction' | 'command'>> {
    for (let command = 0; command < COMMAND_SLOTS; command++) {
      const inCount = this.received[command]!;
      const outCount = this.sent[command]!;
      // Unknown commands share one series per direction; known ones show once seen.
      if (inCount > 0) yield [{ direction: 'received', command: commandLabel(command) }, inCount];
      if (outCount > 0) yield [{ direction: 'sent', command: commandLabel(command) }, outCount];
    }
  }
}
