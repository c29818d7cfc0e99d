/**
 * The command phase both Extended ORPort state machines end with (the
 * metadata up to DONE on the bridge, the reply up to OKAY/DENY on the
 * transport): one frame at a time off the inbound bytes, each under the
 * body-length limit and counted against the command cap (limits.ts), so a
 * peer that streams frames the machine ignores is cut off the same way on
 * either side.
 */
import { ExtOrError } from './ext-or-error.js';
import type { ExtOrFrame } from './frame.js';
import type { InboundBuffer } from './inbound-buffer.js';

export type CommandRead =
  /** The inbound bytes hold no whole frame yet. */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'frame'; readonly frame: ExtOrFrame }
  /** FRAME_TOO_LONG or TOO_MANY_COMMANDS: the exchange has failed. */
  | { readonly kind: 'refused'; readonly error: ExtOrError };

export interface CommandReaderOptions {
  readonly maxBodyLength: number;
  readonly maxCommands: number;
  /** Who sends the commands and which one ends them, for the TOO_MANY_COMMANDS message. */
  readonly sender: 'transport' | 'server';
  readonly lastCommand: 'DONE' | 'OKAY';
}

export class CommandReader {
  private commands = 0;

  constructor(
    private readonly inbound: InboundBuffer,
    private readonly options: CommandReaderOptions,
  ) {}

  /** Takes the next command frame off the inbound bytes, if a whole one is there. */
  next(): CommandRead {
    const result = this.inbound.takeFrame({ maxBodyLength: this.options.maxBodyLength });
    if (result.kind === 'incomplete') return { kind: 'incomplete' };
    if (result.kind === 'malformed') {
      return {
        kind: 'refused',
        error: new ExtOrError('FRAME_TOO_LONG', result.error.message, { cause: result.error }),
      };
    }
    this.commands++;
    if (this.commands > this.options.maxCommands) {
      const { sender, maxCommands, lastCommand } = this.options;
      return {
        kind: 'refused',
        error: new ExtOrError(
          'TOO_MANY_COMMANDS',
          `${sender} sent more than ${maxCommands} commands before ${lastCommand}`,
        ),
      };
    }
    return { kind: 'frame', frame: result.frame };
  }
}
