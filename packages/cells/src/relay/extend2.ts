/**
 * RELAY_EXTEND2 and RELAY_EXTENDED2 bodies (tor-spec 5.1.2).
 *
 *   EXTEND2:   NSPEC [1] | NSPEC link specifiers | HTYPE [2] | HLEN [2] | HDATA
 *   EXTENDED2: HLEN [2] | HDATA   (the payload of a CREATED2 cell)
 *
 * Bytes after HDATA are ignored, as C tor does.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { readHandshakeData, readTypedHandshake, writeHandshakeData } from '../channel/circuit-create.js';
import { type LinkSpecifier, readLinkSpecifierList, writeLinkSpecifierList } from './link-specifier.js';

export interface Extend2Message {
  readonly type: 'extend2';
  readonly linkSpecifiers: readonly LinkSpecifier[];
  readonly handshakeType: number;
  readonly handshakeData: Uint8Array;
}

export interface Extended2Message {
  readonly type: 'extended2';
  readonly handshakeData: Uint8Array;
}

// Whether the whole message fits one relay cell is checked by the relay message encoder.
const NO_LIMIT = 0xffff;

export function readExtend2(r: ByteReader): Extend2Message {
  const linkSpecifiers = readLinkSpecifierList(r);
  const { handshakeType, handshakeData } = readTypedHandshake(r, NO_LIMIT);
  return { type: 'extend2', linkSpecifiers, handshakeType, handshakeData };
}

export function writeExtend2(w: ByteWriter, message: Extend2Message): void {
  writeLinkSpecifierList(w, message.linkSpecifiers);
  w.u16(message.handshakeType);
  writeHandshakeData(w, message.handshakeData, NO_LIMIT);
}

export function readExtended2(r: ByteReader): Extended2Message {
  return { type: 'extended2', handshakeData: readHandshakeData(r, NO_LIMIT) };
}

export function writeExtended2(w: ByteWriter, message: Extended2Message): void {
  writeHandshakeData(w, message.handshakeData, NO_LIMIT);
}
