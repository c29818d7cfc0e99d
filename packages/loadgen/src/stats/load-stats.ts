/**
 * Everything a run counts, as it happens: relay cells and bytes each way,
 * SENDMEs, verified bytes, circuit outcomes with failure reasons, link
 * connections, and latency samples.
 *
 * Each count exists twice: over the whole run (`total`, which the
 * correctness checks compare against the sink) and inside the measurement
 * window (`measured`: after the warm-up, before the end of the duration),
 * from which rates are computed. Latencies are sampled for circuits that
 * started inside the window.
 */
import type { Clock } from '@relayd/common';
import type { CircuitTraffic, RelayCellKind } from '../client/circuit.js';
import type { TransferAccounting } from '../client/transfer.js';
import { LatencyRecorder } from './latency.js';

/** Relay cells one way. */
export class TrafficCounts {
  relayCells = 0;
  dataCells = 0;
  dataBytes = 0;
  dropCells = 0;
  dropBytes = 0;
  extendCells = 0;

  add(kind: RelayCellKind, bytes: number): void {
    this.relayCells++;
    switch (kind) {
      case 'data':
        this.dataCells++;
        this.dataBytes += bytes;
        return;
      case 'drop':
        this.dropCells++;
        this.dropBytes += bytes;
        return;
      case 'extend':
        this.extendCells++;
        return;
      case 'control':
        return;
    }
  }
}

export class CircuitCounts {
  launched = 0;
  created = 0;
  built = 0;
  finished = 0;
  failed = 0;
  /** Still running when the run ended and the drain time ran out. */
  unfinished = 0;
}

export interface MeasurementWindow {
  /** Monotonic ms: events from here on count as measured. */
  readonly fromMs: number;
  /** Monotonic ms: events after this do not. */
  readonly toMs: number;
}

export class LoadStats implements CircuitTraffic, TransferAccounting {
  readonly total = { forward: new TrafficCounts(), backward: new TrafficCounts() };
  readonly measured = { forward: new TrafficCounts(), backward: new TrafficCounts() };
  readonly sendmes = { circuitSent: 0, streamSent: 0, circuitReceived: 0, streamReceived: 0 };
  downloadBytesVerified = 0;
  uploadBytesAcknowledged = 0;
  readonly circuits = new CircuitCounts();
  readonly measuredCircuits = new CircuitCounts();
  /** Failed circuits by "<phase>/<what>". */
  readonly failures = new Map<string, number>();
  readonly createLatency = new LatencyRecorder();
  readonly extendLatency = new LatencyRecorder();
  readonly buildLatency = new LatencyRecorder();
  readonly connections = { attempted: 0, opened: 0, failed: 0, closedEarly: 0 };
  /** Link connections that failed or closed early, by reason. */
  readonly connectionFailures = new Map<string, number>();
  readonly linkLatency = new LatencyRecorder();
  private window: MeasurementWindow = { fromMs: Number.NEGATIVE_INFINITY, toMs: Number.POSITIVE_INFINITY };

  constructor(private readonly clock: Clock) {}

  setWindow(window: MeasurementWindow): void {
    this.window = window;
  }

  get measurementWindow(): MeasurementWindow {
    return this.window;
  }

  isInWindow(ms: number): boolean {
    return ms >= this.window.fromMs && ms <= this.window.toMs;
  }

  private now(): boolean {
    return this.isInWindow(this.clock.monotonicMs());
  }

  // ---------------------------------------------------------------- traffic

  cellSent(kind: RelayCellKind, dataBytes: number): void {
    this.total.forward.add(kind, dataBytes);
    if (this.now()) this.measured.forward.add(kind, dataBytes);
  }

  cellReceived(kind: RelayCellKind, dataBytes: number): void {
    this.total.backward.add(kind, dataBytes);
    if (this.now()) this.measured.backward.add(kind, dataBytes);
  }

  sendmeSent(level: 'circuit' | 'stream'): void {
    if (level === 'circuit') this.sendmes.circuitSent++;
    else this.sendmes.streamSent++;
  }

  sendmeReceived(level: 'circuit' | 'stream'): void {
    if (level === 'circuit') this.sendmes.circuitReceived++;
    else this.sendmes.streamReceived++;
  }

  downloadVerified(bytes: number): void {
    this.downloadBytesVerified += bytes;
  }

  uploadAcknowledged(bytes: number): void {
    this.uploadBytesAcknowledged += bytes;
  }

  // ---------------------------------------------------------------- circuits

  circuitLaunched(): void {
    this.circuits.launched++;
    if (this.now()) this.measuredCircuits.launched++;
  }

  /** The first hop answered; `startedMs` is when the circuit was launched. */
  circuitCreated(startedMs: number, createdMs: number): void {
    this.circuits.created++;
    if (this.isInWindow(createdMs)) this.measuredCircuits.created++;
    if (this.isInWindow(startedMs)) this.createLatency.record(createdMs - startedMs);
  }

  circuitBuilt(startedMs: number, createdMs: number | undefined, builtMs: number, extended: boolean): void {
    this.circuits.built++;
    if (this.isInWindow(builtMs)) this.measuredCircuits.built++;
    if (!this.isInWindow(startedMs)) return;
    this.buildLatency.record(builtMs - startedMs);
    if (extended && createdMs !== undefined) this.extendLatency.record(builtMs - createdMs);
  }

  circuitFinished(): void {
    this.circuits.finished++;
    if (this.now()) this.measuredCircuits.finished++;
  }

  circuitFailed(reason: string): void {
    this.circuits.failed++;
    if (this.now()) this.measuredCircuits.failed++;
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  circuitUnfinished(): void {
    this.circuits.unfinished++;
  }

  // ---------------------------------------------------------------- connections

  connectionOpened(handshakeMs: number): void {
    this.connections.opened++;
    this.linkLatency.record(handshakeMs);
  }

  connectionFailed(reason: string): void {
    this.connections.failed++;
    this.connectionFailures.set(reason, (this.connectionFailures.get(reason) ?? 0) + 1);
  }

  connectionClosedEarly(reason: string): void {
    this.connections.closedEarly++;
    const key = `closed: ${reason}`;
    this.connectionFailures.set(key, (this.connectionFailures.get(key) ?? 0) + 1);
  }
}
