import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import {
  ChannelCommand,
  decodeChannelCell,
  encodeChannelMessageCell,
  type IpAddress,
  parseIpAddress,
} from '@relayd/cells';
import { systemClock } from '@relayd/common';
import { createRelayTlsCertificates, Ed25519SigningKey, secureRandom, sha256 } from '@relayd/crypto';
import type { EstablishedChannel } from '@relayd/engine';
import {
  buildInitiatorCredentials,
  type InitiatorOutcome,
  LinkHandshakeError,
  LinkInitiator,
} from '@relayd/link-handshake';
import {
  acceptLinkOnSocket,
  acceptLinks,
  createLinkTlsContext,
  type LinkListener,
  linkClientTlsOptions,
  NetError,
  runLinkHandshake,
  TlsChannelProvider,
} from '../src/index.js';
import { makeKeys, type TestKeys, until } from './fixture.js';

let bridge: TestKeys;
let relay: TestKeys;
let listener: LinkListener;
const channels: EstablishedChannel[] = [];
const errors: Error[] = [];
const cleanups: (() => unknown)[] = [];

before(async () => {
  bridge = makeKeys('relaydBridge');
  relay = makeKeys('relaydRelay');
  listener = await acceptLinks({
    host: '127.0.0.1',
    port: 0,
    keys: bridge.keys,
    handshakeTimeoutMs: 2_000,
    onChannel: (c) => channels.push(c),
    onError: (e) => errors.push(e),
  });
});

after(async () => {
  for (const c of channels) c.transport.close();
  await listener.close();
  for (const f of cleanups) await f();
  bridge.remove();
  relay.remove();
});

const target = (keys: TestKeys, port = listener.port) => ({
  addresses: [{ address: '127.0.0.1', port }],
  rsaIdentity: keys.rsaIdentity,
  ed25519Identity: keys.ed25519Identity,
});

/** Reads whole cells from a transport (link protocol `version`), starting with the leftover bytes. */
function cellReader(channel: EstablishedChannel) {
  let buffer = Uint8Array.from(channel.leftover);
  const cells: { command: number; circId: number; body: Uint8Array }[] = [];
  let closed = false;
  const take = () => {
    for (;;) {
      const frame = decodeChannelCell(buffer, channel.peer.linkVersion);
      if (frame.kind !== 'cell') break;
      cells.push(frame.cell);
      buffer = buffer.slice(frame.bytesConsumed);
    }
  };
  channel.transport.attach({
    data(bytes) {
      const next = new Uint8Array(buffer.length + bytes.length);
      next.set(buffer);
      next.set(bytes, buffer.length);
      buffer = next;
      take();
    },
    closed() {
      closed = true;
    },
    drained() {},
  });
  take();
  return { cells, isClosed: () => closed };
}

