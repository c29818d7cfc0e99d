import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CertsCellEntry,
  ChannelCommand,
  encodeChannelCell,
  encodeChannelMessageCell,
} from '@relayd/cells';
import { concatBytes } from '@relayd/common';
import fc from 'fast-check';
import {
  checkPeerIdentity,
  type LinkHandshakeErrorCode,
  type LinkHandshakeOutcome,
  type LinkHandshakeStep,
  type LinkResponder,
} from '../src/index.js';
import {
  fakeTlsSession,
  initiatorFor,
  makeRelay,
  NOW_MS,
  pump,
  responderFor,
  withoutCommand,
} from './fixture.js';

const bridge = makeRelay();
const other = makeRelay();

function expectFailure<O extends LinkHandshakeOutcome>(
  step: LinkHandshakeStep<O>,
  code: LinkHandshakeErrorCode,
  certCode?: string,
): void {
  assert.equal(step.status, 'failed', `expected ${code}, got ${step.status}`);
  if (step.status !== 'failed') return;
  assert.equal(step.error.code, code, step.error.message);
  assert.equal(step.output.length, 0, 'nothing is sent after a failure');
  if (certCode) assert.equal(step.error.certError?.code, certCode);
}

const versionsCell = (versions: number[]) =>
  encodeChannelMessageCell(0, { type: 'versions', versions }, 'negotiating');
const rawVarCell = (command: number, body: Uint8Array, framing: 'negotiating' | number = 'negotiating') =>
  encodeChannelCell({ circId: 0, command, body }, framing);
const vpadding = (framing: 'negotiating' | number = 'negotiating') =>
  rawVarCell(ChannelCommand.VPADDING, new Uint8Array(17), framing);
const clientNetinfo = (framing: number) =>
  encodeChannelMessageCell(
    0,
    {
      type: 'netinfo',
      timestamp: 0,
      otherAddress: { family: 'ipv4', bytes: Uint8Array.of(10, 0, 0, 1) },
      myAddresses: [],
    },
    framing,
  );

describe('responder: the first cell', () => {
  for (const [what, bytes] of [
    ['CERTS', rawVarCell(ChannelCommand.CERTS, Uint8Array.of(0))],
    ['AUTHENTICATE', rawVarCell(ChannelCommand.AUTHENTICATE, new Uint8Array(4))],
    ['an unknown variable-length command', rawVarCell(200, new Uint8Array(3))],
    ['fixed-length PADDING', encodeChannelMessageCell(0, { type: 'padding' }, 'negotiating')],
    ['NETINFO', clientNetinfo(3)],
    [
      'CREATE_FAST',
      encodeChannelMessageCell(1, { type: 'create-fast', keyMaterial: new Uint8Array(20) }, 'negotiating'),
    ],
  ] as const) {
    it(`refuses ${what} before VERSIONS`, () => {
      expectFailure(responderFor(bridge).receive(bytes), 'UNEXPECTED_CELL');
    });
  }

  it('accepts VPADDING and AUTHORIZE before VERSIONS', () => {
    const responder = responderFor(bridge);
    const step = responder.receive(
      concatBytes(
        vpadding(),
        rawVarCell(ChannelCommand.AUTHORIZE, Uint8Array.of(1, 2)),
        versionsCell([3, 4, 5]),
      ),
    );
    assert.equal(step.status, 'running');
    assert.ok(step.output.length > 0, 'the responder answered VERSIONS');
  });

  it('completes a handshake whose initiator sent VPADDING first', () => {
    const responder = responderFor(bridge);
    const initiator = initiatorFor(bridge);
    const run = pump(initiator, responder, concatBytes(vpadding(), initiator.start()));
    assert.equal(run.a.status, 'done');
    assert.equal(run.b.status, 'done');
  });
});

describe('responder: VERSIONS', () => {
  it('refuses a VERSIONS cell of odd length', () => {
    expectFailure(
      responderFor(bridge).receive(rawVarCell(ChannelCommand.VERSIONS, Uint8Array.of(0, 3, 0))),
      'BAD_VERSIONS',
    );
  });

  for (const versions of [[], [1, 2], [6, 7, 0xffff], [2]]) {
    it(`refuses VERSIONS [${versions.join(', ')}]: no version in common`, () => {
      expectFailure(responderFor(bridge).receive(versionsCell(versions)), 'NO_COMMON_VERSION');
    });
  }

  it('picks the highest common version from an unordered list with unknown versions', () => {
    const responder = responderFor(bridge);
    const step = responder.receive(versionsCell([9, 4, 1, 3]));
    assert.equal(step.status, 'running');
    // Our CERTS cell follows our VERSIONS with 4-byte circuit IDs: link protocol 4.
    const versionsLength = 2 + 1 + 2 + 6;
    assert.equal(step.output[versionsLength + 4], ChannelCommand.CERTS);
  });

  it('ignores a second VERSIONS cell and VPADDING later on', () => {
    const responder = responderFor(bridge);
    responder.receive(versionsCell([3, 4, 5]));
    const step = responder.receive(
      concatBytes(
        encodeChannelMessageCell(0, { type: 'versions', versions: [3] }, 5),
        vpadding(5),
        rawVarCell(201, new Uint8Array(9), 5),
        clientNetinfo(5),
      ),
    );
    assert.equal(step.status, 'done');
  });
});

