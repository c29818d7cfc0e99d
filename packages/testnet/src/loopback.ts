/**
 * Loopback addresses and free ports for the nodes of one network.
 *
 * Each node gets its own 127.A.B.x address (Linux routes all of 127.0.0.0/8 to
 * the loopback interface), so logs and peers can tell nodes apart by address.
 * Each allocator draws its own random A.B block, so networks started at the
 * same time by concurrent test files never share an address (with a shared
 * 127.0.0.x block, two of them probing the same free port before either
 * bound it made tor fail with "Address already in use"). A is at least 3,
 * leaving 127.0.x.x and 127.1/127.2 to fixed addresses like relayd's own.
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
  /** The first host number handed out as <block>.<n> (default 2). */
  readonly firstHost?: number;
  /** The first three octets of the addresses handed out, e.g. "127.0.0"; default a random 127.A.B block. */
  readonly block?: string;
}

/** A random 127.A.B block with A in 3..254 and B in 0..255. */
export function randomLoopbackBlock(): string {
  return `127.${3 + Math.floor(Math.random() * 252)}.${Math.floor(Math.random() * 256)}`;
}

export class LoopbackAllocator {
  private nextHost: number;
  /** The first three octets of every address this allocator hands out. */
  readonly block: string;
  private readonly handedOut = new Set<string>();
  private distinctAddresses: boolean | undefined;

  constructor(options: LoopbackAllocatorOptions = {}) {
    this.nextHost = options.firstHost ?? 2;
    this.block = options.block ?? randomLoopbackBlock();
  }

  /** A fresh address of this allocator's block for one node (127.0.0.1 if the system has no other loopback address). */
  async allocateAddress(): Promise<string> {
    if (this.distinctAddresses === undefined) this.distinctAddresses = await canBind(`${this.block}.2`, 0);
    if (!this.distinctAddresses) return '127.0.0.1';
    if (this.nextHost > 254) {
      throw new TestnetError(TESTNET_ERROR.noFreePort, `ran out of ${this.block}.x addresses`);
    }
    return `${this.block}.${this.nextHost++}`;
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