describe('relayd <-> relayd over TLS on loopback', { timeout: 60_000 }, () => {
  it('opens a channel that proves the bridge identities, over TLS 1.3, and carries cells both ways', async () => {
    const provider = new TlsChannelProvider();
    const before = channels.length;
    const ours = await provider.openChannel(target(bridge));
    assert.equal(ours.peer.linkVersion, 5);
    assert.equal(ours.peer.initiatedLocally, true);
    assert.deepEqual(ours.peer.rsaIdentity, bridge.rsaIdentity);
    assert.deepEqual(ours.peer.ed25519Identity, bridge.ed25519Identity);
    assert.equal(ours.peer.remoteAddress, '127.0.0.1');
    await until(() => channels.length === before + 1, 'the accepted channel');
    const theirs = channels[before]!;
    assert.equal(theirs.peer.linkVersion, 5);
    assert.equal(theirs.peer.initiatedLocally, false);
    assert.equal(theirs.peer.rsaIdentity, undefined, 'a bridge does not authenticate as initiator');
    assert.equal(theirs.peer.remoteAddress, '127.0.0.1');

    const atBridge = cellReader(theirs);
    const atClient = cellReader(ours);
    const createFast = encodeChannelMessageCell(
      0x80000001,
      { type: 'create-fast', keyMaterial: new Uint8Array(20).fill(5) },
      5,
    );
    assert.equal(ours.transport.write(createFast), true);
    await until(() => atBridge.cells.length === 1, 'the CREATE_FAST at the bridge');
    assert.equal(atBridge.cells[0]!.command, ChannelCommand.CREATE_FAST);
    assert.equal(atBridge.cells[0]!.circId, 0x80000001);
    theirs.transport.write(encodeChannelMessageCell(0x80000001, { type: 'destroy', reason: 0 }, 5));
    await until(() => atClient.cells.length === 1, 'the DESTROY at the client');
    assert.equal(atClient.cells[0]!.command, ChannelCommand.DESTROY);
    ours.transport.close();
    await until(() => atBridge.isClosed(), 'the bridge side to see the close');
  });

  it('negotiates TLS 1.3 with the ORPort and presents the current link certificate', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: listener.port, ...linkClientTlsOptions() });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    assert.equal(socket.getProtocol(), 'TLSv1.3');
    assert.deepEqual(
      new Uint8Array(socket.getPeerCertificate(true).raw),
      listener.tls.current.linkCertificate,
    );
    socket.destroy();
  });

  it('refuses a relay that proves another RSA or Ed25519 identity', async () => {
    const provider = new TlsChannelProvider();
    await assert.rejects(
      provider.openChannel({ ...target(bridge), rsaIdentity: relay.rsaIdentity }),
      (e: unknown) => {
        assert.ok(e instanceof LinkHandshakeError);
        assert.equal(e.code, 'IDENTITY_MISMATCH');
        return true;
      },
    );
    await assert.rejects(
      provider.openChannel({ ...target(bridge), ed25519Identity: relay.ed25519Identity }),
      (e: unknown) => e instanceof LinkHandshakeError && e.code === 'IDENTITY_MISMATCH',
    );
    // Without an Ed25519 identity in the target, the RSA identity is enough.
    const before = channels.length;
    const ok = await provider.openChannel({ ...target(bridge), ed25519Identity: undefined });
    await until(() => channels.length === before + 1, 'the accepted channel');
    ok.transport.close();
  });

  it('authenticates as a relay when asked to, and the ORPort sees the proven identities', async () => {
    const nowMs = Date.now();
    const x509 = createRelayTlsCertificates({ identityKey: relay.keys.rsaIdentity, nowMs });
    const credentials = buildInitiatorCredentials({
      rsaIdentity: relay.keys.rsaIdentity,
      ed25519Identity: relay.keys.ed25519Identity,
      signingKey: relay.keys.signingKey,
      signingCert: relay.keys.signingCert,
      identityCertificate: x509.identityCertificate,
      authenticationKey: Ed25519SigningKey.generate(),
      nowMs,
    });
    const provider = new TlsChannelProvider({ authenticate: () => credentials });
    const before = channels.length;
    const ours = await provider.openChannel(target(bridge));
    await until(() => channels.length === before + 1, 'the accepted channel');
    const theirs = channels[before]!;
    assert.deepEqual(theirs.peer.rsaIdentity, relay.rsaIdentity);
    assert.deepEqual(theirs.peer.ed25519Identity, relay.ed25519Identity);
    ours.transport.close();
  });

  it('answers a connection with the TLS context it was accepted under, across a rotation', async () => {
    const oldCertificate = listener.tls.current.linkCertificate;
    const socket = tlsConnect({ host: '127.0.0.1', port: listener.port, ...linkClientTlsOptions() });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    listener.tls.rotate();
    const newCertificate = listener.tls.current.linkCertificate;
    assert.notDeepEqual(newCertificate, oldCertificate);
    const presented = new Uint8Array(socket.getPeerCertificate(true).raw);
    assert.deepEqual(presented, oldCertificate);
    // The handshake on the old connection still verifies: its type 5 certifies the old certificate.
    const outcome = await runLinkHandshake<InitiatorOutcome>({
      socket,
      secureEvent: 'secureConnect',
      clock: systemClock,
      tlsDeadlineMs: 0,
      start: () => {
        const machine = new LinkInitiator({
          peerTlsCertificate: presented,
          peerAddress: parseIpAddress('127.0.0.1') as IpAddress,
          clock: systemClock,
          random: secureRandom,
          expectedPeer: { rsaIdentity: bridge.rsaIdentity },
        });
        return { machine, firstFlight: machine.start() };
      },
      alreadySecure: true,
    });
    assert.deepEqual(outcome.rsaIdentity, bridge.rsaIdentity);
    socket.destroy();
    // A new connection gets the new certificate, and verifies too.
    const provider = new TlsChannelProvider();
    const before = channels.length;
    const fresh = await provider.openChannel(target(bridge));
    await until(() => channels.length === before + 1, 'the accepted channel');
    fresh.transport.close();
    assert.notDeepEqual(sha256(newCertificate), sha256(oldCertificate));
  });
});

