/**
 * net's plain-TCP helpers on loopback: connecting from a chosen source
 * address, typed connect failures with the system error behind them,
 * stopping a socket's reads without losing a byte, and piping two sockets
 * with backpressure and close propagation.
 */
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { concatBytes } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import {
  connectTcp,
  listenTcp,
  NetError,
  pipeSockets,
  socketPeer,
  stopReading,
  systemErrorCode,
  type TcpListener,
} from '../src/index.js';

const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function listener(
  onConnection: (socket: Socket) => void,
  pauseOnConnect = false,
): Promise<TcpListener> {
  const l = await listenTcp({ host: '127.0.0.1', port: 0, onConnection, pauseOnConnect });
  cleanup.push(() => l.close());
  return l;
}

function collect(socket: Socket): { bytes: () => Uint8Array; closed: Promise<void> } {
  let bytes: Uint8Array = new Uint8Array(0);
  socket.on('data', (chunk: Buffer) => {
    bytes = concatBytes(bytes, new Uint8Array(chunk));
  });
  socket.resume();
  return { bytes: () => bytes, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

async function until(probe: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('plain TCP', { timeout: 30_000 }, () => {
  it('connects from the source address asked for; the listener sees it', async () => {
    const peers: Array<{ address: string; port: number } | undefined> = [];
    const l = await listener((socket) => {
      peers.push(socketPeer(socket));
      socket.destroy();
    });
    const socket = await connectTcp({ host: '127.0.0.1', port: l.port, localAddress: '127.0.1.77' });
    assert.equal(socket.localAddress, '127.0.1.77');
    await until(() => peers.length === 1, 'the accepted connection');
    assert.deepEqual(peers[0], { address: '127.0.1.77', port: socket.localPort });
    socket.destroy();
  });

  it('a refused connection is CONNECT_FAILED with ECONNREFUSED behind it', async () => {
    const l = await listener(() => {});
    const port = l.port;
    await l.close();
    const error = await connectTcp({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    assert.ok(error instanceof NetError);
    assert.equal(error.code, 'CONNECT_FAILED');
    assert.equal(systemErrorCode(error), 'ECONNREFUSED');
    assert.equal(systemErrorCode(new Error('plain')), undefined);
  });

  it('stopReading keeps every byte: what was buffered comes back, the rest stays in the kernel', async () => {
    const accepted: Socket[] = [];
    const l = await listener((socket) => accepted.push(socket));
    const client = createConnection({ host: '127.0.0.1', port: l.port });
    cleanup.push(() => client.destroy());
    const first = secureRandom.bytes(200_000);
    client.write(first);
    await until(() => accepted.length === 1 && accepted[0]!.bytesRead > 0, 'the first bytes to be read');
    const server = accepted[0]!;
    // Reading runs on (a paused socket still fills its buffer) until stopped.
    const taken = await stopReading(server);
    const readWhenStopped = server.bytesRead;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.bytesRead, readWhenStopped, 'nothing more is read once stopped');
    const second = secureRandom.bytes(10_000);
    client.write(second);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.bytesRead, readWhenStopped);
    // Resumed, the rest arrives, in order, after what stopReading returned.
    const rest = collect(server);
    const expected = concatBytes(first, second);
    await until(() => taken.length + rest.bytes().length === expected.length, 'the rest');
    assert.deepEqual(concatBytes(taken, rest.bytes()), expected);
  });

  it('a listener opened paused reads nothing until resumed', async () => {
    const accepted: Socket[] = [];
    const l = await listener((socket) => accepted.push(socket), true);
    const client = createConnection({ host: '127.0.0.1', port: l.port });
    cleanup.push(() => client.destroy());
    client.write(Uint8Array.of(1, 2, 3));
    await until(() => accepted.length === 1, 'the connection');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(accepted[0]!.bytesRead, 0);
    const got = collect(accepted[0]!);
    await until(() => got.bytes().length === 3, 'the bytes');
  });

  it('pipes both ways with backpressure, counts bytes, and closes the other side after one ends', async () => {
    // A sink that reads slowly at first, so the pipe has to wait for it.
    let sinkSocket: Socket | undefined;
    const sinkServer: Server = createServer((socket) => {
      sinkSocket = socket;
      socket.pause();
      setTimeout(() => socket.resume(), 200);
    });
    await new Promise<void>((r) => sinkServer.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => sinkServer.close(() => r())));
    const sinkPort = (sinkServer.address() as { port: number }).port;

    const results: Array<Promise<Awaited<ReturnType<typeof pipeSockets>>>> = [];
    const live = { aToB: 0, bToA: 0 };
    const l = await listener((front) => {
      void connectTcp({ host: '127.0.0.1', port: sinkPort }).then((back) => {
        results.push(
          pipeSockets(front, back, {
            onData: (direction, n) => {
              live[direction] += n;
            },
          }),
        );
      });
    });
    const client = createConnection({ host: '127.0.0.1', port: l.port });
    const fromSink = collect(client);
    const payload = secureRandom.bytes(4 * 1024 * 1024);
    client.write(payload);
    await until(() => sinkSocket !== undefined, 'the sink connection', 5000);
    const atSink = collect(sinkSocket!);
    await until(() => atSink.bytes().length === payload.length, 'the payload at the sink', 20_000);
    assert.deepEqual(atSink.bytes(), payload);
    sinkSocket!.write(Uint8Array.of(9, 8, 7));
    await until(() => fromSink.bytes().length === 3, 'the answer');
    // The sink hangs up: the client's side is ended and closes.
    sinkSocket!.end();
    await fromSink.closed;
    const result = await results[0]!;
    assert.equal(result.aToB, payload.length);
    assert.equal(result.bToA, 3);
    assert.equal(result.endedBy, 'b');
    assert.deepEqual(live, { aToB: payload.length, bToA: 3 });
  });
});
