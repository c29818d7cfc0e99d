import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChannelCommand,
  decodeChannelCell,
  decodeChannelCellMessage,
  encodeChannelMessageCell,
  formatIpAddress,
} from '@relayd/cells';
import { concatBytes } from '@relayd/common';
import { type InitiatorOutcome, LINK_HANDSHAKE_TIMEOUT_MS, type ResponderOutcome } from '../src/index.js';
import {
  CLIENT_ADDRESS,
  commandsOf,
  fakeTlsSession,
  fixedClock,
  initiatorFor,
  makeRelay,
  NOW_MS,
  pump,
  responderFor,
  withoutCommand,
} from './fixture.js';

const bridge = makeRelay();
const relay = makeRelay();

function done<O extends ResponderOutcome | InitiatorOutcome>(
  step: { status: string; outcome?: O; error?: Error },
  who: string,
): O {
  assert.equal(step.status, 'done', `${who}: ${step.error?.message ?? step.status}`);
  return step.outcome!;
}

describe('link handshake: bridge initiator <-> responder (no initiator authentication)', () => {
  for (const [offered, expected] of [
    [[3], 3],
    [[3, 4], 4],
    [[3, 4, 5], 5],
  ] as const) {
    it(`negotiates link protocol ${expected} when the initiator offers [${offered.join(', ')}]`, () => {
      const responder = responderFor(bridge);
      const initiator = initiatorFor(bridge, { linkVersions: offered });
      const run = pump(initiator, responder, initiator.start());
      const ours = done(run.a, 'initiator');
      const theirs = done(run.b, 'responder');

      assert.equal(ours.linkVersion, expected);
      assert.equal(theirs.linkVersion, expected);
      assert.equal(ours.initiatedLocally, true);
      assert.equal(theirs.initiatedLocally, false);
      // The initiator proved who the responder is; the responder learned nothing about a client.
      assert.deepEqual(ours.rsaIdentity, bridge.keys.rsaIdentity.publicKey.fingerprint());
      assert.deepEqual(ours.ed25519Identity, bridge.keys.ed25519Identity);
      assert.equal(ours.authenticated, false);
      assert.equal(theirs.rsaIdentity, undefined);
      assert.equal(theirs.ed25519Identity, undefined);
      assert.equal(theirs.verifiedInitiator, undefined);
      assert.equal(ours.leftover.length, 0);
      assert.equal(theirs.leftover.length, 0);

      // The wire: VERSIONS, CERTS, AUTH_CHALLENGE, NETINFO one way; VERSIONS, NETINFO the other.
      assert.deepEqual(commandsOf(run.toA, expected), [
        ChannelCommand.VERSIONS,
        ChannelCommand.CERTS,
        ChannelCommand.AUTH_CHALLENGE,
        ChannelCommand.NETINFO,
      ]);
      assert.deepEqual(commandsOf(run.toB, expected), [ChannelCommand.VERSIONS, ChannelCommand.NETINFO]);

      // NETINFO: the responder gives its clock and addresses, the bridge-as-client gives neither.
      assert.equal(formatIpAddress(ours.peerNetinfo.ourAddress), '203.0.113.7');
      assert.deepEqual(ours.peerNetinfo.peerAddresses.map(formatIpAddress), [
        '198.51.100.20',
        '2001:db8::20',
      ]);
      assert.equal(ours.peerNetinfo.timestampSeconds, Math.floor(NOW_MS / 1000));
      assert.equal(ours.clockSkewSeconds, -5);
      assert.equal(formatIpAddress(theirs.peerNetinfo.ourAddress), '198.51.100.20');
      assert.equal(theirs.peerNetinfo.timestampSeconds, 0);
      assert.equal(theirs.clockSkewSeconds, undefined);
      assert.deepEqual(theirs.peerNetinfo.peerAddresses, []);
    });
  }

  it('negotiates the highest version the responder allows', () => {
    const responder = responderFor(bridge, { linkVersions: [3, 4] });
    const initiator = initiatorFor(bridge);
    const run = pump(initiator, responder, initiator.start());
    assert.equal(done(run.a, 'initiator').linkVersion, 4);
    assert.equal(done(run.b, 'responder').linkVersion, 4);
  });

  it('works when the bytes arrive one at a time', () => {
    for (const version of [3, 4, 5]) {
      const responder = responderFor(bridge);
      const initiator = initiatorFor(bridge, { linkVersions: [version] });
      const run = pump(initiator, responder, initiator.start(), { chunkSize: 1 });
      assert.equal(done(run.a, 'initiator').linkVersion, version);
      assert.equal(done(run.b, 'responder').linkVersion, version);
    }
  });

  it('sends the responder CERTS of its credentials and a 32-byte challenge offering method 3', () => {
    const responder = responderFor(bridge);
    const initiator = initiatorFor(bridge);
    const run = pump(initiator, responder, initiator.start());
    done(run.b, 'responder');
    let at = 0;
    let framing: 'negotiating' | number = 'negotiating';
    const messages = [];
    while (at < run.toA.length) {
      const frame = decodeChannelCell(run.toA.subarray(at), framing);
      assert.equal(frame.kind, 'cell');
      if (frame.kind !== 'cell') break;
      const m = decodeChannelCellMessage(frame.cell);
      assert.ok(m.ok);
      messages.push(m.value);
      framing = 5;
      at += frame.bytesConsumed;
    }
    const [versions, certs, challenge] = messages;
    assert.deepEqual(versions, { type: 'versions', versions: [3, 4, 5] });
    assert.ok(certs?.type === 'certs');
    assert.deepEqual(
      certs.certs.map((c) => c.certType),
      [1, 2, 4, 5, 7],
    );
    assert.deepEqual(certs.certs, bridge.responder.certs);
    assert.ok(challenge?.type === 'auth-challenge');
    assert.equal(challenge.challenge.length, 32);
    assert.deepEqual(challenge.methods, [3]);
  });

  it('gives the deadline from the monotonic clock', () => {
    const responder = responderFor(bridge, { clock: fixedClock(NOW_MS, 12_345) });
    assert.equal(responder.deadlineMs, 12_345 + LINK_HANDSHAKE_TIMEOUT_MS);
    const initiator = initiatorFor(bridge, { clock: fixedClock(NOW_MS, 500), timeoutMs: 10_000 });
    assert.equal(initiator.deadlineMs, 10_500);
  });
});

