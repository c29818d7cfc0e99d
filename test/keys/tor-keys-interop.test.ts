/**
 * Key files interoperate with real C tor (Debian tor 0.4.9.x, /usr/bin/tor):
 * tor runs on keys relayd made, relayd reads keys tor made, and damaged files
 * are refused by relayd without a new identity ever being written.
 *
 * tor runs on loopback only: its one directory authority is a fake one at
 * 127.0.0.1:9, so it never contacts the public network. Every tor process is
 * stopped by its PID, also when a test fails.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { groupFingerprint, KeyErrorCode, KeyStoreError, loadOrCreateKeys, readKeyStatus } from '@relayd/keys';
import { LoopbackAllocator, ProcessRegistry, startStandaloneTor } from '@relayd/testnet';

const NICKNAME = 'relaydKeysInterop';
const START_TIMEOUT_MS = 60_000;

const root = mkdtempSync(join(tmpdir(), 'relayd-keys-interop-'));
const registry = new ProcessRegistry();
const ports = new LoopbackAllocator();
after(async () => {
  await registry.stopAll();
  rmSync(root, { recursive: true, force: true });
});

/** A minimal bridge torrc on a free loopback ORPort. */
async function bridgeTorrc(dataDir: string): Promise<string[]> {
  const port = await ports.allocatePort('127.0.0.1');
  return [
    `DataDirectory ${dataDir}`,
    'BridgeRelay 1',
    `ORPort 127.0.0.1:${port}`,
    'SocksPort 0',
    'PublishServerDescriptor 0',
    `Nickname ${NICKNAME}`,
    'AssumeReachable 1',
    'Log notice stdout',
  ];
}

/** Runs tor with a config until it has loaded its keys and opened the ORPort, then stops it by PID. */
async function runTorUntilKeysLoaded(dir: string, torrcLines: readonly string[]): Promise<string> {
  const tor = startStandaloneTor({ registry, dir, torrcLines });
  try {
    await tor.waitForLog(/Opened OR listener connection \(ready\)/, START_TIMEOUT_MS, 'an open ORPort');
    await tor.waitForLog(
      /Your Tor server's identity key ed25519 fingerprint is/,
      START_TIMEOUT_MS,
      'loading its keys',
    );
  } finally {
    await tor.stop();
  }
  return tor.output;
}

function keyFiles(dataDir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(join(dataDir, 'keys')).sort())
    out.set(name, readFileSync(join(dataDir, 'keys', name)));
  return out;
}

function fileValue(dataDir: string, name: string): string {
  const line = readFileSync(join(dataDir, name), 'latin1');
  assert.match(line, new RegExp(`^${NICKNAME} \\S+\\n$`), `${name} is "<Nickname> <value>\\n"`);
  return line.trim().split(' ')[1]!;
}

