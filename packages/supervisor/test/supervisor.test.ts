/**
 * The supervisor in this process with its real parts (keys on disk, the
 * in-process worker on a loopback ORPort, the directory store and fetcher)
 * and fakes only at the edges: the authorities' HTTP (refused), the
 * descriptor upload (recorded) and the clock (moved by hand).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toBase64Unpadded, utf8 } from '@relayd/common';
import { parseConfig } from '@relayd/config';
import { parseServerDescriptor } from '@relayd/netdoc';
import { type DescriptorPostRequest, Supervisor } from '../src/index.js';
import { type LogLine, recordingLogger } from './fake-workers.js';

const DAY = 86_400_000;
const AUTH_FP = '0000000000000000000000000000000000000001';

describe('supervisor', { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'relayd-supervisor-'));
  const dataDir = join(root, 'data');
  const lines: LogLine[] = [];
  const posts: DescriptorPostRequest[] = [];
  let offsetMs = 0;
  const clock = { nowMs: () => Date.now() + offsetMs, monotonicMs: () => performance.now() };
  let supervisor: Supervisor;

  before(async () => {
    const parsed = parseConfig(
      [
        `DataDirectory ${dataDir}`,
        'Nickname supervisorTest',
        'ContactInfo ops@example.org',
        'ORPort 127.0.0.1:auto',
        'PublishServerDescriptor 1',
        `DirAuthority bridgeauth bridge orport=9 127.0.0.1:9 ${AUTH_FP}`,
        `DirAuthority v3auth orport=8 v3ident=${'A'.repeat(40)} 127.0.0.1:8 ${AUTH_FP.replace(/1$/, '2')}`,
      ].join('\n'),
    );
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error.errors));
    supervisor = await Supervisor.start(
      { config: parsed.value.config, version: '0.0.0-test', maintenanceIntervalMs: 3_600_000 },
      {
        logger: recordingLogger(lines),
        clock,
        fetch: async () => {
          throw new Error('connection refused');
        },
        post: async (request) => {
          posts.push(request);
          return { status: 200 };
        },
      },
    );
  });

  after(async () => {
    await supervisor?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const descriptor = () => {
    const parsed = parseServerDescriptor(utf8(readFileSync(join(dataDir, 'server-descriptor'), 'latin1')));
    assert.ok(parsed.ok);
    return parsed.value;
  };

  it('creates the keys and writes fingerprint, bridge line and documents', () => {
    const status = supervisor.status();
    const port = status.workers.length === 1 ? status.endpoint.orPort : 0;
    assert.ok(port > 0);
    assert.equal(status.endpoint.ipv4, '127.0.0.1');
    assert.equal(
      readFileSync(join(dataDir, 'fingerprint'), 'latin1'),
      `supervisorTest ${supervisor.fingerprint}\n`,
    );
    const bridgeLine = `Bridge 127.0.0.1:${port} ${supervisor.fingerprint}`;
    assert.deepEqual(supervisor.bridgeLines, [bridgeLine]);
    assert.equal(readFileSync(join(dataDir, 'bridge-lines.txt'), 'latin1'), `${bridgeLine}\n`);
    assert.equal(
      readFileSync(join(dataDir, 'server-descriptor'), 'latin1'),
      supervisor.currentDocuments.serverDescriptor,
    );
    assert.equal(readFileSync(join(dataDir, 'extra-info'), 'latin1'), supervisor.currentDocuments.extraInfo);
    assert.equal(descriptor().orPort, port);
    assert.ok(lines.some((l) => l.level === 'notice' && l.message === `bridge line: ${bridgeLine}`));
  });

  it('uploads the documents to the bridge authority', async () => {
    await supervisor.maintain();
    assert.equal(posts.length, 1);
    assert.deepEqual(
      { host: posts[0]!.host, port: posts[0]!.port, path: posts[0]!.path },
      { host: '127.0.0.1', port: 9, path: '/tor/' },
    );
    const { serverDescriptor, extraInfo } = supervisor.currentDocuments;
    assert.equal(Buffer.from(posts[0]!.body).toString('latin1'), serverDescriptor + extraInfo);
    assert.equal(
      supervisor.status().publishing[0]?.acceptedPublished,
      supervisor.currentDocuments.publishedSeconds,
    );
  });

  it('keeps running while the authorities are unreachable, and says why', async () => {
    const deadline = Date.now() + 10_000;
    while (supervisor.status().directory.lastError === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const directory = supervisor.status().directory;
    assert.equal(directory.consensus, undefined);
    assert.match(directory.lastError?.message ?? '', /connection refused/);
  });

  it('rotates the onion keys on schedule: new snapshot, new descriptor, new upload', async () => {
    const before = descriptor();
    // Past the rotation (28 days) and into the signing certificate's last day (30 days, 1 day slop).
    offsetMs = 29.5 * DAY;
    await supervisor.maintain();
    const after = descriptor();
    const keyFile = readFileSync(join(dataDir, 'keys', 'secret_onion_key_ntor'));
    assert.notDeepEqual(after.ntorOnionKey, before.ntorOnionKey);
    assert.deepEqual(after.ntorOnionKey, new Uint8Array(keyFile.subarray(64)));
    assert.notDeepEqual(
      after.identityCert.certifiedKey,
      before.identityCert.certifiedKey,
      'the signing key was renewed too',
    );
    assert.ok(after.published > before.published);
    assert.equal(posts.length, 2, 'the new descriptor was uploaded');
    assert.equal(readFileSync(join(dataDir, 'keys', 'secret_onion_key_ntor.old')).length, 96);
    assert.ok(lines.some((l) => l.message === 'rotated onion keys'));
    assert.equal(toBase64Unpadded(after.ntorOnionKey).length, 43);
  });

  it('does nothing more while nothing is due', async () => {
    const published = supervisor.currentDocuments.publishedSeconds;
    offsetMs = 29.5 * DAY + 60_000;
    await supervisor.maintain();
    assert.equal(supervisor.currentDocuments.publishedSeconds, published);
    assert.equal(posts.length, 2);
  });

  it('forgets the previous onion key after the grace period', async () => {
    offsetMs = 29.5 * DAY + 7 * DAY;
    await supervisor.maintain();
    assert.throws(() => readFileSync(join(dataDir, 'keys', 'secret_onion_key_ntor.old')), /ENOENT/);
  });

  it('rotates the onion keys on request, in turn with maintenance, which carries on afterwards', async () => {
    const before = descriptor();
    const uploads = posts.length;
    const rotated = await supervisor.rotateOnionKeysNow();
    const after = descriptor();
    assert.equal(rotated.previousNtorOnionKey, toBase64Unpadded(before.ntorOnionKey));
    assert.equal(rotated.ntorOnionKey, toBase64Unpadded(after.ntorOnionKey));
    assert.notEqual(rotated.ntorOnionKey, rotated.previousNtorOnionKey);
    assert.equal(rotated.workersUpdated, 1);
    assert.equal(rotated.descriptorPublishedSeconds, after.published);
    assert.equal(posts.length, uploads + 1, 'the new descriptor was uploaded');
    assert.equal(readFileSync(join(dataDir, 'keys', 'secret_onion_key_ntor.old')).length, 96);
    // The schedule still runs: past the grace period the previous key is forgotten.
    offsetMs += 7 * DAY + 60_000;
    await supervisor.maintain();
    assert.throws(() => readFileSync(join(dataDir, 'keys', 'secret_onion_key_ntor.old')), /ENOENT/);
    // Asked for while a maintenance pass runs: the two take turns, and maintenance goes on after both.
    const [, again] = await Promise.all([supervisor.maintain(), supervisor.rotateOnionKeysNow()]);
    assert.equal(again.previousNtorOnionKey, rotated.ntorOnionKey);
    assert.equal(toBase64Unpadded(descriptor().ntorOnionKey), again.ntorOnionKey);
    offsetMs += 7 * DAY + 60_000;
    await supervisor.maintain();
    assert.throws(() => readFileSync(join(dataDir, 'keys', 'secret_onion_key_ntor.old')), /ENOENT/);
  });

  it('reloads: a new ContactInfo makes a new descriptor; a new ORPort waits for a restart', async () => {
    const current = supervisor.currentConfig;
    const published = supervisor.currentDocuments.publishedSeconds;
    const uploads = posts.length;
    offsetMs += 2_000;
    const outcome = await supervisor.reload({
      ...current,
      contactInfo: 'new-ops@example.org',
      orPorts: [{ ...current.orPorts[0]!, port: 9 }],
      onionKeyRotation: 'frozen',
    });
    assert.deepEqual([...outcome.applied].sort(), ['contactInfo', 'onionKeyRotation']);
    assert.deepEqual(outcome.needsRestart, ['orPorts']);
    assert.equal(outcome.restartedWorkers, false);
    assert.equal(descriptor().contact, 'new-ops@example.org');
    assert.ok(supervisor.currentDocuments.publishedSeconds > published);
    assert.equal(posts.length, uploads + 1, 'the new descriptor was uploaded');
    assert.deepEqual(supervisor.currentConfig.orPorts, current.orPorts, 'the running ORPort is kept');
    assert.equal(supervisor.currentConfig.onionKeyRotation, 'frozen');
    assert.ok(
      lines.some(
        (l) => l.level === 'warn' && /take effect only when relayd restarts: orPorts/.test(l.message),
      ),
    );
    // Frozen: far past the rotation time, nothing rotates.
    const before = descriptor().ntorOnionKey;
    offsetMs += 60 * DAY;
    await supervisor.maintain();
    assert.deepEqual(descriptor().ntorOnionKey, before);
  });

  it('cannot restart an in-process worker: a worker setting is reported as needing a restart', async () => {
    const outcome = await supervisor.reload({
      ...supervisor.currentConfig,
      extendAllowPrivateAddresses: true,
    });
    assert.deepEqual(outcome.applied, ['extendAllowPrivateAddresses']);
    assert.deepEqual(outcome.needsRestart, ['extendAllowPrivateAddresses']);
  });

  it('logs heartbeat lines with the worker statistics', () => {
    supervisor.logHeartbeat();
    const total = lines.find((l) => (l.fields as { heartbeat?: string }).heartbeat === 'total');
    assert.match(
      total?.message ?? '',
      /^Heartbeat: relayd's uptime is .* with 1 worker, \d+ circuits? and \d+ channels? open\./,
    );
    assert.match(total?.message ?? '', /Connections by transport: vanilla \d+\.$/);
    const worker = lines.find((l) => (l.fields as { heartbeat?: string }).heartbeat === 'worker');
    assert.ok(worker);
    assert.match(worker.message, /^Heartbeat: worker 1 \(pid \d+, up /);
    assert.equal((worker.fields as { workerPid?: number }).workerPid, process.pid);
  });

  it('stops cleanly', async () => {
    await supervisor.stop();
    assert.ok(lines.some((l) => l.message === 'relayd stopped'));
  });
});
