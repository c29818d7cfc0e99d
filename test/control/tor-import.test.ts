/**
 * A real C tor bridge moves to relayd with `relayctl keys import`, and
 * keeps its identity:
 *
 *   1. Debian's tor runs once on an empty DataDirectory (its only directory
 *      authority is a fake one on a closed loopback port, so it never
 *      contacts the public network) until it has made its keys; it is then
 *      stopped by PID;
 *   2. `bin/relayctl keys import --from <tor's DataDirectory>` copies them:
 *      the fingerprint relayctl reports is the one tor wrote;
 *   3. `relayctl keys export` and `keys restore` carry them through a backup
 *      archive into a second DataDirectory;
 *   4. `bin/relayd -f torrc` (one worker) starts on that DataDirectory,
 *      writes tor's fingerprint, and a link handshake against its ORPort
 *      verifies tor's RSA and Ed25519 identities (CERTS checked against
 *      them). relayd is stopped by PID.
 *
 * Every process is stopped by PID, also when a step fails.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromBase64, fromHex } from '@relayd/common';
import { readKeyBackup } from '@relayd/control';
import {
  LoopbackAllocator,
  ProcessRegistry,
  RELAYD_BIN,
  relaydTorrc,
  startStandaloneTor,
  UNREACHABLE_DIR_AUTHORITY,
  waitForLogLine,
} from '@relayd/testnet';
import { LinkClient } from '../support/link-client.js';
import { runRelayctl } from '../support/relayctl.js';

const NICKNAME = 'torToRelayd';
const START_TIMEOUT_MS = 60_000;

const root = mkdtempSync(join(tmpdir(), 'relayd-tor-import-'));
const registry = new ProcessRegistry();
const ports = new LoopbackAllocator();
after(async () => {
  await registry.stopAll();
  rmSync(root, { recursive: true, force: true });
});

function relayctl(args: string[]) {
  return runRelayctl(args, { timeoutMs: 60_000 });
}

/** "<Nickname> <value>" of a fingerprint file. */
function fingerprintValue(dataDir: string, name: string): string {
  const line = readFileSync(join(dataDir, name), 'latin1');
  assert.match(line, /^\S+ \S+\n$/, `${name} is "<Nickname> <value>\\n"`);
  return line.trim().split(' ')[1]!;
}

