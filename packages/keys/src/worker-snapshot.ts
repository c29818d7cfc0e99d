/**
 * The keys a worker process receives: a frozen plain object of byte arrays,
 * numbers and strings that survives structured cloning (IPC, postMessage).
 * It carries everything the link and circuit handshakes need and, on
 * purpose, NOT the Ed25519 master identity secret, which stays with the
 * supervisor. The supervisor sends a new snapshot after every signing-key
 * renewal or onion-key rotation, as tor pushes key state to its cpuworkers.
 */
import { bytesEqual, InternalError } from '@relayd/common';
import { Ed25519SigningKey, RsaPrivateKey, type X25519Keypair, x25519PublicFromSecret } from '@relayd/crypto';
import { rsaFingerprintHex } from './fingerprint.js';

/** Bumped when the shape changes, so a worker can refuse a snapshot it does not understand. */
export const WORKER_KEY_SNAPSHOT_VERSION = 1;

export interface WorkerNtorKey {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface WorkerKeySnapshot {
  readonly version: typeof WORKER_KEY_SNAPSHOT_VERSION;
  readonly nickname: string;
  /** 40 uppercase hex digits. */
  readonly rsaFingerprint: string;
  /** RSA-1024 identity secret key, PKCS#1 DER: workers sign the TLS link certificate with it. */
  readonly rsaIdentityPrivateDer: Uint8Array;
  /** Ed25519 master identity public key (32 bytes). */
  readonly ed25519Identity: Uint8Array;
  /** Medium-term signing key: public (32 bytes) and expanded secret (64 bytes, tor's layout). */
  readonly ed25519SigningPublic: Uint8Array;
  readonly ed25519SigningSecretExpanded: Uint8Array;
  /** The encoded type-4 certificate (master → signing key), as sent in CERTS cells. */
  readonly ed25519SigningCert: Uint8Array;
  readonly signingCertExpiresMs: number;
  readonly ntorOnionKey: WorkerNtorKey;
  /** The ntor key before the last rotation, or null. */
  readonly previousNtorOnionKey: WorkerNtorKey | null;
}

function copyNtor(k: X25519Keypair): WorkerNtorKey {
  return Object.freeze({ secretKey: Uint8Array.from(k.secretKey), publicKey: Uint8Array.from(k.publicKey) });
}

/** Builds a snapshot from the supervisor's keys. Byte arrays are copies: the snapshot shares nothing. */
export function workerKeySnapshot(keys: {
  nickname: string;
  rsaIdentity: RsaPrivateKey;
  ed25519Identity: Uint8Array;
  signingKey: Ed25519SigningKey;
  signingCert: Uint8Array;
  signingCertExpiresMs: number;
  ntor: X25519Keypair;
  ntorPrevious: X25519Keypair | undefined;
}): WorkerKeySnapshot {
  return Object.freeze({
    version: WORKER_KEY_SNAPSHOT_VERSION,
    nickname: keys.nickname,
    rsaFingerprint: rsaFingerprintHex(keys.rsaIdentity.publicKey),
    rsaIdentityPrivateDer: keys.rsaIdentity.toDer(),
    ed25519Identity: Uint8Array.from(keys.ed25519Identity),
    ed25519SigningPublic: Uint8Array.from(keys.signingKey.publicKey),
    ed25519SigningSecretExpanded: Uint8Array.from(keys.signingKey.expandedSecret),
    ed25519SigningCert: Uint8Array.from(keys.signingCert),
    signingCertExpiresMs: keys.signingCertExpiresMs,
    ntorOnionKey: copyNtor(keys.ntor),
    previousNtorOnionKey: keys.ntorPrevious ? copyNtor(keys.ntorPrevious) : null,
  });
}

/** A snapshot turned back into key objects, in the worker. */
export interface WorkerKeys {
  readonly snapshot: WorkerKeySnapshot;
  readonly rsaIdentity: RsaPrivateKey;
  readonly ed25519Identity: Uint8Array;
  readonly signingKey: Ed25519SigningKey;
  readonly signingCert: Uint8Array;
  readonly signingCertExpiresMs: number;
  readonly ntorOnionKey: X25519Keypair;
  readonly previousNtorOnionKey: X25519Keypair | undefined;
}

/**
 * Rebuilds the key objects from a snapshot (after structured cloning) and
 * checks that it is whole and self-consistent. A bad snapshot is a bug in
 * the supervisor, reported as an InternalError.
 */
export function workerKeysFromSnapshot(snapshot: WorkerKeySnapshot): WorkerKeys {
  if (snapshot.version !== WORKER_KEY_SNAPSHOT_VERSION) {
    throw new InternalError(`worker key snapshot version ${String(snapshot.version)} is not supported`);
  }
  const rsaIdentity = RsaPrivateKey.fromDer(snapshot.rsaIdentityPrivateDer);
  if (!rsaIdentity) throw new InternalError('worker key snapshot: RSA identity does not decode');
  if (snapshot.ed25519SigningSecretExpanded.length !== 64 || snapshot.ed25519Identity.length !== 32) {
    throw new InternalError('worker key snapshot: Ed25519 key lengths are wrong');
  }
  const signingKey = Ed25519SigningKey.fromExpanded(snapshot.ed25519SigningSecretExpanded);
  if (!bytesEqual(signingKey.publicKey, snapshot.ed25519SigningPublic)) {
    throw new InternalError('worker key snapshot: signing public key does not match its secret key');
  }
  const ntor = (k: WorkerNtorKey): X25519Keypair => {
    if (k.secretKey.length !== 32 || !bytesEqual(x25519PublicFromSecret(k.secretKey), k.publicKey)) {
      throw new InternalError('worker key snapshot: ntor public key does not match its secret key');
    }
    return { secretKey: k.secretKey, publicKey: k.publicKey };
  };
  return {
    snapshot,
    rsaIdentity,
    ed25519Identity: snapshot.ed25519Identity,
    signingKey,
    signingCert: snapshot.ed25519SigningCert,
    signingCertExpiresMs: snapshot.signingCertExpiresMs,
    ntorOnionKey: ntor(snapshot.ntorOnionKey),
    previousNtorOnionKey: snapshot.previousNtorOnionKey ? ntor(snapshot.previousNtorOnionKey) : undefined,
  };
}
