import assert from 'node:assert/strict';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bytesEqual, type Logger } from '@relayd/common';
import { Ed25519SigningKey } from '@relayd/crypto';
import { KeyErrorCode, KeyStoreError } from '../src/errors.js';
import { encodeEd25519SecretKeyFile } from '../src/key-formats.js';
import { generateKeys, loadOrCreateKeys, readKeyStatus } from '../src/key-store.js';
import { createSigningCert, encodeSigningCertFile } from '../src/signing-cert.js';
import { workerKeysFromSnapshot } from '../src/worker-snapshot.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 12, 30, 0);
const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempDataDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'relayd-keys-'));
  roots.push(root);
  return join(root, 'data');
}

function captureLogger(): Logger & { warnings: string[]; notices: string[] } {
  const warnings: string[] = [];
  const notices: string[] = [];
  const logger = {
    warnings,
    notices,
    error: (_f: object, m: string) => warnings.push(m),
    warn: (_f: object, m: string) => warnings.push(m),
    notice: (_f: object, m: string) => notices.push(m),
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  return logger;
}

function snapshotFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(join(dir, 'keys'))) out.set(name, readFileSync(join(dir, 'keys', name)));
  return out;
}

function expectKeyError(fn: () => unknown, code: string, fileEnd: string, detail?: RegExp): KeyStoreError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KeyStoreError, `expected KeyStoreError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.file?.endsWith(fileEnd), `error names ${e.file}, expected …${fileEnd}`);
    assert.ok(e.message.includes(e.file!), 'message names the file');
    if (detail) assert.match(e.message, detail);
    return e;
  }
  assert.fail(`expected ${code}`);
}

/** A DataDirectory with a complete key set, made at T0. */
function populated(nickname = 'relaydTest'): string {
  const dir = tempDataDir();
  loadOrCreateKeys(dir, { nowMs: T0, nickname });
  return dir;
}

describe('creating keys in an empty DataDirectory', () => {
  it('writes every file tor writes, private, and the fingerprint files', () => {
    const dir = tempDataDir();
    const store = loadOrCreateKeys(dir, { nowMs: T0, nickname: 'relaydTest' });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'keys')).mode & 0o777, 0o700);
    const names = readdirSync(join(dir, 'keys')).sort();
    assert.deepEqual(names, [
      'ed25519_master_id_public_key',
      'ed25519_master_id_secret_key',
      'ed25519_signing_cert',
      'ed25519_signing_secret_key',
      'secret_id_key',
      'secret_onion_key',
      'secret_onion_key_ntor',
    ]);
    for (const name of names) assert.equal(statSync(join(dir, 'keys', name)).mode & 0o777, 0o600, name);
    assert.match(store.fingerprint(), /^[0-9A-F]{40}$/);
    assert.equal(store.ed25519IdentityBase64().length, 43);
    assert.equal(readFileSync(join(dir, 'fingerprint'), 'latin1'), `relaydTest ${store.fingerprint()}\n`);
    assert.equal(
      readFileSync(join(dir, 'fingerprint-ed25519'), 'latin1'),
      `relaydTest ${store.ed25519IdentityBase64()}\n`,
    );
    assert.equal(
      readFileSync(join(dir, 'hashed-fingerprint'), 'latin1'),
      `relaydTest ${store.hashedFingerprint()}\n`,
    );
    // tor's CEIL_DIV(now + 30 days, 3600): the certificate runs to the next whole hour.
    assert.equal(store.signingCertExpiresMs, T0 + 30 * DAY + 30 * 60_000);
    assert.ok(store.masterSecretKeyPresent);
  });

  it('loads the same identity again without touching any key file', () => {
    const dir = populated();
    const before = snapshotFiles(dir);
    const a = readKeyStatus(dir, T0);
    const store = loadOrCreateKeys(dir, { nowMs: T0 + DAY, nickname: 'relaydTest' });
    assert.equal(store.fingerprint(), a.rsaFingerprint);
    assert.equal(store.ed25519IdentityBase64(), a.ed25519Identity);
    assert.deepEqual(snapshotFiles(dir), before);
  });

  it('refuses an illegal nickname', () => {
    assert.throws(
      () => loadOrCreateKeys(tempDataDir(), { nowMs: T0, nickname: 'no spaces allowed' }),
      (e: unknown) => e instanceof KeyStoreError && e.kind === 'bad-config',
    );
  });

  it('generateKeys refuses to overwrite an existing identity', () => {
    const dir = populated();
    const before = snapshotFiles(dir);
    expectKeyError(() => generateKeys(dir, { nowMs: T0 }), KeyErrorCode.ALREADY_EXISTS, 'secret_id_key');
    assert.deepEqual(snapshotFiles(dir), before);
  });
});

describe('damaged or missing files are errors, never a new identity', () => {
  it('a truncated master secret key', () => {
    const dir = populated();
    const path = join(dir, 'keys', 'ed25519_master_id_secret_key');
    writeFileSync(path, readFileSync(path).subarray(0, 70), { mode: 0o600 });
    const before = snapshotFiles(dir);
    const e = expectKeyError(
      () => loadOrCreateKeys(dir, { nowMs: T0 }),
      KeyErrorCode.TRUNCATED,
      'ed25519_master_id_secret_key',
      /38 bytes of key material after the header, expected 64/,
    );
    assert.equal(e.kind, 'bad-input');
    assert.deepEqual(snapshotFiles(dir), before);
  });

  it('a wrong header', () => {
    const dir = populated();
    const path = join(dir, 'keys', 'secret_onion_key_ntor');
    const bytes = readFileSync(path);
    bytes.write('== c25519v2: onion ==', 0, 'latin1');
    writeFileSync(path, bytes, { mode: 0o600 });
    expectKeyError(
      () => loadOrCreateKeys(dir, { nowMs: T0 }),
      KeyErrorCode.BAD_HEADER,
      'secret_onion_key_ntor',
    );
  });

  it('a wrong length', () => {
    const dir = populated();
    const path = join(dir, 'keys', 'ed25519_master_id_public_key');
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from([0])]), { mode: 0o600 });
    expectKeyError(
      () => loadOrCreateKeys(dir, { nowMs: T0 }),
      KeyErrorCode.BAD_LENGTH,
      'ed25519_master_id_public_key',
    );
  });

  it('a key file readable by group or others, and an open keys directory', () => {
    const dir = populated();
    chmodSync(join(dir, 'keys', 'secret_id_key'), 0o640);
    const e = expectKeyError(
      () => loadOrCreateKeys(dir, { nowMs: T0 }),
      KeyErrorCode.PERMISSIONS,
      'secret_id_key',
      /0640/,
    );
    assert.equal(e.kind, 'io');
    assert.throws(() => readKeyStatus(dir, T0), KeyStoreError);
    chmodSync(join(dir, 'keys', 'secret_id_key'), 0o600);
    chmodSync(join(dir, 'keys'), 0o755);
    expectKeyError(() => loadOrCreateKeys(dir, { nowMs: T0 }), KeyErrorCode.PERMISSIONS, 'keys', /chmod 700/);
  });

  it('a missing RSA identity next to other identity keys', () => {
    const dir = populated();
    rmSync(join(dir, 'keys', 'secret_id_key'));
    expectKeyError(
      () => loadOrCreateKeys(dir, { nowMs: T0 }),
      KeyErrorCode.MISSING,
      'secret_id_key',
      /restore it from your backup/,
    );
    assert.ok(!existsSync(join(dir, 'keys', 'secret_id_key')), 'no new identity was written');
  });

  it('a missing Ed25519 identity (secret, public and certificate gone)', () => {
    const dir = populated();
    for (const f of [
      'ed25519_master_id_secret_key',
      'ed25519_master_id_public_key',
      'ed25519_signing_cert',
    ]) {
      rmSync(join(dir, 'keys', f));
    }
    expectKeyError(
      () => loadOrCreateKeys(dir, { nowMs: T0 }),
      KeyErrorCode.MISSING,
      'ed25519_master_id_public_key',
    );
    assert.ok(!existsSync(join(dir, 'keys', 'ed25519_master_id_secret_key')));
  });

  it('a master public key that does not match the secret key', () => {
    const dir = populated();
    const other = populated();
    cpSync(
      join(other, 'keys', 'ed25519_master_id_public_key'),
      join(dir, 'keys', 'ed25519_master_id_public_key'),
    );
    expectKeyError(
      () => loadOrCreateKeys(dir, { nowMs: T0 }),
      KeyErrorCode.MISMATCH,
      'ed25519_master_id_public_key',
    );
  });

  it('a signing certificate from another master key', () => {
    const dir = populated();
    const other = populated();
    for (const f of ['ed25519_signing_cert', 'ed25519_signing_secret_key']) {
      cpSync(join(other, 'keys', f), join(dir, 'keys', f));
    }
    expectKeyError(() => loadOrCreateKeys(dir, { nowMs: T0 }), KeyErrorCode.MISMATCH, 'ed25519_signing_cert');
  });
});

describe('repairs tor also makes (no identity change)', () => {
  it('rewrites a missing master public key from the secret key', () => {
    const dir = populated();
    const pub = readFileSync(join(dir, 'keys', 'ed25519_master_id_public_key'));
    rmSync(join(dir, 'keys', 'ed25519_master_id_public_key'));
    loadOrCreateKeys(dir, { nowMs: T0 });
    assert.deepEqual(readFileSync(join(dir, 'keys', 'ed25519_master_id_public_key')), pub);
  });

  it('recovers the master public key from the signing certificate when the master key is offline', () => {
    const dir = populated();
    const before = readKeyStatus(dir, T0);
    const pub = readFileSync(join(dir, 'keys', 'ed25519_master_id_public_key'));
    rmSync(join(dir, 'keys', 'ed25519_master_id_public_key'));
    rmSync(join(dir, 'keys', 'ed25519_master_id_secret_key'));
    const log = captureLogger();
    const store = loadOrCreateKeys(dir, { nowMs: T0, logger: log });
    assert.equal(store.ed25519IdentityBase64(), before.ed25519Identity);
    assert.deepEqual(readFileSync(join(dir, 'keys', 'ed25519_master_id_public_key')), pub);
    assert.equal(log.warnings.length, 1);
  });

  it('creates missing onion keys but never ".old" ones', () => {
    const dir = populated();
    const id = readKeyStatus(dir, T0);
    rmSync(join(dir, 'keys', 'secret_onion_key_ntor'));
    rmSync(join(dir, 'keys', 'secret_onion_key'));
    const store = loadOrCreateKeys(dir, { nowMs: T0 });
    assert.equal(store.fingerprint(), id.rsaFingerprint);
    assert.notEqual(readKeyStatus(dir, T0).ntorOnionKey, id.ntorOnionKey);
    assert.ok(existsSync(join(dir, 'keys', 'secret_onion_key')));
    assert.ok(!existsSync(join(dir, 'keys', 'secret_onion_key_ntor.old')));
    assert.equal(store.previousNtorOnionKey, undefined);
  });
});

describe('signing key renewal', () => {
  it('keeps the key until it is within a day of expiry, then renews it from the master key', () => {
    const dir = populated();
    const first = readKeyStatus(dir, T0);
    const kept = loadOrCreateKeys(dir, { nowMs: T0 + 28 * DAY });
    assert.equal(kept.signingCertExpiresMs, first.signingCertExpiresMs);
    const oldSigning = kept.signingKey.publicKey;
    const now = T0 + 29 * DAY + 12 * 3_600_000;
    const log = captureLogger();
    const renewed = loadOrCreateKeys(dir, { nowMs: now, logger: log });
    assert.ok(!bytesEqual(renewed.signingKey.publicKey, oldSigning));
    assert.equal(renewed.signingCertExpiresMs, Math.ceil((now + 30 * DAY) / 3_600_000) * 3_600_000);
    assert.equal(renewed.fingerprint(), first.rsaFingerprint);
    assert.equal(renewed.ed25519IdentityBase64(), first.ed25519Identity);
    assert.ok(log.notices.some((m) => /new Ed25519 signing key/.test(m)));
    // And on disk: the next load sees the renewed pair.
    assert.equal(readKeyStatus(dir, now).signingCertExpiresMs, renewed.signingCertExpiresMs);
  });

  it('renews an expired certificate when the master key is present', () => {
    const dir = populated();
    const store = loadOrCreateKeys(dir, { nowMs: T0 + 40 * DAY });
    assert.ok(store.signingCertExpiresMs > T0 + 69 * DAY);
  });

  it('refreshSigningKey renews in place and reports it', () => {
    const store = loadOrCreateKeys(tempDataDir(), { nowMs: T0 });
    assert.equal(store.refreshSigningKey(T0 + 10 * DAY), false);
    const before = store.workerSnapshot();
    assert.equal(store.refreshSigningKey(T0 + 29.5 * DAY), true);
    assert.notDeepEqual(store.workerSnapshot().ed25519SigningPublic, before.ed25519SigningPublic);
  });

  it('replaces a signing key/certificate pair that does not belong together (master present)', () => {
    const dir = populated();
    const stray = Ed25519SigningKey.generate();
    writeFileSync(
      join(dir, 'keys', 'ed25519_signing_secret_key'),
      encodeEd25519SecretKeyFile(stray, 'type4'),
      {
        mode: 0o600,
      },
    );
    const store = loadOrCreateKeys(dir, { nowMs: T0 });
    assert.ok(!bytesEqual(store.signingKey.publicKey, stray.publicKey));
    assert.deepEqual(readKeyStatus(dir, T0).masterSecretKeyPresent, true);
  });
});

describe('offline master key', () => {
  function offline(): string {
    const dir = populated();
    rmSync(join(dir, 'keys', 'ed25519_master_id_secret_key'));
    return dir;
  }

  it('runs on the signing key and certificate, quietly while far from expiry', () => {
    const dir = offline();
    const before = snapshotFiles(dir);
    const log = captureLogger();
    const store = loadOrCreateKeys(dir, { nowMs: T0 + 10 * DAY, logger: log });
    assert.equal(store.masterSecretKeyPresent, false);
    assert.equal(store.ed25519MasterSecret, undefined);
    assert.deepEqual(log.warnings, []);
    assert.deepEqual(snapshotFiles(dir), before);
    assert.equal(readKeyStatus(dir, T0).masterSecretKeyPresent, false);
  });

  it('warns inside the warning period and when refreshing', () => {
    const dir = offline();
    const log = captureLogger();
    const store = loadOrCreateKeys(dir, { nowMs: T0 + 25 * DAY, logger: log });
    assert.equal(log.warnings.length, 1);
    assert.match(log.warnings[0]!, /expires at 2026-02-09T13:00:00.000Z.*tor --keygen/);
    assert.equal(store.refreshSigningKey(T0 + 29.9 * DAY), false);
    assert.equal(log.warnings.length, 2);
  });

  it('refuses to start with an expired certificate', () => {
    const dir = offline();
    expectKeyError(
      () => loadOrCreateKeys(dir, { nowMs: T0 + 31 * DAY }),
      KeyErrorCode.SIGNING_CERT_EXPIRED,
      'ed25519_signing_cert',
      /expired at 2026-02-09T13:00:00.000Z and ed25519_master_id_secret_key is absent/,
    );
    const store = loadOrCreateKeys(dir, { nowMs: T0 });
    assert.throws(() => store.refreshSigningKey(T0 + 31 * DAY), KeyStoreError);
  });

  it('refuses to start without a signing key', () => {
    const dir = offline();
    rmSync(join(dir, 'keys', 'ed25519_signing_secret_key'));
    expectKeyError(
      () => loadOrCreateKeys(dir, { nowMs: T0 }),
      KeyErrorCode.MISSING,
      'ed25519_signing_secret_key',
    );
  });

  it('accepts a new signing key and certificate made elsewhere by the master key', () => {
    const dir = tempDataDir();
    const store = loadOrCreateKeys(dir, { nowMs: T0 });
    const master = store.ed25519MasterSecret!;
    rmSync(join(dir, 'keys', 'ed25519_master_id_secret_key'));
    // What `tor --keygen` does on the offline machine, 29 days later.
    const later = T0 + 29 * DAY;
    const signing = Ed25519SigningKey.generate();
    const cert = createSigningCert(master, signing.publicKey, later, 30 * DAY);
    writeFileSync(
      join(dir, 'keys', 'ed25519_signing_secret_key'),
      encodeEd25519SecretKeyFile(signing, 'type4'),
    );
    writeFileSync(join(dir, 'keys', 'ed25519_signing_cert'), encodeSigningCertFile(cert));
    const log = captureLogger();
    const reloaded = loadOrCreateKeys(dir, { nowMs: later, logger: log });
    assert.deepEqual(reloaded.signingKey.publicKey, signing.publicKey);
    assert.deepEqual(log.warnings, []);
  });
});

describe('onion keys and worker snapshots', () => {
  it('rotates onion keys into ".old" files and expires them', () => {
    const dir = tempDataDir();
    const store = loadOrCreateKeys(dir, { nowMs: T0 });
    const ntor1 = store.ntorOnionKey;
    const tap1 = store.tapOnionKey;
    store.rotateOnionKeys();
    assert.deepEqual(store.previousNtorOnionKey, ntor1);
    assert.equal(store.previousTapOnionKey, tap1);
    assert.ok(!bytesEqual(store.ntorOnionKey.publicKey, ntor1.publicKey));
    for (const f of ['secret_onion_key.old', 'secret_onion_key_ntor.old']) {
      assert.equal(statSync(join(dir, 'keys', f)).mode & 0o777, 0o600);
    }
    const reloaded = loadOrCreateKeys(dir, { nowMs: T0 });
    assert.deepEqual(reloaded.previousNtorOnionKey, ntor1);
    assert.deepEqual(reloaded.ntorOnionKey, store.ntorOnionKey);
    assert.deepEqual(reloaded.previousTapOnionKey?.toDer(), tap1.toDer());
    reloaded.expireOldOnionKeys();
    assert.ok(!existsSync(join(dir, 'keys', 'secret_onion_key_ntor.old')));
    assert.ok(!existsSync(join(dir, 'keys', 'secret_onion_key.old')));
    assert.equal(reloaded.previousNtorOnionKey, undefined);
  });

  it('gives workers everything but the master identity secret, and survives structured cloning', () => {
    const store = loadOrCreateKeys(tempDataDir(), { nowMs: T0 });
    store.rotateOnionKeys();
    const snapshot = store.workerSnapshot();
    assert.ok(Object.isFrozen(snapshot));
    const master = store.ed25519MasterSecret!;
    const haystack = Buffer.from(
      JSON.stringify(snapshot, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)),
    );
    for (const secretPart of [master.expandedSecret.subarray(0, 32), master.expandedSecret.subarray(32)]) {
      assert.ok(
        !haystack.includes(Buffer.from(secretPart).toString('hex')),
        'master secret leaked into the snapshot',
      );
    }
    const cloned = structuredClone(snapshot);
    const keys = workerKeysFromSnapshot(cloned);
    assert.equal(keys.snapshot.rsaFingerprint, store.fingerprint());
    assert.deepEqual(keys.rsaIdentity.toDer(), store.rsaIdentity.toDer());
    assert.deepEqual(keys.signingKey.publicKey, store.signingKey.publicKey);
    assert.deepEqual(keys.ntorOnionKey, store.ntorOnionKey);
    assert.deepEqual(keys.previousNtorOnionKey, store.previousNtorOnionKey);
    assert.deepEqual(keys.signingCert, store.signingCert);
    // The snapshot is a copy: changing it does not reach the store.
    cloned.ntorOnionKey.secretKey[1]! ^= 1;
    assert.throws(() => workerKeysFromSnapshot(cloned), /ntor public key does not match/);
  });
});
