/**
 * The ntor v3 circuit extension handshake, "ntor3-curve25519-sha3_256-1"
 * (proposal 332; tor-spec "The ntor-v3 handshake"), both sides.
 *
 * Client → relay:  ID (32, Ed25519 identity) | B (32) | X (32) | MSG (encrypted CM) | MAC (32)
 * Relay → client:  Y (32) | AUTH (32) | MSG (encrypted SM)
 *
 * The client's message CM is encrypted and authenticated to the relay's onion
 * key; the relay's message SM rides in the reply. The relay side is split in
 * two so the caller can read CM (an ntor-v3 extension list for circuit
 * extension) before choosing SM: `ntorV3ServerReceive`, then `ntorV3ServerReply`.
 *
 * Instantiation (proposal 332 A.1), with ENCAP(s) = u64be(len(s)) | s:
 *   H(s, t)        = SHA3-256(ENCAP(t) | s)
 *   MAC(k, msg, t) = SHA3-256(ENCAP(t) | ENCAP(k) | msg)
 *   KDF(s, t)      = SHAKE-256(ENCAP(t) | s)
 *   ENC(k, m)      = AES-256-CTR(k, m) with a zero IV
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
import { AesCtrStream, sha3_256, shake256, type X25519Keypair, x25519SharedSecret } from '@relayd/crypto';
import { type CircuitKeys, circuitKeysFrom } from './circuit-keys.js';
import { HandshakeError } from './handshake-error.js';
import {
  type OnionKeyRole,
  type ServerOnionKeys,
  selectOnionKey,
  x25519KeypairFromRandom,
} from './onion-keys.js';

// Proposal 332 A.1: DIGEST_LEN = MAC_LEN = MAC_KEY_LEN = ENC_KEY_LEN = PUB_KEY_LEN = ID_LEN = 32.
const ID_LENGTH = 32;
const KEY_LENGTH = 32;
const DIGEST_LENGTH = 32;
const ENC_KEY_LENGTH = 32;
const MAC_KEY_LENGTH = 32;

/** Shortest possible client handshake: ID | B | X | MAC with an empty message. */
export const NTOR_V3_MIN_ONIONSKIN_LENGTH = ID_LENGTH + 2 * KEY_LENGTH + DIGEST_LENGTH;
/** Shortest possible relay reply: Y | AUTH with an empty message. */
export const NTOR_V3_MIN_REPLY_LENGTH = KEY_LENGTH + DIGEST_LENGTH;

// Proposal 332 A.1 and A.2.
const PROTOID = utf8('ntor3-curve25519-sha3_256-1');
const T_MSGKDF = encap(utf8('ntor3-curve25519-sha3_256-1:kdf_phase1'));
const T_MSGMAC = encap(utf8('ntor3-curve25519-sha3_256-1:msg_mac'));
const T_KEY_SEED = encap(utf8('ntor3-curve25519-sha3_256-1:key_seed'));
const T_VERIFY = encap(utf8('ntor3-curve25519-sha3_256-1:verify'));
const T_FINAL = encap(utf8('ntor3-curve25519-sha3_256-1:kdf_final'));
const T_AUTH = encap(utf8('ntor3-curve25519-sha3_256-1:auth_final'));
const SERVER = utf8('Server');
const EMPTY = new Uint8Array(0);

/**
 * The verification string for circuit extension (CREATE2 and EXTEND2), as
 * C tor's NTOR3_CIRC_VERIFICATION and Arti send it. A relay that checks
 * against anything else fails every ntor v3 handshake from a real client.
 */
export const NTOR_V3_CIRCUIT_VERIFICATION: Uint8Array = new TextEncoder().encode('circuit extend');
const ZERO_SHARED = new Uint8Array(32);
// SHAKE-256 has no limit; this only bounds what a caller may ask for at once.
const KEY_STREAM_MAX_LENGTH = 1 << 20;

const NAME = 'ntor-v3';

/** ENCAP(s) = htonll(len(s)) | s (proposal 332, "Notation"). */
function encap(s: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + s.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(s.length));
  out.set(s, 8);
  return out;
}

/** MAC_msgmac(k, msg) = SHA3-256(ENCAP(t_msgmac) | ENCAP(k) | msg). */
function messageMac(macKey: Uint8Array, ...msg: Uint8Array[]): Uint8Array {
  return sha3_256(T_MSGMAC, encap(macKey), ...msg);
}

