/**
 * The Extended ORPort and vanilla fronts on real loopback sockets, with a
 * recording dispatcher and a fake handoff target: authentication failures,
 * malformed USERADDR, the deadline (on fake time), DENY by the per-address
 * limit and for want of a backend, the overload cap, and every link byte
 * kept across the handoff — including bytes sent with DONE, before OKAY.
 */
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { bytesEqual, concatBytes, utf8 } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import {
  ExtOrCommand,
  encodeExtOrFrame,
  safeCookieClientHash,
  safeCookieServerHash,
} from '@relayd/ext-orport';
import type { TcpSocket } from '@relayd/net';
import {
  type ConnectionMeta,
  ConnectionsPerAddress,
  type Dispatcher,
  type Front,
  HandoffDispatcher,
  type HandoffMeta,
  type HandoffTarget,
  startExtOrFront,
  startVanillaFront,
} from '../src/index.js';
import { addressPort, Collector, FakeTime, rawTransport, waitFor } from './helpers.js';

const cookie = secureRandom.bytes(32);

/** Records what it is given; each connection stays "open" until the test calls done(). */
class RecordingDispatcher implements Dispatcher<string> {
  available = true;
  chosen = 0;
  cancelled = 0;
  readonly dispatched: Array<{ socket: TcpSocket; meta: ConnectionMeta; done: () => void }> = [];

  choose(): string | undefined {
    if (!this.available) return undefined;
    this.chosen++;
    return 'worker';
  }
  cancel(): void {
    this.cancelled++;
  }
  dispatch(_choice: string, socket: TcpSocket, meta: ConnectionMeta): Promise<void> {
    return new Promise<void>((resolve) => this.dispatched.push({ socket, meta, done: resolve }));
  }
  async close(): Promise<void> {}
}

const fronts: Front[] = [];
const sockets: Socket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(fronts.map((f) => f.close()));
});

async function extOrFront(
  dispatcher: Dispatcher<unknown>,
  opts: { limit?: number; timers?: FakeTime; deadlineMs?: number; maxPending?: number } = {},
) {
  const front = await startExtOrFront({
    host: '127.0.0.1',
    port: 0,
    cookie,
    dispatcher,
    limits: new ConnectionsPerAddress(opts.limit ?? 0),
    ...(opts.timers ? { timers: opts.timers } : {}),
    ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
    ...(opts.maxPending !== undefined ? { maxPendingHandshakes: opts.maxPending } : {}),
  });
  fronts.push(front);
  return front;
}

function connectRaw(port: number): Collector {
  const socket = createConnection({ host: '127.0.0.1', port });
  sockets.push(socket);
  return new Collector(socket);
}

/** SAFE_COOKIE by hand, so a test can then send any metadata it likes. Resolves with the Status byte. */
async function authenticate(c: Collector, withCookie: Uint8Array): Promise<number> {
  assert.deepEqual([...(await c.take(2, 'AuthTypes'))], [1, 0]);
  const clientNonce = secureRandom.bytes(32);
  c.socket.write(concatBytes(Uint8Array.of(1), clientNonce));
  const reply = await c.take(64, 'ServerHash and ServerNonce');
  const serverNonce = reply.subarray(32);
  assert.ok(bytesEqual(reply.subarray(0, 32), safeCookieServerHash(cookie, clientNonce, serverNonce)));
  c.socket.write(safeCookieClientHash(withCookie, clientNonce, serverNonce));
  return (await c.take(1, 'Status'))[0]!;
}

