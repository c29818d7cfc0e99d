/**
 * Proxy mode end to end on loopback, through `startBalancer`: Extended
 * ORPort backends that check their own cookies (read from their files by
 * the balancer), USERADDR and TRANSPORT passed on, bytes piped both ways
 * with backpressure (a megabyte each way), early link bytes kept, source
 * addresses spread over 127.0.1.x, least connections, failover to another
 * backend, health checks taking a dead backend out and putting it back,
 * DENY when none is left, a backend's DENY, and the vanilla ORPort front.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bytesEqual } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import { decodeCookieFile, encodeCookieFile } from '@relayd/ext-orport';
import { type Balancer, type BalancerSettings, startBalancer } from '../src/index.js';
import { addressPort, Collector, EchoBackend, invert, rawTransport, waitFor } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'relayd-balancer-proxy-'));
const sockets: Socket[] = [];
const backends: EchoBackend[] = [];
const balancers: Balancer[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(balancers.map((b) => b.close()));
  await Promise.all(backends.map((b) => b.close().catch(() => {})));
  rmSync(root, { recursive: true, force: true });
});

/** A backend with its own cookie in its own cookie file, as a C tor instance has. */
async function backend(name: string): Promise<{ server: EchoBackend; cookieFile: string; port: number }> {
  const cookie = secureRandom.bytes(32);
  const cookieFile = join(root, `${name}.cookie`);
  writeFileSync(cookieFile, encodeCookieFile(cookie), { mode: 0o600 });
  const server = await new EchoBackend(cookie).listen();
  backends.push(server);
  return { server, cookieFile, port: server.port };
}

async function balancer(
  specs: Array<{ name: string; port: number; cookieFile: string }>,
  overrides: Partial<BalancerSettings> = {},
): Promise<{ balancer: Balancer; cookie: Uint8Array }> {
  const cookieFile = join(root, `front-${balancers.length}`, 'extended_orport_auth_cookie');
  const b = await startBalancer({
    mode: 'proxy',
    extOrPorts: [{ host: '127.0.0.1', port: 0 }],
    cookieFile,
    orPorts: [{ host: '127.0.0.1', port: 0 }],
    backends: specs.map((s) => ({
      id: s.name,
      host: '127.0.0.1',
      port: s.port,
      cookie: { file: s.cookieFile },
    })),
    sourceAddresses: [{ first: '127.0.1.1', last: '127.0.1.3' }],
    maxConnectionsPerAddress: 0,
    healthCheckIntervalMs: 60_000,
    ...overrides,
  });
  balancers.push(b);
  const decoded = decodeCookieFile(new Uint8Array(readFileSync(cookieFile)));
  assert.ok(decoded.ok);
  return { balancer: b, cookie: decoded.value };
}

function transport(b: Balancer, cookie: Uint8Array, opts: Partial<Parameters<typeof rawTransport>[0]> = {}) {
  const t = rawTransport({ port: b.extOrPorts[0]!.port, cookie, ...opts });
  sockets.push(t.socket);
  return t;
}