/** (ENC_K1, MAC_K1) = PARTITION(KDF_msgkdf(Bx | ID | X | B | PROTOID | ENCAP(VER)), 32, 32). */
function phase1Keys(
  bx: Uint8Array,
  id: Uint8Array,
  x: Uint8Array,
  b: Uint8Array,
  verification: Uint8Array,
): { encKey: Uint8Array; macKey: Uint8Array } {
  const keys = shake256(
    ENC_KEY_LENGTH + MAC_KEY_LENGTH,
    T_MSGKDF,
    bx,
    id,
    x,
    b,
    PROTOID,
    encap(verification),
  );
  return { encKey: keys.subarray(0, ENC_KEY_LENGTH), macKey: keys.subarray(ENC_KEY_LENGTH) };
}

function aes256Ctr(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new AesCtrStream(key).apply(data);
}

interface FinalValues {
  readonly keySeed: Uint8Array;
  readonly verify: Uint8Array;
}

/** key_seed and verify over secret_input = Xy | Xb | ID | B | X | Y | PROTOID | ENCAP(VER). */
function finalValues(
  xy: Uint8Array,
  xb: Uint8Array,
  id: Uint8Array,
  b: Uint8Array,
  x: Uint8Array,
  y: Uint8Array,
  verification: Uint8Array,
): FinalValues {
  const secretInput = concatBytes(xy, xb, id, b, x, y, PROTOID, encap(verification));
  return { keySeed: sha3_256(T_KEY_SEED, secretInput), verify: sha3_256(T_VERIFY, secretInput) };
}

/** AUTH = H_auth(verify | ID | B | Y | X | MAC | ENCAP(encrypted_msg) | PROTOID | "Server"). */
function authOf(
  verify: Uint8Array,
  id: Uint8Array,
  b: Uint8Array,
  y: Uint8Array,
  x: Uint8Array,
  clientMac: Uint8Array,
  encryptedServerMessage: Uint8Array,
): Uint8Array {
  return sha3_256(T_AUTH, verify, id, b, y, x, clientMac, encap(encryptedServerMessage), PROTOID, SERVER);
}

/** KDF_final(key_seed) = ENC_KEY (32) | key stream; returns the 32-byte reply-message key and the key stream. */
function finalKeys(keySeed: Uint8Array): { encKey: Uint8Array; keys: CircuitKeys } {
  const stream = (n: number) => shake256(ENC_KEY_LENGTH + n, T_FINAL, keySeed);
  const encKey = stream(0);
  const keys = circuitKeysFrom((n) => stream(n).subarray(ENC_KEY_LENGTH), KEY_STREAM_MAX_LENGTH);
  return { encKey, keys };
}

function fail(failure: HandshakeError['failure'], detail: string) {
  return err(new HandshakeError(NAME, failure, detail));
}

/** The relay's long-term keys as ntor v3 needs them. */
export interface NtorV3ServerKeys {
  /** The relay's Ed25519 identity key (32 bytes): the ID clients send. */
  readonly ed25519Identity: Uint8Array;
  readonly onionKeys: ServerOnionKeys;
}

/** What a client needs to know about the relay it extends to. */
export interface NtorV3RelayKeys {
  /** The relay's Ed25519 identity key (32 bytes). */
  readonly ed25519Identity: Uint8Array;
  /** The relay's advertised ntor onion key B (32 bytes). */
  readonly ntorOnionKey: Uint8Array;
}

/**
 * A client handshake that passed the relay's checks, waiting for the relay's
 * reply message. `clientMessage` is authenticated. The other fields are
 * handshake state: treat them as opaque.
 */
export interface NtorV3ServerPending {
  /** CM, the decrypted and authenticated client message. */
  readonly clientMessage: Uint8Array;
  /** Which onion key the client used. */
  readonly onionKey: OnionKeyRole;
  readonly ed25519Identity: Uint8Array;
  readonly onionPublicKey: Uint8Array;
  readonly clientPublicKey: Uint8Array;
  readonly onionSharedSecret: Uint8Array;
  readonly clientMac: Uint8Array;
  readonly verification: Uint8Array;
}

/** The relay's finished answer. */
export interface NtorV3ServerResult {
  /** Y | AUTH | encrypted SM: the body of CREATED2 / EXTENDED2. */
  readonly reply: Uint8Array;
  readonly keys: CircuitKeys;
}

