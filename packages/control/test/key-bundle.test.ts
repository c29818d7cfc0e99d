import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateKeys, readKeyStatus } from '@relayd/keys';
import {
  BACKUP_MANIFEST,
  bundlePathProblem,
  exportKeyBackup,
  importTorKeys,
  KeyBundleError,
  readTar,
  restoreKeyBackup,
  writeTar,
} from '../src/index.js';

const T0 = Date.UTC(2026, 2, 1, 8, 15, 0);
const root = mkdtempSync(join(tmpdir(), 'relayd-keybundle-'));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function fresh(name: string): string {
  return join(root, `${name}-${++counter}`);
}

/** A bridge DataDirectory with keys, fingerprint files and obfs4 state. */
function bridge(nickname = 'bundleTest'): { dir: string; fingerprint: string; ed25519: string } {
  const dir = fresh('bridge');
  const store = generateKeys(dir, { nowMs: T0, nickname });
  // The onion key was made three days ago: its time must travel with it.
  const ntor = join(dir, 'keys', 'secret_onion_key_ntor');
  utimesSync(ntor, (T0 - 3 * 86_400_000) / 1000, (T0 - 3 * 86_400_000) / 1000);
  mkdirSync(join(dir, 'pt_state', 'obfs4'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'pt_state', 'obfs4_state.json'), '{"node-id":"abc","private-key":"def"}\n', {
    mode: 0o600,
  });
  writeFileSync(
    join(dir, 'pt_state', 'obfs4_bridgeline.txt'),
    'Bridge obfs4 <IP ADDRESS>:<PORT> <FINGERPRINT> cert=x\n',
  );
  writeFileSync(join(dir, 'pt_state', 'obfs4', 'nested'), 'n');
  return { dir, fingerprint: store.fingerprint(), ed25519: store.ed25519IdentityBase64() };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof KeyBundleError, `expected a KeyBundleError, got ${error}`);
    return `${error.code}: ${error.message}`;
  }
  assert.fail('expected a KeyBundleError');
}

function tree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(join(dir, name)).isDirectory()) out.push(`${rel}/`, ...tree(join(dir, name), rel));
    else out.push(rel);
  }
  return out;
}

const KEY_FILES = [
  'keys/ed25519_master_id_public_key',
  'keys/ed25519_master_id_secret_key',
  'keys/ed25519_signing_cert',
  'keys/ed25519_signing_secret_key',
  'keys/secret_id_key',
  'keys/secret_onion_key',
  'keys/secret_onion_key_ntor',
];
const PT_FILES = ['pt_state/obfs4/nested', 'pt_state/obfs4_bridgeline.txt', 'pt_state/obfs4_state.json'];