describe('responder: cells not allowed while negotiating', () => {
  const afterVersions = (bytes: Uint8Array) => {
    const responder = responderFor(bridge);
    assert.equal(responder.receive(versionsCell([3, 4, 5])).status, 'running');
    return responder.receive(bytes);
  };

  it('refuses AUTH_CHALLENGE: we did not open the connection', () => {
    expectFailure(
      afterVersions(
        encodeChannelMessageCell(
          0,
          { type: 'auth-challenge', challenge: new Uint8Array(32), methods: [3] },
          5,
        ),
      ),
      'UNEXPECTED_CELL',
    );
  });

  it('refuses AUTHENTICATE before CERTS', () => {
    expectFailure(
      afterVersions(
        encodeChannelMessageCell(
          0,
          { type: 'authenticate', authType: 3, authentication: new Uint8Array(352) },
          5,
        ),
      ),
      'UNEXPECTED_CELL',
    );
  });

  for (const [what, cell] of [
    ['PADDING', encodeChannelMessageCell(0, { type: 'padding' }, 5)],
    ['CREATE_FAST', encodeChannelMessageCell(1, { type: 'create-fast', keyMaterial: new Uint8Array(20) }, 5)],
    ['RELAY', encodeChannelMessageCell(1, { type: 'relay', payload: new Uint8Array(509) }, 5)],
    ['DESTROY', encodeChannelMessageCell(1, { type: 'destroy', reason: 0 }, 5)],
    [
      'an unknown fixed-length command',
      encodeChannelCell({ circId: 0, command: 99, body: new Uint8Array(0) }, 5),
    ],
  ] as const) {
    it(`refuses ${what} before the handshake is over`, () => {
      expectFailure(afterVersions(cell), 'UNEXPECTED_CELL');
    });
  }

  it('refuses a second CERTS cell', () => {
    const tls = fakeTlsSession('s');
    const relay = makeRelay();
    const responder = responderFor(bridge, { tls });
    const initiator = initiatorFor(bridge, { authenticate: { credentials: relay.initiator, tls } });
    const certs = encodeChannelMessageCell(0, { type: 'certs', certs: relay.initiator.certs }, 5);
    const run = pump(initiator, responder, initiator.start(), {
      tamperToB: (bytes) => (bytes[4] === ChannelCommand.CERTS ? concatBytes(certs, bytes) : bytes),
    });
    expectFailure(run.b, 'UNEXPECTED_CELL');
  });

  it('refuses CERTS on a nonzero circuit ID and an empty CERTS cell', () => {
    expectFailure(
      afterVersions(
        encodeChannelCell({ circId: 7, command: ChannelCommand.CERTS, body: Uint8Array.of(0) }, 5),
      ),
      'NONZERO_CIRCUIT_ID',
    );
    expectFailure(afterVersions(rawVarCell(ChannelCommand.CERTS, new Uint8Array(0), 5)), 'MALFORMED_CELL');
  });

  it('refuses a truncated CERTS cell as malformed', () => {
    expectFailure(
      afterVersions(rawVarCell(ChannelCommand.CERTS, Uint8Array.of(1, 2, 0, 9, 1), 5)),
      'MALFORMED_CELL',
    );
  });

  it('refuses a NETINFO whose OTHERADDR is not an IP address', () => {
    const body = Uint8Array.of(0, 0, 0, 0, /* ATYPE */ 4, /* ALEN */ 5, 1, 2, 3, 4, 5, 0);
    expectFailure(
      afterVersions(encodeChannelCell({ circId: 0, command: ChannelCommand.NETINFO, body }, 5)),
      'BAD_NETINFO',
    );
  });

  it('refuses a peer that streams padding beyond the handshake byte cap', () => {
    const responder = responderFor(bridge, { maxHandshakeBytes: 4096 });
    responder.receive(versionsCell([5]));
    let step = responder.receive(vpadding(5));
    for (let i = 0; i < 200 && step.status === 'running'; i++) step = responder.receive(vpadding(5));
    expectFailure(step, 'HANDSHAKE_TOO_LARGE');
  });

  it('never throws and never succeeds on random bytes after VERSIONS', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 3, max: 5 }), (bytes, version) => {
        const responder = responderFor(bridge);
        responder.receive(versionsCell([version]));
        const step = responder.receive(bytes);
        // Random bytes can only complete the handshake by forming a NETINFO cell with an IP OTHERADDR.
        if (step.status === 'done') assert.equal(step.outcome.rsaIdentity, undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random first bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const step = responderFor(bridge).receive(bytes);
        assert.ok(step.status === 'running' || step.status === 'failed');
      }),
      { numRuns: 300 },
    );
  });
});