describe('relayctl keys import from a real tor DataDirectory', { timeout: 300_000 }, () => {
  const torData = join(root, 'tor-data');
  const imported = join(root, 'relayd-imported');
  const restored = join(root, 'relayd-restored');
  const backup = join(root, 'backup.tar');
  let torFingerprint = '';
  let torEd25519 = '';

  it('tor makes its keys on an empty DataDirectory', async () => {
    const orPort = await ports.allocatePort('127.0.0.1');
    const tor = startStandaloneTor({
      registry,
      dir: join(root, 'tor'),
      torrcLines: [
        `DataDirectory ${torData}`,
        'BridgeRelay 1',
        `ORPort 127.0.0.1:${orPort}`,
        'SocksPort 0',
        'PublishServerDescriptor 0',
        'AssumeReachable 1',
        `Nickname ${NICKNAME}`,
        'Log notice stdout',
      ],
    });
    try {
      await tor.waitForLog(
        /Your Tor server's identity key ed25519 fingerprint is/,
        START_TIMEOUT_MS,
        'tor loading its keys',
      );
      await tor.waitForLog(/Opened OR listener connection \(ready\)/, START_TIMEOUT_MS, 'an open ORPort');
    } finally {
      await tor.stop();
    }
    torFingerprint = fingerprintValue(torData, 'fingerprint');
    torEd25519 = fingerprintValue(torData, 'fingerprint-ed25519');
    assert.match(torFingerprint, /^[0-9A-F]{40}$/);
    assert.ok(tor.output.includes(`'${NICKNAME} ${torFingerprint}'`), 'tor logged the fingerprint it wrote');
  });

  it('relayctl keys import copies them with the same fingerprint', async () => {
    const r = await relayctl(['keys', 'import', '--from', torData, '--data-dir', imported, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.rsaFingerprint, torFingerprint);
    assert.equal(report.ed25519Identity, torEd25519);
    assert.equal(report.nickname, NICKNAME);
    assert.deepEqual(report.checkedAgainst, ['fingerprint', 'fingerprint-ed25519']);
    for (const file of [
      'keys/secret_id_key',
      'keys/ed25519_master_id_secret_key',
      'keys/secret_onion_key_ntor',
    ]) {
      assert.ok(report.files.includes(file), `${file} copied`);
      assert.deepEqual(
        readFileSync(join(imported, file)),
        readFileSync(join(torData, file)),
        `${file} byte for byte`,
      );
      assert.equal(statSync(join(imported, file)).mode & 0o777, 0o600);
    }
    // To the millisecond (what relayd's rotation schedule reads); tor's nanoseconds do not survive utimes.
    const age = (dir: string) => statSync(join(dir, 'keys/secret_onion_key_ntor')).mtimeMs;
    assert.ok(Math.abs(age(imported) - age(torData)) < 1, "the onion key keeps tor's date");
    // relayctl keys show reads the imported keys as relayd will.
    const show = await relayctl(['keys', 'show', '--data-dir', imported, '--json']);
    assert.equal(show.status, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).rsaFingerprint, torFingerprint);
    // A second import would replace the identity: refused.
    const again = await relayctl(['keys', 'import', '--from', torData, '--data-dir', imported]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already has an identity; refusing to overwrite it/);
  });

  it('export and restore carry them through a backup', async () => {
    const exported = await relayctl(['keys', 'export', '--data-dir', imported, '--to', backup, '--json']);
    assert.equal(exported.status, 0, exported.stderr);
    assert.equal(readKeyBackup(backup).manifest.rsaFingerprint, torFingerprint);
    const r = await relayctl(['keys', 'restore', '--from', backup, '--data-dir', restored, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).rsaFingerprint, torFingerprint);
  });

  it('relayd serves with tor’s identity', async () => {
    const orPort = await ports.allocatePort('127.0.0.1');
    const dir = join(root, 'relayd');
    mkdirSync(dir, { recursive: true });
    const torrc = join(dir, 'torrc');
    const noticeLog = join(dir, 'notice.log');
    writeFileSync(
      torrc,
      relaydTorrc({
        nickname: NICKNAME,
        dataDir: restored,
        address: '127.0.0.1',
        orPort,
        dirAuthorityLines: [UNREACHABLE_DIR_AUTHORITY],
        noticeLogPath: noticeLog,
        workers: 1,
      }),
    );
    const relayd = registry.spawn('relayd', process.execPath, [RELAYD_BIN, '-f', torrc], {
      stdoutPath: join(dir, 'stdout.log'),
      stderrPath: join(dir, 'stderr.log'),
    });
    try {
      await waitForLogLine(noticeLog, /ORPort listening on/, {
        timeoutMs: START_TIMEOUT_MS,
        process: relayd,
        alsoShow: [join(dir, 'stderr.log')],
        what: 'relayd opening its ORPort',
      });
      assert.equal(fingerprintValue(restored, 'fingerprint'), torFingerprint);
      assert.equal(fingerprintValue(restored, 'fingerprint-ed25519'), torEd25519);
      // The link handshake checks relayd's CERTS against tor's identities.
      const client = await LinkClient.open({
        address: '127.0.0.1',
        port: orPort,
        rsaIdentity: fromHex(torFingerprint)!,
        ed25519Identity: fromBase64(torEd25519)!,
      });
      assert.ok(client.linkVersion >= 4);
      client.close();
    } finally {
      const status = await relayd.stop();
      assert.equal(status.code, 0, `relayd stopped cleanly (${JSON.stringify(status)})`);
    }
  });
});
