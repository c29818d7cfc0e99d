import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { utf8 } from '@relayd/common';
import { parseConfig, type RelaydConfig } from '@relayd/config';
import { generateKeys } from '@relayd/keys';
import {
  formatProtocols,
  parseExtraInfo,
  parseServerDescriptor,
  verifyExtraInfo,
  verifyServerDescriptor,
} from '@relayd/netdoc';
import {
  advertisedBandwidth,
  buildOwnDocuments,
  FileDirectoryStorage,
  RELAYD_PROTOCOL_LINE,
  RELAYD_PROTOCOLS,
  writeDataFile,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'relayd-supervisor-docs-'));
after(() => rmSync(root, { recursive: true, force: true }));

function config(lines: string): RelaydConfig {
  const parsed = parseConfig(`DataDirectory ${root}\nContactInfo ops@example.org\nORPort 9001\n${lines}`);
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.error.errors));
  return parsed.value.config;
}

describe('the proto line', () => {
  it('lists exactly what relayd implements', () => {
    assert.equal(
      RELAYD_PROTOCOL_LINE,
      'Cons=1-2 Desc=1-2 DirCache=1 FlowCtrl=1 Link=3-5 LinkAuth=3 Microdesc=1-2 Relay=2-4',
    );
    assert.equal(formatProtocols(RELAYD_PROTOCOLS), RELAYD_PROTOCOL_LINE);
    for (const absent of ['Conflux', 'HSDir', 'HSIntro', 'HSRend', 'Padding'])
      assert.equal(RELAYD_PROTOCOLS.has(absent), false);
    assert.deepEqual(RELAYD_PROTOCOLS.get('FlowCtrl'), [1], 'no congestion control (FlowCtrl=2)');
    assert.equal(RELAYD_PROTOCOLS.get('Relay')?.includes(1), false, 'no TAP (Relay=1)');
  });
});

describe('bandwidth', () => {
  it('advertises BandwidthRate lowered by RelayBandwidthRate and MaxAdvertisedBandwidth, as tor does', () => {
    assert.deepEqual(advertisedBandwidth(config('').bandwidth), {
      average: 1073741824,
      burst: 1073741824,
      observed: 0,
    });
    assert.deepEqual(
      advertisedBandwidth(
        config(
          'BandwidthRate 10 MBytes\nBandwidthBurst 20 MBytes\nRelayBandwidthRate 5 MBytes\nRelayBandwidthBurst 8 MBytes\nMaxAdvertisedBandwidth 4 MBytes\n',
        ).bandwidth,
      ),
      { average: 4 * 1048576, burst: 8 * 1048576, observed: 0 },
    );
  });
});

describe('own documents', () => {
  const keys = generateKeys(join(root, 'data'), { nowMs: Date.now(), nickname: 'docsTest' });
  const nowMs = Date.parse('2025-06-01T12:00:00Z');
  const documents = buildOwnDocuments(
    {
      config: config('Nickname docsTest\nBridgeDistribution moat\n'),
      keys,
      endpoint: { ipv4: '203.0.113.5', orPort: 9001, source: 'Address' },
      platform: 'relayd 9.9.9 on Linux',
      startedAtMs: nowMs - 3_600_000,
    },
    { nowMs: () => nowMs, monotonicMs: () => 0 },
  );

  it('publishes a replacement at least a second after the documents it replaces', () => {
    const inputs = {
      config: config('Nickname docsTest\n'),
      keys,
      endpoint: { ipv4: '203.0.113.5', orPort: 9001, source: 'Address' as const },
      platform: 'relayd 9.9.9 on Linux',
      startedAtMs: nowMs - 3_600_000,
    };
    const clock = { nowMs: () => nowMs + 400, monotonicMs: () => 0 };
    // Rebuilt within the same second: one second later, so it is not taken for the one published.
    const again = buildOwnDocuments({ ...inputs, previousPublishedSeconds: nowMs / 1000 }, clock);
    assert.equal(again.publishedSeconds, nowMs / 1000 + 1);
    const sd = parseServerDescriptor(utf8(again.serverDescriptor));
    assert.ok(sd.ok);
    assert.equal(sd.value.published, nowMs / 1000 + 1);
    // Later than that, the clock decides.
    assert.equal(
      buildOwnDocuments({ ...inputs, previousPublishedSeconds: nowMs / 1000 - 60 }, clock).publishedSeconds,
      nowMs / 1000,
    );
  });

  it('builds a descriptor and extra-info that parse and verify, naming each other', () => {
    const sd = parseServerDescriptor(utf8(documents.serverDescriptor));
    assert.ok(sd.ok);
    const verified = verifyServerDescriptor(sd.value, { now: nowMs / 1000 });
    assert.ok(verified.ok, !verified.ok ? verified.error.message : '');
    assert.equal(sd.value.nickname, 'docsTest');
    assert.equal(sd.value.address, '203.0.113.5');
    assert.equal(sd.value.orPort, 9001);
    assert.equal(sd.value.uptime, 3600);
    assert.equal(sd.value.published, nowMs / 1000);
    assert.equal(documents.publishedSeconds, nowMs / 1000);
    assert.equal(sd.value.platform, 'relayd 9.9.9 on Linux');
    assert.equal(sd.value.contact, 'ops@example.org');
    assert.equal(sd.value.bridgeDistributionRequest, 'moat');
    assert.equal(sd.value.tunnelledDirServer, true);
    assert.deepEqual(sd.value.ntorOnionKey, keys.ntorOnionKey.publicKey);
    assert.equal(formatProtocols(sd.value.protocols), RELAYD_PROTOCOL_LINE);
    const ei = parseExtraInfo(utf8(documents.extraInfo));
    assert.ok(ei.ok);
    assert.ok(
      verifyExtraInfo(ei.value, {
        identityKey: keys.rsaIdentity.publicKey,
        ed25519Identity: keys.ed25519Identity,
      }).ok,
    );
    assert.deepEqual(ei.value.transports, []);
    assert.deepEqual(sd.value.extraInfoDigest?.sha1, ei.value.digest);
    assert.deepEqual(sd.value.extraInfoDigest?.sha256, ei.value.sha256Digest);
  });
});

describe('DataDirectory files', () => {
  it('replaces a file atomically with mode 0600, and only when it changed', () => {
    const dir = mkdtempSync(join(root, 'files-'));
    assert.equal(writeDataFile(dir, 'bridge-lines.txt', 'Bridge 192.0.2.1:443 AB\n'), true);
    assert.equal(writeDataFile(dir, 'bridge-lines.txt', 'Bridge 192.0.2.1:443 AB\n'), false);
    assert.equal(readFileSync(join(dir, 'bridge-lines.txt'), 'latin1'), 'Bridge 192.0.2.1:443 AB\n');
    assert.equal(statSync(join(dir, 'bridge-lines.txt')).mode & 0o777, 0o600);
  });

  it('FileDirectoryStorage round-trips bytes, reads a missing file as nothing, and refuses path names', async () => {
    const dir = mkdtempSync(join(root, 'cache-'));
    const storage = new FileDirectoryStorage(dir);
    assert.equal(await storage.read('cached-certs'), undefined);
    const bytes = Uint8Array.from([0, 1, 2, 255]);
    await storage.write('cached-certs', bytes);
    assert.deepEqual(await storage.read('cached-certs'), bytes);
    assert.equal(statSync(join(dir, 'cached-certs')).mode & 0o777, 0o600);
    await assert.rejects(storage.write('../escape', bytes));
  });
});