/** Runs a bridge initiator against `responder`, rewriting the responder's CERTS entries in transit. */
function initiatorAgainst(
  responder: LinkResponder,
  opts: {
    peerTlsCertificate?: Uint8Array;
    nowMs?: number;
    rewriteCerts?: (certs: CertsCellEntry[]) => CertsCellEntry[];
  } = {},
) {
  const initiator = initiatorFor(bridge, {
    ...(opts.peerTlsCertificate ? { peerTlsCertificate: opts.peerTlsCertificate } : {}),
    ...(opts.nowMs !== undefined ? { clock: { nowMs: () => opts.nowMs!, monotonicMs: () => 0 } } : {}),
  });
  const rewrite = opts.rewriteCerts;
  return pump(initiator, responder, initiator.start(), {
    tamperToA: rewrite
      ? (bytes) => {
          const withoutCerts = withoutCommand(bytes, ChannelCommand.CERTS, 5);
          const versionsLength = 2 + 1 + 2 + 6;
          const certs = encodeChannelMessageCell(
            0,
            { type: 'certs', certs: rewrite([...bridge.responder.certs]) },
            5,
          );
          return concatBytes(
            withoutCerts.subarray(0, versionsLength),
            certs,
            withoutCerts.subarray(versionsLength),
          );
        }
      : undefined,
  });
}

describe('initiator: verifying the responder', () => {
  it('refuses a type 5 certificate that does not certify the TLS certificate presented', () => {
    const run = initiatorAgainst(responderFor(bridge), { peerTlsCertificate: other.linkCertificate });
    expectFailure(run.a, 'BAD_CERTS', 'KEY_MISMATCH');
  });

  it('refuses an expired responder chain', () => {
    // Credentials made three days ago: the type 5 certificate lived two days.
    const stale = makeRelay(NOW_MS - 3 * 86400_000);
    const run = initiatorAgainst(responderFor(stale), { peerTlsCertificate: stale.linkCertificate });
    expectFailure(run.a, 'BAD_CERTS', 'EXPIRED');
  });

  it('refuses a duplicated certificate type', () => {
    const run = initiatorAgainst(responderFor(bridge), {
      rewriteCerts: (certs) => [...certs, certs.find((c) => c.certType === 4)!],
    });
    expectFailure(run.a, 'BAD_CERTS', 'DUPLICATE_CERT');
  });

  it("refuses another relay's identity certificate in the chain", () => {
    const run = initiatorAgainst(responderFor(bridge), {
      rewriteCerts: (certs) =>
        certs.map((c) => (c.certType === 2 ? other.responder.certs.find((o) => o.certType === 2)! : c)),
    });
    expectFailure(run.a, 'BAD_CERTS', 'BAD_SIGNATURE');
  });

  it("refuses another relay's Ed25519 certificates", () => {
    const run = initiatorAgainst(responderFor(bridge), {
      rewriteCerts: (certs) =>
        certs.map((c) => (c.certType === 4 ? other.responder.certs.find((o) => o.certType === 4)! : c)),
    });
    expectFailure(run.a, 'BAD_CERTS');
  });

  it('refuses a chain with a certificate missing', () => {
    const run = initiatorAgainst(responderFor(bridge), {
      rewriteCerts: (certs) => certs.filter((c) => c.certType !== 7),
    });
    expectFailure(run.a, 'BAD_CERTS', 'MISSING_CERT');
  });

  it('refuses AUTH_CHALLENGE and NETINFO that come before CERTS', () => {
    const flight = responderFor(bridge).receive(versionsCell([3, 4, 5])).output;
    const noCerts = withoutCommand(flight, ChannelCommand.CERTS, 5);
    for (const bytes of [noCerts, withoutCommand(noCerts, ChannelCommand.AUTH_CHALLENGE, 5)]) {
      const initiator = initiatorFor(bridge);
      initiator.start();
      expectFailure(initiator.receive(bytes), 'UNEXPECTED_CELL');
    }
    const initiator = initiatorFor(bridge);
    initiator.start();
    assert.equal(initiator.receive(flight).status, 'done', 'the unmodified flight works');
  });

  it('refuses AUTHENTICATE and a second AUTH_CHALLENGE', () => {
    const flight = responderFor(bridge).receive(versionsCell([3, 4, 5])).output;
    const withoutTail = withoutCommand(
      withoutCommand(flight, ChannelCommand.NETINFO, 5),
      ChannelCommand.AUTH_CHALLENGE,
      5,
    );
    const challenge = encodeChannelMessageCell(
      0,
      { type: 'auth-challenge', challenge: new Uint8Array(32), methods: [3] },
      5,
    );
    const authenticate = encodeChannelMessageCell(
      0,
      { type: 'authenticate', authType: 3, authentication: new Uint8Array(4) },
      5,
    );
    let initiator = initiatorFor(bridge);
    initiator.start();
    expectFailure(initiator.receive(concatBytes(withoutTail, authenticate)), 'UNEXPECTED_CELL');
    initiator = initiatorFor(bridge);
    initiator.start();
    expectFailure(initiator.receive(concatBytes(withoutTail, challenge, challenge)), 'UNEXPECTED_CELL');
  });

  it('refuses a responder VERSIONS with no common version', () => {
    const initiator = initiatorFor(bridge);
    initiator.start();
    expectFailure(initiator.receive(versionsCell([1, 2])), 'NO_COMMON_VERSION');
  });

  it('refuses a responder whose versions do not include the one we restricted ourselves to', () => {
    const responder = responderFor(bridge, { linkVersions: [4, 5] });
    const initiator = initiatorFor(bridge, { linkVersions: [3] });
    const run = pump(initiator, responder, initiator.start());
    expectFailure(run.b, 'NO_COMMON_VERSION');
  });
});

