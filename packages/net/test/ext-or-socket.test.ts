/**
 * `dialExtOrPort` on loopback, against `serveExtOrPort` and against fronts
 * that misbehave on purpose: what a transport-side dialler may rely on.
 * USERADDR and TRANSPORT reach the bridge, the connection comes from the
 * source address asked for, bytes behind OKAY come back as `leftover` with
 * the socket no longer reading, and DENY, a wrong cookie, a backend that
 * goes silent or hangs up each end the dial with its own answer.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { concatBytes, utf8 } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import {
  createCookieFile,
  ExtOrError,
  type ExtOrMetadata,
  ExtOrServer,
  parseAddressPort,
} from '@relayd/ext-orport';
import {
  dialExtOrPort,
  type ExtOrServeResult,
  listenTcp,
  NetError,
  type SocketTimers,
  serveExtOrPort,
  socketPeer,
  type TcpListener,
} from '../src/index.js';
import { until } from './fixture.js';

const cookie = createCookieFile(secureRandom).cookie;
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function listener(onConnection: (socket: Socket) => void): Promise<TcpListener> {
  const l = await listenTcp({ host: '127.0.0.1', port: 0, onConnection });
  cleanup.push(() => l.close());
  return l;
}

function track(socket: Socket): Socket {
  cleanup.push(() => socket.destroy());
  socket.on('error', () => {});
  return socket;
}

/** A backend that runs ExtOrServer itself and writes `afterOkay` in the same write as OKAY. */
async function rawFront(afterOkay: Uint8Array): Promise<{ port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const l = await listener((socket) => {
    track(socket);
    const server = new ExtOrServer({ cookie, random: secureRandom });
    socket.write(server.start());
    socket.on('data', (chunk: Buffer) => {
      if (server.phase === 'accepted') return;
      const step = server.receive(new Uint8Array(chunk));
      if (step.status === 'accepted') {
        socket.write(concatBytes(step.output, afterOkay));
        accepted.push(socket);
      } else if (step.output.length > 0) socket.write(step.output);
    });
  });
  return { port: l.port, accepted };
}

function address(text: string) {
  const parsed = parseAddressPort(text);
  assert.ok(parsed.ok);
  return parsed.value;
}