describe('link handshake: authenticating initiator (a relay) <-> responder', () => {
  for (const version of [3, 4, 5]) {
    it(`proves the initiator's identities with CERTS + AUTHENTICATE on link protocol ${version}`, () => {
      const tls = fakeTlsSession('shared');
      const responder = responderFor(bridge, { tls });
      const initiator = initiatorFor(bridge, {
        linkVersions: [version],
        authenticate: { credentials: relay.initiator, tls, localAddresses: [CLIENT_ADDRESS] },
      });
      const run = pump(initiator, responder, initiator.start());
      const ours = done(run.a, 'initiator');
      const theirs = done(run.b, 'responder');
      assert.equal(ours.authenticated, true);
      assert.equal(theirs.linkVersion, version);
      assert.deepEqual(theirs.rsaIdentity, relay.keys.rsaIdentity.publicKey.fingerprint());
      assert.deepEqual(theirs.ed25519Identity, relay.keys.ed25519Identity);
      assert.ok(theirs.verifiedInitiator);
      assert.deepEqual(commandsOf(run.toB, version), [
        ChannelCommand.VERSIONS,
        ChannelCommand.CERTS,
        ChannelCommand.AUTHENTICATE,
        ChannelCommand.NETINFO,
      ]);
      // A relay names itself and its clock in NETINFO.
      assert.deepEqual(theirs.peerNetinfo.peerAddresses.map(formatIpAddress), ['203.0.113.7']);
      assert.equal(theirs.clockSkewSeconds, 5);
    });
  }

  it('refuses an AUTHENTICATE made in another TLS session (exporter mismatch)', () => {
    const responder = responderFor(bridge, { tls: fakeTlsSession('session-one') });
    const initiator = initiatorFor(bridge, {
      authenticate: { credentials: relay.initiator, tls: fakeTlsSession('session-two') },
    });
    const run = pump(initiator, responder, initiator.start());
    assert.equal(run.b.status, 'failed');
    assert.ok(run.b.status === 'failed');
    assert.equal(run.b.error.code, 'BAD_AUTHENTICATE');
    assert.equal(run.b.error.certError?.code, 'AUTHENTICATE_MISMATCH');
  });

  it('refuses an AUTHENTICATE whose signature was tampered with in transit', () => {
    const tls = fakeTlsSession('shared');
    const responder = responderFor(bridge, { tls });
    const initiator = initiatorFor(bridge, { authenticate: { credentials: relay.initiator, tls } });
    const run = pump(initiator, responder, initiator.start(), {
      tamperToB: (bytes) => {
        // The second flight: CERTS, AUTHENTICATE, NETINFO.
        if (bytes[4] === ChannelCommand.CERTS) {
          const copy = Uint8Array.from(bytes);
          // The last byte of the AUTHENTICATE cell: inside its Ed25519 signature (a NETINFO of 514 follows).
          copy[copy.length - 515]! ^= 0x01;
          return copy;
        }
        return bytes;
      },
    });
    assert.ok(run.b.status === 'failed');
    assert.equal(run.b.error.code, 'BAD_AUTHENTICATE');
    assert.equal(run.b.error.certError?.code, 'BAD_SIGNATURE');
  });

  it('refuses an initiator CERTS chain that has expired', () => {
    const stale = makeRelay(NOW_MS - 40 * 86400_000);
    const tls = fakeTlsSession('shared');
    const responder = responderFor(bridge, { tls });
    const initiator = initiatorFor(bridge, { authenticate: { credentials: stale.initiator, tls } });
    const run = pump(initiator, responder, initiator.start());
    assert.ok(run.b.status === 'failed');
    assert.equal(run.b.error.code, 'BAD_CERTS');
    assert.equal(run.b.error.certError?.code, 'EXPIRED');
  });

  it('accepts CERTS followed by NETINFO without AUTHENTICATE as an unauthenticated peer, like C tor', () => {
    const tls = fakeTlsSession('shared');
    const responder = responderFor(bridge, { tls });
    const initiator = initiatorFor(bridge, { authenticate: { credentials: relay.initiator, tls } });
    const run = pump(initiator, responder, initiator.start(), {
      // Drop the AUTH_CHALLENGE so the initiator never authenticates.
      tamperToA: (bytes) => withoutCommand(bytes, ChannelCommand.AUTH_CHALLENGE, 5),
    });
    const ours = done(run.a, 'initiator');
    const theirs = done(run.b, 'responder');
    assert.equal(ours.authenticated, false);
    assert.equal(theirs.rsaIdentity, undefined);
  });
});

