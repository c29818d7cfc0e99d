/**
 * Relay key sets, fake TLS sessions, a fixed clock and a driver that runs a
 * responder against an initiator in memory, for the link handshake tests.
 */
import { ChannelCommand, decodeChannelCell, type IpAddress, parseIpAddress } from '@relayd/cells';
import { createEd25519Cert, Ed25519CertType, expirationHoursAfter } from '@relayd/certs';
import { type Clock, concatBytes, type Random, utf8 } from '@relayd/common';
import { createRelayTlsCertificates, Ed25519SigningKey, RsaPrivateKey, sha256 } from '@relayd/crypto';
import {
  buildInitiatorCredentials,
  buildResponderCredentials,
  type InitiatorCredentials,
  type LinkHandshakeOutcome,
  type LinkHandshakeStep,
  LinkInitiator,
  type LinkInitiatorOptions,
  LinkResponder,
  type LinkResponderOptions,
  type LinkTlsSession,
  type RelayLinkKeys,
  type ResponderCredentials,
} from '../src/index.js';

export const NOW_MS = Date.UTC(2026, 2, 14, 9, 26, 53);

export const CLIENT_ADDRESS = parseIpAddress('203.0.113.7') as IpAddress;
export const BRIDGE_ADDRESS = parseIpAddress('198.51.100.20') as IpAddress;
export const BRIDGE_ADDRESS_V6 = parseIpAddress('2001:db8::20') as IpAddress;

export function fixedClock(nowMs = NOW_MS, monotonicMs = 1_000): Clock {
  return { nowMs: () => nowMs, monotonicMs: () => monotonicMs };
}

/** Deterministic bytes: a counter run through SHA-256. */
export function countingRandom(seed = 1): Random {
  let counter = seed;
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let at = 0; at < n; at += 32) {
        out.set(
          sha256(Uint8Array.of(counter >>> 24, counter >>> 16, counter >>> 8, counter)).subarray(0, n - at),
          at,
        );
        counter++;
      }
      return out;
    },
  };
}

/** Both ends of one fake TLS session: the same exporter output for the same label and context. */
export function fakeTlsSession(secret: string): LinkTlsSession {
  return {
    exportKeyingMaterial(label: string, context: Uint8Array, length: number): Uint8Array {
      return sha256(utf8(secret), utf8(label), context).subarray(0, length);
    },
  };
}

export interface TestRelay {
  readonly keys: RelayLinkKeys;
  readonly edIdentity: Ed25519SigningKey;
  readonly linkCertificate: Uint8Array;
  readonly responder: ResponderCredentials;
  readonly initiator: InitiatorCredentials;
}

let seed = 40;

/** A relay's keys with certificates made at `nowMs` (RSA-1024 link keys keep the tests fast). */
export function makeRelay(nowMs = NOW_MS): TestRelay {
  const rsaIdentity = RsaPrivateKey.generate(1024);
  const edIdentity = Ed25519SigningKey.fromSeed(new Uint8Array(32).fill(seed++));
  const signingKey = Ed25519SigningKey.fromSeed(new Uint8Array(32).fill(seed++));
  const authenticationKey = Ed25519SigningKey.fromSeed(new Uint8Array(32).fill(seed++));
  const x509 = createRelayTlsCertificates({
    identityKey: rsaIdentity,
    nowMs,
    linkKey: RsaPrivateKey.generate(1024),
  });
  const keys: RelayLinkKeys = {
    rsaIdentity,
    ed25519Identity: edIdentity.publicKey,
    signingKey,
    signingCert: createEd25519Cert({
      certType: Ed25519CertType.IDENTITY_V_SIGNING,
      certifiedKey: signingKey.publicKey,
      expirationHours: expirationHoursAfter(nowMs, 30 * 86400),
      signer: edIdentity,
      includeSigningKey: true,
    }),
    identityCertificate: x509.identityCertificate,
  };
  return {
    keys,
    edIdentity,
    linkCertificate: x509.linkCertificate,
    responder: buildResponderCredentials({ ...keys, linkCertificate: x509.linkCertificate, nowMs }),
    initiator: buildInitiatorCredentials({ ...keys, authenticationKey, nowMs }),
  };
}

interface Machine<O extends LinkHandshakeOutcome> {
  receive(bytes: Uint8Array): LinkHandshakeStep<O>;
}

export interface PumpResult<A extends LinkHandshakeOutcome, B extends LinkHandshakeOutcome> {
  readonly a: LinkHandshakeStep<A>;
  readonly b: LinkHandshakeStep<B>;
  /** Every byte b sent to a and a to b, in order. */
  readonly toA: Uint8Array;
  readonly toB: Uint8Array;
}