describe('key backups', () => {
  it('export an archive that restores the same identity, modes and times', () => {
    const source = bridge();
    const archive = join(root, 'backup.tar');
    const exported = exportKeyBackup({ dataDir: source.dir, to: archive, nowMs: T0 });
    assert.equal(exported.form, 'archive');
    assert.equal(exported.rsaFingerprint, source.fingerprint);
    assert.deepEqual(exported.files, [...KEY_FILES, ...PT_FILES]);
    assert.equal(statSync(archive).mode & 0o777, 0o600);
    const entries = readTar(new Uint8Array(readFileSync(archive)), {
      maxEntries: 100,
      maxTotalBytes: 1 << 20,
    });
    assert.ok(entries.ok);
    assert.deepEqual(
      entries.value
        .map((e) => `${e.type === 'directory' ? 'd' : 'f'} ${e.mode.toString(8)} ${e.path}`)
        .slice(0, 5),
      [
        'f 600 relayd-key-backup.json',
        'd 700 keys',
        'd 700 pt_state',
        'd 700 pt_state/obfs4',
        'f 600 keys/ed25519_master_id_public_key',
      ],
    );
    const manifest = JSON.parse(new TextDecoder().decode(entries.value[0]!.bytes));
    assert.equal(manifest.format, 'relayd-key-backup');
    assert.equal(manifest.rsaFingerprint, source.fingerprint);
    assert.equal(manifest.files.length, 10);

    const target = fresh('restored');
    const restored = restoreKeyBackup({ from: archive, dataDir: target, force: false, nowMs: T0 });
    assert.equal(restored.rsaFingerprint, source.fingerprint);
    assert.equal(restored.form, 'archive');
    assert.deepEqual(restored.movedAside, []);
    assert.equal(readKeyStatus(target, T0).rsaFingerprint, source.fingerprint);
    assert.equal(readKeyStatus(target, T0).ed25519Identity, source.ed25519);
    for (const file of [...KEY_FILES, ...PT_FILES]) {
      assert.deepEqual(readFileSync(join(target, file)), readFileSync(join(source.dir, file)), file);
      assert.equal(statSync(join(target, file)).mode & 0o777, 0o600, file);
    }
    assert.equal(statSync(join(target, 'keys')).mode & 0o777, 0o700);
    assert.equal(statSync(join(target, 'pt_state', 'obfs4')).mode & 0o777, 0o700);
    assert.equal(
      statSync(join(target, 'keys', 'secret_onion_key_ntor')).mtimeMs,
      statSync(join(source.dir, 'keys', 'secret_onion_key_ntor')).mtimeMs,
      'the onion key keeps its age',
    );
    assert.deepEqual(
      tree(target),
      ['keys/', ...KEY_FILES, 'pt_state/', 'pt_state/obfs4/', ...PT_FILES],
      'no staging left',
    );
  });

  it('export a directory that restores too', () => {
    const source = bridge();
    const dir = `${fresh('backup-dir')}/`;
    const exported = exportKeyBackup({ dataDir: source.dir, to: dir, nowMs: T0 });
    assert.equal(exported.form, 'directory');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, BACKUP_MANIFEST)).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'keys', 'secret_id_key')).mode & 0o777, 0o600);
    const target = fresh('restored');
    const restored = restoreKeyBackup({ from: dir, dataDir: target, force: false, nowMs: T0 });
    assert.equal(restored.form, 'directory');
    assert.equal(readKeyStatus(target, T0).rsaFingerprint, source.fingerprint);
  });

  it('never overwrites: an existing archive, a non-empty directory, an identity without --force', () => {
    const source = bridge();
    const archive = join(root, `exists-${++counter}.tar`);
    writeFileSync(archive, 'old');
    assert.match(
      code(() => exportKeyBackup({ dataDir: source.dir, to: archive, nowMs: T0 })),
      /^KEY_BUNDLE_WOULD_OVERWRITE: .* exists; refusing/,
    );
    assert.equal(readFileSync(archive, 'utf8'), 'old');
    assert.match(
      code(() => exportKeyBackup({ dataDir: source.dir, to: source.dir, nowMs: T0 })),
      /is not empty/,
    );

    const other = bridge('otherBridge');
    const backup = join(root, `b-${++counter}.tar`);
    exportKeyBackup({ dataDir: source.dir, to: backup, nowMs: T0 });
    const before = tree(other.dir);
    assert.match(
      code(() => restoreKeyBackup({ from: backup, dataDir: other.dir, force: false, nowMs: T0 })),
      /^KEY_BUNDLE_WOULD_OVERWRITE: .*keys\/secret_id_key: this DataDirectory already has an identity; refusing to overwrite it$/,
    );
    assert.deepEqual(tree(other.dir), before, 'nothing written');
    assert.equal(readKeyStatus(other.dir, T0).rsaFingerprint, other.fingerprint);

    // --force: the old identity is renamed aside, not deleted.
    const forced = restoreKeyBackup({ from: backup, dataDir: other.dir, force: true, nowMs: T0 });
    assert.equal(readKeyStatus(other.dir, T0).rsaFingerprint, source.fingerprint);
    assert.deepEqual(forced.movedAside, [
      join(other.dir, 'keys.replaced-20260301T081500Z'),
      join(other.dir, 'pt_state.replaced-20260301T081500Z'),
    ]);
    // The moved-aside keys are the other bridge's, intact.
    const aside = fresh('aside');
    mkdirSync(aside, { mode: 0o700 });
    renameSync(join(other.dir, 'keys.replaced-20260301T081500Z'), join(aside, 'keys'));
    assert.equal(readKeyStatus(aside, T0).rsaFingerprint, other.fingerprint);
  });

  it('refuses a damaged or tampered backup before writing anything', () => {
    const source = bridge();
    const archive = join(root, `t-${++counter}.tar`);
    exportKeyBackup({ dataDir: source.dir, to: archive, nowMs: T0 });
    const bytes = new Uint8Array(readFileSync(archive));
    const entries = readTar(bytes, { maxEntries: 100, maxTotalBytes: 1 << 20 });
    assert.ok(entries.ok);

    // A key file changed, archive re-made with a valid tar checksum: the manifest's SHA-256 catches it.
    const changed = entries.value.map((e) =>
      e.path === 'keys/secret_onion_key_ntor'
        ? { ...e, bytes: e.bytes.map((b, i) => (i === 40 ? b ^ 1 : b)) }
        : e,
    );
    const tampered = join(root, `tampered-${++counter}.tar`);
    writeFileSync(tampered, writeTar(changed));
    const target = fresh('target');
    assert.match(
      code(() => restoreKeyBackup({ from: tampered, dataDir: target, force: false, nowMs: T0 })),
      /^KEY_BUNDLE_BAD_BACKUP: keys\/secret_onion_key_ntor does not match its SHA-256 in the manifest/,
    );
    assert.equal(existsSync(target), false, 'nothing created');

    // A manifest naming another identity (its checksums still right): the staged keys do not match it.
    const manifest = JSON.parse(new TextDecoder().decode(entries.value[0]!.bytes));
    manifest.rsaFingerprint = '0'.repeat(40);
    const lying = entries.value.map((e, i) =>
      i === 0 ? { ...e, bytes: new TextEncoder().encode(JSON.stringify(manifest)) } : e,
    );
    const lyingPath = join(root, `lying-${++counter}.tar`);
    writeFileSync(lyingPath, writeTar(lying));
    const target2 = fresh('target');
    assert.match(
      code(() => restoreKeyBackup({ from: lyingPath, dataDir: target2, force: false, nowMs: T0 })),
      new RegExp(
        `^KEY_BUNDLE_FINGERPRINT_MISMATCH: .*the keys give fingerprint ${source.fingerprint}, not 0{40}$`,
      ),
    );
    assert.deepEqual(readdirSync(target2), [], 'the staging directory is gone and nothing was installed');

    // A file the manifest does not list, or a path outside keys/ and pt_state/.
    const extra = join(root, `extra-${++counter}.tar`);
    writeFileSync(
      extra,
      writeTar([
        ...entries.value,
        {
          path: 'keys/secret_onion_key.old',
          type: 'file',
          mode: 0o600,
          mtimeMs: T0,
          bytes: new Uint8Array(3),
        },
      ]),
    );
    assert.match(
      code(() => restoreKeyBackup({ from: extra, dataDir: fresh('t'), force: false, nowMs: T0 })),
      /keys\/secret_onion_key.old is not listed in the manifest/,
    );
    manifest.rsaFingerprint = source.fingerprint;
    manifest.files.push({
      path: '../../etc/passwd',
      size: 0,
      sha256: '0'.repeat(64),
      mtime: new Date(T0).toISOString(),
    });
    const escaping = entries.value.map((e, i) =>
      i === 0 ? { ...e, bytes: new TextEncoder().encode(JSON.stringify(manifest)) } : e,
    );
    const escapingPath = join(root, `escape-${++counter}.tar`);
    writeFileSync(escapingPath, writeTar(escaping));
    assert.match(
      code(() => restoreKeyBackup({ from: escapingPath, dataDir: fresh('t'), force: false, nowMs: T0 })),
      /manifest entry "\.\.\/\.\.\/etc\/passwd" is neither under keys\/ nor under pt_state\//,
    );
    assert.match(
      code(() =>
        restoreKeyBackup({ from: join(root, 'nope.tar'), dataDir: fresh('t'), force: false, nowMs: T0 }),
      ),
      /does not exist/,
    );
    writeFileSync(join(root, 'random.tar'), new Uint8Array(4096).fill(9));
    assert.match(
      code(() =>
        restoreKeyBackup({ from: join(root, 'random.tar'), dataDir: fresh('t'), force: false, nowMs: T0 }),
      ),
      /not a relayd key backup archive: header at byte 0: bad checksum/,
    );
  });

  it('refuses to back up keys that would not load', () => {
    const source = bridge();
    chmodSync(join(source.dir, 'keys', 'secret_id_key'), 0o644);
    assert.match(
      code(() => exportKeyBackup({ dataDir: source.dir, to: join(root, `x-${++counter}.tar`), nowMs: T0 })),
      /^KEY_BUNDLE_BAD_SOURCE: the keys of .*secret_id_key: mode 0644 lets group or others access a secret file; run: chmod 600/,
    );
    assert.match(
      code(() =>
        exportKeyBackup({ dataDir: fresh('empty'), to: join(root, `y-${++counter}.tar`), nowMs: T0 }),
      ),
      /^KEY_BUNDLE_BAD_SOURCE: /,
    );
  });

  it('allows only key files and transport state in a bundle', () => {
    assert.equal(bundlePathProblem('keys/secret_id_key'), undefined);
    assert.equal(bundlePathProblem('keys/ed25519_master_id_secret_key_encrypted'), undefined);
    assert.equal(bundlePathProblem('pt_state/obfs4_state.json'), undefined);
    assert.equal(bundlePathProblem('pt_state/a/b/c/d'), undefined);
    assert.match(bundlePathProblem('pt_state/a/b/c/d/e') ?? '', /too deep/);
    assert.match(bundlePathProblem('keys/../../x') ?? '', /not one of the key files/);
    assert.match(bundlePathProblem('pt_state/../keys') ?? '', /has a name/);
    assert.match(bundlePathProblem('pt_state/.hidden') ?? '', /has a name/);
    assert.match(bundlePathProblem('/etc/passwd') ?? '', /neither/);
    assert.match(bundlePathProblem(`pt_state/${'x'.repeat(100)}`) ?? '', /longer than 100 bytes/);
  });
});

