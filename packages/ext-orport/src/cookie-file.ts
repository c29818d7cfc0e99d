/**
 * The Extended ORPort cookie file (ext-orport-spec 2.1.2; C tor
 * ext_orport.c and config.c `init_cookie_authentication`):
 *
 *   StaticHeader [32 octets] = "! Extended ORPort Auth Cookie !\x0a"
 *   Cookie       [32 octets]   the CookieString
 *
 * Pure bytes in and out: writing the file (mode 0600, or 0640 for C tor's
 * ExtORPortCookieAuthFileGroupReadable) and choosing its path are the
 * caller's. Like C tor, generate a fresh cookie at every start ("Tor should
 * regenerate the cookie file on startup"); transports read the file on each
 * connection (goptlib re-reads it per DialOr), so a new cookie takes effect
 * without restarting them.
 */
import { bytesEqual, err, ok, type Random, type Result, utf8 } from '@relayd/common';
import { ExtOrError } from './ext-or-error.js';
import { checkCookie, EXT_OR_COOKIE_LENGTH } from './safe-cookie.js';

export const EXT_OR_COOKIE_FILE_HEADER_TEXT = '! Extended ORPort Auth Cookie !\n';
export const EXT_OR_COOKIE_FILE_HEADER: Uint8Array = utf8(EXT_OR_COOKIE_FILE_HEADER_TEXT);
/** Header plus cookie. goptlib refuses a file that is any longer ("file is longer than 64 bytes"). */
export const EXT_OR_COOKIE_FILE_LENGTH = EXT_OR_COOKIE_FILE_HEADER.length + EXT_OR_COOKIE_LENGTH;
/** C tor's default name, under DataDirectory, when ExtORPortCookieAuthFile is not set. */
export const DEFAULT_EXT_OR_COOKIE_FILE_NAME = 'extended_orport_auth_cookie';

/** A new cookie and the file bytes that hold it. */
export interface ExtOrCookieFile {
  readonly cookie: Uint8Array;
  readonly fileBytes: Uint8Array;
}

/** Draws a fresh 32-byte cookie from `random` and encodes its file. */
export function createCookieFile(random: Random): ExtOrCookieFile {
  const cookie = random.bytes(EXT_OR_COOKIE_LENGTH).slice();
  return { cookie, fileBytes: encodeCookieFile(cookie) };
}

/** The 64 file bytes for `cookie`. Throws InternalError unless the cookie is 32 bytes. */
export function encodeCookieFile(cookie: Uint8Array): Uint8Array {
  checkCookie(cookie);
  const out = new Uint8Array(EXT_OR_COOKIE_FILE_LENGTH);
  out.set(EXT_OR_COOKIE_FILE_HEADER, 0);
  out.set(cookie, EXT_OR_COOKIE_FILE_HEADER.length);
  return out;
}

/**
 * The cookie inside a cookie file's bytes. The file must be exactly 64
 * bytes ("Extended ORPort clients MUST make sure that the StaticHeader is
 * present in the cookie file"). Never throws.
 */
export function decodeCookieFile(fileBytes: Uint8Array): Result<Uint8Array, ExtOrError> {
  if (fileBytes.length !== EXT_OR_COOKIE_FILE_LENGTH) {
    return err(
      new ExtOrError(
        'COOKIE_FILE_BAD_LENGTH',
        `Extended ORPort cookie file is ${fileBytes.length} bytes, expected ${EXT_OR_COOKIE_FILE_LENGTH}`,
      ),
    );
  }
  const header = fileBytes.subarray(0, EXT_OR_COOKIE_FILE_HEADER.length);
  if (!bytesEqual(header, EXT_OR_COOKIE_FILE_HEADER)) {
    return err(
      new ExtOrError(
        'COOKIE_FILE_BAD_HEADER',
        'Extended ORPort cookie file does not start with "! Extended ORPort Auth Cookie !\\n"',
      ),
    );
  }
  return ok(fileBytes.slice(EXT_OR_COOKIE_FILE_HEADER.length));
}
