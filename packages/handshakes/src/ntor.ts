/**
 * The ntor circuit extension handshake, "ntor-curve25519-sha256-1"
 * (tor-spec 5.1.4), both sides.
 *
 * Client → relay (84 bytes):  NODEID (20, RSA identity digest) | KEYID (32, B) | X (32)
 * Relay → client (64 bytes):  Y (32) | AUTH (32)
 *
 * Owns the message layouts, the secret_input/auth_input construction and the
 * HKDF-SHA256 key stream (tor-spec 5.2.2). Does not own key storage, the
 * CREATE2/CREATED2 framing, or the choice of what to do on failure.
 */
import {
  assertInvariant,
  concatBytes,
  constantTimeEqual,
  err,
  ok,
  type Random,
  type Result,
  utf8,
} from '@relayd/common';
import { hkdfSha256, hmacSha256, type X25519Keypair, x25519SharedSecret } from '@relayd/crypto';
import { type CircuitKeys, circuitKeysFrom } from './circuit-keys.js';
import { HandshakeError } from './handshake-error.js';
import {
  type OnionKeyRole,
  type ServerOnionKeys,
  selectOnionKey,
  x25519KeypairFromRandom,
} from './onion-keys.js';

// tor-spec 5.1.4: ID_LENGTH = 20, G_LENGTH = H_LENGTH = 32.
const ID_LENGTH = 20;
const KEY_LENGTH = 32;
const AUTH_LENGTH = 32;

/** Length of the client's ntor handshake (NODEID | KEYID | X). */
export const NTOR_ONIONSKIN_LENGTH = ID_LENGTH + KEY_LENGTH + KEY_LENGTH;
/** Length of the relay's ntor reply (Y | AUTH). */
export const NTOR_REPLY_LENGTH = KEY_LENGTH + AUTH_LENGTH;

// tor-spec 5.1.4: PROTOID = "ntor-curve25519-sha256-1", t_mac = PROTOID | ":mac", ...
const PROTOID = utf8('ntor-curve25519-sha256-1');
const T_MAC = utf8('ntor-curve25519-sha256-1:mac');
const T_KEY = utf8('ntor-curve25519-sha256-1:key_extract');
const T_VERIFY = utf8('ntor-curve25519-sha256-1:verify');
const M_EXPAND = utf8('ntor-curve25519-sha256-1:key_expand');
const SERVER = utf8('Server');
// RFC 5869: HKDF can expand to at most 255 hash blocks.
const HKDF_MAX_LENGTH = 255 * 32;
// Stands in for a rejected DH output so that the rest of the work still runs.
const ZERO_SHARED = new Uint8Array(32);

const NAME = 'ntor';

/** The relay's long-term keys as ntor needs them. */
export interface NtorServerKeys {
  /** SHA-1 digest of the relay's RSA identity key (20 bytes): the NODEID clients send. */
  readonly rsaIdentityDigest: Uint8Array;
  readonly onionKeys: ServerOnionKeys;
}

/** What a client needs to know about the relay it extends to. */
export interface NtorRelayKeys {
  /** SHA-1 digest of the relay's RSA identity key (20 bytes). */
  readonly rsaIdentityDigest: Uint8Array;
  /** The relay's advertised ntor onion key B (32 bytes). */
  readonly ntorOnionKey: Uint8Array;
}

/** The relay's successful answer. */
export interface NtorServerResult {
  /** Y | AUTH, 64 bytes: the body of CREATED2 / EXTENDED2. */
  readonly reply: Uint8Array;
  readonly keys: CircuitKeys;
  /** Which onion key the client used, for metrics and rotation decisions. */
  readonly onionKey: OnionKeyRole;
}

/** What the client keeps between sending its handshake and reading the reply. Treat as opaque. */
export interface NtorClientState {
  readonly relay: NtorRelayKeys;
  readonly ephemeral: X25519Keypair;
}

export interface NtorClientStart {
  /** NODEID | KEYID | X, 84 bytes: the body of CREATE2 / EXTEND2. */
  readonly onionskin: Uint8Array;
  readonly state: NtorClientState;
}

function fail(failure: HandshakeError['failure'], detail: string) {
  return err(new HandshakeError(NAME, failure, detail));
}

/** secret_input = EXP(X,y) | EXP(X,b) | ID | B | X | Y | PROTOID (the client computes the same two DH values). */
function secretInputOf(
  xy: Uint8Array,
  xb: Uint8Array,
  id: Uint8Array,
  b: Uint8Array,
  x: Uint8Array,
  y: Uint8Array,
): Uint8Array {
  return concatBytes(xy, xb, id, b, x, y, PROTOID);
}

/** AUTH = H(verify | ID | B | Y | X | PROTOID | "Server", t_mac), verify = H(secret_input, t_verify). */
function authOf(
  secretInput: Uint8Array,
  id: Uint8Array,
  b: Uint8Array,
  x: Uint8Array,
  y: Uint8Array,
): Uint8Array {
  const verify = hmacSha256(T_VERIFY, secretInput);
  return hmacSha256(T_MAC, verify, id, b, y, x, PROTOID, SERVER);
}