describe('the ORPort under bad peers', { timeout: 60_000 }, () => {
  it('closes a peer that sends garbage after TLS, and keeps serving others', async () => {
    const errorsBefore = errors.length;
    const socket = tlsConnect({ host: '127.0.0.1', port: listener.port, ...linkClientTlsOptions() });
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(encodeChannelMessageCell(0, { type: 'certs', certs: [] }, 'negotiating'));
    await closed;
    await until(() => errors.length > errorsBefore, 'the error report');
    const reported = errors[errors.length - 1]!;
    assert.ok(reported instanceof LinkHandshakeError);
    assert.equal(reported.code, 'UNEXPECTED_CELL');
    const before = channels.length;
    const good = await new TlsChannelProvider().openChannel(target(bridge));
    await until(() => channels.length === before + 1, 'the accepted channel');
    good.transport.close();
  });

  it('times out a peer that completes TLS and then says nothing', async () => {
    const errorsBefore = errors.length;
    const socket = tlsConnect({ host: '127.0.0.1', port: listener.port, ...linkClientTlsOptions() });
    socket.on('error', () => {});
    const closed = new Promise<number>((resolve) => {
      const start = Date.now();
      socket.once('close', () => resolve(Date.now() - start));
    });
    const elapsed = await closed;
    assert.ok(elapsed >= 1_500 && elapsed < 5_000, `closed after ${elapsed} ms`);
    await until(() => errors.length > errorsBefore, 'the error report');
    const reported = errors[errors.length - 1]!;
    assert.ok(reported instanceof NetError);
    assert.equal(reported.code, 'HANDSHAKE_TIMEOUT');
  });

  it('survives a peer that resets the connection in the middle of TLS', async () => {
    const errorsBefore = errors.length;
    const socket = tcpConnect(listener.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // The first bytes of a TLS ClientHello record, then a reset.
    socket.write(Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00));
    await new Promise((r) => setTimeout(r, 50));
    socket.resetAndDestroy();
    await until(() => errors.length > errorsBefore, 'the error report');
    assert.equal(listener.pendingHandshakes, 0);
    const before = channels.length;
    const good = await new TlsChannelProvider().openChannel(target(bridge));
    await until(() => channels.length === before + 1, 'the accepted channel');
    good.transport.close();
  });

  it('closes a peer that does not speak TLS', async () => {
    const errorsBefore = errors.length;
    const socket = tcpConnect(listener.port, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET / HTTP/1.0\r\n\r\n');
    await closed;
    await until(() => errors.length > errorsBefore, 'the error report');
    assert.ok(errors[errors.length - 1] instanceof NetError);
  });
});

describe('acceptLinkOnSocket and TlsChannelProvider failures', { timeout: 60_000 }, () => {
  it('runs the responder on a socket accepted elsewhere, with the real client address and transport', async () => {
    const context = createLinkTlsContext(bridge.keys, { nowMs: Date.now() });
    const established: Promise<EstablishedChannel>[] = [];
    const server: Server = createServer((socket: Socket) => {
      established.push(
        acceptLinkOnSocket(socket, {
          tls: context,
          remote: { address: '::ffff:192.0.2.9', port: 4444 },
          transportName: 'obfs4',
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const ours = await new TlsChannelProvider().openChannel(target(bridge, address.port));
    const theirs = await established[0]!;
    assert.equal(theirs.peer.remoteAddress, '192.0.2.9');
    assert.equal(theirs.peer.remotePort, 4444);
    assert.equal(theirs.peer.transportName, 'obfs4');
    ours.transport.close();
    theirs.transport.close();
  });

  it('tries IPv4 before IPv6 and reports a target it cannot reach', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const provider = new TlsChannelProvider({ connectTimeoutMs: 2_000 });
    const before = channels.length;
    const channel = await provider.openChannel({
      ...target(bridge),
      addresses: [
        { address: '::1', port: closedPort },
        { address: '127.0.0.1', port: listener.port },
      ],
    });
    await until(() => channels.length === before + 1, 'the accepted channel');
    channel.transport.close();
    await assert.rejects(
      provider.openChannel({ ...target(bridge), addresses: [{ address: '127.0.0.1', port: closedPort }] }),
      (e: unknown) => e instanceof NetError && e.code === 'CONNECT_FAILED',
    );
  });

  it('gives up on a server that never answers the TLS handshake', async () => {
    const silent: Socket[] = [];
    const server = createServer((s) => silent.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const s of silent) s.destroy();
      return new Promise((r) => server.close(r));
    });
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const start = Date.now();
    await assert.rejects(
      new TlsChannelProvider({ connectTimeoutMs: 300 }).openChannel(target(bridge, address.port)),
      (e: unknown) => e instanceof NetError && e.code === 'CONNECT_TIMEOUT',
    );
    assert.ok(Date.now() - start < 3_000);
  });

  it('builds TLS contexts whose responder credentials match their certificate', () => {
    const context = createLinkTlsContext(bridge.keys, { nowMs: Date.now() });
    assert.deepEqual(context.credentials.tlsCertificate, context.linkCertificate);
    assert.deepEqual(context.credentials.certs[0]!.body, context.linkCertificate);
  });
});
