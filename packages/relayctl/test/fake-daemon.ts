/**
 * A control socket served in-process by a fake daemon: the real server and
 * dispatcher of @relayd/control in front of a ControlTarget with fixed
 * reports, so relayctl's output can be checked to the character.
 */
import { silentLogger } from '@relayd/common';
import {
  type ConnectionsQuery,
  ControlError,
  type ControlServer,
  type ControlTarget,
  type ReloadReport,
  type SafeLoggingMode,
  type StatusReport,
  startControlServer,
  type WorkersReport,
} from '@relayd/control';

const ZERO = { processed: 0, failed: 0, dropped: 0 };

export const STATUS: StatusReport = {
  version: '0.1.0',
  pid: 4242,
  startedAt: '2026-03-01T08:00:00.000Z',
  uptimeSeconds: 3_900,
  nickname: 'ctlBridge',
  fingerprint: '4C1F0E1D2C3B4A5968778695A4B3C2D1E0F01234',
  ed25519Identity: 'ZmFrZWVkMjU1MTlpZGVudGl0eWZvcnRoZXRlc3RzMDA',
  address: '203.0.113.5:443',
  bridgeLines: [
    'Bridge 203.0.113.5:443 4C1F0E1D2C3B4A5968778695A4B3C2D1E0F01234',
    'Bridge obfs4 203.0.113.5:9443 4C1F0E1D2C3B4A5968778695A4B3C2D1E0F01234 cert=abc iat-mode=0',
  ],
  onionKeyRotation: 'coordinated',
  workers: { mode: 'forked', configured: 2, running: 2, healthy: 1 },
  directory: {
    fetching: true,
    freshness: 'stale',
    consensus: {
      validAfter: '2026-03-01T08:00:00.000Z',
      freshUntil: '2026-03-01T09:00:00.000Z',
      validUntil: '2026-03-01T11:00:00.000Z',
      obtainedAt: '2026-03-01T08:01:00.000Z',
      routers: 7000,
      goodSignatures: 9,
    },
    nextFetchAt: '2026-03-01T09:10:00.000Z',
    lastSuccessAt: '2026-03-01T08:01:00.000Z',
    consensusFailures: 2,
    certificates: 9,
    microdescriptors: { held: 6990, listed: 7000, missing: 10 },
    lastError: 'consensus from moria1: HTTP 503 (2026-03-01T09:05:00.000Z)',
  },
  transports: [
    {
      name: 'obfs4',
      state: 'running',
      pid: 5000,
      listening: '0.0.0.0:9443',
      restarts: 0,
      error: null,
      retryAt: null,
    },
    {
      name: 'webtunnel',
      state: 'failed',
      pid: null,
      listening: null,
      restarts: 3,
      error: 'exited with status 1',
      retryAt: '2026-03-01T09:06:00.000Z',
    },
  ],
  totals: {
    connections: 120,
    channels: 22,
    circuits: 86,
    bytesReceived: 1_990_000,
    bytesSent: 54_270_000,
    onionskins: {
      fast: { processed: 6, failed: 0, dropped: 0 },
      ntor: { processed: 80, failed: 1, dropped: 2 },
      ntor_v3: ZERO,
      tap: ZERO,
      unknown: ZERO,
    },
  },
};

export const WORKERS: WorkersReport = {
  mode: 'forked',
  handedOff: 120,
  refused: 3,
  workers: [
    {
      workerId: 1,
      role: 'serving',
      pid: 4251,
      state: 'ready',
      healthy: true,
      generation: 1,
      restarts: 0,
      deaths: 0,
      startedAt: '2026-03-01T08:00:01.000Z',
      uptimeSeconds: 3_899,
      lastHeartbeatAgeSeconds: 2,
      connections: 10,
      connectionsTotal: 60,
      channels: 11,
      circuits: 43,
      cpuSeconds: 12.5,
      rssBytes: 83_886_080,
    },
    {
      workerId: 2,
      role: 'replacement',
      pid: 4260,
      state: 'starting',
      healthy: false,
      generation: 3,
      restarts: 2,
      deaths: 1,
      startedAt: '2026-03-01T09:04:59.000Z',
      uptimeSeconds: 1,
      lastHeartbeatAgeSeconds: null,
      connections: 0,
      connectionsTotal: 0,
      channels: 0,
      circuits: 0,
      cpuSeconds: null,
      rssBytes: null,
    },
  ],
};