describe('link handshake: leftover bytes', () => {
  it('hands the responder the cells that came in the same read as the NETINFO', () => {
    const responder = responderFor(bridge);
    const initiator = initiatorFor(bridge);
    const flight = responder.receive(initiator.start());
    const step = initiator.receive(flight.output);
    assert.equal(step.status, 'done');
    const createFast = encodeChannelMessageCell(
      0x80000001,
      { type: 'create-fast', keyMaterial: new Uint8Array(20).fill(0xab) },
      5,
    );
    const end = responder.receive(concatBytes(step.output, createFast, createFast.subarray(0, 100)));
    const outcome = done(end, 'responder');
    assert.deepEqual(outcome.leftover, concatBytes(createFast, createFast.subarray(0, 100)));
  });

  it('hands the initiator what the responder sent after its NETINFO', () => {
    const responder = responderFor(bridge);
    const initiator = initiatorFor(bridge);
    const flight = responder.receive(initiator.start());
    const padding = encodeChannelMessageCell(
      0,
      { type: 'padding-negotiate', command: 2, itoLowMs: 1500, itoHighMs: 9500 },
      5,
    );
    const outcome = done(initiator.receive(concatBytes(flight.output, padding)), 'initiator');
    assert.deepEqual(outcome.leftover, padding);
  });

  it('refuses to be fed after it has finished', () => {
    const responder = responderFor(bridge);
    const initiator = initiatorFor(bridge);
    const run = pump(initiator, responder, initiator.start());
    done(run.b, 'responder');
    assert.throws(() => responder.receive(new Uint8Array(1)), /after it is done/);
  });
});
