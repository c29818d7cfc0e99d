import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { TransportHandlers } from '@relayd/common';
import { SocketByteTransport } from '../src/index.js';

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A connected pair of loopback sockets: [our side, the peer]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  servers.push(server);
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  const peer = connect(address.port, '127.0.0.1');
  await new Promise<void>((resolve) => peer.once('connect', () => resolve()));
  return [await accepted, peer];
}

interface Recorder extends TransportHandlers {
  chunks: Uint8Array[];
  closedCalls: (Error | undefined)[];
  drainedCalls: number;
  bytes(): number;
}

function recorder(): Recorder {
  const r: Recorder = {
    chunks: [],
    closedCalls: [],
    drainedCalls: 0,
    data(bytes) {
      r.chunks.push(Uint8Array.from(bytes));
    },
    closed(error) {
      r.closedCalls.push(error);
    },
    drained() {
      r.drainedCalls++;
    },
    bytes() {
      return r.chunks.reduce((n, c) => n + c.length, 0);
    },
  };
  return r;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(chunks));
}

describe('SocketByteTransport', () => {
  it('holds bytes received before attach and delivers them, in order, after attach returns', async () => {
    const [ours, peer] = await socketPair();
    const transport = new SocketByteTransport(ours);
    peer.write(Uint8Array.of(1, 2, 3));
    peer.write(Uint8Array.of(4, 5));
    await new Promise((r) => setTimeout(r, 50));
    const rec = recorder();
    transport.attach(rec);
    assert.equal(rec.chunks.length, 0, 'nothing is delivered inside attach()');
    await until(() => rec.bytes() === 5, 'the held bytes');
    peer.write(Uint8Array.of(6));
    await until(() => rec.bytes() === 6, 'the later byte');
    assert.deepEqual(concat(rec.chunks), Uint8Array.of(1, 2, 3, 4, 5, 6));
    transport.close();
    peer.destroy();
  });

  it('stops reading while too many bytes wait for attach, then delivers all of them', async () => {
    const [ours, peer] = await socketPair();
    const transport = new SocketByteTransport(ours, { maxHeldInputBytes: 64 * 1024 });
    const total = 4 * 1024 * 1024;
    const payload = new Uint8Array(total).map((_, i) => i & 0xff);
    peer.write(payload);
    await until(() => ours.isPaused(), 'reading to pause');
    // The peer cannot have pushed everything: the kernel buffers fill once we stop reading.
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(peer.writableLength > 0, 'the peer is backed up');
    const rec = recorder();
    transport.attach(rec);
    await until(() => rec.bytes() === total, 'every byte', 10_000);
    assert.deepEqual(concat(rec.chunks), payload);
    transport.close();
    peer.destroy();
  });

  it('returns false above the high-water mark and calls drained once the queue empties', async () => {
    const [ours, peer] = await socketPair();
    peer.pause();
    const transport = new SocketByteTransport(ours, { writeHighWaterMark: 128 * 1024 });
    const rec = recorder();
    transport.attach(rec);
    const chunk = new Uint8Array(32 * 1024);
    let writes = 0;
    while (transport.write(chunk)) {
      writes++;
      assert.ok(writes < 1000, 'write never reported back-pressure');
    }
    assert.ok(transport.bufferedBytes >= 128 * 1024);
    assert.equal(rec.drainedCalls, 0);
    let received = 0;
    peer.on('data', (d: Buffer) => {
      received += d.length;
    });
    peer.resume();
    await until(() => rec.drainedCalls === 1, 'drained');
    await until(() => received === (writes + 1) * chunk.length, 'all bytes at the peer');
    assert.equal(rec.drainedCalls, 1);
    transport.close();
    peer.destroy();
  });

  it('close() flushes, is idempotent, and closed() comes exactly once', async () => {
    const [ours, peer] = await socketPair();
    const transport = new SocketByteTransport(ours);
    const rec = recorder();
    transport.attach(rec);
    const received: Buffer[] = [];
    const ended = new Promise<void>((resolve) => peer.on('end', () => resolve()));
    peer.on('data', (d: Buffer) => received.push(d));
    transport.write(new Uint8Array(100_000).fill(7));
    transport.close();
    transport.close();
    assert.equal(transport.write(Uint8Array.of(1)), false, 'writes after close are refused');
    await ended;
    assert.equal(Buffer.concat(received).length, 100_000);
    peer.end();
    await until(() => rec.closedCalls.length === 1, 'closed');
    transport.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(rec.closedCalls, [undefined]);
  });

  it('reports a peer that closed before attach after the bytes it sent', async () => {
    const [ours, peer] = await socketPair();
    const transport = new SocketByteTransport(ours);
    peer.end(Uint8Array.of(9, 8, 7));
    await new Promise((r) => setTimeout(r, 100));
    const events: string[] = [];
    transport.attach({
      data: (b) => events.push(`data ${b.length}`),
      closed: () => events.push('closed'),
      drained: () => events.push('drained'),
    });
    await until(() => events.includes('closed'), 'closed');
    assert.deepEqual(events, ['data 3', 'closed']);
  });

  it('destroys a connection whose peer does not take our last bytes in time', async () => {
    const [ours, peer] = await socketPair();
    peer.pause();
    const transport = new SocketByteTransport(ours, { closeTimeoutMs: 200 });
    const rec = recorder();
    transport.attach(rec);
    while (transport.write(new Uint8Array(1 << 20))) {}
    transport.close();
    await until(() => rec.closedCalls.length === 1, 'closed after the close timeout', 3_000);
    assert.ok(ours.destroyed);
    peer.destroy();
  });

  it('destroy(error) closes at once and reports the error', async () => {
    const [ours, peer] = await socketPair();
    const transport = new SocketByteTransport(ours);
    const rec = recorder();
    transport.attach(rec);
    transport.destroy(new Error('protocol violation'));
    await until(() => rec.closedCalls.length === 1, 'closed');
    assert.equal(rec.closedCalls[0]?.message, 'protocol violation');
    peer.destroy();
  });

  it('pauseReading stops delivery until resumeReading', async () => {
    const [ours, peer] = await socketPair();
    const transport = new SocketByteTransport(ours);
    const rec = recorder();
    transport.attach(rec);
    transport.pauseReading();
    peer.write(Uint8Array.of(1, 2));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rec.bytes(), 0);
    transport.resumeReading();
    await until(() => rec.bytes() === 2, 'the bytes after resume');
    transport.close();
    peer.destroy();
  });
});
