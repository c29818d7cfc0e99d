/**
 * relayd's link layer against real C tor (Debian tor 0.4.9.x) on loopback:
 * - relayd as initiator: TlsChannelProvider opens a channel to a real tor
 *   relay, proves the identities tor wrote in its DataDirectory, refuses a
 *   wrong expected identity, and (playing a relay) authenticates to tor with
 *   CERTS + AUTHENTICATE, which tor logs as good;
 * - relayd as responder: a real tor client configured with relayd as its
 *   bridge completes the handshake with relayd's ORPort (so it accepted
 *   relayd's CERTS) and then sends CREATE_FAST on the channel.
 *
 * tor's only directory authority is a fake one at 127.0.0.1:9, so nothing
 * leaves loopback. Every tor process is stopped by its PID in `after`, also
 * when a test fails, and every wait is bounded.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ChannelCommand, decodeChannelCell, decodeChannelCellMessage } from '@relayd/cells';
import { fromBase64, fromHex } from '@relayd/common';
import { createRelayTlsCertificates, Ed25519SigningKey } from '@relayd/crypto';
import type { EstablishedChannel } from '@relayd/engine';
import { generateKeys, workerKeysFromSnapshot } from '@relayd/keys';
import { buildInitiatorCredentials, LinkHandshakeError } from '@relayd/link-handshake';
import { acceptLinks, type LinkListener, linkClientTlsOptions, TlsChannelProvider } from '@relayd/net';
import { LoopbackAllocator, ProcessRegistry, type StandaloneTor, startStandaloneTor } from '@relayd/testnet';

const START_TIMEOUT_MS = 60_000;
const IO_TIMEOUT_MS = 30_000;

const root = mkdtempSync(join(tmpdir(), 'relayd-link-interop-'));
const registry = new ProcessRegistry();
const ports = new LoopbackAllocator();

after(async () => {
  await registry.stopAll();
  rmSync(root, { recursive: true, force: true });
});

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) assert.fail(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function dataFileValue(dataDir: string, name: string): string {
  return readFileSync(join(dataDir, name), 'latin1').trim().split(' ')[1]!;
}

describe('relayd initiator -> real tor relay', { timeout: 180_000 }, () => {
  const dataDir = join(root, 'relay-data');
  let tor: StandaloneTor;
  let orPort = 0;
  let rsaIdentity: Uint8Array;
  let ed25519Identity: Uint8Array;

  before(async () => {
    orPort = await ports.allocatePort('127.0.0.1');
    mkdirSync(dataDir, { mode: 0o700 });
    tor = startStandaloneTor({
      registry,
      dir: join(root, 'relay'),
      torrcLines: [
        `DataDirectory ${dataDir}`,
        `ORPort 127.0.0.1:${orPort}`,
        'SocksPort 0',
        'AssumeReachable 1',
        'PublishServerDescriptor 0',
        'ExitRelay 0',
        'Nickname relaydLinkPeer',
        'ProtocolWarnings 1',
        // The AUTHENTICATE verdict is logged in the handshake domain at debug level.
        'Log [handshake]debug [*]notice stdout',
      ],
    });
    await tor.waitForLog(/Opened OR listener connection \(ready\)/, START_TIMEOUT_MS, 'an open ORPort');
    await waitForFile(join(dataDir, 'fingerprint-ed25519'), START_TIMEOUT_MS);
    rsaIdentity = fromHex(dataFileValue(dataDir, 'fingerprint'))!;
    ed25519Identity = fromBase64(dataFileValue(dataDir, 'fingerprint-ed25519'))!;
    assert.equal(rsaIdentity.length, 20);
    assert.equal(ed25519Identity.length, 32);
  });

  const target = () => ({
    addresses: [{ address: '127.0.0.1', port: orPort }],
    rsaIdentity,
    ed25519Identity,
  });

  it('opens a channel on link protocol 5 that proves the relay RSA and Ed25519 identities', async () => {
    const channel = await new TlsChannelProvider({ connectTimeoutMs: IO_TIMEOUT_MS }).openChannel(target());
    try {
      assert.equal(channel.peer.linkVersion, 5);
      assert.equal(channel.peer.initiatedLocally, true);
      assert.deepEqual(channel.peer.rsaIdentity, rsaIdentity);
      assert.deepEqual(channel.peer.ed25519Identity, ed25519Identity);
    } finally {
      channel.transport.close();
    }
  });

  it('negotiates TLS 1.3 with tor', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: orPort, ...linkClientTlsOptions() });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', () => resolve());
        socket.once('error', reject);
      });
      assert.equal(socket.getProtocol(), 'TLSv1.3');
    } finally {
      socket.destroy();
    }
  });

  it('refuses the relay when another identity was expected', async () => {
    const provider = new TlsChannelProvider({ connectTimeoutMs: IO_TIMEOUT_MS });
    const wrongRsa = Uint8Array.from(rsaIdentity);
    wrongRsa[0]! ^= 0x01;
    await assert.rejects(
      provider.openChannel({ ...target(), rsaIdentity: wrongRsa }),
      (e: unknown) => e instanceof LinkHandshakeError && e.code === 'IDENTITY_MISMATCH',
    );
    const wrongEd = Uint8Array.from(ed25519Identity);
    wrongEd[31]! ^= 0x80;
    await assert.rejects(
      provider.openChannel({ ...target(), ed25519Identity: wrongEd }),
      (e: unknown) => e instanceof LinkHandshakeError && e.code === 'IDENTITY_MISMATCH',
    );
  });

  it('authenticates to tor as a relay (CERTS + AUTHENTICATE) when asked to', async () => {
    const keysDir = join(root, 'initiator-keys');
    const store = generateKeys(keysDir, { nowMs: Date.now(), nickname: 'relaydInitiator' });
    const keys = workerKeysFromSnapshot(store.workerSnapshot());
    const nowMs = Date.now();
    const credentials = buildInitiatorCredentials({
      rsaIdentity: keys.rsaIdentity,
      ed25519Identity: keys.ed25519Identity,
      signingKey: keys.signingKey,
      signingCert: keys.signingCert,
      identityCertificate: createRelayTlsCertificates({ identityKey: keys.rsaIdentity, nowMs })
        .identityCertificate,
      authenticationKey: Ed25519SigningKey.generate(),
      nowMs,
    });
    const provider = new TlsChannelProvider({
      connectTimeoutMs: IO_TIMEOUT_MS,
      authenticate: () => credentials,
    });
    const channel = await provider.openChannel(target());
    try {
      await tor.waitForLog(
        /Got an AUTHENTICATE cell on .*type 3: Looks good|Received a bad (CERTS|AUTHENTICATE) cell/,
        IO_TIMEOUT_MS,
        'its AUTHENTICATE verdict',
      );
      assert.doesNotMatch(tor.output, /Received a bad (CERTS|AUTHENTICATE) cell/);
      assert.match(tor.output, /Got an AUTHENTICATE cell on .*type 3: Looks good/);
    } finally {
      channel.transport.close();
    }
  });
});

describe('real tor client -> relayd ORPort (relayd as its bridge)', { timeout: 180_000 }, () => {
  let listener: LinkListener;
  let tor: StandaloneTor;
  const channels: EstablishedChannel[] = [];
  const failures: Error[] = [];
  let fingerprint = '';

  before(async () => {
    const bridgeDir = join(root, 'bridge-data');
    const store = generateKeys(bridgeDir, { nowMs: Date.now(), nickname: 'relaydBridge' });
    fingerprint = store.fingerprint();
    listener = await acceptLinks({
      host: '127.0.0.1',
      port: 0,
      keys: workerKeysFromSnapshot(store.workerSnapshot()),
      onChannel: (c) => channels.push(c),
      onError: (e) => failures.push(e),
    });
    const clientDir = join(root, 'client-data');
    mkdirSync(clientDir, { mode: 0o700 });
    const socksPort = await ports.allocatePort('127.0.0.1');
    tor = startStandaloneTor({
      registry,
      dir: join(root, 'client'),
      torrcLines: [
        `DataDirectory ${clientDir}`,
        `SocksPort 127.0.0.1:${socksPort}`,
        'UseBridges 1',
        `Bridge 127.0.0.1:${listener.port} ${fingerprint}`,
        'ProtocolWarnings 1',
        'Log [handshake,or]info [*]notice stdout',
      ],
    });
  });

  after(async () => {
    for (const c of channels) c.transport.close();
    await listener?.close();
  });

  it('completes the link handshake with the client and receives its CREATE_FAST', async () => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (channels.length === 0) {
      if (Date.now() > deadline) {
        assert.fail(
          `no channel within ${START_TIMEOUT_MS} ms; handshake failures: ${failures.map((f) => f.message).join('; ')}\n${tor.output}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const channel = channels[0]!;
    assert.equal(channel.peer.linkVersion, 5);
    assert.equal(channel.peer.initiatedLocally, false);
    assert.equal(channel.peer.rsaIdentity, undefined, 'a client does not authenticate');
    assert.equal(channel.peer.remoteAddress, '127.0.0.1');

    // Read cells off the channel, starting with the handshake's leftover bytes.
    let buffer = Uint8Array.from(channel.leftover);
    const commands: number[] = [];
    let createFastBody: Uint8Array | undefined;
    const take = () => {
      for (;;) {
        const frame = decodeChannelCell(buffer, channel.peer.linkVersion);
        if (frame.kind !== 'cell') return;
        buffer = buffer.slice(frame.bytesConsumed);
        commands.push(frame.cell.command);
        if (frame.cell.command === ChannelCommand.CREATE_FAST) {
          const message = decodeChannelCellMessage(frame.cell);
          assert.ok(message.ok && message.value.type === 'create-fast');
          assert.ok(frame.cell.circId !== 0);
          createFastBody = message.value.keyMaterial;
        }
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
      closed() {},
      drained() {},
    });
    take();
    const cellDeadline = Date.now() + IO_TIMEOUT_MS;
    while (!createFastBody) {
      if (Date.now() > cellDeadline) {
        assert.fail(
          `no CREATE_FAST within ${IO_TIMEOUT_MS} ms; cells seen: [${commands.join(', ')}]\n${tor.output}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(createFastBody.length, 20);
    assert.doesNotMatch(tor.output, /Received a bad CERTS cell|Invalid certificate chain/);
  });
});
