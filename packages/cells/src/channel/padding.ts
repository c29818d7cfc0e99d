/**
 * Link padding cells (tor-spec 7.2, padding-spec): PADDING, VPADDING and
 * PADDING_NEGOTIATE.
 *
 * PADDING and VPADDING bodies are padding bytes that "Receivers MUST
 * ignore"; only VPADDING's length is kept, so an encoder can reproduce the
 * cell's size. PADDING_NEGOTIATE is parsed strictly, as C tor's trunnel
 * definition does: version 0 and command START or STOP only.
 */
import type { ByteReader, ByteWriter } from '@relayd/common';
import { InternalError } from '@relayd/common';

export interface PaddingMessage {
  readonly type: 'padding';
}

export interface VpaddingMessage {
  readonly type: 'vpadding';
  /** Number of (zero) padding bytes. */
  readonly length: number;
}

/** PADDING_NEGOTIATE commands (tor-spec 7.2). */
export const PaddingNegotiateCommand = {
  STOP: 1,
  START: 2,
} as const;

export type PaddingNegotiateCommandValue =
  (typeof PaddingNegotiateCommand)[keyof typeof PaddingNegotiateCommand];

/** "Currently, only version 0 of this cell is defined." */
export const PADDING_NEGOTIATE_VERSION = 0;

export interface PaddingNegotiateMessage {
  readonly type: 'padding-negotiate';
  readonly command: PaddingNegotiateCommandValue;
  /** Low bound of the inactivity timeout, ms. START with 0/0 means "use the consensus values". */
  readonly itoLowMs: number;
  readonly itoHighMs: number;
}

export function readVpadding(r: ByteReader): VpaddingMessage {
  return { type: 'vpadding', length: r.remaining };
}

export function writeVpadding(w: ByteWriter, message: VpaddingMessage): void {
  if (!Number.isInteger(message.length) || message.length < 0 || message.length > 0xffff) {
    throw new InternalError(`VPADDING length out of range: ${message.length}`);
  }
  w.zeros(message.length);
}

export function readPaddingNegotiate(r: ByteReader): PaddingNegotiateMessage {
  const version = r.u8('version');
  if (version !== PADDING_NEGOTIATE_VERSION) r.fail(`unsupported version ${version}`);
  const command = r.u8('command');
  if (command !== PaddingNegotiateCommand.STOP && command !== PaddingNegotiateCommand.START) {
    r.fail(`unknown command ${command}`);
  }
  const itoLowMs = r.u16('ito_low_ms');
  const itoHighMs = r.u16('ito_high_ms');
  return { type: 'padding-negotiate', command, itoLowMs, itoHighMs };
}

export function writePaddingNegotiate(w: ByteWriter, message: PaddingNegotiateMessage): void {
  if (message.command !== PaddingNegotiateCommand.STOP && message.command !== PaddingNegotiateCommand.START) {
    throw new InternalError(`unknown PADDING_NEGOTIATE command ${message.command}`);
  }
  w.u8(PADDING_NEGOTIATE_VERSION).u8(message.command).u16(message.itoLowMs).u16(message.itoHighMs);
}