describe('Extended ORPort front', { timeout: 60_000 }, () => {
  it('authenticates, reads USERADDR and TRANSPORT, answers OKAY and dispatches with the metadata', async () => {
    const dispatcher = new RecordingDispatcher();
    const front = await extOrFront(dispatcher);
    const t = rawTransport({
      port: front.port,
      cookie,
      clientAddress: addressPort('198.51.100.7:4711'),
      transportName: 'obfs4',
    });
    sockets.push(t.socket);
    assert.equal(await t.answer, 'okay');
    const [d] = await waitFor('a dispatch', () =>
      dispatcher.dispatched.length ? dispatcher.dispatched : undefined,
    );
    assert.equal(d!.meta.front, 'ext-or');
    assert.equal(d!.meta.clientAddress?.address, '198.51.100.7');
    assert.equal(d!.meta.clientAddress?.port, 4711);
    assert.equal(d!.meta.transportName, 'obfs4');
    assert.equal(d!.meta.leftover.length, 0);
    const stats = front.stats();
    assert.equal(stats.admitted, 1);
    assert.equal(stats.pending, 0);
    d!.done();
  });

  it('a wrong ClientHash gets Status 0 and the connection closed; nothing is dispatched', async () => {
    const dispatcher = new RecordingDispatcher();
    const front = await extOrFront(dispatcher);
    const c = connectRaw(front.port);
    assert.equal(await authenticate(c, secureRandom.bytes(32)), 0);
    await c.waitClosed('the front to close');
    await waitFor('the failure count', () => front.stats().failed['CLIENT_HASH_MISMATCH'] === 1 || undefined);
    assert.equal(dispatcher.chosen, 0);
    assert.equal(dispatcher.dispatched.length, 0);
  });

  it('an AuthType other than SAFE_COOKIE is refused', async () => {
    const front = await extOrFront(new RecordingDispatcher());
    const c = connectRaw(front.port);
    await c.take(2, 'AuthTypes');
    c.socket.write(Uint8Array.of(2));
    await c.waitClosed('the front to close');
    await waitFor('the failure count', () => front.stats().failed['NO_COMMON_AUTH_TYPE'] === 1 || undefined);
  });

  it('a malformed USERADDR closes that connection only; one alongside it goes through', async () => {
    const dispatcher = new RecordingDispatcher();
    const front = await extOrFront(dispatcher);
    const bad = connectRaw(front.port);
    const good = rawTransport({ port: front.port, cookie, clientAddress: addressPort('203.0.113.9:1') });
    sockets.push(good.socket);
    assert.equal(await authenticate(bad, cookie), 1);
    bad.socket.write(
      concatBytes(
        encodeExtOrFrame(ExtOrCommand.USERADDR, utf8('example.com:443')),
        encodeExtOrFrame(ExtOrCommand.DONE),
      ),
    );
    await bad.waitClosed('the front to close the bad connection');
    assert.equal(bad.bytes.length, 0, 'no OKAY or DENY after a bad USERADDR');
    assert.equal(await good.answer, 'okay');
    await waitFor('the failure count', () => front.stats().failed['BAD_USERADDR'] === 1 || undefined);
    assert.equal(dispatcher.dispatched.length, 1);
    assert.equal(dispatcher.dispatched[0]!.meta.clientAddress?.address, '203.0.113.9');
    dispatcher.dispatched[0]!.done();
  });

  it('closes a transport that has not finished by the deadline (fake time)', async () => {
    const time = new FakeTime();
    const dispatcher = new RecordingDispatcher();
    const front = await extOrFront(dispatcher, { timers: time, deadlineMs: 10_000 });
    const c = connectRaw(front.port);
    assert.equal(await authenticate(c, cookie), 1);
    // Authenticated, but DONE never comes.
    await time.advance(9_999);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.closed, false);
    assert.equal(front.stats().pending, 1);
    await time.advance(1);
    await c.waitClosed('the deadline to close the connection');
    await waitFor('the timeout count', () => front.stats().failed['HANDSHAKE_TIMEOUT'] === 1 || undefined);
    assert.equal(front.stats().pending, 0);
    assert.equal(dispatcher.chosen, 0);
  });

  it('DENY past the per-address limit, per address; a released connection makes room; no USERADDR is never limited', async () => {
    const dispatcher = new RecordingDispatcher();
    const front = await extOrFront(dispatcher, { limit: 1 });
    const open = (address?: string) => {
      const t = rawTransport({
        port: front.port,
        cookie,
        ...(address ? { clientAddress: addressPort(address) } : {}),
      });
      sockets.push(t.socket);
      return t;
    };
    assert.equal(await open('198.51.100.7:1000').answer, 'okay');
    const denied = open('198.51.100.7:1001');
    assert.equal(await denied.answer, 'deny');
    await denied.collector.waitClosed('the denied connection to close');
    assert.equal(await open('198.51.100.8:1000').answer, 'okay');
    // The same address in another spelling is the same address.
    assert.equal(await open('[::ffff:c633:6407]:1').answer, 'okay');
    assert.equal(await open('[0:0:0:0:0:ffff:c633:6407]:2').answer, 'deny');
    assert.equal(await open().answer, 'okay');
    assert.equal(await open().answer, 'okay');
    assert.equal(front.stats().deniedAddressLimit, 2);
    // The first connection ends: its address may connect again.
    await waitFor('dispatches', () => (dispatcher.dispatched.length === 5 ? true : undefined));
    dispatcher.dispatched[0]!.done();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await open('198.51.100.7:1002').answer, 'okay');
    for (const d of dispatcher.dispatched) d.done();
  });

  it('DENY when no backend is healthy', async () => {
    const dispatcher = new RecordingDispatcher();
    dispatcher.available = false;
    const front = await extOrFront(dispatcher, { limit: 5 });
    const t = rawTransport({ port: front.port, cookie, clientAddress: addressPort('192.0.2.1:5') });
    sockets.push(t.socket);
    assert.equal(await t.answer, 'deny');
    await t.collector.waitClosed('the denied connection to close');
    assert.equal(front.stats().deniedNoBackend, 1);
    // The refused connection did not keep its place in the address count.
    dispatcher.available = true;
    for (let i = 0; i < 5; i++) {
      const again = rawTransport({ port: front.port, cookie, clientAddress: addressPort('192.0.2.1:5') });
      sockets.push(again.socket);
      assert.equal(await again.answer, 'okay');
    }
    for (const d of dispatcher.dispatched) d.done();
  });

  it('closes new connections at once while too many are in their exchange', async () => {
    const front = await extOrFront(new RecordingDispatcher(), { maxPending: 1 });
    const idle = connectRaw(front.port);
    await idle.take(2, 'AuthTypes');
    const extra = connectRaw(front.port);
    await extra.waitClosed('the extra connection to be closed');
    assert.equal(extra.bytes.length, 0);
    assert.equal(front.stats().refusedOverload, 1);
    idle.socket.destroy();
  });

  it('handoff keeps every link byte: sent with DONE, sent before OKAY, and after — the socket is handed over not reading', async () => {
    const handed: Array<{ socket: TcpSocket; meta: HandoffMeta; reading: boolean | undefined }> = [];
    const target: HandoffTarget = {
      pick: () => 'w1',
      handOff: (socket, meta) => {
        const handle = (socket as unknown as { _handle?: { reading?: boolean } })._handle;
        handed.push({ socket, meta, reading: handle?.reading });
        return { ok: true };
      },
    };
    const dispatcher = new HandoffDispatcher(target);
    const front = await extOrFront(dispatcher);
    const early = secureRandom.bytes(3000);
    const beforeOkay = secureRandom.bytes(100_000);
    const afterOkay = secureRandom.bytes(50_000);
    const t = rawTransport({
      port: front.port,
      cookie,
      clientAddress: addressPort('198.51.100.20:443'),
      transportName: 'webtunnel',
      early,
      thenBeforeOkay: beforeOkay,
    });
    sockets.push(t.socket);
    assert.equal(await t.answer, 'okay');
    const [h] = await waitFor('a handoff', () => (handed.length ? handed : undefined));
    assert.equal(h!.reading, false, 'the socket must not be reading when it is handed over');
    assert.equal(h!.socket.listenerCount('data'), 0);
    assert.equal(h!.meta.transportName, 'webtunnel');
    assert.deepEqual(h!.meta.clientAddress, { address: '198.51.100.20', port: 443 });
    assert.ok(h!.meta.leftover.length >= early.length);
    // The new owner takes its time (an IPC hop), then reads.
    await new Promise((r) => setTimeout(r, 100));
    t.socket.write(afterOkay);
    const received = new Collector(h!.socket as Socket);
    const expected = concatBytes(early, beforeOkay, afterOkay);
    const rest = await received.take(expected.length - h!.meta.leftover.length, 'the rest of the link');
    assert.ok(bytesEqual(concatBytes(h!.meta.leftover, rest), expected), 'link bytes lost or reordered');
    assert.equal(dispatcher.stats().handedOff, 1);
  });

  it('a handoff the target refuses closes the connection and is counted', async () => {
    const target: HandoffTarget = {
      pick: () => 'w1',
      handOff: (socket) => {
        socket.destroy();
        return { ok: false, reason: 'no-healthy-worker' };
      },
    };
    const dispatcher = new HandoffDispatcher(target);
    const front = await extOrFront(dispatcher);
    const t = rawTransport({ port: front.port, cookie });
    sockets.push(t.socket);
    assert.equal(await t.answer, 'okay');
    await t.collector.waitClosed('the refused connection to close');
    await waitFor('the count', () => front.stats().dispatchFailed === 1 || undefined);
    assert.equal(dispatcher.stats().refused, 1);
  });

  it('with a target that reports closing, the per-address limit counts handed-off connections until then', async () => {
    let closeIt: (() => void) | undefined;
    const target: HandoffTarget = {
      pick: () => 'w1',
      handOff: () => ({ ok: true, closed: new Promise<void>((resolve) => (closeIt = resolve)) }),
    };
    const front = await extOrFront(new HandoffDispatcher(target), { limit: 1 });
    const first = rawTransport({ port: front.port, cookie, clientAddress: addressPort('192.0.2.44:1') });
    sockets.push(first.socket);
    assert.equal(await first.answer, 'okay');
    await waitFor('the handoff', () => closeIt);
    const second = rawTransport({ port: front.port, cookie, clientAddress: addressPort('192.0.2.44:2') });
    sockets.push(second.socket);
    assert.equal(await second.answer, 'deny');
    closeIt!();
    await new Promise((r) => setTimeout(r, 20));
    const third = rawTransport({ port: front.port, cookie, clientAddress: addressPort('192.0.2.44:3') });
    sockets.push(third.socket);
    assert.equal(await third.answer, 'okay');
  });
});

