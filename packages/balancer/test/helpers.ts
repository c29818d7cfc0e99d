/**
 * Test helpers: fake time, bounded waits, a raw Extended ORPort transport
 * (a client that can send link bytes before OKAY, as the spec allows), and
 * Extended ORPort backends that record what they were told and echo the
 * link with every byte inverted.
 */
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '@relayd/common';
import { concatBytes } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import {
  type AddressPort,
  ExtOrClient,
  type ExtOrMetadata,
  ExtOrServer,
  parseAddressPort,
} from '@relayd/ext-orport';
import type { SocketTimers } from '@relayd/net';

export const WAIT_MS = 10_000;

/** Fake time: timers fire only when `advance` passes them. */
export class FakeTime implements SocketTimers, Clock {
  private now = 1_700_000_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + delayMs, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  nowMs(): number {
    return this.now;
  }

  monotonicMs(): number {
    return this.now;
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing due timers in order (and timers they set that fall due too). */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      let nextId: number | undefined;
      let nextAt = Number.POSITIVE_INFINITY;
      for (const [id, t] of this.timers) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId === undefined) break;
      const timer = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.now = timer.at;
      timer.callback();
      // Let promise continuations of the callback run before the next timer.
      await flush();
    }
    this.now = target;
    await flush();
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function addressPort(text: string): AddressPort {
  const parsed = parseAddressPort(text, 'test address', { allowZeroPort: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

/** All bytes a socket delivers, and whether it has closed. */
export class Collector {
  bytes: Uint8Array = new Uint8Array(0);
  closed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.bytes = concatBytes(this.bytes, new Uint8Array(chunk));
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
    // A paused socket (accepted paused, or stopped for a handoff) stays paused when 'data' gets a listener.
    socket.resume();
  }

  /** Takes the first `n` bytes once they are there. */
  async take(n: number, what: string): Promise<Uint8Array> {
    await waitFor(what, () => {
      if (this.bytes.length >= n) return true;
      if (this.closed) assert.fail(`closed while waiting for ${what} (${this.bytes.length}/${n})`);
      return undefined;
    });
    const out = this.bytes.slice(0, n);
    this.bytes = this.bytes.slice(n);
    return out;
  }

  waitClosed(what: string): Promise<true> {
    return waitFor(what, () => this.closed || undefined);
  }
}

export interface RawTransportOptions {
  readonly port: number;
  readonly host?: string;
  readonly cookie: Uint8Array;
  readonly clientAddress?: AddressPort;
  readonly transportName?: string;
  /** Link bytes written in the same write as DONE, before any OKAY. */
  readonly early?: Uint8Array;
  /** More link bytes, in a write of their own right after DONE (still before OKAY). */
  readonly thenBeforeOkay?: Uint8Array;
  readonly localAddress?: string;
}

export interface RawTransport {
  readonly socket: Socket;
  readonly collector: Collector;
  /** 'okay' or 'deny' once the front answered; 'failed' if the exchange broke. */
  readonly answer: Promise<'okay' | 'deny' | 'failed'>;
}

/**
 * A pluggable transport's side of the Extended ORPort, built on
 * ext-orport's ExtOrClient over a raw socket: it may send link bytes with
 * DONE (before OKAY), as a transport is allowed to.
 */
export function rawTransport(opts: RawTransportOptions): RawTransport {
  const socket = createConnection({
    host: opts.host ?? '127.0.0.1',
    port: opts.port,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
  const collector = new Collector(socket);
  const machine = new ExtOrClient({
    cookie: opts.cookie,
    random: secureRandom,
    ...(opts.clientAddress ? { clientAddress: opts.clientAddress } : {}),
    ...(opts.transportName ? { transportName: opts.transportName } : {}),
  });
  const answer = new Promise<'okay' | 'deny' | 'failed'>((resolve) => {
    let consumed = 0;
    let sentEarly = false;
    let sentMore = false;
    const pump = () => {
      if (consumed >= collector.bytes.length) return;
      const fresh = collector.bytes.slice(consumed);
      consumed = collector.bytes.length;
      const step = machine.receive(fresh);
      let output = step.output;
      if (machine.phase === 'reply' && !sentEarly && (opts.early || opts.thenBeforeOkay)) {
        // Right behind DONE, in the same write.
        sentEarly = true;
        output = concatBytes(output, opts.early ?? new Uint8Array(0));
      }
      if (output.length > 0) socket.write(output);
      if (sentEarly && opts.thenBeforeOkay && !sentMore) {
        sentMore = true;
        socket.write(opts.thenBeforeOkay);
      }
      if (step.status === 'accepted') {
        // What follows OKAY is the link: hand it back to the collector's reader.
        collector.bytes = step.leftover;
        collector.socket.off('data', watch);
        resolve('okay');
      } else if (step.status === 'denied') {
        collector.socket.off('data', watch);
        resolve('deny');
      } else if (step.status === 'failed') {
        collector.socket.off('data', watch);
        resolve('failed');
      }
    };
    const watch = () => setImmediate(pump);
    socket.on('data', watch);
    socket.on('close', () => {
      setImmediate(() => {
        pump();
        resolve(machine.phase === 'accepted' ? 'okay' : machine.phase === 'denied' ? 'deny' : 'failed');
      });
    });
  });
  return { socket, collector, answer };
}

/** One connection a test backend accepted. */
export interface BackendConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  metadata: ExtOrMetadata | undefined;
  link: Uint8Array;
  closed: boolean;
  readonly socket: Socket;
}

/** An Extended ORPort backend: authenticates with `cookie`, answers `answer`, then echoes the link inverted. */
export class EchoBackend {
  readonly connections: BackendConnection[] = [];
  private readonly server: Server;
  port = 0;
  answer: 'okay' | 'deny' = 'okay';
  /** Hold the exchange (never answer) to play a stalled backend. */
  stall = false;

  constructor(
    private cookie: Uint8Array,
    readonly host = '127.0.0.1',
  ) {
    this.server = createServer((socket) => this.serve(socket));
  }

  setCookie(cookie: Uint8Array): void {
    this.cookie = cookie;
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => resolve());
    });
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  /** Authenticated connections (health checks stop before the metadata, so they never get here). */
  get linked(): BackendConnection[] {
    return this.connections.filter((c) => c.metadata !== undefined);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    socket.on('error', () => {});
    const record: BackendConnection = {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      metadata: undefined,
      link: new Uint8Array(0),
      closed: false,
      socket,
    };
    this.connections.push(record);
    socket.on('close', () => {
      record.closed = true;
    });
    const machine = new ExtOrServer({
      cookie: this.cookie,
      random: secureRandom,
      admit: () => this.answer,
    });
    let linked = false;
    if (this.stall) return;
    socket.write(machine.start());
    socket.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk);
      if (linked) {
        record.link = concatBytes(record.link, bytes);
        socket.write(bytes.map((b) => b ^ 0xff));
        return;
      }
      const step = machine.receive(bytes);
      if (step.status === 'running') {
        if (step.output.length > 0) socket.write(step.output);
      } else if (step.status === 'accepted') {
        linked = true;
        record.metadata = step.outcome;
        socket.write(step.output);
        if (step.outcome.leftover.length > 0) {
          record.link = step.outcome.leftover;
          socket.write(step.outcome.leftover.map((b) => b ^ 0xff));
        }
      } else if (step.status === 'denied') {
        record.metadata = step.metadata;
        socket.end(step.output);
      } else {
        socket.end(step.output);
      }
    });
  }
}

export function invert(bytes: Uint8Array): Uint8Array {
  return bytes.map((b) => b ^ 0xff);
}