describe('dialExtOrPort', { timeout: 30_000 }, () => {
  it('authenticates, sends USERADDR and TRANSPORT from the source address asked for, and hands the link over', async () => {
    const served: Array<{ result: ExtOrServeResult; socket: Socket; peer: ReturnType<typeof socketPeer> }> =
      [];
    const l = await listener((socket) => {
      track(socket);
      const peer = socketPeer(socket);
      void serveExtOrPort(socket, { cookie }).then((result) => served.push({ result, socket, peer }));
    });
    const dialled = await dialExtOrPort({
      host: '127.0.0.1',
      port: l.port,
      localAddress: '127.0.3.9',
      cookie,
      clientAddress: address('198.18.0.7:1031'),
      transportName: 'loadgen',
    });
    assert.equal(dialled.status, 'accepted');
    if (dialled.status !== 'accepted') return;
    track(dialled.socket);
    assert.deepEqual(dialled.leftover, new Uint8Array(0));
    assert.equal(dialled.socket.localAddress, '127.0.3.9');
    await until(() => served.length === 1, 'the served exchange');
    const { result, socket, peer } = served[0]!;
    assert.equal(peer?.address, '127.0.3.9');
    assert.equal(result.status, 'accepted');
    if (result.status !== 'accepted') return;
    assert.equal(result.outcome.transportName, 'loadgen');
    assert.deepEqual(result.outcome.clientAddress, address('198.18.0.7:1031'));
    // The link runs over the same connection, both ways, from its first byte.
    const atBridge: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => atBridge.push(chunk));
    socket.resume();
    const atClient: Buffer[] = [];
    dialled.socket.on('data', (chunk: Buffer) => atClient.push(chunk));
    dialled.socket.resume();
    dialled.socket.write(utf8('client hello'));
    socket.write(utf8('bridge hello'));
    await until(
      () => Buffer.concat(atBridge).length === 12 && Buffer.concat(atClient).length === 12,
      'the link bytes',
    );
    assert.equal(Buffer.concat(atBridge).toString(), 'client hello');
    assert.equal(Buffer.concat(atClient).toString(), 'bridge hello');
  });

  it('returns the bytes that came right behind OKAY as leftover, with the socket not reading', async () => {
    const front = await rawFront(utf8('early'));
    const dialled = await dialExtOrPort({ host: '127.0.0.1', port: front.port, cookie });
    assert.equal(dialled.status, 'accepted');
    if (dialled.status !== 'accepted') return;
    track(dialled.socket);
    assert.deepEqual(dialled.leftover, utf8('early'));
    assert.equal(dialled.socket.listenerCount('data'), 0);
    assert.equal(dialled.socket.isPaused(), true);
    // Later bytes wait in the kernel until whoever takes the socket resumes it.
    front.accepted[0]!.write(utf8('later'));
    const later: Buffer[] = [];
    dialled.socket.on('data', (chunk: Buffer) => later.push(chunk));
    dialled.socket.resume();
    await until(() => Buffer.concat(later).length === 5, 'the later bytes');
    assert.equal(Buffer.concat(later).toString(), 'later');
  });

  it('reports DENY as denied and closes the connection', async () => {
    const seen: ExtOrMetadata[] = [];
    const l = await listener((socket) => {
      track(socket);
      void serveExtOrPort(socket, {
        cookie,
        admit: (metadata) => {
          seen.push(metadata);
          return 'deny';
        },
      });
    });
    const dialled = await dialExtOrPort({ host: '127.0.0.1', port: l.port, cookie, transportName: 'obfs4' });
    assert.deepEqual(dialled, { status: 'denied' });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.transportName, 'obfs4');
    assert.equal(seen[0]!.clientAddress, undefined);
  });

  it('rejects with SERVER_HASH_MISMATCH when the backend does not hold our cookie', async () => {
    const l = await listener((socket) => {
      track(socket);
      void serveExtOrPort(socket, { cookie: createCookieFile(secureRandom).cookie });
    });
    const error = await dialExtOrPort({ host: '127.0.0.1', port: l.port, cookie }).catch((e: unknown) => e);
    assert.ok(error instanceof ExtOrError);
    assert.equal(error.code, 'SERVER_HASH_MISMATCH');
  });

  it('rejects with CLOSED_DURING_HANDSHAKE when the backend hangs up mid-exchange', async () => {
    const l = await listener((socket) => {
      track(socket).end();
    });
    const error = await dialExtOrPort({ host: '127.0.0.1', port: l.port, cookie }).catch((e: unknown) => e);
    assert.ok(error instanceof NetError);
    assert.equal(error.code, 'CLOSED_DURING_HANDSHAKE');
  });

  it('rejects with HANDSHAKE_TIMEOUT at the deadline when the backend stays silent', async () => {
    // Timers under the test's control: the connect timer, then the exchange's.
    const pending = new Map<number, { callback: () => void; delayMs: number }>();
    let nextId = 1;
    const timers: SocketTimers = {
      setTimeout: (callback, delayMs) => {
        const id = nextId++;
        pending.set(id, { callback, delayMs });
        return id;
      },
      clearTimeout: (handle) => void pending.delete(handle as number),
    };
    const accepted: Socket[] = [];
    const l = await listener((socket) => accepted.push(track(socket)));
    const dial = dialExtOrPort({ host: '127.0.0.1', port: l.port, cookie, timers, deadlineMs: 2_000 });
    // The connect timer is cleared once TCP is up, and the exchange's is armed with what is left.
    await until(() => accepted.length === 1 && pending.size === 1 && nextId === 3, 'the exchange timer');
    const [exchange] = [...pending.values()];
    assert.ok(exchange!.delayMs > 0 && exchange!.delayMs <= 2_000, `${exchange!.delayMs} ms`);
    exchange!.callback();
    const error = await dial.catch((e: unknown) => e);
    assert.ok(error instanceof NetError);
    assert.equal(error.code, 'HANDSHAKE_TIMEOUT');
    assert.match(error.message, /within 2000 ms \(phase auth-types\)/);
  });
});
