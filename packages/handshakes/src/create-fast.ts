/**
 * The CREATE_FAST handshake (tor-spec 5.1.5), both sides.
 *
 * Client → relay:  X (20 random bytes)
 * Relay → client:  Y (20 random bytes) | KH (20)
 *
 * K = KDF-TOR(X | Y) (tor-spec 5.2.1) = KH | Df | Db | Kf | Kb | ...; KH proves
 * to the client that the relay saw X. The circuit key stream is K after KH,
 * so its first 92 bytes have the same Df|Db|Kf|Kb|... layout as ntor's.
 * CREATE_FAST authenticates nothing beyond the TLS link it runs on.
 */
import { concatBytes, constantTimeEqual, err, ok, type Random, type Result } from '@relayd/common';
import { kdfTor } from '@relayd/crypto';
import { type CircuitKeys, circuitKeysFrom } from './circuit-keys.js';
import { HandshakeError } from './handshake-error.js';

// tor-spec 5.1.5: X and Y are HASH_LEN (20) bytes; KH is HASH_LEN bytes.
const HASH_LENGTH = 20;

/** Length of the CREATE_FAST body (X). */
export const CREATE_FAST_LENGTH = HASH_LENGTH;
/** Length of the CREATED_FAST body (Y | KH). */
export const CREATED_FAST_LENGTH = 2 * HASH_LENGTH;

// KDF-TOR counts blocks with one byte: at most 256 SHA-1 outputs, less the KH block.
const KDF_TOR_MAX_LENGTH = 256 * HASH_LENGTH - HASH_LENGTH;

const NAME = 'create-fast';

/** What the client keeps between CREATE_FAST and CREATED_FAST. Treat as opaque. */
export interface CreateFastClientState {
  readonly x: Uint8Array;
}

export interface CreateFastClientStart {
  /** X, 20 bytes: the CREATE_FAST body. */
  readonly onionskin: Uint8Array;
  readonly state: CreateFastClientState;
}

/** The relay's answer. */
export interface CreateFastServerResult {
  /** Y | KH, 40 bytes: the CREATED_FAST body. */
  readonly reply: Uint8Array;
  readonly keys: CircuitKeys;
}

function fail(failure: HandshakeError['failure'], detail: string) {
  return err(new HandshakeError(NAME, failure, detail));
}

/** KH and the key stream after it, from K0 = X | Y. */
function derive(x: Uint8Array, y: Uint8Array): { kh: Uint8Array; keys: CircuitKeys } {
  const k0 = concatBytes(x, y);
  const kh = kdfTor(k0, HASH_LENGTH);
  const keys = circuitKeysFrom((n) => kdfTor(k0, HASH_LENGTH + n).subarray(HASH_LENGTH), KDF_TOR_MAX_LENGTH);
  return { kh, keys };
}

/** Relay side: answers CREATE_FAST with Y drawn from `random`. */
export function createFastServerHandshake(
  onionskin: Uint8Array,
  random: Random,
): Result<CreateFastServerResult, HandshakeError> {
  if (onionskin.length !== CREATE_FAST_LENGTH) {
    return fail(
      'bad-length',
      `CREATE_FAST body is ${onionskin.length} bytes, expected ${CREATE_FAST_LENGTH}`,
    );
  }
  return createFastServerHandshakeWithEphemeral(onionskin, random.bytes(HASH_LENGTH));
}

/** Relay side with Y given, so that test vectors replay exactly. */
export function createFastServerHandshakeWithEphemeral(
  onionskin: Uint8Array,
  y: Uint8Array,
): Result<CreateFastServerResult, HandshakeError> {
  if (onionskin.length !== CREATE_FAST_LENGTH) {
    return fail(
      'bad-length',
      `CREATE_FAST body is ${onionskin.length} bytes, expected ${CREATE_FAST_LENGTH}`,
    );
  }
  if (y.length !== HASH_LENGTH) throw new RangeError(`CREATE_FAST Y must be ${HASH_LENGTH} bytes`);
  const { kh, keys } = derive(onionskin, y);
  return ok({ reply: concatBytes(y, kh), keys });
}

/** Client side, step 1: draws X from `random`. */
export function createFastClientCreate(random: Random): CreateFastClientStart {
  return createFastClientCreateWithEphemeral(random.bytes(HASH_LENGTH));
}

/** Client side, step 1, with X given. */
export function createFastClientCreateWithEphemeral(x: Uint8Array): CreateFastClientStart {
  if (x.length !== HASH_LENGTH) throw new RangeError(`CREATE_FAST X must be ${HASH_LENGTH} bytes`);
  const copy = x.slice();
  return { onionskin: copy, state: { x: copy } };
}

/** Client side, step 2: checks KH in CREATED_FAST and derives the circuit keys. */
export function createFastClientFinish(
  state: CreateFastClientState,
  reply: Uint8Array,
): Result<CircuitKeys, HandshakeError> {
  if (reply.length !== CREATED_FAST_LENGTH) {
    return fail('bad-length', `CREATED_FAST body is ${reply.length} bytes, expected ${CREATED_FAST_LENGTH}`);
  }
  const { kh, keys } = derive(state.x, reply.subarray(0, HASH_LENGTH));
  if (!constantTimeEqual(kh, reply.subarray(HASH_LENGTH))) return fail('bad-auth', 'KH does not match');
  return ok(keys);
}
