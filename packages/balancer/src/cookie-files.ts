/**
 * Extended ORPort cookie files on disk (ext-orport-spec 2.1.2): writing the
 * front's own, which pluggable transports read (TOR_PT_AUTH_COOKIE_FILE),
 * and reading a backend's, written by the C tor (or relayd) behind it.
 *
 * The front's cookie is fresh at every start, as in C tor ("Tor should
 * regenerate the cookie file on startup"); goptlib-based transports
 * (obfs4proxy, lyrebird, snowflake, webtunnel) read the file for each
 * connection, so they follow a new cookie without a restart. The file is
 * mode 0600 and replaced atomically: a transport never reads half a file.
 * A backend's file is read again for every connection for the same reason:
 * a restarted tor writes a new cookie.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Random } from '@relayd/common';
import { createCookieFile, decodeCookieFile } from '@relayd/ext-orport';
import { BalancerError } from './balancer-error.js';

/** Creates (or replaces) the cookie file at `path` with a fresh cookie; returns the cookie. */
export async function writeExtOrCookieFile(path: string, random: Random): Promise<Uint8Array> {
  const { cookie, fileBytes } = createCookieFile(random);
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(temporary, fileBytes, { mode: 0o600 });
    // The mode given to open() is narrowed by the umask; say exactly what we mean.
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    throw new BalancerError(
      'COOKIE_FILE_WRITE',
      `could not write the Extended ORPort cookie file ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return cookie;
}

/** Reads the cookie from an Extended ORPort cookie file. Rejects with COOKIE_FILE_READ or COOKIE_FILE_INVALID. */
export async function readExtOrCookieFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    throw new BalancerError(
      'COOKIE_FILE_READ',
      `could not read the Extended ORPort cookie file ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const decoded = decodeCookieFile(bytes);
  if (!decoded.ok) {
    throw new BalancerError('COOKIE_FILE_INVALID', `${path}: ${decoded.error.message}`, {
      cause: decoded.error,
    });
  }
  return decoded.value;
}