/** What the client keeps between sending its handshake and reading the reply. Treat as opaque. */
export interface NtorV3ClientState {
  readonly relay: NtorV3RelayKeys;
  readonly ephemeral: X25519Keypair;
  readonly onionSharedSecret: Uint8Array;
  readonly clientMac: Uint8Array;
  readonly verification: Uint8Array;
}

export interface NtorV3ClientStart {
  /** ID | B | X | MSG | MAC: the body of CREATE2 / EXTEND2. */
  readonly onionskin: Uint8Array;
  readonly state: NtorV3ClientState;
}

/** The client's view of a finished handshake. */
export interface NtorV3ClientResult {
  readonly keys: CircuitKeys;
  /** SM, the decrypted and authenticated relay message. */
  readonly serverMessage: Uint8Array;
}

/**
 * Relay side, part 1: checks the client's handshake (identity, onion key, DH
 * output, MAC) and decrypts its message. `verification` must equal the
 * client's; CREATE2/EXTEND2 use NTOR_V3_CIRCUIT_VERIFICATION ("circuit extend").
 */
export function ntorV3ServerReceive(
  keys: NtorV3ServerKeys,
  onionskin: Uint8Array,
  verification: Uint8Array = EMPTY,
): Result<NtorV3ServerPending, HandshakeError> {
  if (onionskin.length < NTOR_V3_MIN_ONIONSKIN_LENGTH) {
    return fail(
      'bad-length',
      `client handshake is ${onionskin.length} bytes, at least ${NTOR_V3_MIN_ONIONSKIN_LENGTH} needed`,
    );
  }
  const id = keys.ed25519Identity;
  assertInvariant(id.length === ID_LENGTH, 'ntor v3 relay identity must be 32 bytes');
  const macStart = onionskin.length - DIGEST_LENGTH;
  const nodeId = onionskin.subarray(0, ID_LENGTH);
  const keyId = onionskin.subarray(ID_LENGTH, ID_LENGTH + KEY_LENGTH);
  const clientX = onionskin.slice(ID_LENGTH + KEY_LENGTH, ID_LENGTH + 2 * KEY_LENGTH);
  const encryptedMessage = onionskin.subarray(NTOR_V3_MIN_ONIONSKIN_LENGTH - DIGEST_LENGTH, macStart);
  const clientMac = onionskin.slice(macStart);

  // All checks run to the end and are decided together (see ntor.ts).
  const identityMatches = constantTimeEqual(nodeId, id);
  const selected = selectOnionKey(keys.onionKeys, keyId);
  const onionKeypair = selected?.keypair ?? keys.onionKeys.current;
  const b = onionKeypair.publicKey;
  const xb = x25519SharedSecret(onionKeypair.secretKey, clientX);
  const { encKey, macKey } = phase1Keys(xb ?? ZERO_SHARED, id, clientX, b, verification);
  const macMatches = constantTimeEqual(messageMac(macKey, id, b, clientX, encryptedMessage), clientMac);

  if (!identityMatches) return fail('unknown-identity', 'client named another relay identity');
  if (!selected) return fail('unknown-key', 'client named an onion key this relay does not hold');
  if (!xb) return fail('zero-dh', 'client key yields an all-zero shared secret');
  if (!macMatches) return fail('bad-auth', 'client message MAC does not match');
  return ok({
    clientMessage: aes256Ctr(encKey, encryptedMessage),
    onionKey: selected.role,
    ed25519Identity: id,
    onionPublicKey: b,
    clientPublicKey: clientX,
    onionSharedSecret: xb,
    clientMac,
    verification,
  });
}

/** Relay side, part 2: answers with `serverMessage` (SM) and a fresh ephemeral key drawn from `random`. */
export function ntorV3ServerReply(
  pending: NtorV3ServerPending,
  serverMessage: Uint8Array,
  random: Random,
): Result<NtorV3ServerResult, HandshakeError> {
  return ntorV3ServerReplyWithEphemeral(pending, serverMessage, x25519KeypairFromRandom(random));
}

