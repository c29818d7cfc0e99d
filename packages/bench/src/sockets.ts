/**
 * Which process of a bridge holds which TCP connection, from /proc: the
 * socket inodes in `/proc/<pid>/fd` and the IPv4 connection table
 * `/proc/net/tcp` (proc(5)). The balancer scenario uses it to see what
 * relayd really did with the load's connections instead of trusting its
 * configuration:
 *
 *   handoff  the connections to the client-facing port end up held by
 *            worker processes (the supervisor passed the sockets on);
 *   proxy    the supervisor holds them, and as many TCP connections run
 *            between relayd's own processes (the extra hop);
 *   neither  one process holds everything: no balancer in the path.
 *
 * The table parser is pure and total; the readers are thin.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { type ProcReader, readProcessTree, systemProcReader } from './proc-tree.js';

/** TCP_ESTABLISHED in the `st` column (include/net/tcp_states.h). */
const TCP_ESTABLISHED = 1;

export interface TcpEndpoint {
  readonly address: string;
  readonly port: number;
}

export interface TcpEntry {
  readonly local: TcpEndpoint;
  readonly remote: TcpEndpoint;
  readonly state: number;
  readonly inode: number;
}

/**
 * "0100007F:1F90": the address is the 32-bit value in host byte order
 * printed as hex, so on little-endian machines the bytes read backwards.
 */
function parseEndpoint(text: string, littleEndian: boolean): TcpEndpoint | undefined {
  const m = /^([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})$/.exec(text);
  if (!m) return undefined;
  const value = Number.parseInt(m[1]!, 16);
  const bytes = [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
  if (littleEndian) bytes.reverse();
  return { address: bytes.join('.'), port: Number.parseInt(m[2]!, 16) };
}

/** Parses /proc/net/tcp. Lines that do not parse are skipped. */
export function parseProcNetTcp(text: string, littleEndian = isLittleEndian()): TcpEntry[] {
  const out: TcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = parseEndpoint(f[1]!, littleEndian);
    const remote = parseEndpoint(f[2]!, littleEndian);
    const state = Number.parseInt(f[3]!, 16);
    const inode = Number(f[9]);
    if (!local || !remote || !Number.isInteger(state) || !Number.isInteger(inode)) continue;
    out.push({ local, remote, state, inode });
  }
  return out;
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/** The socket inodes a process holds open ("socket:[12345]" links in /proc/<pid>/fd). */
export function socketInodesOf(pid: number): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${name}`));
      if (m) out.push(Number(m[1]));
    } catch {
      // Closed while we looked.
    }
  }
  return out;
}

export interface ConnectionPlacement {
  /** Established connections to the client-facing port, by the PID holding them. */
  readonly clientFacingByPid: Record<string, number>;
  readonly clientFacingBySupervisor: number;
  readonly clientFacingByOthers: number;
  /** Established TCP connections with both ends held inside the bridge's process tree. */
  readonly internalConnections: number;
}

export type BalancerBehaviour = 'handoff' | 'proxy' | 'none';

/**
 * Where the connections to `port` on `address` are, given who holds which
 * socket inode. `supervisorPid` is the tree's root.
 */
export function placeConnections(
  entries: readonly TcpEntry[],
  holders: ReadonlyMap<number, number>,
  supervisorPid: number,
  front: TcpEndpoint,
): ConnectionPlacement {
  const clientFacingByPid: Record<string, number> = {};
  let bySupervisor = 0;
  let byOthers = 0;
  const held = entries.filter((e) => e.state === TCP_ESTABLISHED && holders.has(e.inode));
  const localKeys = new Set(held.map((e) => `${e.local.address}:${e.local.port}`));
  let internalEnds = 0;
  for (const e of held) {
    if (e.local.port === front.port && e.local.address === front.address) {
      const pid = holders.get(e.inode)!;
      clientFacingByPid[pid] = (clientFacingByPid[pid] ?? 0) + 1;
      if (pid === supervisorPid) bySupervisor++;
      else byOthers++;
    }
    if (localKeys.has(`${e.remote.address}:${e.remote.port}`)) internalEnds++;
  }
  return {
    clientFacingByPid,
    clientFacingBySupervisor: bySupervisor,
    clientFacingByOthers: byOthers,
    internalConnections: Math.floor(internalEnds / 2),
  };
}

/**
 * What a placement says the balancer did with `expected` client
 * connections: handoff when most of them sit in worker processes with no
 * internal hop, proxy when about as many internal connections exist.
 */
export function balancerBehaviour(placement: ConnectionPlacement, expected: number): BalancerBehaviour {
  const most = Math.max(1, Math.ceil(expected * 0.9));
  if (placement.internalConnections >= most) return 'proxy';
  if (placement.clientFacingByOthers >= most && placement.internalConnections < most) return 'handoff';
  return 'none';
}

/** Reads /proc now: the bridge tree's sockets and where the connections to `front` are. */
export function observeConnections(
  rootPid: number,
  front: TcpEndpoint,
  reader: ProcReader = systemProcReader,
): ConnectionPlacement {
  const holders = new Map<number, number>();
  for (const process of readProcessTree(rootPid, reader)) {
    for (const inode of socketInodesOf(process.pid)) holders.set(inode, process.pid);
  }
  let table = '';
  try {
    table = reader.readText(`/proc/${rootPid}/net/tcp`);
  } catch {
    table = '';
  }
  return placeConnections(parseProcNetTcp(table), holders, rootPid, front);
}