export class FakeDaemon implements ControlTarget {
  safe: SafeLoggingMode = 'all';
  reloadReport: ReloadReport = {
    accepted: true,
    errors: [],
    warnings: [],
    applied: ['contactInfo', 'workers'],
    restartedWorkers: false,
    needsRestart: ['orPorts'],
  };
  readonly requests: string[] = [];

  status() {
    this.requests.push('status');
    return STATUS;
  }
  workers() {
    this.requests.push('workers');
    return WORKERS;
  }
  async restartWorker(workerId: number) {
    this.requests.push(`restart ${workerId}`);
    if (workerId !== 1)
      throw new ControlError('no-such-worker', `there is no worker ${workerId} (workers: 1-2)`);
    return {
      workerId,
      action: 'restart' as const,
      pid: 4300,
      previousPid: 4251,
      message: 'worker 1 restarted: pid 4300 serves, pid 4251 drains',
    };
  }
  async drainWorker(workerId: number) {
    this.requests.push(`drain ${workerId}`);
    if (workerId !== 1)
      throw new ControlError('no-such-worker', `there is no worker ${workerId} (workers: 1-2)`);
    return {
      workerId,
      action: 'drain' as const,
      pid: 4251,
      previousPid: null,
      message: 'worker 1 (pid 4251) is draining; its slot starts anew once it has exited',
    };
  }
  async reload() {
    this.requests.push('reload');
    return this.reloadReport;
  }
  async rotateOnionKeys(request: { readonly force: boolean }) {
    this.requests.push(`rotate force=${request.force}`);
    return {
      rotatedAt: '2026-03-01T09:05:00.000Z',
      ntorOnionKey: 'bmV3bnRvcm9uaW9ua2V5Zm9ydGhldGVzdHMwMDAwMDA',
      previousNtorOnionKey: 'b2xkbnRvcm9uaW9ua2V5Zm9ydGhldGVzdHMwMDAwMDA',
      workersUpdated: 2,
      descriptorPublished: '2026-03-01T09:05:00.000Z',
    };
  }
  bridgeLines() {
    return { lines: STATUS.bridgeLines, skipped: [{ transport: 'webtunnel', reason: 'it is not running' }] };
  }
  circuits() {
    return {
      total: { total: 86, awaitingHandshake: 2, open: 84 },
      byWorker: [
        { workerId: 1, pid: 4251, total: 43, awaitingHandshake: 1, open: 42 },
        { workerId: 2, pid: 4252, total: 43, awaitingHandshake: 1, open: 42 },
      ],
    };
  }
  connections(query: ConnectionsQuery) {
    this.requests.push(`connections ${JSON.stringify(query)}`);
    return {
      byTransport: [
        { transport: 'vanilla', connections: 40, linksAccepted: 39 },
        { transport: 'obfs4', connections: 80, linksAccepted: 80 },
      ],
      byWorker: [
        {
          workerId: 1,
          pid: 4251,
          open: 10,
          channels: 11,
          byTransport: [
            { transport: 'vanilla', connections: 40, linksAccepted: 39 },
            { transport: 'obfs4', connections: 20, linksAccepted: 20 },
          ],
        },
      ],
      clientAddresses: [
        { address: '198.51.100.7', connections: 5 },
        { address: '2001:db8::1', connections: 3 },
      ],
      clientAddressCount: 2,
    };
  }
  safeLogging() {
    return this.safe;
  }
}

export async function startFakeDaemon(
  path: string,
  mode = 0o600,
): Promise<{ daemon: FakeDaemon; server: ControlServer }> {
  const daemon = new FakeDaemon();
  const server = await startControlServer({ path, mode, group: null }, daemon, { logger: silentLogger });
  return { daemon, server };
}
