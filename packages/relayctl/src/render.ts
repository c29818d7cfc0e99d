/**
 * The human-readable forms of the control reports: one function per report,
 * lines out. `--json` prints the report itself instead (docs/relayctl.md
 * names its fields).
 */
import type {
  BridgeLinesReport,
  CircuitsReport,
  ConnectionsReport,
  OnionKeysReport,
  ReloadReport,
  StatusReport,
  WorkerActionReport,
  WorkersReport,
} from '@relayd/control';
import { formatBytes, formatDuration, formatMemory, orDash, table, yesNo } from './format.js';

function label(name: string, value: string): string {
  return `${`${name}:`.padEnd(18)}${value}`;
}

export function renderStatus(s: StatusReport): string[] {
  const d = s.directory;
  const consensus = d.consensus
    ? `${d.freshness} consensus (valid after ${d.consensus.validAfter}, fresh until ${d.consensus.freshUntil}, ` +
      `valid until ${d.consensus.validUntil}), ${d.consensus.routers} routers, ` +
      `${d.microdescriptors.held}/${d.microdescriptors.listed} microdescriptors`
    : 'no consensus yet';
  const directory = [
    consensus,
    d.nextFetchAt ? `next fetch ${d.nextFetchAt}` : undefined,
    d.consensusFailures > 0 ? `${d.consensusFailures} failed fetches since the last success` : undefined,
    d.lastError ? `last error: ${d.lastError}` : undefined,
  ].filter((x) => x !== undefined);
  const transports =
    s.transports.length === 0
      ? ['none']
      : s.transports.map((t) => {
          const where = t.listening ? ` on ${t.listening}` : '';
          const pid = t.pid === null ? '' : ` (pid ${t.pid})`;
          const error = t.error ? `: ${t.error}` : '';
          const retry = t.retryAt ? `; retry at ${t.retryAt}` : '';
          const restarts = t.restarts > 0 ? `, ${t.restarts} restarts` : '';
          return `${t.name} ${t.state}${where}${pid}${restarts}${error}${retry}`;
        });
  const o = s.totals.onionskins;
  const onionskins = Object.entries(o)
    .map(([type, c]) => `${type} ${c.processed}/${c.failed}/${c.dropped}`)
    .join(', ');
  return [
    `relayd ${s.version}, pid ${s.pid}, up ${formatDuration(s.uptimeSeconds)} (since ${s.startedAt})`,
    label('nickname', s.nickname),
    label('fingerprint', s.fingerprint),
    label('ed25519 identity', s.ed25519Identity),
    label('address', s.address),
    label('onion keys', `${s.onionKeyRotation} rotation`),
    label(
      'workers',
      `${s.workers.running} running, ${s.workers.healthy} healthy, ${s.workers.configured} configured (${s.workers.mode})`,
    ),
    label('directory', directory[0]!),
    ...directory.slice(1).map((line) => `${' '.repeat(18)}${line}`),
    label('transports', transports[0]!),
    ...transports.slice(1).map((line) => `${' '.repeat(18)}${line}`),
    label(
      'totals',
      `${s.totals.channels} channels, ${s.totals.circuits} circuits, ${s.totals.connections} connections received; ` +
        `sent ${formatBytes(s.totals.bytesSent)}, received ${formatBytes(s.totals.bytesReceived)}`,
    ),
    label('onionskins', `${onionskins} (processed/failed/dropped)`),
    'bridge lines:',
    ...s.bridgeLines.map((line) => `  ${line}`),
  ];
}

