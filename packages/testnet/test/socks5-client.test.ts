import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { toHex } from '@relayd/common';
import {
  canBind,
  downloadViaSocks5,
  LoopbackAllocator,
  PAYLOAD_PATH,
  PayloadServer,
  PORT_RANGE,
  TestnetError,
} from '../src/index.js';

/**
 * A SOCKS5 server that records each CONNECT request and either refuses it
 * with `refuseWith` or splices the stream to the requested IPv4 address.
 */
function fakeSocksServer(refuseWith?: number) {
  const requests: string[] = [];
  const server: Server = createServer((client: Socket) => {
    let stage = 0;
    let buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (stage === 0 && buffer.length >= 3) {
        assert.equal(buffer.subarray(0, 3).toString('hex'), '050100');
        buffer = buffer.subarray(3);
        stage = 1;
        client.write(Buffer.from([5, 0]));
      }
      if (stage === 1 && buffer.length >= 10) {
        requests.push(buffer.subarray(0, 10).toString('hex'));
        const host = [...buffer.subarray(4, 8)].join('.');
        const port = buffer.readUInt16BE(8);
        const rest = buffer.subarray(10);
        stage = 2;
        client.removeAllListeners('data');
        if (refuseWith !== undefined) {
          client.end(Buffer.from([5, refuseWith, 0, 1, 0, 0, 0, 0, 0, 0]));
          return;
        }
        const upstream = connect({ host, port }, () => {
          // The reply and the first response bytes may share one segment: the client must cope.
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          if (rest.length > 0) upstream.write(rest);
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
      }
    });
    client.on('error', () => {});
  });
  return { server, requests };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

describe('downloadViaSocks5 against a local SOCKS5 server', () => {
  let payload: PayloadServer;
  const relay = fakeSocksServer();
  const refusing = fakeSocksServer(5);
  let relayPort = 0;
  let refusingPort = 0;

  before(async () => {
    const allocator = new LoopbackAllocator();
    payload = await PayloadServer.start({
      host: '127.0.0.1',
      port: await allocator.allocatePort('127.0.0.1'),
      sizeBytes: 300_000,
    });
    relayPort = await listen(relay.server);
    refusingPort = await listen(refusing.server);
  });

  after(async () => {
    await payload.close();
    relay.server.close();
    refusing.server.close();
  });

  it('fetches the payload through the proxy and hashes it', async () => {
    const result = await downloadViaSocks5({ host: '127.0.0.1', port: relayPort }, payload.url, 10_000);
    assert.equal(result.status, 200);
    assert.equal(result.body.length, 300_000);
    assert.equal(result.sha256Hex, payload.sha256Hex);
    assert.equal(payload.requestsServed, 1);
    const portHex = payload.port.toString(16).padStart(4, '0');
    assert.deepEqual(relay.requests, [`050100017f000001${portHex}`]);
  });

  it('reports a refusal with the SOCKS reply', async () => {
    await assert.rejects(
      downloadViaSocks5({ host: '127.0.0.1', port: refusingPort }, payload.url, 10_000),
      (e: unknown) =>
        e instanceof TestnetError &&
        e.code === 'TESTNET_SOCKS_FAILED' &&
        /connection refused/.test(e.message),
    );
  });

  it('reports a missing document as an HTTP failure', async () => {
    const url = payload.url.replace(PAYLOAD_PATH, '/other');
    await assert.rejects(
      downloadViaSocks5({ host: '127.0.0.1', port: relayPort }, url, 10_000),
      (e: unknown) =>
        e instanceof TestnetError && e.code === 'TESTNET_HTTP_FAILED' && /status 404/.test(e.message),
    );
  });

  it('refuses non-http URLs and an unreachable proxy', async () => {
    await assert.rejects(
      downloadViaSocks5({ host: '127.0.0.1', port: relayPort }, 'https://x/', 1_000),
      TestnetError,
    );
    const closed = await new LoopbackAllocator().allocatePort('127.0.0.1');
    await assert.rejects(
      downloadViaSocks5({ host: '127.0.0.1', port: closed }, payload.url, 2_000),
      (e: unknown) => e instanceof TestnetError && e.code === 'TESTNET_SOCKS_FAILED',
    );
  });

  it('exposes the payload hash of what it serves', () => {
    assert.match(payload.sha256Hex, /^[0-9a-f]{64}$/);
    assert.notEqual(payload.sha256Hex, toHex(new Uint8Array(32)));
  });
});

describe('LoopbackAllocator', () => {
  it('hands out distinct 127.A.B.x addresses and bindable, distinct ports in range', async () => {
    const allocator = new LoopbackAllocator();
    const a = await allocator.allocateAddress();
    const b = await allocator.allocateAddress();
    assert.match(a, /^127\.\d+\.\d+\.\d+$/);
    if (a !== '127.0.0.1') assert.notEqual(a, b);
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const port = await allocator.allocatePort(a);
      assert.ok(port >= PORT_RANGE.min && port < PORT_RANGE.max);
      assert.equal(await canBind(a, port), true);
      ports.add(port);
    }
    assert.equal(ports.size, 20);
  });

  it('sees a port in use as not bindable', async () => {
    const server = createServer();
    const port = await listen(server);
    try {
      assert.equal(await canBind('127.0.0.1', port), false);
    } finally {
      server.close();
    }
  });
});

describe('LoopbackAllocator address blocks', () => {
  it('hands out addresses of its own random 127.A.B block, distinct between allocators', async () => {
    const blocks = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const allocator = new LoopbackAllocator();
      assert.match(allocator.block, /^127\.([3-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])\.(\d{1,3})$/);
      blocks.add(allocator.block);
    }
    assert.ok(blocks.size > 15, `20 allocators drew only ${blocks.size} distinct blocks`);
    const fixed = new LoopbackAllocator({ block: '127.0.0' });
    assert.equal(await fixed.allocateAddress(), '127.0.0.2');
    assert.equal(await fixed.allocateAddress(), '127.0.0.3');
  });
});
