/**
 * The "proto" line of relayd's server descriptor: exactly the subprotocol
 * versions relayd implements (tor-spec 9, "Subprotocol versioning"; the
 * numbers' names as C tor's protover.h and Arti's tor-protover give them).
 * Clients choose what to send us from this line, so it must not claim what
 * the code does not do.
 *
 * | Entry        | Meaning                                                        | Where relayd does it                          |
 * | ------------ | -------------------------------------------------------------- | --------------------------------------------- |
 * | Link=3-5     | link protocols 3 (in-protocol handshake), 4 (4-byte circuit    | link-handshake SUPPORTED_LINK_VERSIONS        |
 * |              | IDs), 5 (PADDING_NEGOTIATE)                                    |                                               |
 * | LinkAuth=3   | Ed25519-SHA256-RFC5705 AUTHENTICATE                            | link-handshake responder and initiator        |
 * | Relay=2      | ntor, CREATE2/CREATED2, EXTEND2/EXTENDED2                      | handshakes, engine                            |
 * | Relay=3      | EXTEND2 over IPv6 link specifiers                              | engine planExtend + net TlsChannelProvider    |
 * | Relay=4      | ntor v3 in CREATE2 (proposal 332)                              | handshakes, engine answerCreate               |
 * | FlowCtrl=1   | authenticated circuit SENDMEs (proposal 289)                   | engine flow-control                           |
 * | Desc=1-2     | descriptor features of 0.2.4.19; Ed25519 signing and           | netdoc buildBridgeServerDescriptor            |
 * |              | onion-key cross-certificates                                   |                                               |
 * | Microdesc=1-2| microdescriptors of consensus methods 9–21 (with Ed25519 ids)  | netdoc parseMicrodescriptors, dir-cache       |
 * | Cons=1-2     | consensuses of methods 9–21                                    | netdoc parseConsensus, dir-cache              |
 * | DirCache=1   | the BEGIN_DIR documents of 0.2.4.19                            | dir-cache DirCacheService                     |
 *
 * Not advertised, because relayd does not implement them: DirCache=2
 * (consensus diffs: the directory cache answers diff requests with the full
 * consensus or 304), Relay=1 (TAP,
 * CREATE/EXTEND), Relay=5 (ntor v3 subprotocol requests, proposal 346),
 * Relay=6 (CGO relay crypto), FlowCtrl=2 (congestion control, proposal
 * 324), Conflux, HSDir, HSIntro, HSRend (onion services), Padding
 * (circuit padding machines), Desc=3-4 and Microdesc=3 (reading documents
 * without TAP keys, family IDs: only relays building paths need them).
 */
import { formatProtocols, type ProtocolVersions } from '@relayd/netdoc';

/** What relayd implements, entry by entry (see the table above). */
export const RELAYD_PROTOCOLS: ProtocolVersions = new Map<string, readonly number[]>([
  ['Cons', [1, 2]],
  ['Desc', [1, 2]],
  ['DirCache', [1]],
  ['FlowCtrl', [1]],
  ['Link', [3, 4, 5]],
  ['LinkAuth', [3]],
  ['Microdesc', [1, 2]],
  ['Relay', [2, 3, 4]],
]);

/** The "proto" line's value: "Cons=1-2 Desc=1-2 DirCache=1 FlowCtrl=1 Link=3-5 LinkAuth=3 Microdesc=1-2 Relay=2-4". */
export const RELAYD_PROTOCOL_LINE: string = formatProtocols(RELAYD_PROTOCOLS);
