/**
 * The channel cell command table (tor-spec section 3) and which commands use
 * variable-length framing.
 *
 * The table is open: any byte is a possible command, and commands that are
 * not listed here are carried as `unrecognized` messages rather than errors
 * ("Since more cell types may be added in the future, ORs should generally
 * not warn when encountering unrecognized commands", tor-spec 3).
 */

/** Channel cell commands, tor-spec 3. */
export const ChannelCommand = {
  PADDING: 0,
  CREATE: 1,
  CREATED: 2,
  RELAY: 3,
  DESTROY: 4,
  CREATE_FAST: 5,
  CREATED_FAST: 6,
  VERSIONS: 7,
  NETINFO: 8,
  RELAY_EARLY: 9,
  CREATE2: 10,
  CREATED2: 11,
  PADDING_NEGOTIATE: 12,
  VPADDING: 128,
  CERTS: 129,
  AUTH_CHALLENGE: 130,
  AUTHENTICATE: 131,
  AUTHORIZE: 132,
} as const;

export type ChannelCommandName = keyof typeof ChannelCommand;
export type KnownChannelCommand = (typeof ChannelCommand)[ChannelCommandName];

const NAMES = new Map<number, ChannelCommandName>(
  Object.entries(ChannelCommand).map(([name, value]) => [value, name as ChannelCommandName]),
);

/** The spec name of a command (e.g. "CREATE2"), or undefined if the command is not in the table. */
export function channelCommandName(command: number): ChannelCommandName | undefined {
  return NAMES.get(command);
}

/**
 * Whether cells with this command use the variable-length layout
 * (CircID | Command | Length u16 | Payload).
 *
 * "On a version 3 or higher connection, variable-length cells are indicated
 * by a command byte equal to 7 ("VERSIONS"), or greater than or equal to
 * 128." (tor-spec 3). relayd speaks only link protocols 3 and later, and
 * before negotiation the same rule applies (C tor's
 * cell_command_is_var_length() for an unknown link protocol).
 */
export function isVariableLengthCommand(command: number): boolean {
  return command === ChannelCommand.VERSIONS || command >= 128;
}

const CIRCUIT_COMMANDS: ReadonlySet<number> = new Set([
  ChannelCommand.CREATE,
  ChannelCommand.CREATED,
  ChannelCommand.RELAY,
  ChannelCommand.DESTROY,
  ChannelCommand.CREATE_FAST,
  ChannelCommand.CREATED_FAST,
  ChannelCommand.RELAY_EARLY,
  ChannelCommand.CREATE2,
  ChannelCommand.CREATED2,
]);

/**
 * Whether cells of this command belong to a circuit. Those need a nonzero
 * CircID ("CircID 0 MUST not be used for circuits", tor-spec 5.1.1); the
 * other known commands are channel-level and are sent with CircID 0. What to
 * do with a cell that breaks this (C tor drops it) is the receiver's call.
 */
export function isCircuitCommand(command: number): boolean {
  return CIRCUIT_COMMANDS.has(command);
}