describe('checkPeerIdentity', () => {
  const proven = {
    rsaIdentity: bridge.keys.rsaIdentity.publicKey.fingerprint(),
    ed25519Identity: bridge.keys.ed25519Identity,
  };

  it('accepts the expected RSA identity, with or without an expected Ed25519 identity', () => {
    assert.ok(checkPeerIdentity(proven, { rsaIdentity: proven.rsaIdentity }).ok);
    assert.ok(
      checkPeerIdentity(proven, { rsaIdentity: proven.rsaIdentity, ed25519Identity: proven.ed25519Identity })
        .ok,
    );
  });

  it('refuses another RSA identity, another Ed25519 identity, or a missing one', () => {
    const otherRsa = other.keys.rsaIdentity.publicKey.fingerprint();
    for (const [p, e] of [
      [proven, { rsaIdentity: otherRsa }],
      [proven, { rsaIdentity: proven.rsaIdentity, ed25519Identity: other.keys.ed25519Identity }],
      [
        { ...proven, ed25519Identity: undefined },
        { rsaIdentity: proven.rsaIdentity, ed25519Identity: proven.ed25519Identity },
      ],
      [{ rsaIdentity: undefined, ed25519Identity: undefined }, { rsaIdentity: proven.rsaIdentity }],
    ] as const) {
      const result = checkPeerIdentity(p, e);
      assert.ok(!result.ok);
      assert.equal(result.error.code, 'IDENTITY_MISMATCH');
    }
  });

  it('lets the initiator refuse an unexpected responder before it sends NETINFO', () => {
    const initiator = initiatorFor(bridge, {
      expectedPeer: { rsaIdentity: other.keys.rsaIdentity.publicKey.fingerprint() },
    });
    initiator.start();
    const flight = responderFor(bridge).receive(versionsCell([3, 4, 5])).output;
    expectFailure(initiator.receive(flight), 'IDENTITY_MISMATCH');
    const right = initiatorFor(bridge, { expectedPeer: proven });
    right.start();
    assert.equal(right.receive(flight).status, 'done');
    const wrongEd = initiatorFor(bridge, {
      expectedPeer: { rsaIdentity: proven.rsaIdentity, ed25519Identity: other.keys.ed25519Identity },
    });
    wrongEd.start();
    expectFailure(wrongEd.receive(flight), 'IDENTITY_MISMATCH');
  });

  it('matches what a completed handshake proved', () => {
    const initiator = initiatorFor(bridge);
    const run = pump(initiator, responderFor(bridge), initiator.start());
    assert.ok(run.a.status === 'done');
    assert.ok(
      checkPeerIdentity(run.a.outcome, {
        rsaIdentity: proven.rsaIdentity,
        ed25519Identity: proven.ed25519Identity,
      }).ok,
    );
    assert.ok(
      !checkPeerIdentity(run.a.outcome, { rsaIdentity: other.keys.rsaIdentity.publicKey.fingerprint() }).ok,
    );
  });
});