/** KEY_SEED = H(secret_input, t_key), expanded with m_expand: HKDF-SHA256 per tor-spec 5.2.2. */
function keysOf(secretInput: Uint8Array): CircuitKeys {
  return circuitKeysFrom((n) => hkdfSha256(secretInput, T_KEY, M_EXPAND, n), HKDF_MAX_LENGTH);
}

/** Relay side: answers a client's ntor handshake with a fresh ephemeral key drawn from `random`. */
export function ntorServerHandshake(
  keys: NtorServerKeys,
  onionskin: Uint8Array,
  random: Random,
): Result<NtorServerResult, HandshakeError> {
  if (onionskin.length !== NTOR_ONIONSKIN_LENGTH) {
    return fail(
      'bad-length',
      `client handshake is ${onionskin.length} bytes, expected ${NTOR_ONIONSKIN_LENGTH}`,
    );
  }
  return ntorServerHandshakeWithEphemeral(keys, onionskin, x25519KeypairFromRandom(random));
}

/** Relay side with the ephemeral keypair (y, Y) given, so that test vectors replay exactly. */
export function ntorServerHandshakeWithEphemeral(
  keys: NtorServerKeys,
  onionskin: Uint8Array,
  ephemeral: X25519Keypair,
): Result<NtorServerResult, HandshakeError> {
  if (onionskin.length !== NTOR_ONIONSKIN_LENGTH) {
    return fail(
      'bad-length',
      `client handshake is ${onionskin.length} bytes, expected ${NTOR_ONIONSKIN_LENGTH}`,
    );
  }
  const id = keys.rsaIdentityDigest;
  assertInvariant(id.length === ID_LENGTH, 'ntor relay identity digest must be 20 bytes');
  const nodeId = onionskin.subarray(0, ID_LENGTH);
  const keyId = onionskin.subarray(ID_LENGTH, ID_LENGTH + KEY_LENGTH);
  const clientX = onionskin.slice(ID_LENGTH + KEY_LENGTH);

  // NODEID is public, so (like C tor) a mismatch can end the handshake at once.
  if (!constantTimeEqual(nodeId, id)) return fail('unknown-identity', 'client named another relay identity');

  // On an unknown KEYID, carry on with the current key and fail at the end,
  // so the work done does not reveal whether the key was recognised.
  const selected = selectOnionKey(keys.onionKeys, keyId);
  const onionKeypair = selected?.keypair ?? keys.onionKeys.current;
  const xy = x25519SharedSecret(ephemeral.secretKey, clientX);
  const xb = x25519SharedSecret(onionKeypair.secretKey, clientX);
  const b = onionKeypair.publicKey;
  const y = ephemeral.publicKey;
  const secretInput = secretInputOf(xy ?? ZERO_SHARED, xb ?? ZERO_SHARED, id, b, clientX, y);
  const auth = authOf(secretInput, id, b, clientX, y);

  if (!selected) return fail('unknown-key', 'client named an onion key this relay does not hold');
  if (!xy || !xb) return fail('zero-dh', 'client key yields an all-zero shared secret');
  return ok({ reply: concatBytes(y, auth), keys: keysOf(secretInput), onionKey: selected.role });
}

/** Client side, step 1: builds the 84-byte handshake with an ephemeral key drawn from `random`. */
export function ntorClientCreate(relay: NtorRelayKeys, random: Random): NtorClientStart {
  return ntorClientCreateWithEphemeral(relay, x25519KeypairFromRandom(random));
}

/** Client side, step 1, with the ephemeral keypair (x, X) given. */
export function ntorClientCreateWithEphemeral(
  relay: NtorRelayKeys,
  ephemeral: X25519Keypair,
): NtorClientStart {
  assertInvariant(
    relay.rsaIdentityDigest.length === ID_LENGTH,
    'ntor relay identity digest must be 20 bytes',
  );
  assertInvariant(relay.ntorOnionKey.length === KEY_LENGTH, 'ntor onion key must be 32 bytes');
  return {
    onionskin: concatBytes(relay.rsaIdentityDigest, relay.ntorOnionKey, ephemeral.publicKey),
    state: { relay, ephemeral },
  };
}

/** Client side, step 2: checks the relay's reply and derives the circuit keys. */
export function ntorClientFinish(
  state: NtorClientState,
  reply: Uint8Array,
): Result<CircuitKeys, HandshakeError> {
  if (reply.length !== NTOR_REPLY_LENGTH) {
    return fail('bad-length', `relay reply is ${reply.length} bytes, expected ${NTOR_REPLY_LENGTH}`);
  }
  const y = reply.slice(0, KEY_LENGTH);
  const auth = reply.subarray(KEY_LENGTH);
  const { rsaIdentityDigest: id, ntorOnionKey: b } = state.relay;
  const x = state.ephemeral.publicKey;
  const yx = x25519SharedSecret(state.ephemeral.secretKey, y);
  const bx = x25519SharedSecret(state.ephemeral.secretKey, b);
  const secretInput = secretInputOf(yx ?? ZERO_SHARED, bx ?? ZERO_SHARED, id, b, x, y);
  const authMatches = constantTimeEqual(authOf(secretInput, id, b, x, y), auth);

  if (!yx || !bx) return fail('zero-dh', 'relay key yields an all-zero shared secret');
  if (!authMatches) return fail('bad-auth', 'relay AUTH does not match');
  return ok(keysOf(secretInput));
}