export function renderWorkers(w: WorkersReport): string[] {
  const rows = w.workers.map((x) => [
    String(x.workerId),
    x.role,
    orDash(x.pid),
    x.state,
    yesNo(x.healthy),
    x.uptimeSeconds === null ? '-' : formatDuration(x.uptimeSeconds),
    String(x.restarts),
    String(x.deaths),
    String(x.connections),
    String(x.channels),
    String(x.circuits),
    x.cpuSeconds === null ? '-' : `${x.cpuSeconds.toFixed(1)}s`,
    x.rssBytes === null ? '-' : formatMemory(x.rssBytes),
    x.lastHeartbeatAgeSeconds === null ? '-' : `${x.lastHeartbeatAgeSeconds}s ago`,
  ]);
  return [
    ...table(
      [
        'WORKER',
        'ROLE',
        'PID',
        'STATE',
        'HEALTHY',
        'UPTIME',
        'RESTARTS',
        'DEATHS',
        'CONNS',
        'CHANNELS',
        'CIRCUITS',
        'CPU',
        'RSS',
        'HEARTBEAT',
      ],
      rows,
    ),
    `${w.workers.length} worker processes (${w.mode}); ${w.handedOff} connections handed off, ${w.refused} refused for want of a healthy worker`,
  ];
}

export function renderWorkerAction(r: WorkerActionReport): string[] {
  return [r.message];
}

export function renderReload(r: ReloadReport): { out: string[]; err: string[] } {
  const err = [...r.warnings.map((w) => `warning: ${w}`), ...r.errors.map((e) => `error: ${e}`)];
  if (!r.accepted) {
    return { out: [], err: [...err, 'the configuration has errors; relayd keeps running with the old one'] };
  }
  const out = [
    r.applied.length === 0
      ? 'reloaded the configuration: nothing to apply'
      : `reloaded the configuration: applied ${r.applied.join(', ')}` +
        (r.restartedWorkers ? ' (worker processes restarted one by one)' : ''),
  ];
  if (r.needsRestart.length > 0) {
    out.push(`changed but needing a restart of relayd to take effect: ${r.needsRestart.join(', ')}`);
  }
  return { out, err };
}

export function renderOnionKeys(r: OnionKeysReport): string[] {
  return [
    `rotated the onion keys at ${r.rotatedAt}; ${r.workersUpdated} worker processes have the new keys`,
    label('ntor onion key', r.ntorOnionKey),
    label('previous', `${orDash(r.previousNtorOnionKey)} (still accepted for the grace period)`),
    label('descriptor', `published ${r.descriptorPublished}`),
  ];
}

export function renderBridgeLines(r: BridgeLinesReport): { out: string[]; err: string[] } {
  return {
    out: [...r.lines],
    err: r.skipped.map((s) => `note: no bridge line for transport ${s.transport}: ${s.reason}`),
  };
}

export function renderCircuits(c: CircuitsReport): string[] {
  const rows = c.byWorker.map((w) => [
    String(w.workerId),
    orDash(w.pid),
    String(w.total),
    String(w.open),
    String(w.awaitingHandshake),
  ]);
  rows.push(['total', '', String(c.total.total), String(c.total.open), String(c.total.awaitingHandshake)]);
  return table(['WORKER', 'PID', 'CIRCUITS', 'OPEN', 'AWAITING-HANDSHAKE'], rows);
}

export function renderConnections(c: ConnectionsReport): string[] {
  const out = [
    'by transport:',
    ...table(
      ['TRANSPORT', 'CONNECTIONS', 'LINKS'],
      c.byTransport.map((t) => [t.transport, String(t.connections), String(t.linksAccepted)]),
    ).map((l) => `  ${l}`),
    'by worker:',
    ...table(
      ['WORKER', 'PID', 'OPEN', 'CHANNELS', 'RECEIVED BY TRANSPORT'],
      c.byWorker.map((w) => [
        String(w.workerId),
        orDash(w.pid),
        String(w.open),
        String(w.channels),
        w.byTransport.map((t) => `${t.transport} ${t.connections}`).join(', '),
      ]),
    ).map((l) => `  ${l}`),
  ];
  const count = c.clientAddressCount === null ? 'not tracked' : String(c.clientAddressCount);
  if (c.clientAddresses === null) {
    out.push(`client addresses: ${count} (the addresses are shown only with SafeLogging 0)`);
  } else {
    out.push(`client addresses: ${count}`);
    out.push(
      ...table(
        ['ADDRESS', 'CONNECTIONS'],
        c.clientAddresses.map((a) => [a.address, String(a.connections)]),
      ).map((l) => `  ${l}`),
    );
  }
  return out;
}
