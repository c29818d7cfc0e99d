/**
 * `relayctl keys …`: the key store of a DataDirectory.
 *
 *   generate, show       create or inspect keys (offline); both print the
 *                        same facts, `--json` as one object (docs/keys.md)
 *   import               copy a C tor bridge's keys (and pt_state/) into a
 *                        relayd DataDirectory, same fingerprint (offline)
 *   export, restore      back the keys up (ustar archive or directory) and
 *                        restore them (offline; docs/relayctl.md)
 *   rotate-onion         rotate the onion keys of the running bridge (online,
 *                        over the control socket)
 */
import type { Logger } from '@relayd/common';
import {
  type ExportReport,
  exportKeyBackup,
  importTorKeys,
  type RestoreReport,
  restoreKeyBackup,
  type TorImportReport,
} from '@relayd/control';
import { DEFAULT_NICKNAME, generateKeys, type KeyStatus, readKeyStatus } from '@relayd/keys';
import type { Argv } from 'yargs';
import type { CliIo } from './cli.js';
import { rotateOnionCommand } from './online-commands.js';

/** The JSON object `relayctl keys show --json` prints (docs/keys.md). */
export interface KeysShowJson {
  readonly dataDirectory: string;
  readonly rsaFingerprint: string;
  readonly hashedFingerprint: string;
  readonly ed25519Identity: string;
  readonly signingCertExpires: string | null;
  readonly signingCertExpired: boolean | null;
  readonly masterSecretKeyPresent: boolean;
  readonly ntorOnionKey: string | null;
  readonly previousNtorOnionKey: string | null;
}

export function keysShowJson(dataDirectory: string, status: KeyStatus): KeysShowJson {
  return {
    dataDirectory,
    rsaFingerprint: status.rsaFingerprint,
    hashedFingerprint: status.hashedFingerprint,
    ed25519Identity: status.ed25519Identity,
    signingCertExpires:
      status.signingCertExpiresMs === null ? null : new Date(status.signingCertExpiresMs).toISOString(),
    signingCertExpired: status.signingCertExpired,
    masterSecretKeyPresent: status.masterSecretKeyPresent,
    ntorOnionKey: status.ntorOnionKey,
    previousNtorOnionKey: status.previousNtorOnionKey,
  };
}

function printStatus(io: CliIo, json: boolean, report: KeysShowJson): void {
  if (json) {
    io.out(JSON.stringify(report));
    return;
  }
  const expiry =
    report.signingCertExpires === null
      ? 'none'
      : `${report.signingCertExpires}${report.signingCertExpired ? ' (EXPIRED)' : ''}`;
  io.out(`data directory:         ${report.dataDirectory}`);
  io.out(`rsa fingerprint:        ${report.rsaFingerprint}`);
  io.out(`hashed fingerprint:     ${report.hashedFingerprint}`);
  io.out(`ed25519 identity:       ${report.ed25519Identity}`);
  io.out(`signing cert expires:   ${expiry}`);
  io.out(`master secret key:      ${report.masterSecretKeyPresent ? 'present' : 'absent (offline)'}`);
  io.out(`ntor onion key:         ${report.ntorOnionKey ?? 'none'}`);
  if (report.previousNtorOnionKey !== null) io.out(`previous ntor onion key: ${report.previousNtorOnionKey}`);
}

