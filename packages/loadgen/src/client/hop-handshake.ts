/**
 * The client side of one circuit extension handshake, whatever its type:
 * builds what goes into CREATE_FAST, CREATE2 or EXTEND2, and turns the
 * relay's reply into tor1 key material (tor-spec 5.1, 5.2; proposal 332).
 * The handshakes themselves are @relayd/handshakes'; this only picks one
 * and hides the differences from the circuit.
 */
import { HandshakeType } from '@relayd/cells';
import { err, ok, type Random, type Result } from '@relayd/common';
import {
  createFastClientCreate,
  createFastClientFinish,
  encodeNtorV3Extensions,
  type HandshakeError,
  NTOR_V3_CIRCUIT_VERIFICATION,
  ntorClientCreate,
  ntorClientFinish,
  ntorV3ClientCreate,
  ntorV3ClientFinish,
} from '@relayd/handshakes';

/** The handshakes a load generator circuit can start with. */
export type CreateHandshake = 'ntor' | 'ntor-v3' | 'fast';
/** The handshakes EXTEND2 can carry. */
export type ExtendHandshake = 'ntor' | 'ntor-v3';

const NO_EXTENSIONS = encodeNtorV3Extensions([]);

export { NTOR_V3_CIRCUIT_VERIFICATION };

export const CREATE_HANDSHAKES: readonly CreateHandshake[] = ['ntor', 'ntor-v3', 'fast'];
export const EXTEND_HANDSHAKES: readonly ExtendHandshake[] = ['ntor', 'ntor-v3'];

/** What the client must know about a hop for its handshake. */
export interface HopKeys {
  /** SHA-1 of the RSA identity key (ntor's ID). */
  readonly rsaIdentity: Uint8Array;
  /** The Ed25519 identity (ntor v3's ID). */
  readonly ed25519Identity?: Uint8Array | undefined;
  /** The ntor onion key B (ntor and ntor v3). */
  readonly ntorOnionKey?: Uint8Array | undefined;
}

/** A handshake sent and waiting for its reply. */
export interface PendingHandshake {
  /** 'fast' for CREATE_FAST, else the CREATE2/EXTEND2 HTYPE. */
  readonly handshakeType: 'fast' | number;
  /** CREATE_FAST's X, or the CREATE2/EXTEND2 HDATA. */
  readonly onionskin: Uint8Array;
  /** Checks the reply (CREATED_FAST body Y|KH, or CREATED2/EXTENDED2 HDATA) and returns the tor1 key material. */
  finish(reply: Uint8Array): Result<Uint8Array, HandshakeError>;
}

/** Why a handshake could not be started: a key the caller should have supplied is missing or unusable. */
export type StartFailure = 'missing-ntor-key' | 'missing-ed25519-identity' | 'unusable-onion-key';

export function startHandshake(
  kind: CreateHandshake,
  hop: HopKeys,
  random: Random,
): Result<PendingHandshake, StartFailure> {
  switch (kind) {
    case 'fast': {
      const start = createFastClientCreate(random);
      return ok({
        handshakeType: 'fast',
        onionskin: start.onionskin,
        finish: (reply) => mapKeys(createFastClientFinish(start.state, reply)),
      });
    }
    case 'ntor': {
      if (!hop.ntorOnionKey) return err('missing-ntor-key');
      const start = ntorClientCreate(
        { rsaIdentityDigest: hop.rsaIdentity, ntorOnionKey: hop.ntorOnionKey },
        random,
      );
      return ok({
        handshakeType: HandshakeType.NTOR,
        onionskin: start.onionskin,
        finish: (reply) => mapKeys(ntorClientFinish(start.state, reply)),
      });
    }
    case 'ntor-v3': {
      if (!hop.ntorOnionKey) return err('missing-ntor-key');
      if (!hop.ed25519Identity) return err('missing-ed25519-identity');
      // The client message is an extension list (proposal 332 "CREATE2/EXTEND2 extensions"),
      // here an empty one: no congestion control asked for, so fixed SENDME windows apply.
      const start = ntorV3ClientCreate(
        { ed25519Identity: hop.ed25519Identity, ntorOnionKey: hop.ntorOnionKey },
        NO_EXTENSIONS,
        random,
        NTOR_V3_CIRCUIT_VERIFICATION,
      );
      if (!start.ok) return err('unusable-onion-key');
      const state = start.value.state;
      return ok({
        handshakeType: HandshakeType.NTOR_V3,
        onionskin: start.value.onionskin,
        finish: (reply) => {
          const done = ntorV3ClientFinish(state, reply);
          return done.ok ? ok(done.value.keys.keyMaterial) : done;
        },
      });
    }
  }
}

function mapKeys(
  result: Result<{ readonly keyMaterial: Uint8Array }, HandshakeError>,
): Result<Uint8Array, HandshakeError> {
  return result.ok ? ok(result.value.keyMaterial) : result;
}
