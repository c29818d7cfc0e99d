/**
 * Plain node:net plumbing for tests that talk to real processes over
 * 127.0.0.1: listening on a free port, and reading exact byte counts from a
 * socket with a deadline (failing the test with what it was reading).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { concatBytes } from '@relayd/common';
import { pollFor } from './poll.js';

export const DEFAULT_WAIT_MS = 15_000;

/** Listens on 127.0.0.1 at a port the kernel picks; resolves with that port. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address === 'object' && address) resolve(address.port);
      else reject(new Error('no port'));
    });
  });
}

/** Closes `server` (if any) and resolves once it has stopped listening. */
export function closeServer(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await closeServer(server);
  return port;
}

/** Bytes from a socket, read in exact amounts with a deadline. */
export class SocketReader {
  private buffered: Uint8Array = new Uint8Array(0);
  ended = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = concatBytes(this.buffered, new Uint8Array(chunk));
    });
    socket.on('close', () => {
      this.ended = true;
    });
    socket.on('error', () => {
      this.ended = true;
    });
  }

  get available(): number {
    return this.buffered.length;
  }

  async read(n: number, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<Uint8Array> {
    await pollFor(what, timeoutMs, () => {
      if (this.buffered.length >= n) return true;
      if (this.ended)
        assert.fail(`connection closed while reading ${what} (${this.buffered.length}/${n} bytes)`);
      return undefined;
    });
    const out = this.buffered.slice(0, n);
    this.buffered = this.buffered.slice(n);
    return out;
  }
}
