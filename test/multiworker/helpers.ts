/**
 * Shared pieces of the multi-worker tests: reading workers.json and the
 * notice log, bounded polling (a replaced worker, …), clients that bootstrap
 * and download intact, paced downloads through a tor client (so transfers
 * are in flight when a worker is killed), the child processes of relayd
 * (its workers and transports, from /proc), which process holds which
 * connection (from the kernel's socket table), and the python3-stem check
 * of relayd's descriptor and extra-info.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { toHex } from '@relayd/common';
import { sha256 } from '@relayd/crypto';
import type { WorkerSlotRecord, WorkerStateDocument } from '@relayd/supervisor';
import { type ClientNode, openSocks5Stream, parseHttpResponse, type RelaydBridgeNode } from '@relayd/testnet';
import { pollFor } from '../support/poll.js';

export const PYTHON = '/usr/bin/python3';

export function readState(relayd: RelaydBridgeNode): WorkerStateDocument {
  return JSON.parse(readFileSync(join(relayd.dataDir, 'workers.json'), 'utf8')) as WorkerStateDocument;
}

/** One JSON line of relayd's notice log, with the heartbeat fields the tests read. */
export interface NoticeLine {
  readonly msg: string;
  readonly heartbeat?: string;
  readonly workerId?: number;
  readonly connectionsByTransport?: { pluggable: Record<string, { connections: number }> };
}

export function readNoticeLog(relayd: RelaydBridgeNode): NoticeLine[] {
  return readFileSync(relayd.noticeLogPath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as NoticeLine);
}

/**
 * Polls `probe` every 200 ms until it returns a value; fails after `timeoutMs`.
 * A probe that throws (a file caught mid-replacement, a process gone) has no
 * answer yet.
 */
export function until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const tolerant = () => {
    try {
      return probe();
    } catch {
      return undefined;
    }
  };
  return pollFor(what, timeoutMs, tolerant, () => '', 200);
}

/** Waits until slot `workerId` runs a new process (not `killedPid`) that is ready and healthy. */
export function replacementOf(
  relayd: RelaydBridgeNode,
  workerId: number,
  killedPid: number,
  timeoutMs: number,
): Promise<WorkerSlotRecord> {
  return until(
    'the killed worker to be replaced',
    () => {
      const slot = readState(relayd).workers.find((w) => w.workerId === workerId);
      return slot && slot.pid !== killedPid && slot.state === 'ready' && slot.healthy ? slot : undefined;
    },
    timeoutMs,
  );
}

/**
 * Every client bootstraps, then downloads the payload; each must get every
 * byte and the right bytes. On failure the message carries `describe()`.
 */
