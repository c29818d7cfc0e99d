/**
 * Holds many client connections, then many circuits, open and idle, so the
 * bridge's memory per connection and per circuit can be read off its RSS.
 * Built from the load generator's parts (its connector, ClientChannel and
 * ClientCircuit) without its run loop: nothing is torn down until
 * `close()`.
 *
 * Circuits are extended to the sink (two hops): a circuit that ends at the
 * bridge with no streams is closed by the bridge after a minute of
 * idleness (C tor's IDLE_ONE_HOP_CIRC_TIMEOUT; relayd's idleCircuitMs), a
 * client's real circuits never end there, and the extension is part of
 * what a circuit costs a bridge.
 */
import { type Clock, describeError, type Random, RelayError, systemClock } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import { type Scheduler, systemScheduler } from '@relayd/engine';
import {
  type BridgeTarget,
  type CircuitPlan,
  type CircuitTraffic,
  ClientChannel,
  ClientCircuit,
  type LinkConnector,
  type NextHop,
} from '@relayd/loadgen';

const QUIET: CircuitTraffic = {
  cellSent() {},
  cellReceived() {},
  sendmeSent() {},
  sendmeReceived() {},
};

/** Failures by reason, sorted by count. */
function tally(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map.entries()].sort((a, b) => b[1] - a[1]));
}

export interface HoldResult {
  readonly attempted: number;
  readonly succeeded: number;
  readonly failures: Record<string, number>;
  readonly seconds: number;
}

export class ConnectionHolder {
  readonly channels: ClientChannel[] = [];
  private readonly circuits: ClientCircuit[] = [];
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private closedEarly = 0;
  private closing = false;

  constructor(
    private readonly target: BridgeTarget,
    private readonly connector: LinkConnector,
    modules: { clock?: Clock; scheduler?: Scheduler; random?: Random } = {},
  ) {
    this.clock = modules.clock ?? systemClock;
    this.scheduler = modules.scheduler ?? systemScheduler;
    this.random = modules.random ?? secureRandom;
  }

  /** Connections the bridge closed while held. */
  get connectionsClosedEarly(): number {
    return this.closedEarly;
  }

  /** Circuits open right now. */
  get openCircuits(): number {
    return this.circuits.filter((c) => c.phase === 'open').length;
  }

  /** Opens `count` more connections, `concurrency` handshakes at a time. */
  async connect(count: number, concurrency: number): Promise<HoldResult> {
    const start = this.clock.monotonicMs();
    const failures = new Map<string, number>();
    const first = this.channels.length;
    let next = 0;
    let succeeded = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = first + next++;
        try {
          const established = await this.connector(this.target, index);
          const channel = new ClientChannel(established, this.scheduler);
          channel.onClose(() => {
            if (!this.closing) this.closedEarly++;
          });
          channel.start();
          this.channels.push(channel);
          succeeded++;
        } catch (error) {
          const reason = error instanceof RelayError ? error.code : describeError(error);
          failures.set(reason, (failures.get(reason) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(count, concurrency) }, worker));
    return {
      attempted: count,
      succeeded,
      failures: tally(failures),
      seconds: (this.clock.monotonicMs() - start) / 1000,
    };
  }

  /**
   * Builds `perConnection` circuits on every held connection (CREATE2 ntor,
   * then EXTEND2 to `nextHop`), at most `inFlight` building at once, and
   * leaves them open. Resolves when every circuit is built or failed, or at
   * `timeoutMs` (the rest count as failed).
   */
  async buildCircuits(
    perConnection: number,
    nextHop: NextHop,
    inFlight: number,
    timeoutMs: number,
  ): Promise<HoldResult> {
    const start = this.clock.monotonicMs();
    const plan: CircuitPlan = {
      create: 'ntor',
      firstHop: this.target,
      extend: { hop: nextHop, handshake: 'ntor' },
    };
    const failures = new Map<string, number>();
    const open = this.channels.filter((c) => !c.isClosed);
    const planned: ClientChannel[] = [];
    for (let round = 0; round < perConnection; round++) planned.push(...open);
    let succeeded = 0;
    let pending = 0;
    let launched = 0;
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        const unfinished = planned.length - launched + pending;
        if (unfinished > 0) failures.set('timeout', unfinished);
        resolve();
      }, timeoutMs);
      const settle = () => {
        pending--;
        launchMore();
        if (pending === 0 && launched === planned.length) {
          clearTimeout(deadline);
          resolve();
        }
      };
      const launchMore = () => {
        while (pending < inFlight && launched < planned.length) {
          const channel = planned[launched++]!;
          pending++;
          let done = false;
          const circuit = new ClientCircuit(channel, plan, {
            clock: this.clock,
            scheduler: this.scheduler,
            random: this.random,
            traffic: QUIET,
            events: {
              created() {},
              built: () => {
                if (done) return;
                done = true;
                succeeded++;
                settle();
              },
              finished() {},
              failed: (_circuit, reason) => {
                if (done) return;
                done = true;
                failures.set(reason, (failures.get(reason) ?? 0) + 1);
                settle();
              },
            },
            // Open and idle: the workload sends nothing.
            workload: () => ({ start() {}, pump() {} }),
          });
          this.circuits.push(circuit);
          circuit.start();
        }
        if (planned.length === 0) {
          clearTimeout(deadline);
          resolve();
        }
      };
      launchMore();
    });
    return {
      attempted: planned.length,
      succeeded,
      failures: tally(failures),
      seconds: (this.clock.monotonicMs() - start) / 1000,
    };
  }

  /** Tears every circuit down (DESTROY) and closes every connection. */
  close(): void {
    this.closing = true;
    for (const circuit of this.circuits) circuit.abandon();
    for (const channel of this.channels) channel.close('the hold is over');
  }
}
