import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkInitiatorCerts,
  checkResponderCerts,
  parseEd25519Cert,
  parseRsaEd25519Crosscert,
} from '@relayd/certs';
import { createRelayTlsCertificates, Ed25519SigningKey, sha256 } from '@relayd/crypto';
import {
  buildInitiatorCredentials,
  buildResponderCredentials,
  RSA_ED25519_CROSSCERT_LIFETIME_SECONDS,
  TLS_LINK_CERT_LIFETIME_SECONDS,
} from '../src/index.js';
import { makeRelay, NOW_MS } from './fixture.js';

const relay = makeRelay();
const other = makeRelay();

describe('buildResponderCredentials', () => {
  it('builds CERTS types 1, 2, 4, 5, 7 that verify against the link certificate', () => {
    const creds = relay.responder;
    assert.deepEqual(
      creds.certs.map((c) => c.certType),
      [1, 2, 4, 5, 7],
    );
    assert.deepEqual(creds.certs[0]!.body, relay.linkCertificate);
    assert.deepEqual(creds.tlsCertificate, relay.linkCertificate);
    const type5 = parseEd25519Cert(creds.certs[3]!.body);
    assert.ok(type5.ok);
    assert.deepEqual(type5.value.certifiedKey, sha256(relay.linkCertificate));
    assert.equal(type5.value.signingKey, undefined, 'C tor leaves the signing key out of type 5');
    const verified = checkResponderCerts(creds.certs, relay.linkCertificate, NOW_MS);
    assert.ok(verified.ok, verified.ok ? '' : verified.error.message);
    assert.deepEqual(verified.value.ed25519Identity, relay.keys.ed25519Identity);
  });

  it('dates type 5 for two days and type 7 for six months, and reports the earliest expiry', () => {
    const type5 = parseEd25519Cert(relay.responder.certs[3]!.body);
    const type7 = parseRsaEd25519Crosscert(relay.responder.certs[4]!.body);
    assert.ok(type5.ok && type7.ok);
    assert.equal(
      type5.value.expirationHours,
      Math.ceil((NOW_MS / 1000 + TLS_LINK_CERT_LIFETIME_SECONDS) / 3600),
    );
    assert.equal(
      type7.value.expirationHours,
      Math.ceil((Math.floor(NOW_MS / 1000) + RSA_ED25519_CROSSCERT_LIFETIME_SECONDS) / 3600),
    );
    assert.equal(relay.responder.expiresMs, type5.value.expirationHours * 3_600_000);
  });

  it('refuses key material that does not fit together', () => {
    assert.throws(
      () =>
        buildResponderCredentials({ ...relay.keys, linkCertificate: other.linkCertificate, nowMs: NOW_MS }),
      /not signed by the RSA identity/,
    );
    assert.throws(
      () =>
        buildResponderCredentials({
          ...relay.keys,
          signingKey: Ed25519SigningKey.generate(),
          linkCertificate: relay.linkCertificate,
          nowMs: NOW_MS,
        }),
      /certifies another key/,
    );
    assert.throws(
      () =>
        buildResponderCredentials({
          ...relay.keys,
          identityCertificate: other.keys.identityCertificate,
          linkCertificate: relay.linkCertificate,
          nowMs: NOW_MS,
        }),
      /identity certificate/,
    );
  });

  it('works with a fresh RSA-2048 link key, as the TLS context uses', () => {
    const x509 = createRelayTlsCertificates({ identityKey: relay.keys.rsaIdentity, nowMs: NOW_MS });
    const creds = buildResponderCredentials({
      ...relay.keys,
      linkCertificate: x509.linkCertificate,
      nowMs: NOW_MS,
    });
    assert.ok(checkResponderCerts(creds.certs, x509.linkCertificate, NOW_MS).ok);
    assert.ok(!checkResponderCerts(creds.certs, relay.linkCertificate, NOW_MS).ok);
  });
});

describe('buildInitiatorCredentials', () => {
  it('builds CERTS types 2, 4, 6, 7 (and 3 when given) that verify as an initiator chain', () => {
    const creds = relay.initiator;
    assert.deepEqual(
      creds.certs.map((c) => c.certType),
      [2, 4, 6, 7],
    );
    const checked = checkInitiatorCerts(creds.certs, NOW_MS);
    assert.ok(checked.ok, checked.ok ? '' : checked.error.message);
    assert.deepEqual(checked.value.authenticationKey, creds.authenticationKey.publicKey);
    const withRsaAuth = buildInitiatorCredentials({
      ...relay.keys,
      authenticationKey: creds.authenticationKey,
      rsaAuthenticateCertificate: relay.linkCertificate,
      nowMs: NOW_MS,
    });
    assert.deepEqual(
      withRsaAuth.certs.map((c) => c.certType),
      [3, 2, 4, 6, 7],
    );
  });
});