describe('proxy mode', { timeout: 90_000 }, () => {
  let a: Awaited<ReturnType<typeof backend>>;
  let b: Awaited<ReturnType<typeof backend>>;
  let front: { balancer: Balancer; cookie: Uint8Array };

  before(async () => {
    a = await backend('a');
    b = await backend('b');
    front = await balancer([
      { name: 'a', ...a },
      { name: 'b', ...b },
    ]);
  });

  it('carries a transport connection to a backend with its USERADDR and TRANSPORT, a megabyte each way', async () => {
    const t = transport(front.balancer, front.cookie, {
      clientAddress: addressPort('[2001:db8::42]:9999'),
      transportName: 'snowflake',
    });
    assert.equal(await t.answer, 'okay');
    const payload = secureRandom.bytes(1024 * 1024);
    t.socket.write(payload);
    const echoed = await t.collector.take(payload.length, 'the echo');
    assert.ok(bytesEqual(echoed, invert(payload)));
    const linked = [...a.server.linked, ...b.server.linked];
    assert.equal(linked.length, 1);
    const seen = linked[0]!;
    assert.equal(seen.metadata?.clientAddress?.address, '2001:db8::42');
    assert.equal(seen.metadata?.clientAddress?.port, 9999);
    assert.equal(seen.metadata?.transportName, 'snowflake');
    assert.ok(bytesEqual(seen.link, payload));
    assert.match(seen.remoteAddress, /^127\.0\.1\.[123]$/);
    t.socket.destroy();
    await waitFor('the backend side to close', () => seen.closed || undefined);
    // Counted when the proxied connection has closed on both sides.
    await waitFor(
      'the byte counts',
      () =>
        front.balancer.stats().backends.reduce((n, x) => n + x.bytesToBackend, 0) === payload.length ||
        undefined,
    );
    assert.equal(
      front.balancer.stats().backends.reduce((n, x) => n + x.bytesFromBackend, 0),
      payload.length,
    );
    await waitFor(
      'the connection to be released',
      () => front.balancer.stats().backends.every((x) => x.active === 0) || undefined,
    );
  });

  it('keeps link bytes the transport sent with DONE, ahead of the rest', async () => {
    const early = secureRandom.bytes(5000);
    const t = transport(front.balancer, front.cookie, { early, thenBeforeOkay: secureRandom.bytes(7) });
    assert.equal(await t.answer, 'okay');
    const echoed = await t.collector.take(5007, 'the echo of the early bytes');
    assert.ok(bytesEqual(echoed.subarray(0, 5000), invert(early)));
    t.socket.destroy();
  });

  it('spreads connections over both backends (fewest connections) and over the source addresses', async () => {
    const beforeA = a.server.linked.length;
    const beforeB = b.server.linked.length;
    const open = [];
    for (let i = 0; i < 6; i++) {
      const t = transport(front.balancer, front.cookie);
      assert.equal(await t.answer, 'okay');
      open.push(t);
    }
    const active = front.balancer.stats().backends.map((x) => x.active);
    assert.deepEqual(active, [3, 3]);
    // The transport has its OKAY before the backend connection is made: wait for all six.
    await waitFor('six backend connections', () =>
      a.server.linked.length - beforeA === 3 && b.server.linked.length - beforeB === 3 ? true : undefined,
    );
    const fresh = [...a.server.linked.slice(beforeA), ...b.server.linked.slice(beforeB)];
    const sources = new Set(fresh.map((c) => c.remoteAddress));
    assert.ok(sources.size >= 2, `sources ${[...sources]}`);
    for (const s of sources) assert.match(s, /^127\.0\.1\.[123]$/);
    // The open connections by source address are the ones the backends saw.
    const bySource = new Map<string, number>();
    for (const c of fresh) bySource.set(c.remoteAddress, (bySource.get(c.remoteAddress) ?? 0) + 1);
    const expected = JSON.stringify(Object.fromEntries([...bySource].sort()));
    const seenBySource = () =>
      JSON.stringify(
        Object.fromEntries(Object.entries(front.balancer.stats().proxy!.openBySourceAddress).sort()),
      );
    await waitFor('the open connections by source address', () => seenBySource() === expected || undefined);
    for (const t of open) t.socket.destroy();
    await waitFor(
      'every connection to be released',
      () => front.balancer.stats().backends.every((x) => x.active === 0) || undefined,
    );
    await waitFor(
      'no open connection by source address',
      () => Object.keys(front.balancer.stats().proxy!.openBySourceAddress).length === 0 || undefined,
    );
  });

  it('re-reads a backend’s cookie file: a restarted tor with a new cookie keeps working', async () => {
    const fresh = secureRandom.bytes(32);
    a.server.setCookie(fresh);
    b.server.setCookie(fresh);
    writeFileSync(a.cookieFile, encodeCookieFile(fresh));
    writeFileSync(b.cookieFile, encodeCookieFile(fresh));
    const t = transport(front.balancer, front.cookie);
    assert.equal(await t.answer, 'okay');
    t.socket.write(Uint8Array.of(1, 2, 3));
    assert.deepEqual([...(await t.collector.take(3, 'the echo'))], [254, 253, 252]);
    t.socket.destroy();
  });

  it('the vanilla ORPort front sends the client’s own address as USERADDR', async () => {
    const client = createConnection({ host: '127.0.0.1', port: front.balancer.orPorts[0]!.port });
    sockets.push(client);
    const c = new Collector(client);
    await new Promise<void>((resolve) => client.once('connect', resolve));
    const hello = secureRandom.bytes(2000);
    client.write(hello);
    assert.ok(bytesEqual(await c.take(2000, 'the echo'), invert(hello)));
    const seen = [...a.server.linked, ...b.server.linked].find(
      (x) => x.metadata?.clientAddress?.port === client.localPort,
    );
    assert.ok(seen, 'no backend connection carried the client port');
    assert.equal(seen.metadata?.clientAddress?.address, '127.0.0.1');
    assert.equal(seen.metadata?.transportName, undefined);
    client.destroy();
  });
});