describe('import from a tor DataDirectory', () => {
  it('copies the keys and transport state with the same identity', () => {
    // generateKeys writes exactly what tor writes: C tor's key files and fingerprint files.
    const tor = bridge('torBridge');
    writeFileSync(join(tor.dir, 'cached-consensus'), 'not copied');
    writeFileSync(join(tor.dir, 'keys', 'unrelated'), 'not a key', { mode: 0o600 });
    const target = fresh('relayd');
    const report = importTorKeys({ from: tor.dir, dataDir: target, nowMs: T0 });
    assert.deepEqual(report, {
      from: tor.dir,
      dataDirectory: target,
      nickname: 'torBridge',
      rsaFingerprint: tor.fingerprint,
      ed25519Identity: tor.ed25519,
      checkedAgainst: ['fingerprint', 'fingerprint-ed25519'],
      files: [...KEY_FILES, ...PT_FILES],
      skipped: ['keys/unrelated: not a key file'],
    });
    assert.equal(readKeyStatus(target, T0).rsaFingerprint, tor.fingerprint);
    assert.equal(existsSync(join(target, 'cached-consensus')), false);
    assert.equal(statSync(join(target, 'keys', 'secret_onion_key_ntor')).mtimeMs, T0 - 3 * 86_400_000);
  });

  it("checks tor's fingerprint file and refuses an existing identity", () => {
    const tor = bridge('torBridge');
    const relayd = bridge('relaydBridge');
    const before = tree(relayd.dir);
    assert.match(
      code(() => importTorKeys({ from: tor.dir, dataDir: relayd.dir, nowMs: T0 })),
      /^KEY_BUNDLE_WOULD_OVERWRITE: .*already has an identity/,
    );
    assert.deepEqual(tree(relayd.dir), before);

    writeFileSync(join(tor.dir, 'fingerprint'), `torBridge ${'A'.repeat(40)}\n`);
    assert.match(
      code(() => importTorKeys({ from: tor.dir, dataDir: fresh('x'), nowMs: T0 })),
      new RegExp(
        `^KEY_BUNDLE_FINGERPRINT_MISMATCH: .*fingerprint says A{40}, but the keys in .* give ${tor.fingerprint}$`,
      ),
    );
    assert.match(
      code(() => importTorKeys({ from: fresh('nothing'), dataDir: fresh('x'), nowMs: T0 })),
      /has no keys\/ directory: give tor's DataDirectory/,
    );
    assert.match(
      code(() => importTorKeys({ from: relayd.dir, dataDir: relayd.dir, nowMs: T0 })),
      /is already the DataDirectory/,
    );
  });
});
