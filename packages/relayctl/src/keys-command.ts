/**
 * `relayctl keys generate|show`: offline commands on a DataDirectory's key
 * store. Both print the same facts; `--json` prints them as one object whose
 * field names are documented in docs/keys.md.
 */
import type { Logger } from '@relayd/common';
import { DEFAULT_NICKNAME, generateKeys, type KeyStatus, readKeyStatus } from '@relayd/keys';
import type { Argv } from 'yargs';
import type { CliIo } from './cli.js';

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
  return y
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
    .demandCommand(1, 'Give a keys command: generate or show.');
}
