/**
 * The one error of this package: a message that did not pass validation.
 * It is returned (never thrown) by the decoders, so a malformed message is
 * logged and dropped by whoever received it.
 */
import { RelayError } from '@relayd/common';

export const IpcErrorCode = {
  /** Not an object with a `v` and a `kind`. */
  NOT_A_MESSAGE: 'IPC_NOT_A_MESSAGE',
  /** A protocol version this build does not speak. */
  UNSUPPORTED_VERSION: 'IPC_UNSUPPORTED_VERSION',
  /** A `kind` the receiving side does not accept. */
  UNKNOWN_KIND: 'IPC_UNKNOWN_KIND',
  /** A field is missing or has the wrong type or range (the message names it). */
  BAD_FIELD: 'IPC_BAD_FIELD',
} as const;
export type IpcErrorCode = (typeof IpcErrorCode)[keyof typeof IpcErrorCode];

export class IpcMessageError extends RelayError {
  declare readonly code: IpcErrorCode;

  constructor(code: IpcErrorCode, message: string) {
    super('bad-input', code, message);
    this.name = 'IpcMessageError';
  }
}
