/**
 * The limits an Extended ORPort exchange runs under, shared by the server
 * and the client. Both state machines enforce the command cap; the deadline
 * is the caller's to enforce, since they own the timers.
 */

/**
 * How long the whole exchange (connection open to OKAY/DENY) may take, on
 * either side. Transports give up after 5 s (goptlib `DialOr`, used by
 * obfs4proxy/lyrebird, snowflake and webtunnel, sets a 5-second deadline
 * around authentication and the metadata commands), so one that has not
 * finished by then never will; 10 s is that plus slack for a busy event
 * loop, and bounds how long a peer that is not a transport can hold a
 * socket in this phase. The spec and C tor set no limit.
 */
export const EXT_OR_HANDSHAKE_DEADLINE_MS = 10_000;

/**
 * How many commands one side may send before its last one (DONE from a
 * transport, OKAY/DENY from a bridge). A real transport sends at most three
 * (USERADDR, TRANSPORT, DONE) and a bridge one; the cap stops a peer that
 * streams ignorable unknown commands for the whole deadline.
 */
export const DEFAULT_MAX_EXT_OR_COMMANDS = 32;