describe('vanilla front', { timeout: 30_000 }, () => {
  it('accepts paused, dispatches with the peer as client address, and loses no byte', async () => {
    const dispatcher = new RecordingDispatcher();
    const front = await startVanillaFront({
      host: '127.0.0.1',
      port: 0,
      dispatcher,
      limits: new ConnectionsPerAddress(1),
    });
    fronts.push(front);
    const client = createConnection({ host: '127.0.0.1', port: front.port });
    sockets.push(client);
    const hello = secureRandom.bytes(20_000);
    client.write(hello);
    await new Promise<void>((resolve) => client.once('connect', resolve));
    const [d] = await waitFor('a dispatch', () =>
      dispatcher.dispatched.length ? dispatcher.dispatched : undefined,
    );
    assert.equal(d!.meta.front, 'vanilla');
    assert.equal(d!.meta.clientAddress?.address, '127.0.0.1');
    assert.equal(d!.meta.clientAddress?.port, client.localPort);
    assert.equal(d!.socket.bytesRead, 0, 'nothing may be read before the socket is passed on');
    const received = new Collector(d!.socket as Socket);
    assert.ok(bytesEqual(await received.take(hello.length, 'the bytes'), hello));

    // The same address again: past the limit of 1, closed without a byte.
    const second = connectRaw(front.port);
    await second.waitClosed('the second connection to be closed');
    assert.equal(front.stats().deniedAddressLimit, 1);
    d!.done();
  });
});
