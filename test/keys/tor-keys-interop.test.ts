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
import { type ChildProcess, spawn } from 'node:child_process';
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
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { groupFingerprint, KeyErrorCode, KeyStoreError, loadOrCreateKeys, readKeyStatus } from '@relayd/keys';

const TOR = '/usr/bin/tor';
const NICKNAME = 'relaydKeysInterop';
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

const root = mkdtempSync(join(tmpdir(), 'relayd-keys-interop-'));
const running = new Set<ChildProcess>();
after(async () => {
  for (const child of running) await stopByPid(child);
  rmSync(root, { recursive: true, force: true });
});

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A minimal bridge torrc, plus a fake loopback authority so tor stays off the public network. */
async function writeTorrc(dir: string, dataDir: string): Promise<{ torrc: string; defaults: string }> {
  const port = await freeLoopbackPort();
  const torrc = join(dir, 'torrc');
  const defaults = join(dir, 'torrc-defaults');
  writeFileSync(defaults, '');
  writeFileSync(
    torrc,
    [
      `DataDirectory ${dataDir}`,
      'BridgeRelay 1',
      `ORPort 127.0.0.1:${port}`,
      'SocksPort 0',
      'PublishServerDescriptor 0',
      `Nickname ${NICKNAME}`,
      'AssumeReachable 1',
      'Log notice stdout',
      'DirAuthority unreachable orport=9 no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:9 0000 0000 0000 0000 0000 0000 0000 0000 0000 0001',
      '',
    ].join('\n'),
  );
  return { torrc, defaults };
}

function startTor(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(TOR, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
    child.once('error', () => {
      running.delete(child);
      resolve(null);
    });
  });
  return { child, output: () => output, exited };
}

/** SIGTERM to the PID (tor exits at once on TERM), SIGKILL if it lingers. */
async function stopByPid(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {}
  }, STOP_GRACE_MS);
  await gone;
  clearTimeout(timer);
}

async function waitFor(output: () => string, patterns: RegExp[], exited: Promise<unknown>, what: string) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let done = false;
  void exited.then(() => {
    done = true;
  });
  while (!patterns.every((p) => p.test(output()))) {
    if (done) assert.fail(`tor exited before ${what}:\n${output()}`);
    if (Date.now() > deadline)
      assert.fail(`tor did not reach ${what} within ${START_TIMEOUT_MS} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs tor with a config until it has loaded its keys and opened the ORPort, then stops it by PID. */
async function runTorUntilKeysLoaded(torrc: string, defaults: string): Promise<string> {
  const tor = startTor(['-f', torrc, '--defaults-torrc', defaults]);
  try {
    await waitFor(
      tor.output,
      [/Opened OR listener connection \(ready\)/, /Your Tor server's identity key ed25519 fingerprint is/],
      tor.exited,
      'loading its keys and opening the ORPort',
    );
  } finally {
    await stopByPid(tor.child);
  }
  return tor.output();
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
    const { torrc, defaults } = await writeTorrc(dir, dataDir);

    // tor --list-fingerprint prints "<Nickname> <fingerprint in groups of four>".
    const list = startTor(['-f', torrc, '--defaults-torrc', defaults, '--list-fingerprint']);
    const timeout = setTimeout(() => void stopByPid(list.child), START_TIMEOUT_MS);
    const code = await list.exited;
    clearTimeout(timeout);
    assert.equal(code, 0, list.output());
    const printed = list
      .output()
      .split('\n')
      .filter((l) => l.startsWith(`${NICKNAME} `));
    assert.deepEqual(printed, [`${NICKNAME} ${groupFingerprint(store.fingerprint())}`]);
    assert.deepEqual(keyFiles(dataDir), ours, 'tor --list-fingerprint left relayd’s key files as they were');

    const log = await runTorUntilKeysLoaded(torrc, defaults);
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
    const { torrc, defaults } = await writeTorrc(dir, dataDir);
    await runTorUntilKeysLoaded(torrc, defaults);

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
