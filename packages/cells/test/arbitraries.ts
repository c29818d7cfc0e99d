/**
 * fast-check generators for channel and relay messages in their canonical
 * form: the form a decoder returns, so that decode(encode(x)) must equal x.
 */
import fc from 'fast-check';
import {
  CELL_BODY_LENGTH,
  type CellFraming,
  type ChannelMessage,
  channelCommandName,
  formatIpAddress,
  type IpAddress,
  isVariableLengthCommand,
  type LinkSpecifier,
  type NetinfoAddress,
  RELAY_DATA_MAX_LENGTH,
  RelayCommand,
  type RelayMessage,
} from '../src/index.js';

// fc.record builds null-prototype objects; decoders return plain ones.
const plain = <T extends object>(r: T): T => ({ ...r });

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const exactBytes = (n: number) => bytes(n, n);
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

export const framingArb: fc.Arbitrary<CellFraming> = fc.constantFrom<CellFraming>('negotiating', 3, 4, 5);

export const ipv4Arb: fc.Arbitrary<IpAddress> = exactBytes(4).map((b) => ({
  family: 'ipv4' as const,
  bytes: b,
}));
export const ipv6Arb: fc.Arbitrary<IpAddress> = exactBytes(16).map((b) => ({
  family: 'ipv6' as const,
  bytes: b,
}));
export const ipArb: fc.Arbitrary<IpAddress> = fc.oneof(ipv4Arb, ipv6Arb);

const netinfoAddressArb: fc.Arbitrary<NetinfoAddress> = fc.oneof(
  ipv4Arb,
  ipv6Arb,
  fc
    .record({ addressType: u8, value: bytes(0, 30) })
    .filter(
      ({ addressType, value }) =>
        !(addressType === 4 && value.length === 4) && !(addressType === 6 && value.length === 16),
    )
    .map(({ addressType, value }) => ({ family: 'unrecognized' as const, addressType, value })),
);

const unknownChannelCommandArb = u8.filter((c) => channelCommandName(c) === undefined);

export const channelMessageArb: fc.Arbitrary<ChannelMessage> = fc.oneof(
  fc.constant<ChannelMessage>({ type: 'padding' }),
  exactBytes(186).map((handshakeData): ChannelMessage => ({ type: 'create', handshakeData })),
  exactBytes(148).map((handshakeData): ChannelMessage => ({ type: 'created', handshakeData })),
  exactBytes(CELL_BODY_LENGTH).map((payload): ChannelMessage => ({ type: 'relay', payload })),
  exactBytes(CELL_BODY_LENGTH).map((payload): ChannelMessage => ({ type: 'relay-early', payload })),
  u8.map((reason): ChannelMessage => ({ type: 'destroy', reason })),
  exactBytes(20).map((keyMaterial): ChannelMessage => ({ type: 'create-fast', keyMaterial })),
  fc.tuple(exactBytes(20), exactBytes(20)).map(
    ([keyMaterial, derivativeKeyData]): ChannelMessage => ({
      type: 'created-fast',
      keyMaterial,
      derivativeKeyData,
    }),
  ),
  fc.array(u16, { maxLength: 40 }).map((versions): ChannelMessage => ({ type: 'versions', versions })),
  fc
    .record({
      timestamp: u32,
      otherAddress: netinfoAddressArb,
      myAddresses: fc.array(netinfoAddressArb, { maxLength: 5 }),
    })
    .map((r): ChannelMessage => ({ type: 'netinfo', ...r })),
  fc
    .record({ handshakeType: u16, handshakeData: bytes(0, 505) })
    .map((r): ChannelMessage => ({ type: 'create2', ...r })),
  bytes(0, 507).map((handshakeData): ChannelMessage => ({ type: 'created2', handshakeData })),
  fc
    .record({ command: fc.constantFrom(1 as const, 2 as const), itoLowMs: u16, itoHighMs: u16 })
    .map((r): ChannelMessage => ({ type: 'padding-negotiate', ...r })),
  fc.integer({ min: 0, max: 2000 }).map((length): ChannelMessage => ({ type: 'vpadding', length })),
  fc
    .array(fc.record({ certType: u8, body: bytes(0, 300) }).map(plain), { maxLength: 8 })
    .map((certs): ChannelMessage => ({ type: 'certs', certs })),
  fc
    .record({ challenge: exactBytes(32), methods: fc.array(u16, { maxLength: 10 }) })
    .map((r): ChannelMessage => ({ type: 'auth-challenge', ...r })),
  fc
    .record({ authType: u16, authentication: bytes(0, 400) })
    .map((r): ChannelMessage => ({ type: 'authenticate', ...r })),
  bytes(0, 100).map((body): ChannelMessage => ({ type: 'authorize', body })),
  unknownChannelCommandArb.chain((command) =>
    (isVariableLengthCommand(command) ? bytes(0, 300) : exactBytes(CELL_BODY_LENGTH)).map(
      (body): ChannelMessage => ({ type: 'unrecognized', command, body }),
    ),
  ),
);

