/**
 * Which channel commands a channel accepts in each phase of its life.
 *
 * A channel is `negotiating` from the TLS handshake until both NETINFO cells
 * are through, then `open`. For every command and phase this module says
 * whether the cell is to be handled, silently dropped, or is a protocol
 * violation that closes the channel. It follows C tor's channeltls.c, which
 * is stricter than a plain reading of tor-spec 4 in one respect: fixed-length
 * PADDING is refused while negotiating (only VPADDING may intervene), so a
 * probe cannot tell relayd from C tor by sending one.
 *
 *   negotiating: handle VERSIONS, CERTS, AUTH_CHALLENGE, AUTHENTICATE, NETINFO;
 *                ignore VPADDING, AUTHORIZE and unknown variable-length commands;
 *                reject every other fixed-length command (PADDING included).
 *   open:        handle CREATE*, CREATED*, RELAY, RELAY_EARLY, DESTROY, PADDING_NEGOTIATE;
 *                ignore PADDING, VPADDING, AUTHORIZE, VERSIONS, NETINFO and unknown commands;
 *                reject CERTS, AUTH_CHALLENGE, AUTHENTICATE.
 *
 * Whether a handled cell is acceptable at this exact point (a second CERTS,
 * AUTH_CHALLENGE sent to a responder) is the link handshake's decision.
 */
import { ChannelCommand, channelCommandName, isVariableLengthCommand } from './channel-command.js';

export type ChannelPhase = 'negotiating' | 'open';

/**
 * - `handle`: decode and act on it.
 * - `ignore`: drop it without decoding (padding, reserved and unknown commands).
 * - `reject`: a protocol violation in this phase; close the channel.
 */
export type CommandDisposition = 'handle' | 'ignore' | 'reject';

/** Commands decoded and acted on during link negotiation (tor-spec 4). */
export const NEGOTIATING_HANDLED_COMMANDS: ReadonlySet<number> = new Set([
  ChannelCommand.VERSIONS,
  ChannelCommand.CERTS,
  ChannelCommand.AUTH_CHALLENGE,
  ChannelCommand.AUTHENTICATE,
  ChannelCommand.NETINFO,
]);

/** Known commands allowed but dropped during negotiation: "either side may send VPADDING cells at any time". */
export const NEGOTIATING_IGNORED_COMMANDS: ReadonlySet<number> = new Set([
  ChannelCommand.VPADDING,
  ChannelCommand.AUTHORIZE,
]);

/** Commands decoded and acted on once the channel is open. */
export const OPEN_HANDLED_COMMANDS: ReadonlySet<number> = new Set([
  ChannelCommand.CREATE,
  ChannelCommand.CREATED,
  ChannelCommand.RELAY,
  ChannelCommand.DESTROY,
  ChannelCommand.CREATE_FAST,
  ChannelCommand.CREATED_FAST,
  ChannelCommand.RELAY_EARLY,
  ChannelCommand.CREATE2,
  ChannelCommand.CREATED2,
  ChannelCommand.PADDING_NEGOTIATE,
]);

/**
 * Known commands dropped on an open channel: padding, AUTHORIZE, and the
 * handshake's VERSIONS ("Any VERSIONS cells sent after the first VERSIONS
 * cell MUST be ignored", tor-spec 4.1) and NETINFO (C tor drops it too).
 */
export const OPEN_IGNORED_COMMANDS: ReadonlySet<number> = new Set([
  ChannelCommand.PADDING,
  ChannelCommand.VPADDING,
  ChannelCommand.AUTHORIZE,
  ChannelCommand.VERSIONS,
  ChannelCommand.NETINFO,
]);

/** What to do with a cell of `command` received in `phase`. Total over all bytes. */
export function channelCommandDisposition(phase: ChannelPhase, command: number): CommandDisposition {
  const known = channelCommandName(command) !== undefined;
  if (phase === 'negotiating') {
    if (NEGOTIATING_HANDLED_COMMANDS.has(command)) return 'handle';
    if (NEGOTIATING_IGNORED_COMMANDS.has(command)) return 'ignore';
    // C tor drops unknown variable-length cells mid-handshake but closes on
    // any fixed-length cell other than NETINFO.
    if (!known && isVariableLengthCommand(command)) return 'ignore';
    return 'reject';
  }
  if (OPEN_HANDLED_COMMANDS.has(command)) return 'handle';
  if (OPEN_IGNORED_COMMANDS.has(command)) return 'ignore';
  // "Upon receiving any other value for the command field, an OR must drop the cell." (tor-spec 3)
  if (!known) return 'ignore';
  return 'reject';
}

/** Whether a cell of `command` may arrive while negotiating without closing the channel. */
export function isAllowedWhileNegotiating(command: number): boolean {
  return channelCommandDisposition('negotiating', command) !== 'reject';
}

/** Whether a cell of `command` may arrive on an open channel without closing it. */
export function isAllowedWhenOpen(command: number): boolean {
  return channelCommandDisposition('open', command) !== 'reject';
}
