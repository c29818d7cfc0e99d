/**
 * Run inside a network namespace by ephemeral-ports.test.ts (not a test
 * itself): the balancer's proxy mode — a vanilla ORPort front, the proxy
 * dispatcher and its source-address pool — in front of one relayd worker
 * ExtORPort (`listenExtOrBackend`), holding `count` client connections
 * open at once, each carried to the backend over its own TCP connection.
 *
 *   node ephemeral-ports-probe.js <spread|single|system> <count>
 *
 * spread: 127.0.1.1-127.0.1.3; single: 127.0.0.1 (bound); system: no
 * binding. Clients come from 127.0.0.2, and they and the listeners use
 * fixed ports below the ephemeral range, so only the balancer's own
 * connections draw on it.
 * Prints one JSON line: how many were held, where the first failure came
 * and with which system error. No health checks run, so no probe takes a
 * port in between.
 */
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import {
  BackendPool,
  ConnectionsPerAddress,
  ProxyDispatcher,
  SourceAddressPool,
  startVanillaFront,
} from '@relayd/balancer';
import { type Logger, systemClock } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import type { TcpSocket } from '@relayd/net';
import { listenExtOrBackend } from '@relayd/worker';

const CLIENT_FIRST_PORT = 20_000;
/** The listeners' ports, below the ephemeral range too: a port 0 listener would take one of it. */
const FRONT_PORT = 19_001;
const BACKEND_PORT = 19_002;
const STEP_TIMEOUT_MS = 5_000;

const mode = process.argv[2];
const count = Number(process.argv[3]);
if ((mode !== 'spread' && mode !== 'single' && mode !== 'system') || !(count > 0)) {
  process.stderr.write('usage: ephemeral-ports-probe.js <spread|single|system> <count>\n');
  process.exit(2);
}

const warnings: Array<Record<string, unknown>> = [];
const logger: Logger = {
  error() {},
  warn(fields) {
    warnings.push(fields as Record<string, unknown>);
  },
  notice() {},
  info() {},
  debug() {},
  child() {
    return logger;
  },
};

const cookie = secureRandom.bytes(32);
const held: TcpSocket[] = [];
const backend = await listenExtOrBackend({
  host: '127.0.2.1',
  port: BACKEND_PORT,
  cookie,
  accept: (socket) => {
    socket.on('error', () => {});
    held.push(socket);
  },
});
const pool = new BackendPool(systemClock);
pool.add({ id: 'worker 1', host: backend.host, port: backend.port, cookie: { bytes: cookie } });
const ranges =
  mode === 'spread'
    ? [{ first: '127.0.1.1', last: '127.0.1.3' }]
    : mode === 'single'
      ? [{ first: '127.0.0.1', last: '127.0.0.1' }]
      : [];
const proxy = new ProxyDispatcher({
  pool,
  sourceAddresses: new SourceAddressPool(ranges),
  maxAttempts: 1,
  logger,
});
const front = await startVanillaFront({
  host: '127.0.0.1',
  port: FRONT_PORT,
  dispatcher: proxy,
  limits: new ConnectionsPerAddress(0),
  logger,
});

const clients: Socket[] = [];
let failedAt: number | undefined;
for (let i = 0; i < count; i++) {
  const client = createConnection({
    host: '127.0.0.1',
    port: front.port,
    localAddress: '127.0.0.2',
    localPort: CLIENT_FIRST_PORT + i,
  });
  client.on('error', () => {});
  clients.push(client);
  const outcome = await new Promise<'held' | 'closed' | 'timeout'>((resolve) => {
    const started = Date.now();
    const poll = () => {
      if (held.length > i) resolve('held');
      else if (client.destroyed) resolve('closed');
      else if (Date.now() - started > STEP_TIMEOUT_MS) resolve('timeout');
      else setTimeout(poll, 2);
    };
    poll();
  });
  if (outcome !== 'held') {
    failedAt = i;
    break;
  }
}

const stats = proxy.stats();
process.stdout.write(
  `${JSON.stringify({
    mode,
    portRange: readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number),
    held: held.length,
    failedAt,
    code: warnings.find((w) => typeof w['code'] === 'string')?.['code'],
    sourcePortsExhausted: stats.sourcePortsExhausted,
    sources: [...new Set(held.map((s) => s.remoteAddress))].sort(),
    backendHealthy: pool.backends[0]!.healthy,
  })}\n`,
);
for (const c of clients) c.destroy();
for (const s of held) s.destroy();
await front.close();
await proxy.close();
await backend.close();
process.exit(0);
