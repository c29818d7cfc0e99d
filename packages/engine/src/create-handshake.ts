/**
 * Answering circuit creation: which CREATE cells relayd serves, and the
 * relay side of each handshake, producing the reply message and the tor1
 * key material. Pure: keys, randomness and the ephemeral key factory come in
 * as arguments; the engine decides when to run it (from the create queue)
 * and what to do with a refusal (DESTROY PROTOCOL, as C tor's
 * create_cell_parse() and cpuworker failures do).
 *
 *   CREATE_FAST              → CREATED_FAST  (tor-spec 5.1.5)
 *   CREATE2 HTYPE 2 (ntor)   → CREATED2      (tor-spec 5.1.4)
 *   CREATE2 HTYPE 3 (ntor v3)→ CREATED2      (proposal 332)
 *   CREATE (TAP), CREATE2 HTYPE 0 (TAP) and anything else → refused
 *
 * For ntor v3 the client's message is an extension list. relayd implements
 * none of the extensions (no congestion control, proposal 324: a relay that
 * does not enable it simply leaves the response out), so it always answers
 * with an empty list. The empty list is one byte, N_EXTENSIONS = 0, not an
 * empty message: C tor clients fail the handshake on a zero-length reply.
 */
import { type ChannelMessage, HandshakeType, TAP_CLIENT_HANDSHAKE_LENGTH } from '@relayd/cells';
import { err, ok, type Random, type Result } from '@relayd/common';
import {
  createFastServerHandshake,
  decodeNtorV3Extensions,
  encodeNtorV3Extensions,
  NTOR_ONIONSKIN_LENGTH,
  NTOR_V3_CIRCUIT_VERIFICATION,
  ntorServerHandshakeWithEphemeral,
  ntorV3ServerReceive,
  ntorV3ServerReplyWithEphemeral,
  type OnionKeyRole,
  type ServerOnionKeys,
} from '@relayd/handshakes';
import type { HandshakeLabel } from './metrics.js';

/** An X25519 keypair as the handshakes take it. */
export type X25519KeypairLike = ServerOnionKeys['current'];

/** A CREATE request relayd will try to answer. */
export interface CreateRequest {
  readonly label: 'fast' | 'ntor' | 'ntor_v3';
  /** CREATE_FAST's X, or CREATE2's HDATA. */
  readonly onionskin: Uint8Array;
}

/** The relay's long-term keys the handshakes need. */
export interface RelayHandshakeKeys {
  /** SHA-1 of our RSA identity key: ntor's NODEID. */
  readonly rsaIdentityDigest: Uint8Array;
  /** Our Ed25519 identity: ntor v3's ID. */
  readonly ed25519Identity: Uint8Array;
  readonly onionKeys: ServerOnionKeys;
}

export interface CreateAnswer {
  /** CREATED_FAST or CREATED2. */
  readonly reply: ChannelMessage;
  /** Df|Db|Kf|Kb|KH for Tor1RelayCrypto. */
  readonly keyMaterial: Uint8Array;
  /** Which onion key a client used (ntor, ntor v3). */
  readonly onionKey: OnionKeyRole | undefined;
}

/** Why a CREATE is refused; `label` is for the onionskin metrics. */
export interface CreateRefusal {
  readonly label: HandshakeLabel;
  readonly detail: string;
}

/** The handshake a creation message asks for, or why relayd will not serve it. */
export function classifyCreate(message: ChannelMessage): Result<CreateRequest, CreateRefusal> {
  switch (message.type) {
    case 'create-fast':
      return ok({ label: 'fast', onionskin: message.keyMaterial });
    case 'create':
      // C tor 0.4.9 relays no longer run TAP; the legacy CREATE cell carries nothing else in use.
      return err({ label: 'tap', detail: 'CREATE (TAP) is not supported' });
    case 'create2':
      switch (message.handshakeType) {
        case HandshakeType.NTOR:
          if (message.handshakeData.length !== NTOR_ONIONSKIN_LENGTH) {
            return err({ label: 'ntor', detail: `ntor HLEN ${message.handshakeData.length}` });
          }
          return ok({ label: 'ntor', onionskin: message.handshakeData });
        case HandshakeType.NTOR_V3:
          return ok({ label: 'ntor_v3', onionskin: message.handshakeData });
        case HandshakeType.TAP:
          return err({
            label: 'tap',
            detail:
              message.handshakeData.length === TAP_CLIENT_HANDSHAKE_LENGTH
                ? 'TAP is not supported'
                : `TAP HLEN ${message.handshakeData.length}`,
          });
        default:
          return err({ label: 'unknown', detail: `unknown handshake type ${message.handshakeType}` });
      }
    default:
      return err({ label: 'unknown', detail: `${message.type} is not a creation cell` });
  }
}

/** Runs the relay side of the handshake. An error means the client's handshake did not verify. */
export function answerCreate(
  request: CreateRequest,
  keys: RelayHandshakeKeys,
  random: Random,
  ephemeralKeypair: () => X25519KeypairLike,
): Result<CreateAnswer, string> {
  switch (request.label) {
    case 'fast': {
      const result = createFastServerHandshake(request.onionskin, random);
      if (!result.ok) return err(result.error.message);
      const { reply, keys: circuitKeys } = result.value;
      return ok({
        reply: { type: 'created-fast', keyMaterial: reply.slice(0, 20), derivativeKeyData: reply.slice(20) },
        keyMaterial: circuitKeys.keyMaterial,
        onionKey: undefined,
      });
    }
    case 'ntor': {
      const result = ntorServerHandshakeWithEphemeral(
        { rsaIdentityDigest: keys.rsaIdentityDigest, onionKeys: keys.onionKeys },
        request.onionskin,
        ephemeralKeypair(),
      );
      if (!result.ok) return err(result.error.message);
      return ok({
        reply: { type: 'created2', handshakeData: result.value.reply },
        keyMaterial: result.value.keys.keyMaterial,
        onionKey: result.value.onionKey,
      });
    }
    case 'ntor_v3': {
      const received = ntorV3ServerReceive(
        { ed25519Identity: keys.ed25519Identity, onionKeys: keys.onionKeys },
        request.onionskin,
        NTOR_V3_CIRCUIT_VERIFICATION,
      );
      if (!received.ok) return err(received.error.message);
      // A malformed extension list fails the handshake, as in C tor's
      // negotiate_v3_ntor_server_circ_params(); unknown extensions are ignored.
      const extensions = decodeNtorV3Extensions(received.value.clientMessage);
      if (!extensions.ok) return err(`ntor-v3: ${extensions.error.message}`);
      const answered = ntorV3ServerReplyWithEphemeral(
        received.value,
        encodeNtorV3Extensions([]),
        ephemeralKeypair(),
      );
      if (!answered.ok) return err(answered.error.message);
      return ok({
        reply: { type: 'created2', handshakeData: answered.value.reply },
        keyMaterial: answered.value.keys.keyMaterial,
        onionKey: received.value.onionKey,
      });
    }
  }
}