/**
 * Runs two machines against each other from `firstToB` (the initiator's
 * first flight) until neither has anything left to say. `tamperToA` and
 * `tamperToB` may rewrite each flight in transit.
 */
export function pump<A extends LinkHandshakeOutcome, B extends LinkHandshakeOutcome>(
  a: Machine<A>,
  b: Machine<B>,
  firstToB: Uint8Array,
  options: {
    tamperToA?: (bytes: Uint8Array) => Uint8Array;
    tamperToB?: (bytes: Uint8Array) => Uint8Array;
    chunkSize?: number;
  } = {},
): PumpResult<A, B> {
  const sentToA: Uint8Array[] = [];
  const sentToB: Uint8Array[] = [];
  const feed = <O extends LinkHandshakeOutcome>(m: Machine<O>, bytes: Uint8Array): LinkHandshakeStep<O> => {
    const size = options.chunkSize ?? bytes.length;
    let step: LinkHandshakeStep<O> = { status: 'running', output: new Uint8Array(0) };
    const outputs: Uint8Array[] = [];
    for (let at = 0; at < bytes.length || at === 0; at += Math.max(size, 1)) {
      step = m.receive(bytes.subarray(at, at + size));
      outputs.push(step.output);
      if (step.status !== 'running') break;
      if (bytes.length === 0) break;
    }
    return { ...step, output: concatBytes(...outputs) };
  };
  let toB = options.tamperToB ? options.tamperToB(firstToB) : firstToB;
  let stepA: LinkHandshakeStep<A> = { status: 'running', output: new Uint8Array(0) };
  let stepB: LinkHandshakeStep<B> = { status: 'running', output: new Uint8Array(0) };
  for (let round = 0; round < 10; round++) {
    if (toB.length > 0 && stepB.status === 'running') {
      sentToB.push(toB);
      stepB = feed(b, toB);
    }
    let toA = stepB.output;
    if (options.tamperToA && toA.length > 0) toA = options.tamperToA(toA);
    if (toA.length === 0 || stepA.status !== 'running') break;
    sentToA.push(toA);
    stepA = feed(a, toA);
    toB = stepA.output;
    if (options.tamperToB && toB.length > 0) toB = options.tamperToB(toB);
    if (toB.length === 0) break;
  }
  return { a: stepA, b: stepB, toA: concatBytes(...sentToA), toB: concatBytes(...sentToB) };
}

export function responderFor(
  relayUnderTest: TestRelay,
  overrides: Partial<LinkResponderOptions> = {},
): LinkResponder {
  return new LinkResponder({
    credentials: relayUnderTest.responder,
    tls: fakeTlsSession('session'),
    peerAddress: CLIENT_ADDRESS,
    localAddresses: [BRIDGE_ADDRESS, BRIDGE_ADDRESS_V6],
    clock: fixedClock(),
    random: countingRandom(7),
    ...overrides,
  });
}

export function initiatorFor(
  target: TestRelay,
  overrides: Partial<LinkInitiatorOptions> = {},
): LinkInitiator {
  return new LinkInitiator({
    peerTlsCertificate: target.linkCertificate,
    peerAddress: BRIDGE_ADDRESS,
    clock: fixedClock(NOW_MS + 5_000),
    random: countingRandom(99),
    ...overrides,
  });
}

/** The commands of a byte stream of cells, the first VERSIONS with 2-byte circuit IDs. */
export function commandsOf(bytes: Uint8Array, version: number): number[] {
  const commands: number[] = [];
  let framing: 'negotiating' | number = 'negotiating';
  let at = 0;
  while (at < bytes.length) {
    const frame = decodeChannelCell(bytes.subarray(at), framing);
    if (frame.kind !== 'cell') break;
    commands.push(frame.cell.command);
    if (frame.cell.command === ChannelCommand.VERSIONS) framing = version;
    at += frame.bytesConsumed;
  }
  return commands;
}

/** Removes every cell of `command` from a flight (after its first VERSIONS). */
export function withoutCommand(bytes: Uint8Array, command: number, version: number): Uint8Array {
  const kept: Uint8Array[] = [];
  let framing: 'negotiating' | number = 'negotiating';
  let at = 0;
  while (at < bytes.length) {
    const frame = decodeChannelCell(bytes.subarray(at), framing);
    if (frame.kind !== 'cell') throw new Error('bad flight');
    if (frame.cell.command !== command) kept.push(bytes.subarray(at, at + frame.bytesConsumed));
    if (frame.cell.command === ChannelCommand.VERSIONS) framing = version;
    at += frame.bytesConsumed;
  }
  return concatBytes(...kept);
}
