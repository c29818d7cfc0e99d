/**
 * The extension list carried as the client and relay messages of an ntor v3
 * circuit extension handshake (tor-spec "CREATE2 extensions"; C tor
 * trunnel/extension.trunnel):
 *
 *   N_EXTENSIONS     [1 byte]
 *   N_EXTENSIONS times:
 *     EXT_FIELD_TYPE [1 byte]
 *     EXT_FIELD_LEN  [1 byte]
 *     EXT_FIELD      [EXT_FIELD_LEN bytes]
 *
 * Owns the list codec and the bodies of the known types. Unknown types are
 * kept as they are, so a caller can ignore them as the spec requires. The
 * decoder is strict: a missing count or trailing bytes are malformed
 * (proposal 332 A.2: "All parties MUST reject messages that are not
 * well-formed").
 */
import { ByteWriter, type DecodeError, decodeWith, type Result } from '@relayd/common';

/**
 * EXT_FIELD_TYPE values used in circuit extension. The numbering is per
 * direction: a client sends requests, a relay answers with responses.
 */
export const NtorV3ExtensionType = {
  /** Client → relay: enable congestion control (proposal 324). Empty body. */
  CongestionControlRequest: 0x01,
  /** Relay → client: congestion control accepted. Body: SENDME_INC [1 byte]. */
  CongestionControlResponse: 0x02,
  /** Client → relay: enable these subprotocol capabilities. Body: (protocol id, version) pairs. */
  SubprotocolRequest: 0x03,
} as const;

export type KnownNtorV3ExtensionType = (typeof NtorV3ExtensionType)[keyof typeof NtorV3ExtensionType];

/** One extension: its type and raw body (up to 255 bytes). */
export interface NtorV3Extension {
  readonly type: number;
  readonly body: Uint8Array;
}

/** One entry of a SubprotocolRequest: a subprotocol number (Link = 0, Relay = 2, ...) and a version. */
export interface SubprotocolCapability {
  readonly protocol: number;
  readonly version: number;
}

/** Encodes an extension list. More than 255 extensions or a body over 255 bytes is a bug. */
export function encodeNtorV3Extensions(extensions: readonly NtorV3Extension[]): Uint8Array {
  const w = new ByteWriter(1 + extensions.reduce((n, e) => n + 2 + e.body.length, 0));
  w.u8(extensions.length);
  for (const e of extensions) {
    w.u8(e.type);
    w.nested8((inner) => inner.bytes(e.body));
  }
  return w.finish();
}

/** Decodes an extension list, keeping every entry in order (including repeats and unknown types). */
export function decodeNtorV3Extensions(message: Uint8Array): Result<NtorV3Extension[], DecodeError> {
  return decodeWith(message, 'ntor v3 extension list', (r) => {
    const count = r.u8('N_EXTENSIONS');
    const out: NtorV3Extension[] = [];
    for (let i = 0; i < count; i++) {
      const type = r.u8('EXT_FIELD_TYPE');
      const body = r.nested8('EXT_FIELD', (inner) => inner.rest().slice());
      out.push({ type, body });
    }
    r.expectExhausted();
    return out;
  });
}

/** The first extension of `type`; the spec says later repeats are ignored. */
export function findNtorV3Extension(
  extensions: readonly NtorV3Extension[],
  type: number,
): NtorV3Extension | undefined {
  return extensions.find((e) => e.type === type);
}

/** A CongestionControlRequest extension (empty body). */
export function congestionControlRequest(): NtorV3Extension {
  return { type: NtorV3ExtensionType.CongestionControlRequest, body: new Uint8Array(0) };
}

/** A CongestionControlResponse extension carrying the relay's cc_sendme_inc. */
export function congestionControlResponse(sendmeIncrement: number): NtorV3Extension {
  return {
    type: NtorV3ExtensionType.CongestionControlResponse,
    body: new ByteWriter(1).u8(sendmeIncrement).finish(),
  };
}

/** Reads the SENDME_INC of a CongestionControlResponse body. */
export function decodeCongestionControlResponse(
  body: Uint8Array,
): Result<{ sendmeIncrement: number }, DecodeError> {
  return decodeWith(body, 'congestion control response', (r) => {
    const sendmeIncrement = r.u8('SENDME_INC');
    r.expectExhausted();
    return { sendmeIncrement };
  });
}

function compareCapabilities(a: SubprotocolCapability, b: SubprotocolCapability): number {
  return a.protocol - b.protocol || a.version - b.version;
}

/** A SubprotocolRequest extension; the capabilities are sorted and deduplicated as the format requires. */
export function subprotocolRequest(capabilities: readonly SubprotocolCapability[]): NtorV3Extension {
  const sorted = [...capabilities].sort(compareCapabilities);
  const w = new ByteWriter(2 * sorted.length);
  let last: SubprotocolCapability | undefined;
  for (const c of sorted) {
    if (last && compareCapabilities(last, c) === 0) continue;
    w.u8(c.protocol).u8(c.version);
    last = c;
  }
  return { type: NtorV3ExtensionType.SubprotocolRequest, body: w.finish() };
}

/** Reads a SubprotocolRequest body: (protocol, version) pairs in strictly ascending order. */
export function decodeSubprotocolRequest(body: Uint8Array): Result<SubprotocolCapability[], DecodeError> {
  return decodeWith(body, 'subprotocol request', (r) => {
    const out: SubprotocolCapability[] = [];
    while (r.remaining > 0) {
      const capability = { protocol: r.u8('protocol'), version: r.u8('version') };
      const previous = out[out.length - 1];
      if (previous && compareCapabilities(previous, capability) >= 0) {
        r.fail('capabilities not sorted and deduplicated');
      }
      out.push(capability);
    }
    return out;
  });
}
