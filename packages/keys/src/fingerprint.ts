/**
 * The identity strings tor shows and writes: the RSA fingerprint, its hashed
 * form for bridges, the Ed25519 identity in base64, and the one-line
 * "<Nickname> <value>\n" files tor keeps in the DataDirectory
 * (router.c router_write_fingerprint; main.c do_list_fingerprint).
 */
import { toBase64Unpadded, toHex } from '@relayd/common';
import { type RsaPublicKey, sha1 } from '@relayd/crypto';
import { KeyErrorCode, KeyStoreError } from './errors.js';

/** tor's default Nickname when none is configured (config.c). */
export const DEFAULT_NICKNAME = 'Unnamed';
/** tor: MAX_NICKNAME_LEN (or.h). */
export const MAX_NICKNAME_LEN = 19;

/** tor's is_legal_nickname(): 1–19 ASCII letters and digits. */
export function isLegalNickname(nickname: string): boolean {
  return nickname.length >= 1 && nickname.length <= MAX_NICKNAME_LEN && /^[A-Za-z0-9]+$/.test(nickname);
}

export function checkNickname(nickname: string): string {
  if (!isLegalNickname(nickname)) {
    throw new KeyStoreError(
      KeyErrorCode.BAD_NICKNAME,
      undefined,
      `nickname ${JSON.stringify(nickname)} is not legal: use 1 to ${MAX_NICKNAME_LEN} ASCII letters and digits`,
    );
  }
  return nickname;
}

/** SHA-1 of the DER identity key, 40 uppercase hex digits (crypto_pk_get_fingerprint, no spaces). */
export function rsaFingerprintHex(identity: RsaPublicKey): string {
  return toHex(identity.fingerprint()).toUpperCase();
}

/** SHA-1 of the fingerprint digest, uppercase hex: what a bridge publishes about itself (crypto_pk_get_hashed_fingerprint). */
export function hashedFingerprintHex(identity: RsaPublicKey): string {
  return toHex(sha1(identity.fingerprint())).toUpperCase();
}

/** "XXXX XXXX …": the grouped form `tor --list-fingerprint` prints. */
export function groupFingerprint(fingerprintHex: string): string {
  return fingerprintHex.match(/.{1,4}/g)?.join(' ') ?? '';
}

/** The Ed25519 identity as tor prints it: base64 without '=' padding (43 characters). */
export function ed25519IdentityToBase64(identity: Uint8Array): string {
  return toBase64Unpadded(identity);
}

/** One line of a fingerprint file, with tor's trailing newline. */
export function fingerprintFileLine(nickname: string, value: string): string {
  return `${nickname} ${value}\n`;
}
