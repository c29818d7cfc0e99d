/**
 * Real Tor links (TLS, VERSIONS, CERTS, AUTH_CHALLENGE, NETINFO with the
 * bridge's keys) through the balancer to a relayd worker's side of it:
 *
 *   proxy mode:   client ─ORPort or ExtORPort─▶ balancer ─127.0.1.x─▶ worker ExtORPort
 *                   (listenExtOrBackend) ─▶ TLS + link handshake (acceptHandedOffLink)
 *   handoff mode: client ─ExtORPort─▶ balancer ─socket + leftover─▶ acceptHandedOffLink
 *
 * The client checks the bridge's RSA and Ed25519 identities; the worker's
 * channel must carry the client's address and transport from USERADDR and
 * TRANSPORT, not the balancer's. The ExtORPort clients are eager: their
 * TLS ClientHello follows DONE before OKAY, so the handshake only succeeds
 * if the bytes read past DONE reach TLS first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Balancer, type HandoffTarget, startBalancer, workerBackendAddress } from '@relayd/balancer';
import { systemClock } from '@relayd/common';
import { secureRandom } from '@relayd/crypto';
import type { EstablishedChannel, ExtendTarget } from '@relayd/engine';
import { decodeCookieFile, parseAddressPort } from '@relayd/ext-orport';
import { generateKeys, type KeyStore } from '@relayd/keys';
import { LinkTlsContexts, TlsChannelProvider } from '@relayd/net';
import {
  acceptHandedOffLink,
  type ExtOrBackendListener,
  keyMaterialFromSnapshot,
  listenExtOrBackend,
} from '@relayd/worker';
import { openLinkThroughExtOrPort } from './ext-or-link-client.js';

const root = mkdtempSync(join(tmpdir(), 'relayd-balancer-links-'));

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function frontCookie(balancer: Balancer): Uint8Array {
  const decoded = decodeCookieFile(new Uint8Array(readFileSync(balancer.cookieFile!)));
  assert.ok(decoded.ok);
  return decoded.value;
}

function address(text: string) {
  const parsed = parseAddressPort(text);
  assert.ok(parsed.ok);
  return parsed.value;
}

describe('balancer with relayd link handshakes', { timeout: 90_000 }, () => {
  let store: KeyStore;
  let tls: LinkTlsContexts;
  let target: Omit<ExtendTarget, 'addresses'>;
  const channels: EstablishedChannel[] = [];
  const failures: Error[] = [];
  const balancers: Balancer[] = [];
  let backend: ExtOrBackendListener | undefined;
  const provider = new TlsChannelProvider();
  const backendCookie = secureRandom.bytes(32);

  const adopt = (
    socket: Parameters<typeof acceptHandedOffLink>[0],
    meta: Parameters<typeof acceptHandedOffLink>[1],
  ) => {
    acceptHandedOffLink(socket, meta, { tls, localAddresses: ['127.0.0.1'] }).then(
      (channel) => channels.push(channel),
      (error: Error) => failures.push(error),
    );
  };

  before(async () => {
    store = generateKeys(join(root, 'data'), { nowMs: Date.now(), nickname: 'balancerTest' });
    tls = new LinkTlsContexts(keyMaterialFromSnapshot(store.workerSnapshot()).link, { clock: systemClock });
    target = {
      rsaIdentity: store.rsaIdentity.publicKey.fingerprint(),
      ed25519Identity: store.ed25519Identity,
    };
    backend = await listenExtOrBackend({
      host: workerBackendAddress(1),
      port: 0,
      cookie: backendCookie,
      accept: adopt,
    });
  });

  after(async () => {
    provider.close();
    for (const c of channels) c.transport.close();
    await Promise.all(balancers.map((b) => b.close()));
    await backend?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function proxyBalancer(): Promise<Balancer> {
    const b = await startBalancer({
      mode: 'proxy',
      extOrPorts: [{ host: '127.0.0.1', port: 0 }],
      cookieFile: join(root, 'proxy', 'extended_orport_auth_cookie'),
      orPorts: [{ host: '127.0.0.1', port: 0 }],
      backends: [
        { id: 'worker 1', host: backend!.host, port: backend!.port, cookie: { bytes: backendCookie } },
      ],
      sourceAddresses: [{ first: '127.0.1.1', last: '127.0.1.10' }],
      maxConnectionsPerAddress: 0,
      healthCheckIntervalMs: 60_000,
    });
    balancers.push(b);
    return b;
  }

  it('the worker’s ExtORPort answers on its own loopback address', () => {
    assert.equal(backend!.host, '127.0.2.1');
    assert.ok(backend!.port > 0);
  });

  it('proxy mode, vanilla ORPort: a TLS channel proves the bridge identity; the worker sees the client’s address', async () => {
    const b = await proxyBalancer();
    const before = channels.length;
    const channel = await provider.openChannel({
      ...target,
      addresses: [{ address: '127.0.0.1', port: b.orPorts[0]!.port }],
    });
    assert.equal(channel.peer.linkVersion, 5);
    const server = await waitFor('the worker’s channel', () => channels[before]);
    // Not 127.0.1.x (the balancer's source address): USERADDR carried the client's.
    assert.equal(server.peer.remoteAddress, '127.0.0.1');
    assert.equal(server.peer.transportName, undefined);
    assert.equal(failures.length, 0, failures.map((f) => f.message).join('\n'));
    channel.transport.close();
  });

  it('proxy mode, ExtORPort with an eager transport: USERADDR and TRANSPORT reach the worker’s channel', async () => {
    const b = await proxyBalancer();
    const before = channels.length;
    const link = await openLinkThroughExtOrPort({
      port: b.extOrPorts[0]!.port,
      cookie: frontCookie(b),
      clientAddress: address('198.51.100.23:5555'),
      transportName: 'obfs4',
      target: { ...target, addresses: [{ address: '127.0.0.1', port: b.extOrPorts[0]!.port }] },
      eager: true,
    });
    assert.ok(link.sentBeforeOkay > 0, 'the ClientHello should have left before OKAY');
    assert.equal(link.outcome.linkVersion, 5);
    const server = await waitFor('the worker’s channel', () => channels[before]);
    assert.equal(server.peer.remoteAddress, '198.51.100.23');
    assert.equal(server.peer.remotePort, 5555);
    assert.equal(server.peer.transportName, 'obfs4');
    assert.equal(b.stats().backends[0]!.active, 1);
    // The client leaves; the worker closes its side once it sees the end, as the engine does.
    link.close();
    server.transport.close();
    await waitFor('the proxied connection to end', () =>
      b.stats().backends[0]!.active === 0 ? true : undefined,
    );
  });

  it('handoff mode: the socket and its leftover bytes go to the worker, which completes the link', async () => {
    const handedOff: number[] = [];
    const inProcessWorker: HandoffTarget = {
      pick: () => 1,
      handOff: (socket, meta) => {
        handedOff.push(meta.leftover.length);
        adopt(socket, meta);
        return { ok: true };
      },
    };
    const b = await startBalancer(
      {
        mode: 'handoff',
        extOrPorts: [{ host: '127.0.0.1', port: 0 }],
        cookieFile: join(root, 'handoff', 'extended_orport_auth_cookie'),
        orPorts: [],
        backends: [],
        sourceAddresses: [],
        maxConnectionsPerAddress: 2,
        healthCheckIntervalMs: 60_000,
      },
      { handoffTarget: inProcessWorker },
    );
    balancers.push(b);
    for (const eager of [true, false]) {
      const before = channels.length;
      const link = await openLinkThroughExtOrPort({
        port: b.extOrPorts[0]!.port,
        cookie: frontCookie(b),
        clientAddress: address('[2001:db8::7]:4433'),
        transportName: 'snowflake',
        target: { ...target, addresses: [{ address: '127.0.0.1', port: b.extOrPorts[0]!.port }] },
        eager,
      });
      assert.equal(link.outcome.linkVersion, 5);
      const server = await waitFor('the worker’s channel', () => channels[before]);
      assert.equal(server.peer.remoteAddress, '2001:db8::7');
      assert.equal(server.peer.transportName, 'snowflake');
      link.close();
    }
    assert.equal(handedOff.length, 2);
    // The eager client's ClientHello (or its start) was read by the front and passed along.
    assert.ok(handedOff[0]! > 0, `leftover sizes ${handedOff}`);
    assert.equal(handedOff[1], 0);
    assert.equal(b.stats().handoff?.handedOff, 2);
    assert.equal(failures.length, 0, failures.map((f) => f.message).join('\n'));
  });
});
