/**
 * The sink: a real relay endpoint on loopback that the bridge under load
 * extends circuits to, so a benchmark needs no network beyond the machine.
 * It is relayd's own RelayEngine behind @relayd/net's ORPort listener, with
 * keys of its own in C tor's formats (a fresh temporary DataDirectory
 * unless one is given), the SinkDirectory answering BEGIN_DIR requests,
 * and SinkMetrics counting everything.
 *
 * The sink never extends circuits further: its channel provider refuses.
 * The bridge connects to it as an unauthenticated initiator (bridges do
 * not authenticate outwards), exactly as to any relay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, type Logger, type Random, silentLogger, systemClock } from '@relayd/common';
import { generateX25519, secureRandom } from '@relayd/crypto';
import {
  type ChannelProvider,
  RelayEngine,
  type RelayEngineOptionsInput,
  type RelayIdentity,
  type Scheduler,
  systemScheduler,
  type X25519KeypairLike,
} from '@relayd/engine';
import type { ServerOnionKeys } from '@relayd/handshakes';
import { generateKeys, loadOrCreateKeys, workerKeysFromSnapshot } from '@relayd/keys';
import { acceptLinks, type LinkListener } from '@relayd/net';
import { LoadgenError } from '../errors.js';
import type { NextHop } from '../target.js';
import { SinkDirectory, type SinkDirectoryCounts, type SinkDirectoryOptions } from './sink-directory.js';
import { type SinkCounts, SinkMetrics } from './sink-metrics.js';

/** The sink never extends: a circuit that asks is refused like any failed connection. */
const REFUSING_PROVIDER: ChannelProvider = {
  openChannel: () => Promise.reject(new Error('the load generator sink does not extend circuits')),
};

export interface SinkEngineModules {
  readonly identity: RelayIdentity;
  readonly onionKeys: ServerOnionKeys;
  readonly directory: SinkDirectory;
  readonly metrics: SinkMetrics;
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  readonly random?: Random;
  readonly ephemeralKeypair?: () => X25519KeypairLike;
  readonly logger?: Logger;
}

/**
 * The sink's engine. Its idle timeouts are stretched so a long benchmark
 * run never loses the bridge's channel or a held upload's circuit to
 * housekeeping; everything else is relayd's default.
 */
export function createSinkEngine(
  modules: SinkEngineModules,
  options: RelayEngineOptionsInput = {},
): RelayEngine {
  return new RelayEngine(
    { clientChannelIdleMs: 3_600_000, idleCircuitMs: 3_600_000, ...options },
    {
      identity: modules.identity,
      onionKeys: modules.onionKeys,
      random: modules.random ?? secureRandom,
      clock: modules.clock ?? systemClock,
      scheduler: modules.scheduler ?? systemScheduler,
      channelProvider: REFUSING_PROVIDER,
      directoryService: modules.directory,
      ephemeralKeypair: modules.ephemeralKeypair ?? generateX25519,
      metrics: modules.metrics,
      ...(modules.logger ? { logger: modules.logger } : {}),
    },
  );
}

export interface SinkRelayOptions extends SinkDirectoryOptions {
  /** Address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number;
  /** Keep the sink's keys here (created when missing); default a temporary directory removed on close. */
  readonly dataDir?: string;
  readonly nickname?: string;
  readonly engine?: RelayEngineOptionsInput;
  readonly logger?: Logger;
}

/** Everything the sink counted. */
export interface SinkStats {
  readonly engine: SinkCounts;
  readonly directory: SinkDirectoryCounts;
  /** Connections whose link handshake with the sink failed. */
  readonly linkHandshakeFailures: number;
  /** Channels the engine holds now. */
  readonly channels: number;
  readonly circuits: number;
}

export class SinkRelay {
  private handshakeFailures = 0;

  private constructor(
    private readonly identity: Omit<NextHop, 'port'>,
    readonly engine: RelayEngine,
    private readonly directory: SinkDirectory,
    private readonly metrics: SinkMetrics,
    private listener: LinkListener | undefined,
    private readonly temporaryDir: string | undefined,
  ) {}

  /** Makes or loads the keys, builds the engine and starts listening. */
  static async start(options: SinkRelayOptions = {}): Promise<SinkRelay> {
    const host = options.host ?? '127.0.0.1';
    const temporaryDir = options.dataDir ? undefined : mkdtempSync(join(tmpdir(), 'relayd-loadgen-sink-'));
    const dataDir = options.dataDir ?? temporaryDir!;
    try {
      const keyOptions = { nowMs: Date.now(), nickname: options.nickname ?? 'loadgenSink' };
      const store = options.dataDir
        ? loadOrCreateKeys(dataDir, keyOptions)
        : generateKeys(dataDir, keyOptions);
      const keys = workerKeysFromSnapshot(store.workerSnapshot());
      const rsaIdentity = keys.rsaIdentity.publicKey.fingerprint();
      const directory = new SinkDirectory(options);
      const metrics = new SinkMetrics();
      const engine = createSinkEngine(
        {
          identity: { rsaIdentityDigest: rsaIdentity, ed25519Identity: keys.ed25519Identity },
          onionKeys: {
            current: keys.ntorOnionKey,
            ...(keys.previousNtorOnionKey ? { previous: keys.previousNtorOnionKey } : {}),
          },
          directory,
          metrics,
          ...(options.logger ? { logger: options.logger } : {}),
        },
        options.engine,
      );
      const sink = new SinkRelay(
        {
          address: host,
          rsaIdentity,
          ed25519Identity: keys.ed25519Identity,
          ntorOnionKey: keys.ntorOnionKey.publicKey,
        },
        engine,
        directory,
        metrics,
        undefined,
        temporaryDir,
      );
      sink.listener = await acceptLinks({
        host,
        port: options.port ?? 0,
        keys,
        logger: options.logger ?? silentLogger,
        onChannel: (channel) => engine.adoptChannel(channel),
        onError: () => {
          sink.handshakeFailures++;
        },
      });
      return sink;
    } catch (error) {
      if (temporaryDir) rmSync(temporaryDir, { recursive: true, force: true });
      throw new LoadgenError('SINK', `the sink relay could not start: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** How the bridge reaches the sink: what EXTEND2 and its handshake need. */
  get nextHop(): NextHop {
    return { ...this.identity, port: this.listener?.port ?? 0 };
  }

  get stats(): SinkStats {
    const engineStats = this.engine.stats;
    return {
      engine: structuredClone(this.metrics.counts),
      directory: { ...this.directory.counts },
      linkHandshakeFailures: this.handshakeFailures,
      channels: engineStats.channels,
      circuits: engineStats.circuits,
    };
  }

  /** Stops listening, closes every channel, answers held uploads and removes a temporary key directory. */
  async close(): Promise<void> {
    this.directory.releaseAll();
    this.engine.close();
    await this.listener?.close();
    this.listener = undefined;
    if (this.temporaryDir) rmSync(this.temporaryDir, { recursive: true, force: true });
  }
}
