import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unwrap, utf8 } from '@relayd/common';
import { ed25519Verify, sha256 } from '@relayd/crypto';
import fc from 'fast-check';
import {
  AUTH0003_BYTES,
  AUTH0003_EXPORTER_LABEL,
  type Auth0003Transcript,
  auth0003ExporterContext,
  CertError,
  checkAuthenticate,
  checkEd25519Authenticator,
  checkInitiatorCerts,
  checkResponderCerts,
  createAuthChallenge,
  createEd25519Authenticator,
  LinkAuthMethod,
  selectLinkAuthMethod,
  VerifiedInitiatorIdentity,
} from '../src/index.js';
import { makeRelay, NOW_MS } from './relay-fixture.js';

const initiator = makeRelay();
const responder = makeRelay();

function bytes32(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

const transcript: Auth0003Transcript = {
  responderLogDigest: sha256(utf8('VERSIONS CERTS AUTH_CHALLENGE from the responder')),
  initiatorLogDigest: sha256(utf8('VERSIONS CERTS from the initiator')),
  responderTlsCertificateDigest: sha256(responder.tlsCertificate),
  tlsExporterOutput: bytes32(0x5e),
};
const nonce = new Uint8Array(24).fill(0xab);

function authenticator(
  overrides: Partial<Parameters<typeof createEd25519Authenticator>[0]> = {},
): Uint8Array {
  return createEd25519Authenticator({
    ...transcript,
    initiatorRsaIdentity: initiator.rsaIdentity.publicKey,
    responderRsaIdentity: responder.rsaIdentity.publicKey,
    initiatorEd25519Identity: initiator.edIdentity.publicKey,
    responderEd25519Identity: responder.edIdentity.publicKey,
    nonce,
    authenticationKey: initiator.edAuth,
    ...overrides,
  });
}

const initiatorCerts = unwrap(checkInitiatorCerts(initiator.initiatorCerts, NOW_MS));
const checkOpts = {
  ...transcript,
  initiatorCerts,
  responderRsaIdentity: responder.rsaIdentity.publicKey,
  responderEd25519Identity: responder.edIdentity.publicKey,
};

function expectCode(result: { ok: boolean; error?: unknown }, code: string): void {
  assert.equal(result.ok, false);
  assert.ok(result.error instanceof CertError);
  assert.equal(result.error.code, code, result.error.message);
}

describe('AUTHENTICATE Ed25519-SHA256-RFC5705 (AUTH0003)', () => {
  it('lays out the fields of tor-spec 4.4.2 and signs everything before SIG', () => {
    const auth = authenticator();
    assert.equal(auth.length, AUTH0003_BYTES);
    assert.equal(AUTH0003_BYTES, 352);
    assert.deepEqual(auth.subarray(0, 8), utf8('AUTH0003'));
    assert.deepEqual(auth.subarray(8, 40), sha256(initiator.rsaIdentity.publicKey.der));
    assert.deepEqual(auth.subarray(40, 72), sha256(responder.rsaIdentity.publicKey.der));
    assert.deepEqual(auth.subarray(72, 104), initiator.edIdentity.publicKey);
    assert.deepEqual(auth.subarray(104, 136), responder.edIdentity.publicKey);
    assert.deepEqual(auth.subarray(136, 168), transcript.responderLogDigest);
    assert.deepEqual(auth.subarray(168, 200), transcript.initiatorLogDigest);
    assert.deepEqual(auth.subarray(200, 232), transcript.responderTlsCertificateDigest);
    assert.deepEqual(auth.subarray(232, 264), transcript.tlsExporterOutput);
    assert.deepEqual(auth.subarray(264, 288), nonce);
    assert.ok(ed25519Verify(initiator.edAuth.publicKey, auth.subarray(0, 288), auth.subarray(288)));
  });

  it('writes SID_ED as zeros when the responder has no Ed25519 identity', () => {
    assert.deepEqual(
      authenticator({ responderEd25519Identity: undefined }).subarray(104, 136),
      new Uint8Array(32),
    );
  });

  it('uses CID (SHA-256 of the initiator RSA key) as the exporter context, as C tor does', () => {
    assert.equal(AUTH0003_EXPORTER_LABEL, 'EXPORTER FOR TOR TLS CLIENT BINDING AUTH0003');
    assert.deepEqual(
      auth0003ExporterContext(initiator.rsaIdentity.publicKey),
      authenticator().subarray(8, 40),
    );
  });

  it('round-trips: the responder verifies the initiator after checking its CERTS', () => {
    const result = checkAuthenticate(LinkAuthMethod.ED25519_SHA256_RFC5705, authenticator(), checkOpts);
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.ok(result.value instanceof VerifiedInitiatorIdentity);
    assert.deepEqual(result.value.rsaIdentity, initiator.rsaIdentity.publicKey.fingerprint());
    assert.deepEqual(result.value.ed25519Identity, initiator.edIdentity.publicKey);
  });

  it('full handshake flow: initiator checks responder CERTS, responder checks initiator CERTS + AUTHENTICATE', () => {
    const responderSeen = unwrap(
      checkResponderCerts(responder.responderCerts, responder.tlsCertificate, NOW_MS),
    );
    const auth = createEd25519Authenticator({
      ...transcript,
      initiatorRsaIdentity: initiator.rsaIdentity.publicKey,
      responderRsaIdentity: responderSeen.rsaIdentityKey,
      initiatorEd25519Identity: initiator.edIdentity.publicKey,
      responderEd25519Identity: responderSeen.ed25519Identity,
      nonce: new Uint8Array(24).fill(1),
      authenticationKey: initiator.edAuth,
    });
    assert.ok(checkEd25519Authenticator(auth, checkOpts).ok);
  });

  it('refuses every changed fixed field (AUTHENTICATE_MISMATCH)', () => {
    const auth = authenticator();
    for (const at of [0, 8, 40, 72, 104, 136, 168, 200, 232, 263]) {
      const tampered = Uint8Array.from(auth);
      tampered[at]! ^= 1;
      expectCode(checkEd25519Authenticator(tampered, checkOpts), 'AUTHENTICATE_MISMATCH');
    }
    // The responder's own view differing (another transcript, exporter, TLS cert).
    expectCode(
      checkEd25519Authenticator(auth, { ...checkOpts, tlsExporterOutput: bytes32(0) }),
      'AUTHENTICATE_MISMATCH',
    );
    expectCode(
      checkEd25519Authenticator(auth, { ...checkOpts, initiatorLogDigest: bytes32(1) }),
      'AUTHENTICATE_MISMATCH',
    );
    expectCode(
      checkEd25519Authenticator(auth, { ...checkOpts, responderEd25519Identity: undefined }),
      'AUTHENTICATE_MISMATCH',
    );
  });

  it('refuses a changed nonce or signature, or a signature by another key (BAD_SIGNATURE)', () => {
    const auth = authenticator();
    for (const at of [264, 287, 288, 351]) {
      const tampered = Uint8Array.from(auth);
      tampered[at]! ^= 0x10;
      expectCode(checkEd25519Authenticator(tampered, checkOpts), 'BAD_SIGNATURE');
    }
    expectCode(
      checkEd25519Authenticator(authenticator({ authenticationKey: initiator.edSigning }), checkOpts),
      'BAD_SIGNATURE',
    );
  });

  it('refuses other lengths and methods', () => {
    const auth = authenticator();
    expectCode(checkEd25519Authenticator(auth.subarray(0, 351), checkOpts), 'AUTHENTICATE_MISMATCH');
    expectCode(checkEd25519Authenticator(Uint8Array.of(...auth, 0), checkOpts), 'AUTHENTICATE_MISMATCH');
    expectCode(
      checkAuthenticate(LinkAuthMethod.RSA_SHA256_TLSSECRET, auth, checkOpts),
      'UNSUPPORTED_AUTH_METHOD',
    );
    expectCode(checkAuthenticate(2, auth, checkOpts), 'UNSUPPORTED_AUTH_METHOD');
  });

  it('never throws on random authenticators', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 0xffff }), (bytes, method) => {
        const result = checkAuthenticate(method, bytes, checkOpts);
        assert.equal(result.ok, false);
        assert.ok(result.error instanceof CertError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('AUTH_CHALLENGE', () => {
  it('offers a fresh 32-byte challenge and only the method relayd can check', () => {
    let n = 0;
    const challenge = createAuthChallenge({ bytes: (k) => new Uint8Array(k).fill(++n) });
    assert.deepEqual(challenge.challenge, new Uint8Array(32).fill(1));
    assert.deepEqual(challenge.methods, [3]);
  });

  it('picks the best supported method an AUTH_CHALLENGE offers', () => {
    assert.equal(selectLinkAuthMethod([1, 3]), 3);
    assert.equal(selectLinkAuthMethod([3, 1, 7]), 3);
    assert.equal(selectLinkAuthMethod([1]), undefined);
    assert.equal(selectLinkAuthMethod([]), undefined);
  });
});
