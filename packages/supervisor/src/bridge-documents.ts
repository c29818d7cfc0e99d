/**
 * Building and signing this bridge's server descriptor and extra-info from
 * its keys, its configuration and its published endpoint (netdoc's
 * buildBridgeDocuments does the layout and the signatures).
 *
 * Values as C tor's router_build_fresh_unsigned_routerinfo sets them:
 * - bandwidth: BandwidthRate, lowered to RelayBandwidthRate when that is
 *   set and lower, then to MaxAdvertisedBandwidth; the burst likewise with
 *   RelayBandwidthBurst; "observed" is 0 until relayd measures throughput
 *   (what a freshly started tor bridge publishes too);
 * - uptime: seconds since the supervisor started;
 * - extra-info: one `transport` line per running pluggable transport
 *   (@relayd/transports renders them from the transports' states; its
 *   "transport-info" line when a transport named itself), none without.
 */
import { type Clock, describeError, RelayError } from '@relayd/common';
import type { RelaydConfig } from '@relayd/config';
import type { KeyStore } from '@relayd/keys';
import { type BridgeExtraInfoOptions, buildBridgeDocuments, type DescriptorBandwidth } from '@relayd/netdoc';
import { RELAYD_PROTOCOL_LINE } from './protocols.js';
import type { PublicEndpoint } from './public-address.js';

export interface BridgeDocuments {
  readonly serverDescriptor: string;
  readonly extraInfo: string;
  /** The "published" time, seconds since the epoch. */
  readonly publishedSeconds: number;
}

export interface BridgeDocumentInputs {
  readonly config: RelaydConfig;
  readonly keys: KeyStore;
  readonly endpoint: PublicEndpoint;
  /** The "platform" line, e.g. "relayd 0.1.0 on Linux". */
  readonly platform: string;
  readonly startedAtMs: number;
  /** The extra-info's transport lines; none when absent. */
  readonly transports?: Pick<BridgeExtraInfoOptions, 'transports' | 'transportInfo'>;
  /**
   * The `published` time of the documents these replace. The new ones are
   * published at least a second later: an authority (and the publisher)
   * takes a descriptor with the same `published` time for one it has.
   */
  readonly previousPublishedSeconds?: number;
}

/** The descriptor's "bandwidth" line values, as tor computes them from the config. */
export function advertisedBandwidth(bandwidth: RelaydConfig['bandwidth']): DescriptorBandwidth {
  let average = bandwidth.rate;
  let burst = bandwidth.burst;
  if (bandwidth.relayRate > 0 && average > bandwidth.relayRate) average = bandwidth.relayRate;
  if (bandwidth.relayBurst > 0 && burst > bandwidth.relayBurst) burst = bandwidth.relayBurst;
  average = Math.min(average, bandwidth.maxAdvertised);
  return { average, burst, observed: 0 };
}

/** Builds and signs both documents as of `clock.nowMs()` (published after `previousPublishedSeconds`). */
export function buildOwnDocuments(inputs: BridgeDocumentInputs, clock: Clock): BridgeDocuments {
  const { config, keys, endpoint } = inputs;
  const nowMs = clock.nowMs();
  const publishedSeconds = Math.max(Math.floor(nowMs / 1000), (inputs.previousPublishedSeconds ?? 0) + 1);
  try {
    const documents = buildBridgeDocuments(
      {
        nickname: keys.nickname,
        address: endpoint.ipv4,
        orPort: endpoint.orPort,
        ...(endpoint.ipv6
          ? { ipv6OrPort: { family: 6, address: endpoint.ipv6.address, port: endpoint.ipv6.port } }
          : {}),
        platform: inputs.platform,
        protocols: RELAYD_PROTOCOL_LINE,
        published: publishedSeconds,
        uptime: Math.max(0, Math.floor((nowMs - inputs.startedAtMs) / 1000)),
        bandwidth: advertisedBandwidth(config.bandwidth),
        ...(config.contactInfo !== null ? { contact: config.contactInfo } : {}),
        bridgeDistributionRequest: config.bridgeDistribution ?? 'any',
        keys: {
          identityKey: keys.rsaIdentity,
          signingKey: keys.signingKey,
          signingCert: keys.signingCert,
          ntorOnionSecret: keys.ntorOnionKey.secretKey,
          tapOnionKey: keys.tapOnionKey,
        },
      },
      inputs.transports ?? { transports: [] },
    );
    return { ...documents, publishedSeconds };
  } catch (error) {
    throw new RelayError(
      'internal',
      'DESCRIPTOR_BUILD',
      `bug: could not build the server descriptor: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
}
