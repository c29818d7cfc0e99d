/**
 * Key material made by tor's own tools before a node starts: the v3 authority
 * identity and signing keys (tor-gencert) and a node's relay identity
 * fingerprint (`tor --list-fingerprint`, which also creates the identity keys
 * in the data directory, so the running node keeps that identity).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESTNET_ERROR, TestnetError } from './errors.js';
import type { ProcessRegistry } from './process-registry.js';

export interface TorBinaries {
  /** Default /usr/bin/tor. */
  readonly tor: string;
  /** Default /usr/bin/tor-gencert. */
  readonly torGencert: string;
}

export const DEBIAN_TOR_BINARIES: TorBinaries = { tor: '/usr/bin/tor', torGencert: '/usr/bin/tor-gencert' };

const TOOL_TIMEOUT_MS = 30_000;

/** Throws a clear error if a binary the network needs is missing. */
export function checkBinaries(binaries: TorBinaries): void {
  for (const path of [binaries.tor, binaries.torGencert]) {
    if (!existsSync(path)) {
      throw new TestnetError(
        TESTNET_ERROR.spawnFailed,
        `${path} not found: the private network needs C tor installed`,
      );
    }
  }
}

/**
 * An empty file, passed as `--defaults-torrc` (so no system-wide
 * torrc-defaults leaks into a node's configuration) and as the GeoIP files.
 */
export function createEmptyFile(baseDir: string): string {
  const path = join(baseDir, 'empty');
  if (!existsSync(path)) writeFileSync(path, '');
  return path;
}

/**
 * Creates the authority identity key, signing key and certificate in
 * `<dataDir>/keys` (12-month certificate, empty passphrase) and returns the
 * v3 identity fingerprint from the certificate.
 */
export async function generateAuthorityKeys(
  registry: ProcessRegistry,
  binaries: TorBinaries,
  opts: { readonly name: string; readonly dataDir: string; readonly dirAddress: string },
): Promise<string> {
  const keys = join(opts.dataDir, 'keys');
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  const certificate = join(keys, 'authority_certificate');
  await registry.run(
    `${opts.name}-gencert`,
    binaries.torGencert,
    [
      '--create-identity-key',
      '--passphrase-fd',
      '0',
      '-i',
      join(keys, 'authority_identity_key'),
      '-s',
      join(keys, 'authority_signing_key'),
      '-c',
      certificate,
      '-m',
      '12',
      '-a',
      opts.dirAddress,
    ],
    {
      stdoutPath: join(opts.dataDir, 'gencert.stdout.log'),
      stderrPath: join(opts.dataDir, 'gencert.stderr.log'),
      stdin: '\n',
      timeoutMs: TOOL_TIMEOUT_MS,
    },
  );
  const text = readFileSync(certificate, 'utf8');
  const match = /^fingerprint ([0-9A-F]{40})$/m.exec(text);
  if (!match) {
    throw new TestnetError(TESTNET_ERROR.badToolOutput, `no fingerprint line in ${certificate}`);
  }
  return match[1]!;
}

/**
 * Creates a node's relay identity keys in `dataDir` (so the node keeps that
 * identity when it starts) and returns its RSA identity fingerprint. Runs
 * `tor --list-fingerprint` on a bare command line rather than the node's
 * torrc: an authority's torrc needs every authority's fingerprint first.
 */
export async function createRelayIdentity(
  registry: ProcessRegistry,
  binaries: TorBinaries,
  opts: { readonly name: string; readonly dataDir: string; readonly defaultsTorrc: string },
): Promise<string> {
  const output = await registry.run(
    `${opts.name}-list-fingerprint`,
    binaries.tor,
    [
      '--defaults-torrc',
      opts.defaultsTorrc,
      '-f',
      opts.defaultsTorrc,
      '--DataDirectory',
      opts.dataDir,
      // Any ORPort makes tor act as a relay and create relay keys; nothing is bound.
      '--ORPort',
      '1',
      '--list-fingerprint',
      '--quiet',
    ],
    {
      stdoutPath: join(opts.dataDir, 'list-fingerprint.stdout.log'),
      stderrPath: join(opts.dataDir, 'list-fingerprint.stderr.log'),
      timeoutMs: TOOL_TIMEOUT_MS,
    },
  );
  return parseListFingerprintOutput(output);
}

/** Reads "<nickname> XXXX XXXX ... XXXX" (the last line tor prints) into 40 hex digits. */
export function parseListFingerprintOutput(output: string): string {
  const last = output.trimEnd().split('\n').pop() ?? '';
  const match = /^\S+ ((?:[0-9A-F]{4} ?){10})$/.exec(last.trim());
  if (!match) {
    throw new TestnetError(
      TESTNET_ERROR.badToolOutput,
      `tor --list-fingerprint printed ${JSON.stringify(last)}, expected "<nickname> <fingerprint>"`,
    );
  }
  return match[1]!.replace(/ /g, '');
}
