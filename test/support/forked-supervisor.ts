/**
 * A supervisor in this process with real forked worker processes
 * (ForkedWorkerLauncher) behind a loopback ORPort, as the worker tests
 * start it: a bridge that publishes nothing and knows one authority nobody
 * answers (its directory fetches fail at once), logging nowhere; and the
 * RelayTarget a LinkClient needs to reach its ORPort and check its
 * identities.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, silentLogger } from '@relayd/common';
import { parseConfig } from '@relayd/config';
import { ForkedWorkerLauncher, type ForkedWorkerLauncherOptions, Supervisor } from '@relayd/supervisor';
import type { RelayTarget } from './link-client.js';

const AUTH_FP = '0000000000000000000000000000000000000001';

export interface ForkedSupervisorOptions {
  readonly dataDir: string;
  readonly nickname: string;
  /** Torrc lines after the common ones: Workers, BalancerMode, Log, … */
  readonly torrc: readonly string[];
  /** The supervisor's clock (not the workers'). */
  readonly clock?: Clock;
  /** Worker pool tunables: heartbeat interval, restart backoff, … */
  readonly pool?: ForkedWorkerLauncherOptions['pool'];
}

export interface ForkedSupervisor {
  readonly supervisor: Supervisor;
  /** Its ORPort, with the identities from DataDirectory's fingerprint files. */
  readonly target: RelayTarget;
}

export async function startForkedSupervisor(opts: ForkedSupervisorOptions): Promise<ForkedSupervisor> {
  const parsed = parseConfig(
    [
      `DataDirectory ${opts.dataDir}`,
      `Nickname ${opts.nickname}`,
      'ContactInfo ops@example.org',
      'ORPort 127.0.0.1:auto',
      'PublishServerDescriptor 0',
      ...opts.torrc,
      `DirAuthority v3auth orport=8 v3ident=${'A'.repeat(40)} 127.0.0.1:8 ${AUTH_FP}`,
    ].join('\n'),
  );
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error.errors));
  const supervisor = await Supervisor.start(
    { config: parsed.value.config, version: '0.0.0-test', maintenanceIntervalMs: 3_600_000 },
    {
      logger: silentLogger,
      ...(opts.clock ? { clock: opts.clock } : {}),
      fetch: async () => {
        throw new Error('connection refused');
      },
      launcher: () =>
        new ForkedWorkerLauncher({ logger: silentLogger, ...(opts.pool ? { pool: opts.pool } : {}) }),
    },
  );
  const ed25519 = readFileSync(join(opts.dataDir, 'fingerprint-ed25519'), 'latin1').trim().split(' ')[1]!;
  return {
    supervisor,
    target: {
      address: '127.0.0.1',
      port: supervisor.endpoint.orPort,
      rsaIdentity: Buffer.from(supervisor.fingerprint, 'hex'),
      ed25519Identity: new Uint8Array(Buffer.from(ed25519, 'base64')),
    },
  };
}
