/**
 * The SAFE_COOKIE authentication values (ext-orport-spec 2, 2.1.3;
 * proposal 217 4.2.1.3), shared by the server and client state machines:
 * the auth-type bytes, the sizes, the two HMAC labels and the hashes.
 *
 *   ServerHash = HMAC-SHA256(CookieString,
 *       "ExtORPort authentication server-to-client hash" | ClientNonce | ServerNonce)
 *   ClientHash = HMAC-SHA256(CookieString,
 *       "ExtORPort authentication client-to-server hash" | ClientNonce | ServerNonce)
 */
import { InternalError, type Random, utf8 } from '@relayd/common';
import { hmacSha256 } from '@relayd/crypto';

/** AuthType values (ext-orport-spec 2): "We define one authentication type: SAFE_COOKIE. Its AuthType value is 1." */
export const ExtOrAuthType = {
  /** EndAuthTypes, and the client's "I did not like the authentication types offered". */
  NONE: 0,
  SAFE_COOKIE: 1,
} as const;

/** Status (ext-orport-spec 2.1.3): "Status is 1 if the authentication was successful. If the authentication failed, Status is 0." */
export const ExtOrAuthStatus = {
  FAILURE: 0,
  SUCCESS: 1,
} as const;

/** CookieString: the 32-byte secret after the cookie file's header (ext-orport-spec 2.1.2). */
export const EXT_OR_COOKIE_LENGTH = 32;
/** ClientNonce and ServerNonce: "32 octets of random data". */
export const SAFE_COOKIE_NONCE_LENGTH = 32;
/** ServerHash and ClientHash: HMAC-SHA256 outputs. */
export const SAFE_COOKIE_HASH_LENGTH = 32;

export const SAFE_COOKIE_SERVER_TO_CLIENT_LABEL = 'ExtORPort authentication server-to-client hash';
export const SAFE_COOKIE_CLIENT_TO_SERVER_LABEL = 'ExtORPort authentication client-to-server hash';

const SERVER_TO_CLIENT = utf8(SAFE_COOKIE_SERVER_TO_CLIENT_LABEL);
const CLIENT_TO_SERVER = utf8(SAFE_COOKIE_CLIENT_TO_SERVER_LABEL);

/** ServerHash for these nonces. Throws InternalError for a cookie or nonce of the wrong size (a caller bug). */
export function safeCookieServerHash(
  cookie: Uint8Array,
  clientNonce: Uint8Array,
  serverNonce: Uint8Array,
): Uint8Array {
  checkSizes(cookie, clientNonce, serverNonce);
  return hmacSha256(cookie, SERVER_TO_CLIENT, clientNonce, serverNonce);
}

/** ClientHash for these nonces. Throws InternalError for a cookie or nonce of the wrong size (a caller bug). */
export function safeCookieClientHash(
  cookie: Uint8Array,
  clientNonce: Uint8Array,
  serverNonce: Uint8Array,
): Uint8Array {
  checkSizes(cookie, clientNonce, serverNonce);
  return hmacSha256(cookie, CLIENT_TO_SERVER, clientNonce, serverNonce);
}

/** Throws InternalError unless `cookie` is a 32-byte CookieString. */
export function checkCookie(cookie: Uint8Array): void {
  if (cookie.length !== EXT_OR_COOKIE_LENGTH) {
    throw new InternalError(
      `Extended ORPort cookie must be ${EXT_OR_COOKIE_LENGTH} bytes, got ${cookie.length}`,
    );
  }
}

/** Draws a nonce, refusing a Random that returns the wrong size (a caller bug). */
export function drawNonce(random: Random): Uint8Array {
  const nonce = random.bytes(SAFE_COOKIE_NONCE_LENGTH);
  if (nonce.length !== SAFE_COOKIE_NONCE_LENGTH) {
    throw new InternalError(
      `Random returned ${nonce.length} bytes for a ${SAFE_COOKIE_NONCE_LENGTH}-byte nonce`,
    );
  }
  return nonce.slice();
}

function checkSizes(cookie: Uint8Array, clientNonce: Uint8Array, serverNonce: Uint8Array): void {
  checkCookie(cookie);
  if (clientNonce.length !== SAFE_COOKIE_NONCE_LENGTH || serverNonce.length !== SAFE_COOKIE_NONCE_LENGTH) {
    throw new InternalError(
      `SAFE_COOKIE nonces must be ${SAFE_COOKIE_NONCE_LENGTH} bytes, got ${clientNonce.length} and ${serverNonce.length}`,
    );
  }
}
