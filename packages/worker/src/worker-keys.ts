/**
 * A key snapshot as the worker's parts use it: the engine's identities and
 * onion keys, and the link TLS key material. Rebuilt from the plain snapshot
 * the supervisor sends (structured-clone friendly, no master identity secret).
 */
import { bytesEqual, InternalError } from '@relayd/common';
import type { RelayIdentity } from '@relayd/engine';
import { type WorkerKeySnapshot, type WorkerKeys, workerKeysFromSnapshot } from '@relayd/keys';
import type { LinkKeyMaterial } from '@relayd/net';

export interface WorkerKeyMaterial {
  readonly keys: WorkerKeys;
  readonly identity: RelayIdentity;
  readonly link: LinkKeyMaterial;
  readonly onionKeys: {
    readonly current: WorkerKeys['ntorOnionKey'];
    readonly previous: WorkerKeys['previousNtorOnionKey'];
  };
}

/** Decodes and checks a snapshot (an InternalError if it is inconsistent). */
export function keyMaterialFromSnapshot(snapshot: WorkerKeySnapshot): WorkerKeyMaterial {
  const keys = workerKeysFromSnapshot(snapshot);
  return {
    keys,
    identity: {
      rsaIdentityDigest: keys.rsaIdentity.publicKey.fingerprint(),
      ed25519Identity: keys.ed25519Identity,
    },
    link: {
      rsaIdentity: keys.rsaIdentity,
      ed25519Identity: keys.ed25519Identity,
      signingKey: keys.signingKey,
      signingCert: keys.signingCert,
    },
    onionKeys: { current: keys.ntorOnionKey, previous: keys.previousNtorOnionKey },
  };
}

/** What changed between two snapshots of the same relay. */
export interface KeyChanges {
  readonly signingKey: boolean;
  readonly onionKeys: boolean;
}

/**
 * Compares a new snapshot with the one in use. A snapshot of another
 * identity is a supervisor bug: a worker never changes who it is.
 */
export function compareKeyMaterial(current: WorkerKeyMaterial, next: WorkerKeyMaterial): KeyChanges {
  if (
    !bytesEqual(current.identity.rsaIdentityDigest, next.identity.rsaIdentityDigest) ||
    !bytesEqual(current.identity.ed25519Identity, next.identity.ed25519Identity)
  ) {
    throw new InternalError('a key snapshot of another relay identity was sent to this worker');
  }
  const samePrevious =
    current.onionKeys.previous === undefined
      ? next.onionKeys.previous === undefined
      : next.onionKeys.previous !== undefined &&
        bytesEqual(current.onionKeys.previous.publicKey, next.onionKeys.previous.publicKey);
  return {
    signingKey: !bytesEqual(current.keys.signingCert, next.keys.signingCert),
    onionKeys:
      !bytesEqual(current.onionKeys.current.publicKey, next.onionKeys.current.publicKey) || !samePrevious,
  };
}
