/**
 * Loopback addresses and free ports for the nodes of one network.
 *
 * Each node gets its own 127.0.0.x address (Linux routes all of 127.0.0.0/8 to
 * the loopback interface), so logs and peers can tell nodes apart by address.
 * Where only 127.0.0.1 is usable (some other systems), every node shares it.
 *
 * Ports are probed by binding them. They are drawn at random below the
 * kernel's ephemeral range (32768+ on Linux), where outgoing connections take
 * their source ports, so a port probed free is not taken a moment later by
 * some unrelated connect() before tor binds it.
 */
import { createServer } from 'node:net';
import { TESTNET_ERROR, TestnetError } from './errors.js';

export const PORT_RANGE = { min: 10_000, max: 32_000 } as const;

const PROBE_ATTEMPTS = 64;

export interface LoopbackAllocatorOptions {
  /** The first host number handed out as 127.0.0.<n> (default 2: 127.0.0.1 is left for shared services). */
  readonly firstHost?: number;
}

export class LoopbackAllocator {
  private nextHost: number;
  private readonly handedOut = new Set<string>();
  private distinctAddresses: boolean | undefined;

  constructor(options: LoopbackAllocatorOptions = {}) {
    this.nextHost = options.firstHost ?? 2;
  }

  /** A fresh 127.0.0.x address for one node (127.0.0.1 if the system has no other loopback address). */
  async allocateAddress(): Promise<string> {
    if (this.distinctAddresses === undefined) this.distinctAddresses = await canBind('127.0.0.2', 0);
    if (!this.distinctAddresses) return '127.0.0.1';
    if (this.nextHost > 254) {
      throw new TestnetError(TESTNET_ERROR.noFreePort, 'ran out of 127.0.0.x addresses');
    }
    return `127.0.0.${this.nextHost++}`;
  }

  /** A port on `address` that was free a moment ago and that this allocator has not handed out before. */
  async allocatePort(address: string): Promise<number> {
    for (let attempt = 0; attempt < PROBE_ATTEMPTS; attempt++) {
      const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min));
      const key = `${address}:${port}`;
      if (this.handedOut.has(key)) continue;
      // Claimed before the probe, so concurrent calls never return the same port.
      this.handedOut.add(key);
      if (await canBind(address, port)) return port;
      this.handedOut.delete(key);
    }
    throw new TestnetError(
      TESTNET_ERROR.noFreePort,
      `no free TCP port on ${address} after ${PROBE_ATTEMPTS} attempts`,
    );
  }
}

/** Whether a TCP listener can bind `address:port` right now (port 0: any port). */
export function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}