export const linkSpecifierArb: fc.Arbitrary<LinkSpecifier> = fc.oneof(
  fc
    .record({ bytes: exactBytes(4), port: u16 })
    .map(
      ({ bytes: b, port }): LinkSpecifier => ({ kind: 'ipv4', address: { family: 'ipv4', bytes: b }, port }),
    ),
  fc
    .record({ bytes: exactBytes(16), port: u16 })
    .map(
      ({ bytes: b, port }): LinkSpecifier => ({ kind: 'ipv6', address: { family: 'ipv6', bytes: b }, port }),
    ),
  exactBytes(20).map((rsaIdentity): LinkSpecifier => ({ kind: 'legacy-id', rsaIdentity })),
  exactBytes(32).map((ed25519Identity): LinkSpecifier => ({ kind: 'ed25519-id', ed25519Identity })),
  fc
    .record({ specifierType: fc.integer({ min: 4, max: 0xff }), body: bytes(0, 32) })
    .map((r): LinkSpecifier => ({ kind: 'unrecognized', ...r })),
);

const hostnameArb = fc.stringMatching(/^[a-z0-9.-]{0,60}$/);
const beginAddressArb = fc.oneof(hostnameArb, ipv4Arb.map(formatIpAddress), ipv6Arb.map(formatIpAddress));

const parsedRelayCommands = new Set<number>([
  RelayCommand.BEGIN,
  RelayCommand.DATA,
  RelayCommand.END,
  RelayCommand.CONNECTED,
  RelayCommand.SENDME,
  RelayCommand.TRUNCATE,
  RelayCommand.TRUNCATED,
  RelayCommand.DROP,
  RelayCommand.BEGIN_DIR,
  RelayCommand.EXTEND2,
  RelayCommand.EXTENDED2,
]);

export const relayMessageArb: fc.Arbitrary<RelayMessage> = fc.oneof(
  fc
    .record({
      address: beginAddressArb,
      port: fc.integer({ min: 1, max: 0xffff }),
      flags: fc.oneof(fc.constant(0), u32),
    })
    .map((r): RelayMessage => ({ type: 'begin', ...r })),
  bytes(0, RELAY_DATA_MAX_LENGTH).map((data): RelayMessage => ({ type: 'data', data })),
  fc.oneof(
    u8.map((reason): RelayMessage => ({ type: 'end', reason, exitPolicy: null })),
    fc
      .record({ address: ipArb, ttl: u32 })
      .map((p): RelayMessage => ({ type: 'end', reason: 4, exitPolicy: plain(p) })),
  ),
  fc.oneof(
    fc.constant<RelayMessage>({ type: 'connected', resolved: null }),
    fc
      .record({ address: ipArb.filter((a) => a.family === 'ipv6' || a.bytes.some((b) => b !== 0)), ttl: u32 })
      .map((r): RelayMessage => ({ type: 'connected', resolved: plain(r) })),
  ),
  fc.oneof(
    fc.constant<RelayMessage>({ type: 'sendme', kind: 'v0' }),
    exactBytes(20).map((digest): RelayMessage => ({ type: 'sendme', kind: 'v1', digest })),
    fc
      .record({ version: fc.integer({ min: 2, max: 0xff }), data: bytes(0, 100) })
      .map((r): RelayMessage => ({ type: 'sendme', kind: 'unknown-version', ...r })),
  ),
  fc.constant<RelayMessage>({ type: 'truncate' }),
  u8.map((reason): RelayMessage => ({ type: 'truncated', reason })),
  fc.constant<RelayMessage>({ type: 'drop' }),
  fc.constant<RelayMessage>({ type: 'begin-dir' }),
  fc
    .record({
      linkSpecifiers: fc.array(linkSpecifierArb, { maxLength: 4 }),
      handshakeType: u16,
      handshakeData: bytes(0, 200),
    })
    .map((r): RelayMessage => ({ type: 'extend2', ...r })),
  bytes(0, RELAY_DATA_MAX_LENGTH - 2).map(
    (handshakeData): RelayMessage => ({ type: 'extended2', handshakeData }),
  ),
  fc
    .record({ command: u8.filter((c) => !parsedRelayCommands.has(c)), data: bytes(0, RELAY_DATA_MAX_LENGTH) })
    .map((r): RelayMessage => ({ type: 'unrecognized', ...r })),
);

/** A deterministic Random for tests: a counter, so padding is recognisable. */
export function countingRandom(): { bytes(n: number): Uint8Array } {
  let next = 1;
  return {
    bytes(n: number) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = next++ & 0xff || 0xaa;
      return out;
    },
  };
}