/** Relay side, part 2, with the ephemeral keypair (y, Y) given, so that test vectors replay exactly. */
export function ntorV3ServerReplyWithEphemeral(
  pending: NtorV3ServerPending,
  serverMessage: Uint8Array,
  ephemeral: X25519Keypair,
): Result<NtorV3ServerResult, HandshakeError> {
  const { ed25519Identity: id, onionPublicKey: b, clientPublicKey: x } = pending;
  const y = ephemeral.publicKey;
  const xy = x25519SharedSecret(ephemeral.secretKey, x);
  // Unreachable after a good part 1 (a point that survives Xb survives Xy), but checked all the same.
  if (!xy) return fail('zero-dh', 'client key yields an all-zero shared secret');
  const { keySeed, verify } = finalValues(xy, pending.onionSharedSecret, id, b, x, y, pending.verification);
  const { encKey, keys } = finalKeys(keySeed);
  const encryptedMessage = aes256Ctr(encKey, serverMessage);
  const auth = authOf(verify, id, b, y, x, pending.clientMac, encryptedMessage);
  return ok({ reply: concatBytes(y, auth, encryptedMessage), keys });
}

/**
 * Client side, step 1: encrypts `clientMessage` (CM) to the relay and builds
 * the handshake, with an ephemeral key drawn from `random`.
 */
export function ntorV3ClientCreate(
  relay: NtorV3RelayKeys,
  clientMessage: Uint8Array,
  random: Random,
  verification: Uint8Array = EMPTY,
): Result<NtorV3ClientStart, HandshakeError> {
  return ntorV3ClientCreateWithEphemeral(relay, clientMessage, x25519KeypairFromRandom(random), verification);
}

/**
 * Client side, step 1, with the ephemeral keypair (x, X) given. Fails only
 * with `zero-dh`, when the relay's advertised onion key is a small-order point.
 */
export function ntorV3ClientCreateWithEphemeral(
  relay: NtorV3RelayKeys,
  clientMessage: Uint8Array,
  ephemeral: X25519Keypair,
  verification: Uint8Array = EMPTY,
): Result<NtorV3ClientStart, HandshakeError> {
  const { ed25519Identity: id, ntorOnionKey: b } = relay;
  assertInvariant(id.length === ID_LENGTH, 'ntor v3 relay identity must be 32 bytes');
  assertInvariant(b.length === KEY_LENGTH, 'ntor onion key must be 32 bytes');
  const x = ephemeral.publicKey;
  const bx = x25519SharedSecret(ephemeral.secretKey, b);
  if (!bx) return fail('zero-dh', 'relay onion key yields an all-zero shared secret');
  const { encKey, macKey } = phase1Keys(bx, id, x, b, verification);
  const encryptedMessage = aes256Ctr(encKey, clientMessage);
  const clientMac = messageMac(macKey, id, b, x, encryptedMessage);
  return ok({
    onionskin: concatBytes(id, b, x, encryptedMessage, clientMac),
    state: { relay, ephemeral, onionSharedSecret: bx, clientMac, verification },
  });
}

/** Client side, step 2: checks the relay's reply, derives the keys and decrypts the relay's message. */
export function ntorV3ClientFinish(
  state: NtorV3ClientState,
  reply: Uint8Array,
): Result<NtorV3ClientResult, HandshakeError> {
  if (reply.length < NTOR_V3_MIN_REPLY_LENGTH) {
    return fail(
      'bad-length',
      `relay reply is ${reply.length} bytes, at least ${NTOR_V3_MIN_REPLY_LENGTH} needed`,
    );
  }
  const y = reply.slice(0, KEY_LENGTH);
  const auth = reply.subarray(KEY_LENGTH, NTOR_V3_MIN_REPLY_LENGTH);
  const encryptedMessage = reply.subarray(NTOR_V3_MIN_REPLY_LENGTH);
  const { ed25519Identity: id, ntorOnionKey: b } = state.relay;
  const x = state.ephemeral.publicKey;
  const yx = x25519SharedSecret(state.ephemeral.secretKey, y);
  const { keySeed, verify } = finalValues(
    yx ?? ZERO_SHARED,
    state.onionSharedSecret,
    id,
    b,
    x,
    y,
    state.verification,
  );
  const authMatches = constantTimeEqual(authOf(verify, id, b, y, x, state.clientMac, encryptedMessage), auth);

  if (!yx) return fail('zero-dh', 'relay key yields an all-zero shared secret');
  if (!authMatches) return fail('bad-auth', 'relay AUTH does not match');
  const { encKey, keys } = finalKeys(keySeed);
  return ok({ keys, serverMessage: aes256Ctr(encKey, encryptedMessage) });
}
