/**
 * Both ends around a real managed pluggable transport on 127.0.0.1:
 *
 *   SOCKS5 client (connectThroughPtClient) -> PT client =obfs4=> PT server
 *       -> Extended ORPort (ExtOrEchoListener: ext-orport's ExtOrServer) -> echo
 *
 * The listener runs the server state machine over node:net and, once a
 * connection is accepted, answers each chunk of the Tor link with its
 * complement, recording per connection what the transport told it. The
 * client end speaks SOCKS5 with the transport's ARGS as RFC 1929
 * credentials (pt-spec 3.5), asserting every reply.
 */
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { concatBytes } from '@relayd/common';
import {
  type AddressPort,
  type ExtOrMetadata,
  ExtOrServer,
  type ExtOrServerOptions,
  type ExtOrServerPhase,
  encodeSocksArgs,
  type PtArg,
  socks5CredentialsForArgs,
} from '@relayd/ext-orport';
import { closeServer, listenOnLoopback, SocketReader } from './loopback-socket.js';

/** What the echo answers: every byte complemented, so an echo cannot pass for a bounce of the input. */
export function complement(bytes: Uint8Array): Uint8Array {
  return bytes.map((b) => b ^ 0xff);
}

/** What the Extended ORPort listener saw on one connection. */
export interface ExtOrConnection {
  /** The machine's phase after each receive, in order. */
  readonly phases: ExtOrServerPhase[];
  /** USERADDR and TRANSPORT, once DONE came (accepted or denied). */
  metadata: ExtOrMetadata | undefined;
  /** Link bytes after DONE (leftover first), as received. */
  link: Uint8Array;
  closed: boolean;
  /** The phase the machine was in when the socket closed. */
  closedInPhase: ExtOrServerPhase | undefined;
}

/** An Extended ORPort on 127.0.0.1 that echoes the Tor link, complemented, once it accepts. */
export class ExtOrEchoListener {
  readonly connections: ExtOrConnection[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  /** `optionsFor` is asked once per connection, as it arrives: cookie, admission policy. */
  constructor(optionsFor: () => ExtOrServerOptions) {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      const record: ExtOrConnection = {
        phases: [],
        metadata: undefined,
        link: new Uint8Array(0),
        closed: false,
        closedInPhase: undefined,
      };
      this.connections.push(record);
      const machine = new ExtOrServer(optionsFor());
      let linked = false;
      socket.on('close', () => {
        record.closed = true;
        record.closedInPhase = machine.phase;
      });
      socket.write(machine.start());
      socket.on('data', (chunk: Buffer) => {
        const bytes = new Uint8Array(chunk);
        if (linked) {
          record.link = concatBytes(record.link, bytes);
          socket.write(complement(bytes));
          return;
        }
        const step = machine.receive(bytes);
        record.phases.push(machine.phase);
        if (step.status === 'running') {
          if (step.output.length > 0) socket.write(step.output);
        } else if (step.status === 'accepted') {
          record.metadata = step.outcome;
          linked = true;
          socket.write(step.output);
          if (step.outcome.leftover.length > 0) {
            record.link = step.outcome.leftover;
            socket.write(complement(step.outcome.leftover));
          }
        } else if (step.status === 'denied') {
          record.metadata = step.metadata;
          socket.end(step.output);
        } else {
          socket.end(step.output);
        }
      });
    });
  }

  /** Resolves with the port the kernel picked on 127.0.0.1. */
  listen(): Promise<number> {
    return listenOnLoopback(this.server);
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Drops every open connection and stops listening. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await closeServer(this.server);
  }
}

export interface PtClientConnectOptions {
  /** The PT client's SOCKS5 port on 127.0.0.1 (its CMETHOD). */
  readonly socksPort: number;
  /** The server transport's per-bridge arguments (cert=, iat-mode=), sent as SOCKS5 credentials. */
  readonly args: readonly PtArg[];
  /** The server transport's IPv4 listener (its SMETHOD). */
  readonly target: AddressPort;
  /** The socket is added here until it closes, for the caller to destroy in `after`. */
  readonly openSockets: Set<Socket>;
  /** Appended to the failure message of a refused CONNECT. */
  readonly context?: () => string;
}

/** Opens a SOCKS5 connection through the PT client to the PT server, authenticating with its ARGS. */
export async function connectThroughPtClient(opts: PtClientConnectOptions): Promise<SocketReader> {
  const socket = createConnection({ host: '127.0.0.1', port: opts.socksPort });
  opts.openSockets.add(socket);
  socket.on('close', () => opts.openSockets.delete(socket));
  const reader = new SocketReader(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  // RFC 1928: version 5, one method, 0x02 username/password (pt-spec 3.5).
  socket.write(Uint8Array.of(5, 1, 2));
  assert.deepEqual([...(await reader.read(2, 'SOCKS method choice'))], [5, 2]);
  const credentials = socks5CredentialsForArgs(encodeSocksArgs(opts.args));
  assert.ok(credentials);
  // RFC 1929 sub-negotiation.
  socket.write(
    concatBytes(
      Uint8Array.of(1, credentials.username.length),
      credentials.username,
      Uint8Array.of(credentials.password.length),
      credentials.password,
    ),
  );
  assert.deepEqual([...(await reader.read(2, 'SOCKS auth status'))], [1, 0]);
  // CONNECT to an IPv4 address (ATYP 1).
  const { bytes, port } = opts.target;
  assert.equal(bytes.length, 4, `${opts.target.address} is not IPv4`);
  socket.write(Uint8Array.of(5, 1, 0, 1, ...bytes, port >>> 8, port & 0xff));
  const reply = await reader.read(10, 'SOCKS CONNECT reply');
  assert.equal(reply[1], 0, `SOCKS CONNECT failed with reply ${reply[1]}\n${opts.context?.() ?? ''}`);
  return reader;
}