describe('key files interoperate with C tor', { timeout: 300_000 }, () => {
  it('tor runs on keys relayd generated and keeps them', async () => {
    const dir = join(root, 'relayd-made');
    mkdirSync(dir);
    const dataDir = join(dir, 'data');
    const store = loadOrCreateKeys(dataDir, { nowMs: Date.now(), nickname: NICKNAME });
    const ours = keyFiles(dataDir);
    const torrc = await bridgeTorrc(dataDir);

    // tor --list-fingerprint prints "<Nickname> <fingerprint in groups of four>".
    const list = startStandaloneTor({
      registry,
      dir,
      torrcLines: torrc,
      extraArgs: ['--list-fingerprint'],
      name: 'list-fingerprint',
    });
    const status = await list.waitForExit(START_TIMEOUT_MS);
    assert.equal(status.code, 0, list.output);
    const printed = list.output.split('\n').filter((l) => l.startsWith(`${NICKNAME} `));
    assert.deepEqual(printed, [`${NICKNAME} ${groupFingerprint(store.fingerprint())}`]);
    assert.deepEqual(keyFiles(dataDir), ours, 'tor --list-fingerprint left relayd’s key files as they were');

    const log = await runTorUntilKeysLoaded(dir, torrc);
    assert.ok(log.includes(`identity key fingerprint is '${NICKNAME} ${store.fingerprint()}'`), log);
    assert.ok(log.includes(`ed25519 fingerprint is '${NICKNAME} ${store.ed25519IdentityBase64()}'`), log);
    assert.ok(
      !/generate and sign a new medium-term signing key/.test(log),
      'tor accepted relayd’s signing key',
    );
    assert.equal(fileValue(dataDir, 'fingerprint'), store.fingerprint());
    assert.equal(fileValue(dataDir, 'fingerprint-ed25519'), store.ed25519IdentityBase64());
    assert.equal(fileValue(dataDir, 'hashed-fingerprint'), store.hashedFingerprint());
    // tor wrote no key file of its own, and left every one of ours byte for byte.
    assert.deepEqual(keyFiles(dataDir), ours);
    const again = loadOrCreateKeys(dataDir, { nowMs: Date.now(), nickname: NICKNAME });
    assert.equal(again.fingerprint(), store.fingerprint());
  });

  it('relayd reads keys tor generated and reports tor’s identities', async () => {
    const dir = join(root, 'tor-made');
    mkdirSync(dir);
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    await runTorUntilKeysLoaded(dir, await bridgeTorrc(dataDir));

    const torFingerprint = fileValue(dataDir, 'fingerprint');
    const torEd25519 = fileValue(dataDir, 'fingerprint-ed25519');
    assert.match(torFingerprint, /^[0-9A-F]{40}$/);
    const status = readKeyStatus(dataDir, Date.now());
    assert.equal(status.rsaFingerprint, torFingerprint);
    assert.equal(status.ed25519Identity, torEd25519);
    assert.equal(status.hashedFingerprint, fileValue(dataDir, 'hashed-fingerprint'));
    assert.equal(status.masterSecretKeyPresent, true);
    assert.ok(status.signingCertExpiresMs! > Date.now() + 29 * 86_400_000);

    const before = keyFiles(dataDir);
    const fingerprintFile = readFileSync(join(dataDir, 'fingerprint'));
    const store = loadOrCreateKeys(dataDir, { nowMs: Date.now(), nickname: NICKNAME });
    assert.equal(store.fingerprint(), torFingerprint);
    assert.equal(store.ed25519IdentityBase64(), torEd25519);
    assert.deepEqual(keyFiles(dataDir), before, 'loading tor’s keys changed none of them');
    assert.deepEqual(readFileSync(join(dataDir, 'fingerprint')), fingerprintFile);
  });

  describe('damaged files are refused by name and the identity is never regenerated', () => {
    /** A copy of a tor-made DataDirectory's keys, made private again. */
    function torKeysCopy(name: string): string {
      const source = join(root, 'tor-made', 'data');
      assert.ok(existsSync(join(source, 'keys', 'secret_id_key')), 'the previous test left tor’s keys');
      const dataDir = join(root, name);
      mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
      for (const [file, bytes] of keyFiles(source))
        writeFileSync(join(dataDir, 'keys', file), bytes, { mode: 0o600 });
      return dataDir;
    }

    function refused(dataDir: string, code: string, file: string, kind: string): void {
      const before = keyFiles(dataDir);
      for (const attempt of [
        () => loadOrCreateKeys(dataDir, { nowMs: Date.now(), nickname: NICKNAME }),
        () => readKeyStatus(dataDir, Date.now()),
      ]) {
        assert.throws(attempt, (e: unknown) => {
          assert.ok(e instanceof KeyStoreError, String(e));
          assert.equal(e.code, code, e.message);
          assert.equal(e.kind, kind);
          assert.equal(e.file, join(dataDir, 'keys', file));
          assert.ok(e.message.startsWith(`${join(dataDir, 'keys', file)}: `), e.message);
          return true;
        });
      }
      assert.deepEqual(keyFiles(dataDir), before, 'nothing was written');
      assert.ok(!existsSync(join(dataDir, 'fingerprint')), 'no fingerprint of a new identity was written');
    }

    it('a truncated secret_id_key', () => {
      const dataDir = torKeysCopy('truncated');
      const path = join(dataDir, 'keys', 'secret_id_key');
      writeFileSync(path, readFileSync(path).subarray(0, 400));
      refused(dataDir, KeyErrorCode.TRUNCATED, 'secret_id_key', 'bad-input');
    });

    it('an empty secret_id_key (tor would make a new identity here; relayd refuses)', () => {
      const dataDir = torKeysCopy('empty');
      writeFileSync(join(dataDir, 'keys', 'secret_id_key'), '');
      refused(dataDir, KeyErrorCode.TRUNCATED, 'secret_id_key', 'bad-input');
    });

    it('a wrong header on the master identity key', () => {
      const dataDir = torKeysCopy('header');
      const path = join(dataDir, 'keys', 'ed25519_master_id_secret_key');
      const bytes = readFileSync(path);
      const header = Buffer.alloc(32);
      header.write('== ed25519v1-public: type0 ==', 'latin1');
      header.copy(bytes, 0);
      writeFileSync(path, bytes);
      refused(dataDir, KeyErrorCode.BAD_HEADER, 'ed25519_master_id_secret_key', 'bad-input');
    });

    it('a group-readable key file', () => {
      const dataDir = torKeysCopy('mode');
      chmodSync(join(dataDir, 'keys', 'secret_onion_key_ntor'), 0o640);
      refused(dataDir, KeyErrorCode.PERMISSIONS, 'secret_onion_key_ntor', 'io');
    });
  });
});
