/**
 * The periodic checks C tor runs once a second (mainloop.c
 * run_connection_housekeeping(), circuituse.c
 * circuit_expire_old_circuits_serverside()), as pure decisions:
 *
 *   - a channel with no circuits for its idle timeout is closed: 3 to 4.5
 *     minutes for clients, 45 to 75 minutes for relays (channelpadding.c
 *     channelpadding_get_channel_idle_timeout());
 *   - a channel with bytes stuck in its transport for ten keepalive periods
 *     is closed;
 *   - a channel that wrote nothing for a keepalive period and has nothing
 *     buffered gets a PADDING cell;
 *   - a circuit that ends here, has no streams, comes from a client channel,
 *     and whose channel sent nothing for `idleCircuitMs` is closed with
 *     FINISHED.
 *
 * The engine runs the timer and carries the decisions out.
 */
import type { Random } from '@relayd/common';
import type { Channel } from './channel.js';
import type { ChannelPeer } from './channel-types.js';
import type { RelayCircuit } from './circuit.js';
import type { RelayEngineOptions } from './options.js';

export type ChannelAction = 'none' | 'close-idle' | 'close-stuck' | 'keepalive';

/** A uniform random fraction in [0, 1) from four random bytes. */
function randomFraction(random: Random): number {
  const b = random.bytes(4);
  return (((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!)) / 2 ** 32;
}

/** A channel's idle timeout, drawn once when it is adopted. */
export function drawIdleTimeoutMs(peer: ChannelPeer, options: RelayEngineOptions, random: Random): number {
  if (peer.rsaIdentity === undefined) {
    // CONNTIMEOUT_CLIENTS_BASE + crypto_rand_int(CONNTIMEOUT_CLIENTS_BASE/2)
    return Math.floor(options.clientChannelIdleMs * (1 + randomFraction(random) / 2));
  }
  // 3*timeout/4 + crypto_rand_int(timeout/2)
  return Math.floor(options.relayChannelIdleMs * (0.75 + randomFraction(random) / 2));
}

/** What the housekeeping tick should do with a channel at `nowMs`. Updates its timestamps. */
export function channelAction(channel: Channel, nowMs: number, options: RelayEngineOptions): ChannelAction {
  if (channel.circuits.size > 0) channel.lastHadCircuitsAtMs = nowMs;
  const buffered = channel.transport.bufferedBytes > 0 || channel.queuedCells > 0;
  if (!buffered) channel.lastEmptyAtMs = nowMs;
  if (channel.circuits.size === 0 && nowMs - channel.lastHadCircuitsAtMs >= channel.idleTimeoutMs) {
    return 'close-idle';
  }
  if (buffered && nowMs - channel.lastEmptyAtMs >= options.keepaliveMs * 10) return 'close-stuck';
  if (!buffered && nowMs - channel.lastWriteAtMs >= options.keepaliveMs) return 'keepalive';
  return 'none';
}

/** Whether a circuit has been idle long enough to close with FINISHED. */
export function isIdleCircuit(circuit: RelayCircuit, nowMs: number, options: RelayEngineOptions): boolean {
  const prev = circuit.prev;
  return (
    circuit.state === 'open' &&
    prev !== undefined &&
    prev.channel.isClient &&
    circuit.next.kind === 'none' &&
    circuit.streams.size === 0 &&
    nowMs - prev.channel.lastWriteAtMs >= options.idleCircuitMs
  );
}
