/**
 * One relayd worker in this process on a real loopback socket: a client
 * opens a TLS channel to its ORPort (proving the bridge identity), builds
 * circuits with CREATE_FAST and ntor, and keeps working across a key
 * snapshot update (onion-key rotation keeps the previous key for the grace
 * period; expiring it refuses the old key; a renewed signing key rotates the
 * TLS context). Stopping closes the channel and the port.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DestroyReason } from '@relayd/cells';
import { InternalError, utf8 } from '@relayd/common';
import { parseConfig, type RelaydConfig } from '@relayd/config';
import type { DirectoryService } from '@relayd/engine';
import { generateKeys, type KeyStore } from '@relayd/keys';
import { startWorker, WORKER_START_DATA_VERSION, type WorkerHandle } from '@relayd/worker';
import { LinkClient, type RelayTarget } from '../support/link-client.js';

const DAY_MS = 86_400_000;

/** Answers every directory request with 404: this test builds no directory streams. */
const notFound: DirectoryService = {
  handle: async () => utf8('HTTP/1.0 404 Not found\r\n\r\n'),
};

function configFor(dataDir: string): RelaydConfig {
  const parsed = parseConfig(
    `DataDirectory ${dataDir}\nNickname workerTest\nContactInfo ops@example.org\nORPort 127.0.0.1:auto\n`,
  );
  assert.ok(parsed.ok);
  return parsed.value.config;
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

describe('worker', { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-worker-'));
  let store: KeyStore;
  let worker: WorkerHandle | undefined;
  const clients: LinkClient[] = [];
  let target: RelayTarget;

  before(async () => {
    // A 2-hour signing certificate with a 1-day slop: every refresh renews it.
    store = generateKeys(join(root, 'data'), {
      nowMs: Date.now(),
      nickname: 'workerTest',
      signingKeyLifetimeMs: 2 * 60 * 60 * 1000,
      signingKeySlopMs: DAY_MS,
    });
    worker = await startWorker(
      {
        version: WORKER_START_DATA_VERSION,
        workerId: 1,
        keys: store.workerSnapshot(),
        config: configFor(store.dataDir),
        publicAddresses: ['127.0.0.1'],
      },
      { directoryService: notFound },
    );
    const port = worker.listeners[0]!.port;
    target = {
      address: '127.0.0.1',
      port,
      rsaIdentity: store.rsaIdentity.publicKey.fingerprint(),
      ed25519Identity: store.ed25519Identity,
    };
  });

  after(async () => {
    for (const c of clients) c.close();
    await worker?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function client(): Promise<LinkClient> {
    const c = await LinkClient.open(target);
    clients.push(c);
    return c;
  }

  it('listens on the auto port it was given and proves the bridge identities on link protocol 5', async () => {
    assert.equal(worker!.listeners.length, 1);
    assert.equal(worker!.listeners[0]!.host, '127.0.0.1');
    assert.ok(worker!.listeners[0]!.port > 0);
    const c = await client();
    assert.equal(c.linkVersion, 5);
  });

  it('answers CREATE_FAST and ntor with the current onion key', async () => {
    const c = await client();
    const fast = await c.createFast();
    assert.equal(fast.crypto.hopCount, 1);
    const ntor = await c.createNtor({
      rsaIdentity: target.rsaIdentity,
      ntorOnionKey: store.ntorOnionKey.publicKey,
    });
    assert.ok('crypto' in ntor, 'CREATED2 verified');
    const stats = worker!.stats();
    assert.equal(stats.workerId, 1);
    assert.ok(stats.linksAccepted >= 2);
    assert.ok(stats.circuits >= 2);
  });

  it('takes a rotated onion key from a new snapshot and keeps the previous one for the grace period', async () => {
    const oldKey = store.ntorOnionKey.publicKey;
    store.rotateOnionKeys();
    worker!.updateKeys(store.workerSnapshot());
    const c = await client();
    const withNew = await c.createNtor({
      rsaIdentity: target.rsaIdentity,
      ntorOnionKey: store.ntorOnionKey.publicKey,
    });
    assert.ok('crypto' in withNew);
    const withOld = await c.createNtor({ rsaIdentity: target.rsaIdentity, ntorOnionKey: oldKey });
    assert.ok('crypto' in withOld, 'the previous key still works');

    store.expireOldOnionKeys();
    worker!.updateKeys(store.workerSnapshot());
    const refused = await c.createNtor({ rsaIdentity: target.rsaIdentity, ntorOnionKey: oldKey });
    assert.deepEqual(refused, { destroyed: DestroyReason.PROTOCOL });
  });

  it('serves new connections with a renewed signing key', async () => {
    const before = store.signingCert;
    assert.equal(store.refreshSigningKey(Date.now()), true);
    assert.notDeepEqual(store.signingCert, before);
    worker!.updateKeys(store.workerSnapshot());
    // The link handshake checks the whole chain: identity -> (new) signing key -> TLS certificate.
    const c = await client();
    assert.ok('crypto' in (await c.createFast()));
  });

  it('refuses a snapshot of another identity', () => {
    const other = generateKeys(join(root, 'other'), { nowMs: Date.now(), nickname: 'other' });
    assert.throws(() => worker!.updateKeys(other.workerSnapshot()), InternalError);
  });

  it('stop() closes the channels and the port', async () => {
    const c = await client();
    await worker!.stop();
    await withDeadline(c.closed, 15_000, 'the channel to close');
    assert.equal(await connectionRefused(target.port), true);
    assert.equal(worker!.stats().channels, 0);
  });
});
