/**
 * AUTH_CHALLENGE cell body (tor-spec 4.3): a 32-byte challenge and the
 * authentication methods the responder accepts.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { InternalError } from '@relayd/common';

export const AUTH_CHALLENGE_LENGTH = 32;

/** AuthType / method values (tor-spec 4.4.1, 4.4.2). There is no type 2. */
export const AuthMethod = {
  RSA_SHA256_TLSSECRET: 1,
  ED25519_SHA256_RFC5705: 3,
} as const;

export interface AuthChallengeMessage {
  readonly type: 'auth-challenge';
  /** 32 bytes. */
  readonly challenge: Uint8Array;
  readonly methods: readonly number[];
}

export function readAuthChallenge(r: ByteReader): AuthChallengeMessage {
  const challenge = r.take(AUTH_CHALLENGE_LENGTH, 'challenge').slice();
  const n = r.u16('number of methods');
  const methods: number[] = [];
  for (let i = 0; i < n; i++) methods.push(r.u16('method'));
  // "Initiators MUST ignore unexpected bytes at the end of the cell."
  return { type: 'auth-challenge', challenge, methods };
}

export function writeAuthChallenge(w: ByteWriter, message: AuthChallengeMessage): void {
  if (message.challenge.length !== AUTH_CHALLENGE_LENGTH) {
    throw new InternalError(`AUTH_CHALLENGE challenge must be 32 bytes, not ${message.challenge.length}`);
  }
  if (message.methods.length > 0xffff) throw new InternalError('too many AUTH_CHALLENGE methods');
  w.bytes(message.challenge).u16(message.methods.length);
  for (const m of message.methods) w.u16(m);
}