/** Warnings go to stderr as one line each; progress notes are not printed. */
function cliLogger(io: CliIo): Logger {
  const logger: Logger = {
    error: (_f, message) => io.err(`relayctl: error: ${message}`),
    warn: (_f, message) => io.err(`relayctl: warning: ${message}`),
    notice: () => {},
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  return logger;
}

export function keysCommand(y: Argv, io: CliIo, nowMs: () => number): Argv {
  const offline = y
    .command(
      'generate',
      'Create the keys of a new bridge in a DataDirectory (refuses to overwrite identity keys)',
      (yy) =>
        yy
          .option('data-dir', { type: 'string', demandOption: true, describe: 'The DataDirectory' })
          .option('nickname', {
            type: 'string',
            default: DEFAULT_NICKNAME,
            describe: 'Nickname for the fingerprint files',
          })
          .option('json', { type: 'boolean', default: false, describe: 'Print as JSON' }),
      (args) => {
        const now = nowMs();
        const store = generateKeys(args['data-dir'], {
          nowMs: now,
          nickname: args.nickname,
          logger: cliLogger(io),
        });
        printStatus(io, args.json, keysShowJson(args['data-dir'], store.status(now)));
      },
    )
    .command(
      'show',
      'Print the fingerprint, Ed25519 identity and signing-certificate expiry of a DataDirectory',
      (yy) =>
        yy
          .option('data-dir', { type: 'string', demandOption: true, describe: 'The DataDirectory' })
          .option('json', { type: 'boolean', default: false, describe: 'Print as JSON' }),
      (args) => {
        printStatus(io, args.json, keysShowJson(args['data-dir'], readKeyStatus(args['data-dir'], nowMs())));
      },
    )
    .command(
      'import',
      "Copy a C tor bridge's keys (and pt_state/) into a relayd DataDirectory, keeping its fingerprint",
      (yy) =>
        yy
          .option('from', {
            type: 'string',
            demandOption: true,
            describe: "tor's DataDirectory (holding keys/)",
          })
          .option('data-dir', { type: 'string', demandOption: true, describe: "relayd's DataDirectory" })
          .option('json', { type: 'boolean', default: false, describe: 'Print as JSON' }),
      (args) => {
        const report = importTorKeys({ from: args.from, dataDir: args['data-dir'], nowMs: nowMs() });
        printImport(io, args.json, report);
      },
    )
    .command(
      'export',
      'Back up the keys and pt_state/ of a DataDirectory to an archive file or a directory',
      (yy) =>
        yy
          .option('data-dir', { type: 'string', demandOption: true, describe: 'The DataDirectory' })
          .option('to', {
            type: 'string',
            demandOption: true,
            describe: 'A new archive file, or a directory (existing and empty, or ending in /)',
          })
          .option('json', { type: 'boolean', default: false, describe: 'Print as JSON' }),
      (args) => {
        const report = exportKeyBackup({ dataDir: args['data-dir'], to: args.to, nowMs: nowMs() });
        printExport(io, args.json, report);
      },
    )
    .command(
      'restore',
      'Restore a backup into a DataDirectory (refuses to replace an existing identity without --force)',
      (yy) =>
        yy
          .option('from', {
            type: 'string',
            demandOption: true,
            describe: 'The backup: archive file or directory',
          })
          .option('data-dir', { type: 'string', demandOption: true, describe: 'The DataDirectory' })
          .option('force', {
            type: 'boolean',
            default: false,
            describe: 'Replace an existing identity (its keys/ is renamed aside, not deleted)',
          })
          .option('json', { type: 'boolean', default: false, describe: 'Print as JSON' }),
      (args) => {
        const report = restoreKeyBackup({
          from: args.from,
          dataDir: args['data-dir'],
          force: args.force,
          nowMs: nowMs(),
        });
        printRestore(io, args.json, report);
      },
    );
  return rotateOnionCommand(offline, io).demandCommand(
    1,
    'Give a keys command: generate, show, import, export, restore or rotate-onion.',
  );
}

function printImport(io: CliIo, json: boolean, r: TorImportReport): void {
  if (json) {
    io.out(JSON.stringify(r));
    return;
  }
  io.out(`imported the keys of ${r.from} into ${r.dataDirectory}`);
  io.out(`rsa fingerprint:        ${r.rsaFingerprint}`);
  io.out(`ed25519 identity:       ${r.ed25519Identity}`);
  io.out(
    `checked against:        ${r.checkedAgainst.length === 0 ? "nothing (tor's fingerprint files are absent)" : r.checkedAgainst.join(', ')}`,
  );
  io.out(`files:                  ${r.files.join(', ')}`);
  for (const s of r.skipped) io.err(`relayctl: note: not copied: ${s}`);
  io.out('stop tor before starting relayd: one identity must not run twice');
}

function printExport(io: CliIo, json: boolean, r: ExportReport): void {
  if (json) {
    io.out(JSON.stringify(r));
    return;
  }
  io.out(`backed up ${r.files.length} files of ${r.dataDirectory} to ${r.to} (${r.form})`);
  io.out(`rsa fingerprint:        ${r.rsaFingerprint}`);
  io.out(`ed25519 identity:       ${r.ed25519Identity}`);
  for (const s of r.skipped) io.err(`relayctl: note: not backed up: ${s}`);
}

function printRestore(io: CliIo, json: boolean, r: RestoreReport): void {
  if (json) {
    io.out(JSON.stringify(r));
    return;
  }
  io.out(
    `restored ${r.files.length} files from ${r.from} (${r.form}, made ${r.created}) into ${r.dataDirectory}`,
  );
  io.out(`rsa fingerprint:        ${r.rsaFingerprint}`);
  io.out(`ed25519 identity:       ${r.ed25519Identity}`);
  for (const aside of r.movedAside) io.out(`the previous files are kept in ${aside}`);
}