describe('proxy mode: failures and health', { timeout: 90_000 }, () => {
  it('fails over to another backend, takes a dead one out, DENYs when none is left and recovers', async () => {
    const a = await backend('fa');
    const b = await backend('fb');
    const { balancer: bal, cookie } = await balancer(
      [
        { name: 'fa', ...a },
        { name: 'fb', ...b },
      ],
      { healthCheckIntervalMs: 100 },
    );
    await waitFor(
      'first health checks',
      () => bal.stats().backends.every((x) => x.checksPassed >= 1) || undefined,
    );

    // b dies: connections that choose it are carried to a instead.
    const bPort = b.port;
    await b.server.close();
    for (let i = 0; i < 4; i++) {
      const t = transport(bal, cookie);
      assert.equal(await t.answer, 'okay');
      t.socket.write(Uint8Array.of(7));
      assert.deepEqual([...(await t.collector.take(1, 'the echo'))], [248]);
      t.socket.destroy();
    }
    await waitFor(
      'b to be taken out',
      () => bal.stats().backends.find((x) => x.id === 'fb')?.healthy === false || undefined,
    );
    const bStats = bal.stats().backends.find((x) => x.id === 'fb')!;
    assert.match(bStats.lastError ?? '', /ECONNREFUSED/);
    assert.equal(bal.stats().proxy?.unreachable, 0);

    // a dies too: once it is out, transports get DENY.
    await a.server.close();
    await waitFor('a to be taken out', () => bal.stats().backends.every((x) => !x.healthy) || undefined);
    const denied = transport(bal, cookie);
    assert.equal(await denied.answer, 'deny');
    assert.ok(bal.stats().fronts[0]!.deniedNoBackend >= 1);

    // b comes back on its port: two passed checks later it takes connections again.
    const revived = await new EchoBackend(decodeCookie(readFileSync(b.cookieFile))).listen(bPort);
    backends.push(revived);
    await waitFor(
      'b back in rotation',
      () => bal.stats().backends.find((x) => x.id === 'fb')?.healthy || undefined,
    );
    const t = transport(bal, cookie);
    assert.equal(await t.answer, 'okay');
    t.socket.write(Uint8Array.of(0));
    assert.deepEqual([...(await t.collector.take(1, 'the echo'))], [255]);
    assert.equal(revived.linked.length, 1);
    t.socket.destroy();
  });

  it('a backend that does not hold the cookie in its file fails authentication and is counted', async () => {
    const a = await backend('wrong');
    a.server.setCookie(secureRandom.bytes(32));
    const { balancer: bal, cookie } = await balancer([{ name: 'wrong', ...a }]);
    const t = transport(bal, cookie);
    assert.equal(await t.answer, 'okay');
    await t.collector.waitClosed('the connection to close');
    await waitFor('the failure', () => (bal.stats().backends[0]!.failures >= 1 ? true : undefined));
    assert.match(bal.stats().backends[0]!.lastError ?? '', /ServerHash/);
    assert.equal(bal.stats().proxy?.unreachable, 1);
  });

  it('a backend’s DENY closes the transport connection without counting against the backend', async () => {
    const a = await backend('denier');
    a.server.answer = 'deny';
    const { balancer: bal, cookie } = await balancer([{ name: 'denier', ...a }]);
    const t = transport(bal, cookie);
    assert.equal(await t.answer, 'okay');
    await t.collector.waitClosed('the connection to close');
    await waitFor('the count', () => bal.stats().proxy?.backendDenied === 1 || undefined);
    assert.equal(bal.stats().backends[0]!.failures, 0);
    assert.equal(bal.stats().backends[0]!.healthy, true);
  });
});

function decodeCookie(bytes: Buffer): Uint8Array {
  const decoded = decodeCookieFile(new Uint8Array(bytes));
  assert.ok(decoded.ok);
  return decoded.value;
}