export async function bootstrapAndDownload(
  t: TestContext,
  clients: readonly ClientNode[],
  payload: { readonly url: string; readonly sha256Hex: string; readonly sizeBytes: number },
  timeouts: { readonly bootstrapMs: number; readonly downloadMs: number },
  describe: () => string,
): Promise<void> {
  try {
    const bootstrapMs = await Promise.all(clients.map((c) => c.waitForBootstrap(timeouts.bootstrapMs)));
    t.diagnostic(`bootstrap: ${bootstrapMs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    const downloads = await Promise.all(clients.map((c) => c.download(payload.url, timeouts.downloadMs)));
    for (const [i, d] of downloads.entries()) {
      assert.equal(d.body.length, payload.sizeBytes, `${clients[i]!.nickname} got every byte`);
      assert.equal(d.sha256Hex, payload.sha256Hex, `${clients[i]!.nickname} got the right bytes`);
    }
    t.diagnostic(
      `downloads: ${downloads.map((d) => (d.body.length / 1e6 / (d.elapsedMs / 1000)).toFixed(1)).join(', ')} MB/s`,
    );
  } catch (error) {
    assert.fail(`${(error as Error).message}\n${describe()}`);
  }
}

export type DownloadOutcome =
  | { readonly ok: true; readonly sha256Hex: string; readonly bytes: number }
  | { readonly ok: false; readonly error: string };

export interface PacedDownload {
  /** Bytes received so far. */
  received(): number;
  readonly done: Promise<DownloadOutcome>;
}

/** GET through the client's SocksPort, reading at most `bytesPerSecond`. Never rejects. */
export function pacedDownload(
  client: ClientNode,
  url: string,
  bytesPerSecond: number,
  timeoutMs: number,
): PacedDownload {
  let received = 0;
  const parsed = new URL(url);
  const done = (async () => {
    const socket = await openSocks5Stream({
      proxy: { host: client.address, port: client.socksPort },
      target: { host: parsed.hostname, port: Number(parsed.port) },
      timeoutMs: 60_000,
    });
    const started = Date.now();
    return await new Promise<Uint8Array>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`incomplete after ${timeoutMs} ms (${received} bytes)`));
      }, timeoutMs);
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        const aheadMs = (received / bytesPerSecond) * 1000 - (Date.now() - started);
        if (aheadMs > 50) {
          socket.pause();
          setTimeout(() => socket.resume(), aheadMs);
        }
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once('end', () => {
        clearTimeout(timer);
        socket.end();
        resolve(Buffer.concat(chunks));
      });
      socket.write(`GET ${parsed.pathname} HTTP/1.0\r\nHost: ${parsed.host}\r\n\r\n`);
      socket.resume();
    });
  })().then(
    (raw): DownloadOutcome => {
      const response = parseHttpResponse(raw);
      if (!response.ok) return { ok: false, error: response.error.message };
      if (response.value.status !== 200) return { ok: false, error: `status ${response.value.status}` };
      const body = response.value.body;
      return { ok: true, sha256Hex: toHex(sha256(body)), bytes: body.length };
    },
    (error: Error): DownloadOutcome => ({ ok: false, error: error.message }),
  );
  return { received: () => received, done };
}

/** The live child processes of `pid` (PID and command name), from /proc. */
export function childProcesses(pid: number): { pid: number; command: string }[] {
  const out: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ')' ends it.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (Number(fields[1]) === pid && fields[0] !== 'Z') {
      out.push({ pid: Number(entry), command: stat.slice(stat.indexOf('(') + 1, close) });
    }
  }
  return out;
}

/** Established TCP connections on `port` (either end) with the PID holding each socket, from `ss`. */
export function connectionsOn(port: number): { local: string; peer: string; pid: number }[] {
  const out = execFileSync(
    'ss',
    ['-tnpH', 'state', 'established', `( sport = :${port} or dport = :${port} )`],
    { encoding: 'utf8', timeout: 10_000 },
  );
  const rows: { local: string; peer: string; pid: number }[] = [];
  for (const line of out.split('\n')) {
    const endpoints = line.match(/\S+:\d+/g);
    const pid = /pid=(\d+)/.exec(line);
    if (!endpoints || endpoints.length < 2 || !pid) continue;
    rows.push({ local: endpoints[0]!, peer: endpoints[1]!, pid: Number(pid[1]) });
  }
  return rows;
}

/** For each client, the worker PIDs holding its connections to relayd's ORPort. */
export function workersOfClients(
  relayd: RelaydBridgeNode,
  clients: readonly ClientNode[],
): Map<ClientNode, Set<number>> {
  const rows = connectionsOn(relayd.orPort);
  const orPortEnd = `${relayd.address}:${relayd.orPort}`;
  // Server side: the worker holding the accepted socket, keyed by the client's end.
  const workerByClientEnd = new Map<string, number>();
  for (const row of rows) if (row.local === orPortEnd) workerByClientEnd.set(row.peer, row.pid);
  const out = new Map<ClientNode, Set<number>>();
  for (const client of clients) {
    const ends = rows.filter((r) => r.pid === client.pid && r.peer === orPortEnd).map((r) => r.local);
    out.set(
      client,
      new Set(ends.flatMap((end) => (workerByClientEnd.has(end) ? [workerByClientEnd.get(end)!] : []))),
    );
  }
  return out;
}

/** Listening TCP sockets on `port`: the local address and every PID holding the socket, from `ss`. */
export function listenersOn(port: number): { local: string; pids: number[] }[] {
  const out = execFileSync('ss', ['-tlnpH', `( sport = :${port} )`], { encoding: 'utf8', timeout: 10_000 });
  const rows: { local: string; pids: number[] }[] = [];
  for (const line of out.split('\n')) {
    const local = line.match(/\S+:\d+/)?.[0];
    if (!local) continue;
    rows.push({ local, pids: [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])) });
  }
  return rows;
}

const STEM_SCRIPT = `
import sys, json
from stem.descriptor.server_descriptor import RelayDescriptor
from stem.descriptor.extrainfo_descriptor import RelayExtraInfoDescriptor
out = {}
try:
    d = RelayDescriptor(open(sys.argv[1], 'rb').read(), validate=True)
    out['descriptor'] = {'fingerprint': d.fingerprint, 'extra_info_digest': d.extra_info_digest}
except Exception as e:
    out['descriptor_error'] = repr(e)
try:
    e = RelayExtraInfoDescriptor(open(sys.argv[2], 'rb').read(), validate=True)
    out['extra_info'] = {
        'fingerprint': e.fingerprint, 'digest': e.digest(),
        'transports': {k: [a, p, list(args)] for k, (a, p, args) in e.transport.items()},
    }
except Exception as ex:
    out['extra_info_error'] = repr(ex)
print(json.dumps(out))
`;

export interface StemView {
  readonly descriptor_error?: string;
  readonly extra_info_error?: string;
  readonly descriptor?: { fingerprint: string; extra_info_digest: string };
  readonly extra_info?: {
    fingerprint: string;
    digest: string;
    transports: Record<string, [string, number, string[]]>;
  };
}

export function stemAvailable(): boolean {
  return (
    spawnSync(PYTHON, ['-c', 'import stem.descriptor.server_descriptor, cryptography'], { timeout: 30_000 })
      .status === 0
  );
}

/** python3-stem's reading (signatures validated) of relayd's server-descriptor and extra-info files. */
export function stemRead(relayd: RelaydBridgeNode): StemView {
  const script = join(relayd.dataDir, '..', 'stem-transport-check.py');
  writeFileSync(script, STEM_SCRIPT);
  return JSON.parse(
    execFileSync(
      PYTHON,
      [script, join(relayd.dataDir, 'server-descriptor'), join(relayd.dataDir, 'extra-info')],
      { timeout: 60_000 },
    ).toString(),
  ) as StemView;
}
