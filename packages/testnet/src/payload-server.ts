/**
 * The network's destination: a plain HTTP server on loopback that serves one
 * random payload, so a download through the network can be checked byte for
 * byte by its SHA-256.
 */
import { createServer, type Server } from 'node:http';
import { toHex } from '@relayd/common';
import { randomBytesOf, sha256 } from '@relayd/crypto';
import { TESTNET_ERROR, TestnetError } from './errors.js';

export const PAYLOAD_PATH = '/payload';

export interface PayloadServerOptions {
  readonly host: string;
  readonly port: number;
  readonly sizeBytes: number;
}

export class PayloadServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port/payload`. */
  readonly url: string;
  readonly sizeBytes: number;
  /** Lower-case hex SHA-256 of the payload. */
  readonly sha256Hex: string;
  /** How many GET requests for the payload were answered (to check a download really came from here). */
  requestsServed = 0;
  private readonly payload: Buffer;
  private readonly server: Server;

  private constructor(opts: PayloadServerOptions, payload: Uint8Array, server: Server) {
    this.host = opts.host;
    this.port = opts.port;
    this.url = `http://${opts.host}:${opts.port}${PAYLOAD_PATH}`;
    this.sizeBytes = payload.length;
    this.payload = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    this.sha256Hex = toHex(sha256(payload));
    this.server = server;
  }

  /** Generates the payload and listens; resolves once the port is bound. */
  static async start(opts: PayloadServerOptions): Promise<PayloadServer> {
    if (!Number.isInteger(opts.sizeBytes) || opts.sizeBytes < 1) {
      throw new TestnetError(
        TESTNET_ERROR.badOption,
        `payload size must be a positive integer, got ${opts.sizeBytes}`,
      );
    }
    const server = createServer();
    const instance = new PayloadServer(opts, randomBytesOf(opts.sizeBytes), server);
    server.on('request', (request, response) => {
      if (request.method !== 'GET' || request.url !== PAYLOAD_PATH) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      instance.requestsServed++;
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(instance.payload.length),
      });
      response.end(instance.payload);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          new TestnetError(
            TESTNET_ERROR.noFreePort,
            `payload server could not listen on ${opts.host}:${opts.port}`,
            { cause: e },
          ),
        ),
      );
      server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => resolve());
    });
    return instance;
  }

  /** Stops listening and drops open connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
