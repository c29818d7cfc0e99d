/**
 * Learning the bridge's ntor onion key the way a bridge client does: a
 * one-hop CREATE_FAST circuit, a BEGIN_DIR stream, and
 * "GET /tor/server/authority" (dir-spec 4.3: a relay's own descriptor),
 * then the descriptor parsed and verified (signatures, certificates, the
 * ntor cross-certificate) and checked to belong to the bridge we connected
 * to. Needed before CREATE2 when the key was not given.
 */
import { EndReason, endReasonName } from '@relayd/cells';
import { bytesEqual, type Clock, type Random } from '@relayd/common';
import type { Scheduler } from '@relayd/engine';
import { parseServerDescriptor, type VerifiedServerDescriptor, verifyServerDescriptor } from '@relayd/netdoc';
import type { ClientChannel } from './client/channel.js';
import { type CircuitTraffic, type CircuitWorkload, ClientCircuit } from './client/circuit.js';
import { RequestStream } from './client/request-stream.js';
import { LoadgenError } from './errors.js';
import type { RelayAddress } from './target.js';

/** The URL of a relay's own descriptor (dir-spec 4.3). */
export const OWN_DESCRIPTOR_PATH = '/tor/server/authority';

export interface DescriptorFetchModules {
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
}

const IGNORE_TRAFFIC: CircuitTraffic = {
  cellSent() {},
  cellReceived() {},
  sendmeSent() {},
  sendmeReceived() {},
};

/** Fetches and verifies the bridge's descriptor over `channel`. Rejects with a DESCRIPTOR LoadgenError. */
export function fetchBridgeDescriptor(
  channel: ClientChannel,
  bridge: RelayAddress,
  modules: DescriptorFetchModules,
  timeoutMs: number,
): Promise<VerifiedServerDescriptor> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => VerifiedServerDescriptor): void => {
      if (settled) return;
      settled = true;
      modules.scheduler.clearTimeout(timer);
      try {
        resolve(outcome());
      } catch (error) {
        reject(error);
      }
    };
    const request = new DescriptorRequest();
    const circuit = new ClientCircuit(
      channel,
      { create: 'fast', firstHop: { rsaIdentity: bridge.rsaIdentity } },
      {
        ...modules,
        traffic: IGNORE_TRAFFIC,
        events: {
          created() {},
          built() {},
          finished: () => settle(() => verify(request.body ?? new Uint8Array(0), bridge, modules.clock)),
          failed: (_c, reason) =>
            settle(() => {
              throw new LoadgenError('DESCRIPTOR', `fetching the bridge descriptor failed: ${reason}`);
            }),
        },
        workload: () => request,
      },
    );
    const timer = modules.scheduler.setTimeout(() => {
      circuit.abandon();
      settle(() => {
        throw new LoadgenError(
          'DESCRIPTOR',
          `the bridge did not serve its descriptor within ${timeoutMs} ms`,
        );
      });
    }, timeoutMs);
    circuit.start();
  });
}

/** One GET for the descriptor; the circuit is finished once it is answered 200 and ends with DONE. */
class DescriptorRequest implements CircuitWorkload {
  body: Uint8Array | undefined;
  private circuit: ClientCircuit | undefined;
  private stream: RequestStream | undefined;

  start(circuit: ClientCircuit): void {
    this.circuit = circuit;
    const stream = new RequestStream(OWN_DESCRIPTOR_PATH, 0, 'keep', (s, reason) => this.ended(s, reason));
    this.stream = stream;
    stream.streamId = circuit.openStream(stream);
    this.pump();
  }

  pump(): void {
    if (this.circuit && this.stream) this.stream.sendOne(this.circuit);
  }

  private ended(stream: RequestStream, reason: number): void {
    const circuit = this.circuit!;
    const summary = stream.response.summary();
    if (reason !== EndReason.DONE) circuit.fail(`descriptor-end-${endReasonName(reason) ?? reason}`);
    else if (!summary) circuit.fail(`descriptor-${stream.response.failure ?? 'no-response'}`);
    else if (summary.status !== 200) circuit.fail(`descriptor-status-${summary.status}`);
    else {
      this.body = summary.body;
      circuit.finish();
    }
  }
}

function verify(body: Uint8Array, bridge: RelayAddress, clock: Clock): VerifiedServerDescriptor {
  const parsed = parseServerDescriptor(body);
  if (!parsed.ok)
    throw new LoadgenError('DESCRIPTOR', `the bridge descriptor does not parse: ${parsed.error.message}`);
  const descriptor = parsed.value;
  if (!bytesEqual(descriptor.fingerprint, bridge.rsaIdentity)) {
    throw new LoadgenError('WRONG_IDENTITY', 'the bridge served the descriptor of another relay');
  }
  if (bridge.ed25519Identity && !bytesEqual(descriptor.ed25519Identity, bridge.ed25519Identity)) {
    throw new LoadgenError('WRONG_IDENTITY', 'the bridge descriptor names another Ed25519 identity');
  }
  const verified = verifyServerDescriptor(descriptor, { now: Math.floor(clock.nowMs() / 1000) });
  if (!verified.ok) {
    throw new LoadgenError('DESCRIPTOR', `the bridge descriptor does not verify: ${verified.error.message}`);
  }
  return verified.value;
}
