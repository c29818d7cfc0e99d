import assert from 'node:assert/strict';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { HttpClientError, httpRequest } from '../src/http-client.js';

const BODY = Buffer.from('network-status-version 3 microdesc\n'.repeat(200));

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

describe('httpRequest', () => {
  let server: Server;
  let port = 0;
  const seen: { headers: IncomingMessage['headers']; remoteAddress: string | undefined }[] = [];
  const sockets = new Set<Socket>();

  before(async () => {
    server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push({ headers: req.headers, remoteAddress: req.socket.remoteAddress });
      switch (req.url) {
        case '/plain':
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end(BODY);
          return;
        case '/deflate.z':
          res.writeHead(200, { 'Content-Encoding': 'deflate' }).end(deflateSync(BODY));
          return;
        case '/gzip':
          res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipSync(BODY));
          return;
        case '/bomb':
          res.writeHead(200, { 'Content-Encoding': 'deflate' }).end(deflateSync(Buffer.alloc(10_000_000)));
          return;
        case '/brotli':
          res.writeHead(200, { 'Content-Encoding': 'br' }).end(BODY);
          return;
        case '/not-found':
          res.writeHead(404, 'Not found').end();
          return;
        case '/never':
          return; // no answer at all
        default:
          res.writeHead(500).end();
      }
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    port = await listen(server);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  const get = (path: string, extra: Partial<Parameters<typeof httpRequest>[0]> = {}) =>
    httpRequest({
      method: 'GET',
      host: '127.0.0.1',
      port,
      path,
      timeoutMs: 2000,
      maxResponseBytes: 1 << 20,
      ...extra,
    });

  it('returns status, headers and body, and sends the headers given', async () => {
    const r = await get('/plain', { headers: { 'Accept-Encoding': 'deflate, identity' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.deepEqual(Buffer.from(r.body), BODY);
    assert.equal(seen.at(-1)?.headers['accept-encoding'], 'deflate, identity');
  });

  it('decodes deflate (tor ".z") and gzip bodies', async () => {
    assert.deepEqual(Buffer.from((await get('/deflate.z')).body), BODY);
    assert.deepEqual(Buffer.from((await get('/gzip')).body), BODY);
  });

  it('returns error statuses as they are', async () => {
    const r = await get('/not-found');
    assert.equal(r.status, 404);
    assert.equal(r.body.length, 0);
  });

  it('refuses a body over the cap, raw or decoded', async () => {
    await assert.rejects(get('/plain', { maxResponseBytes: 100 }), (e: unknown) => {
      assert.ok(e instanceof HttpClientError);
      assert.equal(e.code, 'HTTP_RESPONSE_TOO_LARGE');
      return true;
    });
    // About 10 KB on the wire, 10 MB decoded.
    await assert.rejects(get('/bomb'), { code: 'HTTP_RESPONSE_TOO_LARGE' });
  });

  it('refuses an encoding it cannot decode', async () => {
    await assert.rejects(get('/brotli'), { code: 'HTTP_BAD_ENCODING' });
  });

  it('gives up at the deadline', async () => {
    const started = Date.now();
    await assert.rejects(get('/never', { timeoutMs: 200 }), { code: 'HTTP_TIMEOUT' });
    assert.ok(Date.now() - started < 1500);
  });

  it('reports a refused connection and a bad port', async () => {
    const closed = createTcpServer();
    const closedPort = await listen(closed);
    await new Promise((r) => closed.close(r));
    await assert.rejects(get('/plain', { port: closedPort }), { code: 'HTTP_CONNECTION_FAILED' });
    await assert.rejects(get('/plain', { port: 0 }), { code: 'HTTP_BAD_REQUEST' });
  });

  it('connects from the local address asked for', async () => {
    await get('/plain', { localAddress: '127.0.0.2' });
    assert.equal(seen.at(-1)?.remoteAddress, '127.0.0.2');
  });
});

describe('httpRequest against an HTTP/1.0 server that closes to end the body (as tor DirPorts do)', () => {
  it('reads the whole body', async () => {
    const body = deflateSync(BODY);
    const tcp = createTcpServer((socket) => {
      socket.once('data', () => {
        socket.end(
          Buffer.concat([
            Buffer.from(
              'HTTP/1.0 200 OK\r\nDate: Sat, 21 Nov 2026 14:21:30 GMT\r\nContent-Type: text/plain\r\n',
            ),
            Buffer.from('Content-Encoding: deflate\r\nPragma: no-cache\r\n\r\n'),
            body,
          ]),
        );
      });
    });
    const port = await listen(tcp);
    try {
      const r = await httpRequest({
        method: 'GET',
        host: '127.0.0.1',
        port,
        path: '/tor/status-vote/current/consensus-microdesc.z',
        timeoutMs: 2000,
        maxResponseBytes: 1 << 20,
      });
      assert.equal(r.status, 200);
      assert.deepEqual(Buffer.from(r.body), BODY);
    } finally {
      await new Promise((r) => tcp.close(r));
    }
  });
});
