/**
 * Circuit creation cell bodies (tor-spec 5.1, 5.1.5): CREATE2/CREATED2,
 * CREATE_FAST/CREATED_FAST and the legacy TAP CREATE/CREATED.
 *
 * Owns the layouts and the handshake-type table; the handshakes themselves
 * (ntor, ntor v3, CREATE_FAST key derivation) live elsewhere. EXTEND2 and
 * EXTENDED2 reuse the HTYPE/HLEN/HDATA encoding from here.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { InternalError } from '@relayd/common';
import { CELL_BODY_LENGTH } from './channel-cell.js';

/** HTYPE values (tor-spec 5.1; ntor v3 from proposal 332). */
export const HandshakeType = {
  TAP: 0x0000,
  NTOR: 0x0002,
  NTOR_V3: 0x0003,
} as const;

/** HASH_LEN (tor-spec 0.2): the X of CREATE_FAST, and Y and KH of CREATED_FAST. */
export const FAST_KEY_MATERIAL_LENGTH = 20;

/** TAP_C_HANDSHAKE_LEN = DH_LEN + KEY_LEN + KP_PAD_LEN = 128 + 16 + 42 (tor-spec 5.1.3). */
export const TAP_CLIENT_HANDSHAKE_LENGTH = 186;

/** TAP_S_HANDSHAKE_LEN = DH_LEN + HASH_LEN = 128 + 20 (tor-spec 5.1.3). */
export const TAP_SERVER_HANDSHAKE_LENGTH = 148;

/** The most HDATA a CREATE2 cell can hold: 509 - HTYPE(2) - HLEN(2). */
export const MAX_CREATE2_HANDSHAKE_LENGTH = CELL_BODY_LENGTH - 4;

/** The most HDATA a CREATED2 cell can hold: 509 - HLEN(2). */
export const MAX_CREATED2_HANDSHAKE_LENGTH = CELL_BODY_LENGTH - 2;

export interface Create2Message {
  readonly type: 'create2';
  readonly handshakeType: number;
  readonly handshakeData: Uint8Array;
}

export interface Created2Message {
  readonly type: 'created2';
  readonly handshakeData: Uint8Array;
}

export interface CreateFastMessage {
  readonly type: 'create-fast';
  /** X, 20 bytes. */
  readonly keyMaterial: Uint8Array;
}

export interface CreatedFastMessage {
  readonly type: 'created-fast';
  /** Y, 20 bytes. */
  readonly keyMaterial: Uint8Array;
  /** KH, 20 bytes (tor-spec 5.2.1). */
  readonly derivativeKeyData: Uint8Array;
}

/** Legacy TAP CREATE: an onion skin of TAP_C_HANDSHAKE_LEN bytes (kept so it can be refused by name). */
export interface CreateMessage {
  readonly type: 'create';
  readonly handshakeData: Uint8Array;
}

/** Legacy TAP CREATED: TAP_S_HANDSHAKE_LEN bytes. */
export interface CreatedMessage {
  readonly type: 'created';
  readonly handshakeData: Uint8Array;
}

/** Reads HTYPE | HLEN | HDATA, refusing an HLEN above `maxLength` (it could never fit its cell). */
export function readTypedHandshake(
  r: ByteReader,
  maxLength: number,
): { handshakeType: number; handshakeData: Uint8Array } {
  const handshakeType = r.u16('handshake type');
  const handshakeData = readHandshakeData(r, maxLength);
  return { handshakeType, handshakeData };
}

/** Reads HLEN | HDATA, refusing an HLEN above `maxLength`. */
export function readHandshakeData(r: ByteReader, maxLength: number): Uint8Array {
  const length = r.u16('handshake length');
  if (length > maxLength) r.fail(`handshake length ${length} exceeds ${maxLength}`);
  return r.take(length, 'handshake data').slice();
}

export function writeHandshakeData(w: ByteWriter, data: Uint8Array, maxLength: number): void {
  if (data.length > maxLength)
    throw new InternalError(`handshake data too long: ${data.length} > ${maxLength}`);
  w.u16(data.length).bytes(data);
}

export function readCreate2(r: ByteReader): Create2Message {
  return { type: 'create2', ...readTypedHandshake(r, MAX_CREATE2_HANDSHAKE_LENGTH) };
}

export function writeCreate2(w: ByteWriter, message: Create2Message): void {
  w.u16(message.handshakeType);
  writeHandshakeData(w, message.handshakeData, MAX_CREATE2_HANDSHAKE_LENGTH);
}

export function readCreated2(r: ByteReader): Created2Message {
  return { type: 'created2', handshakeData: readHandshakeData(r, MAX_CREATED2_HANDSHAKE_LENGTH) };
}

export function writeCreated2(w: ByteWriter, message: Created2Message): void {
  writeHandshakeData(w, message.handshakeData, MAX_CREATED2_HANDSHAKE_LENGTH);
}

export function readCreateFast(r: ByteReader): CreateFastMessage {
  return { type: 'create-fast', keyMaterial: r.take(FAST_KEY_MATERIAL_LENGTH, 'key material').slice() };
}

export function writeCreateFast(w: ByteWriter, message: CreateFastMessage): void {
  w.bytes(exactly(message.keyMaterial, FAST_KEY_MATERIAL_LENGTH, 'CREATE_FAST key material'));
}

export function readCreatedFast(r: ByteReader): CreatedFastMessage {
  const keyMaterial = r.take(FAST_KEY_MATERIAL_LENGTH, 'key material').slice();
  const derivativeKeyData = r.take(FAST_KEY_MATERIAL_LENGTH, 'derivative key data').slice();
  return { type: 'created-fast', keyMaterial, derivativeKeyData };
}

export function writeCreatedFast(w: ByteWriter, message: CreatedFastMessage): void {
  w.bytes(exactly(message.keyMaterial, FAST_KEY_MATERIAL_LENGTH, 'CREATED_FAST key material'));
  w.bytes(exactly(message.derivativeKeyData, FAST_KEY_MATERIAL_LENGTH, 'CREATED_FAST derivative key data'));
}

export function readCreate(r: ByteReader): CreateMessage {
  return { type: 'create', handshakeData: r.take(TAP_CLIENT_HANDSHAKE_LENGTH, 'onion skin').slice() };
}

export function writeCreate(w: ByteWriter, message: CreateMessage): void {
  w.bytes(exactly(message.handshakeData, TAP_CLIENT_HANDSHAKE_LENGTH, 'CREATE onion skin'));
}

export function readCreated(r: ByteReader): CreatedMessage {
  return { type: 'created', handshakeData: r.take(TAP_SERVER_HANDSHAKE_LENGTH, 'handshake reply').slice() };
}

export function writeCreated(w: ByteWriter, message: CreatedMessage): void {
  w.bytes(exactly(message.handshakeData, TAP_SERVER_HANDSHAKE_LENGTH, 'CREATED handshake reply'));
}

function exactly(bytes: Uint8Array, length: number, what: string): Uint8Array {
  if (bytes.length !== length)
    throw new InternalError(`${what} must be ${length} bytes, not ${bytes.length}`);
  return bytes;
}
