/**
 * A ControlTarget for tests: fixed reports, a log of every call, and hooks
 * to make an action wait or fail.
 */
import { emptyOnionskinStats } from '@relayd/ipc';
import {
  type BridgeLinesReport,
  type CircuitsReport,
  type ConnectionsQuery,
  type ConnectionsReport,
  ControlError,
  type ControlTarget,
  type OnionKeysReport,
  type ReloadReport,
  type SafeLoggingMode,
  type StatusReport,
  type WorkerActionReport,
  type WorkersReport,
} from '../src/index.js';

export const STATUS: StatusReport = {
  version: '0.1.0',
  pid: 4242,
  startedAt: '2026-03-01T08:00:00.000Z',
  uptimeSeconds: 900,
  nickname: 'ctlBridge',
  fingerprint: '4C1F0E1D2C3B4A5968778695A4B3C2D1E0F01234',
  ed25519Identity: 'ZmFrZWVkMjU1MTlpZGVudGl0eWZvcnRoZXRlc3RzMDA',
  address: '203.0.113.5:443',
  bridgeLines: ['Bridge 203.0.113.5:443 4C1F0E1D2C3B4A5968778695A4B3C2D1E0F01234'],
  onionKeyRotation: 'coordinated',
  workers: { mode: 'forked', configured: 2, running: 2, healthy: 2 },
  directory: {
    fetching: true,
    freshness: 'fresh',
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
    consensusFailures: 0,
    certificates: 9,
    microdescriptors: { held: 7000, listed: 7000, missing: 0 },
    lastError: null,
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
  ],
  totals: {
    connections: 120,
    channels: 22,
    circuits: 86,
    bytesReceived: 2_000_000,
    bytesSent: 54_000_000,
    onionskins: { ...emptyOnionskinStats(), ntor: { processed: 80, failed: 1, dropped: 2 } },
  },
};

export const WORKERS: WorkersReport = {
  mode: 'forked',
  handedOff: 120,
  refused: 0,
  workers: [1, 2].map((id) => ({
    workerId: id,
    role: 'serving' as const,
    pid: 4250 + id,
    state: 'ready' as const,
    healthy: true,
    generation: id,
    restarts: id - 1,
    deaths: 0,
    startedAt: '2026-03-01T08:00:01.000Z',
    uptimeSeconds: 899,
    lastHeartbeatAgeSeconds: 2,
    connections: 10 * id,
    connectionsTotal: 60,
    channels: 11,
    circuits: 43,
    cpuSeconds: 12.5,
    rssBytes: 80 * 1024 * 1024,
  })),
};

export const CIRCUITS: CircuitsReport = {
  total: { total: 86, awaitingHandshake: 2, open: 84 },
  byWorker: [
    { workerId: 1, pid: 4251, total: 43, awaitingHandshake: 1, open: 42 },
    { workerId: 2, pid: 4252, total: 43, awaitingHandshake: 1, open: 42 },
  ],
};

export const BRIDGE_LINES: BridgeLinesReport = {
  lines: STATUS.bridgeLines,
  skipped: [{ transport: 'webtunnel', reason: 'it listens on a loopback address' }],
};

export interface Call {
  readonly method: string;
  readonly arg?: unknown;
}

export class FakeTarget implements ControlTarget {
  readonly calls: Call[] = [];
  safe: SafeLoggingMode = 'all';
  /** What connections() returns, whatever it is asked. */
  addresses = [
    { address: '198.51.100.7', connections: 5 },
    { address: '2001:db8::1', connections: 3 },
    { address: '192.0.2.1', connections: 1 },
  ];
  /** When set, actions wait for it. */
  gate: Promise<void> | undefined;
  failWith: Error | undefined;

  private async act<T>(method: string, arg: unknown, result: () => T): Promise<T> {
    this.calls.push({ method: `${method}:start`, arg });
    if (this.gate) await this.gate;
    this.calls.push({ method: `${method}:end`, arg });
    if (this.failWith) throw this.failWith;
    return result();
  }

  status(): StatusReport {
    this.calls.push({ method: 'status' });
    if (this.failWith) throw this.failWith;
    return STATUS;
  }

  workers(): WorkersReport {
    this.calls.push({ method: 'workers' });
    return WORKERS;
  }

  restartWorker(workerId: number): Promise<WorkerActionReport> {
    return this.act('restartWorker', workerId, () => {
      if (workerId > 2)
        throw new ControlError('no-such-worker', `there is no worker ${workerId} (workers: 1-2)`);
      return {
        workerId,
        action: 'restart' as const,
        pid: 4300 + workerId,
        previousPid: 4250 + workerId,
        message: `worker ${workerId} restarted: pid ${4300 + workerId} serves, pid ${4250 + workerId} drains`,
      };
    });
  }

  drainWorker(workerId: number): Promise<WorkerActionReport> {
    return this.act('drainWorker', workerId, () => {
      if (workerId > 2)
        throw new ControlError('no-such-worker', `there is no worker ${workerId} (workers: 1-2)`);
      return {
        workerId,
        action: 'drain' as const,
        pid: 4250 + workerId,
        previousPid: null,
        message: `worker ${workerId} (pid ${4250 + workerId}) is draining`,
      };
    });
  }

  reload(): Promise<ReloadReport> {
    return this.act('reload', undefined, () => ({
      accepted: true,
      errors: [],
      warnings: [],
      applied: ['contactInfo'],
      restartedWorkers: false,
      needsRestart: ['orPorts'],
    }));
  }

  rotateOnionKeys(request: { readonly force: boolean }): Promise<OnionKeysReport> {
    return this.act('rotateOnionKeys', request, () => ({
      rotatedAt: '2026-03-01T08:15:00.000Z',
      ntorOnionKey: 'bmV3bnRvcm9uaW9ua2V5Zm9ydGhldGVzdHMwMDAwMDA',
      previousNtorOnionKey: 'b2xkbnRvcm9uaW9ua2V5Zm9ydGhldGVzdHMwMDAwMDA',
      workersUpdated: 2,
      descriptorPublished: '2026-03-01T08:15:00.000Z',
    }));
  }

  bridgeLines(): BridgeLinesReport {
    this.calls.push({ method: 'bridgeLines' });
    return BRIDGE_LINES;
  }

  circuits(): CircuitsReport {
    this.calls.push({ method: 'circuits' });
    return CIRCUITS;
  }

  connections(query: ConnectionsQuery): ConnectionsReport {
    this.calls.push({ method: 'connections', arg: query });
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
          byTransport: [{ transport: 'vanilla', connections: 40, linksAccepted: 39 }],
        },
      ],
      // Deliberately returned whatever the query says: the dispatcher must enforce SafeLogging itself.
      clientAddresses: this.addresses,
      clientAddressCount: this.addresses.length,
    };
  }

  safeLogging(): SafeLoggingMode {
    return this.safe;
  }
}

/** A logger that keeps what it is given. */
export function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const logger = {
    lines,
    error: (_f: object, message: string) => lines.push({ level: 'error', message }),
    warn: (_f: object, message: string) => lines.push({ level: 'warn', message }),
    notice: (_f: object, message: string) => lines.push({ level: 'notice', message }),
    info: (_f: object, message: string) => lines.push({ level: 'info', message }),
    debug: (_f: object, message: string) => lines.push({ level: 'debug', message }),
    child: () => logger,
  };
  return logger;
}
