/**
 * Relay nicknames (tor: src/feature/nodelist/nickname.c `is_legal_nickname`,
 * MAX_NICKNAME_LEN in or.h): 1 to 19 characters from [A-Za-z0-9].
 */

export const MAX_NICKNAME_LENGTH = 19;

/** tor's nickname when none is configured (UNNAMED_ROUTER_NICKNAME). */
export const UNNAMED_NICKNAME = 'Unnamed';

export function isLegalNickname(text: string): boolean {
  return /^[A-Za-z0-9]{1,19}$/.test(text);
}
