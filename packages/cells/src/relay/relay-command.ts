/**
 * The relay command table (tor-spec 6.1), as C tor numbers it.
 *
 * Every number the spec assigns is listed so logs and metrics can name it,
 * even where relayd has no body codec (onion services, conflux, UDP, circuit
 * padding, flow control). Where tor-spec's own list is older than the
 * implementation, C tor's or.h wins: XOFF is 43 and XON is 44 (proposal 324),
 * and the UDP numbers come from proposal 339.
 */

export const RelayCommand = {
  BEGIN: 1,
  DATA: 2,
  END: 3,
  CONNECTED: 4,
  SENDME: 5,
  EXTEND: 6,
  EXTENDED: 7,
  TRUNCATE: 8,
  TRUNCATED: 9,
  DROP: 10,
  RESOLVE: 11,
  RESOLVED: 12,
  BEGIN_DIR: 13,
  EXTEND2: 14,
  EXTENDED2: 15,
  CONNECT_UDP: 16,
  CONNECTED_UDP: 17,
  DATAGRAM: 18,
  CONFLUX_LINK: 19,
  CONFLUX_LINKED: 20,
  CONFLUX_LINKED_ACK: 21,
  CONFLUX_SWITCH: 22,
  ESTABLISH_INTRO: 32,
  ESTABLISH_RENDEZVOUS: 33,
  INTRODUCE1: 34,
  INTRODUCE2: 35,
  RENDEZVOUS1: 36,
  RENDEZVOUS2: 37,
  INTRO_ESTABLISHED: 38,
  RENDEZVOUS_ESTABLISHED: 39,
  INTRODUCE_ACK: 40,
  PADDING_NEGOTIATE: 41,
  PADDING_NEGOTIATED: 42,
  XOFF: 43,
  XON: 44,
} as const;

export type RelayCommandName = keyof typeof RelayCommand;

const NAMES = new Map<number, RelayCommandName>(
  Object.entries(RelayCommand).map(([name, value]) => [value, name as RelayCommandName]),
);

/** The spec name of a relay command (e.g. "BEGIN_DIR"), or undefined if it is not in the table. */
export function relayCommandName(command: number): RelayCommandName | undefined {
  return NAMES.get(command);
}
