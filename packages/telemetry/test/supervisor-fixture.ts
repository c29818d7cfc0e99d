/**
 * A supervisor status as the metrics read it: two worker slots (slot 2 on
 * its second process after a death, with a replacement starting), a
 * draining predecessor, a proxy-mode balancer with two backends, two
 * transports, a consensus and the own descriptor.
 */
import type { KeyTimesView, SupervisorStatusView, WorkerProcessView } from '../src/index.js';

export const NOW_MS = Date.UTC(2025, 5, 1, 12, 0, 0);

export function proc(
  workerId: number,
  generation: number,
  handedOff: number,
  state = 'ready',
  healthy = state === 'ready',
): WorkerProcessView {
  return { workerId, generation, state, healthy, handedOff };
}

export function supervisorStatus(overrides: Partial<SupervisorStatusView> = {}): SupervisorStatusView {
  return {
    descriptorPublished: NOW_MS / 1000 - 3600,
    pool: {
      slots: [
        { workerId: 1, current: proc(1, 1, 40), replacement: undefined, deaths: 0 },
        { workerId: 2, current: proc(2, 2, 25), replacement: proc(2, 3, 0, 'starting'), deaths: 1 },
      ],
      draining: [proc(3, 1, 7, 'draining', false)],
      handedOff: 72,
      refused: 2,
    },
    directory: {
      consensus: { ageSeconds: 1800 },
      consensusFailures: 1,
      microdescriptors: { held: 7000, listed: 7100, missing: 100 },
    },
    balancer: {
      fronts: [
        {
          front: 'ext-or',
          connections: 50,
          pending: 3,
          deniedNoBackend: 1,
          failed: { CLIENT_HASH_MISMATCH: 2, HANDSHAKE_TIMEOUT: 4 },
        },
        { front: 'vanilla', connections: 20, pending: 0, deniedNoBackend: 0, failed: {} },
      ],
      backends: [
        { id: 'worker 1', healthy: true, active: 5, connections: 30, failures: 1, checksFailed: 0 },
        { id: 'ctor-a', healthy: false, active: 0, connections: 12, failures: 3, checksFailed: 6 },
      ],
      proxy: {
        unreachable: 1,
        backendDenied: 2,
        sourcePortsExhausted: 0,
        openBySourceAddress: { '127.0.1.1': 3, '127.0.1.2': 2 },
      },
      addressLimitRefusals: 9,
    },
    transports: [
      { name: 'obfs4', status: 'running', restarts: 1 },
      { name: 'webtunnel', status: 'failed', restarts: 3 },
    ],
    ...overrides,
  };
}

export function keyTimes(): KeyTimesView {
  return { signingCertExpiresMs: NOW_MS + 2 * 86_400_000 + 500, onionKeyCreatedMs: NOW_MS - 86_400_000 };
}

export const fixedClock = { nowMs: () => NOW_MS, monotonicMs: () => 0 };
