import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { checkResponderCerts } from '@relayd/certs';
import { systemClock } from '@relayd/common';
import { parseX509Certificate } from '@relayd/crypto';
import { LinkTlsContexts } from '../src/index.js';
import { makeKeys, until } from './fixture.js';

const first = makeKeys('relaydTlsA');
const second = makeKeys('relaydTlsB');
after(() => {
  first.remove();
  second.remove();
});

describe('LinkTlsContexts', () => {
  it('makes contexts like C tor: RSA-2048 link key signed by the identity, CERTS that verify', () => {
    const contexts = new LinkTlsContexts(first.keys, { clock: systemClock });
    const { linkCertificate, credentials } = contexts.current;
    const x509 = parseX509Certificate(linkCertificate);
    assert.ok(x509);
    assert.equal(x509.subjectPublicKey.modulusBits, 2048);
    assert.ok(x509.isSignedBy(first.keys.rsaIdentity.publicKey));
    const verified = checkResponderCerts(credentials.certs, linkCertificate, Date.now());
    assert.ok(verified.ok);
    assert.deepEqual(verified.value.rsaIdentity, first.rsaIdentity);
  });

  it('rotates on its schedule, and at once on new keys', async () => {
    const contexts = new LinkTlsContexts(first.keys, { clock: systemClock, rotationIntervalMs: 100 });
    const initial = contexts.current;
    contexts.startRotation();
    try {
      await until(() => contexts.current !== initial, 'a scheduled rotation', 5_000);
    } finally {
      contexts.stopRotation();
    }
    contexts.updateKeys(second.keys);
    const verified = checkResponderCerts(
      contexts.current.credentials.certs,
      contexts.current.linkCertificate,
      Date.now(),
    );
    assert.ok(verified.ok);
    assert.deepEqual(verified.value.ed25519Identity, second.ed25519Identity);
  });
});
