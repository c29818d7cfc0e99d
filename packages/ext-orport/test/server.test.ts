import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { concatBytes, InternalError, toHex } from '@relayd/common';
import fc from 'fast-check';
import {
  ExtOrServer,
  type ExtOrServerOptions,
  type ExtOrServerStep,
  encodeExtOrFrame,
  SAFE_COOKIE_CLIENT_TO_SERVER_LABEL,
  SAFE_COOKIE_SERVER_TO_CLIENT_LABEL,
  safeCookieClientHash,
  safeCookieServerHash,
} from '../src/index.js';
import { ascii, h, loadFixture, scriptedRandom, seededRandom } from './helpers.js';

interface SafeCookieVector {
  source: string;
  cookie: string;
  clientNonce: string;
  serverNonce: string;
  serverHash: string;
  clientHash: string;
}
const vectors = loadFixture<{ vectors: SafeCookieVector[] }>('safe-cookie-vectors.json').vectors;
const torVector = vectors[0]!;

describe('SAFE_COOKIE hashes', () => {
  it('uses the spec labels verbatim', () => {
    assert.equal(SAFE_COOKIE_SERVER_TO_CLIENT_LABEL, 'ExtORPort authentication server-to-client hash');
    assert.equal(SAFE_COOKIE_CLIENT_TO_SERVER_LABEL, 'ExtORPort authentication client-to-server hash');
  });

  for (const v of vectors) {
    it(`replays: ${v.source.slice(0, 60)}…`, () => {
      const args = [h(v.cookie), h(v.clientNonce), h(v.serverNonce)] as const;
      assert.equal(toHex(safeCookieServerHash(...args)), v.serverHash);
      assert.equal(toHex(safeCookieClientHash(...args)), v.clientHash);
    });
  }

  it('matches an independent HMAC over the spec definition (node:crypto)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (cookie, clientNonce, serverNonce) => {
          const reference = (label: string) =>
            createHmac('sha256', cookie).update(label).update(clientNonce).update(serverNonce).digest('hex');
          assert.equal(
            toHex(safeCookieServerHash(cookie, clientNonce, serverNonce)),
            reference('ExtORPort authentication server-to-client hash'),
          );
          assert.equal(
            toHex(safeCookieClientHash(cookie, clientNonce, serverNonce)),
            reference('ExtORPort authentication client-to-server hash'),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it('refuses wrong sizes as caller bugs', () => {
    const n = new Uint8Array(32);
    assert.throws(() => safeCookieServerHash(new Uint8Array(31), n, n), InternalError);
    assert.throws(() => safeCookieClientHash(n, new Uint8Array(33), n), InternalError);
  });
});

const TOR_COOKIE = h(torVector.cookie);
const TOR_CLIENT_NONCE = h(torVector.clientNonce);
const TOR_SERVER_NONCE = h(torVector.serverNonce);
const TOR_SERVER_REPLY = concatBytes(h(torVector.serverHash), TOR_SERVER_NONCE);
const TOR_CLIENT_HASH = h(torVector.clientHash);

function torServer(extra: Partial<ExtOrServerOptions> = {}): ExtOrServer {
  return new ExtOrServer({ cookie: TOR_COOKIE, random: scriptedRandom(TOR_SERVER_NONCE), ...extra });
}

/** do_ext_or_handshake from C tor's test_extorport.c: a successful authentication. */
function authenticated(extra: Partial<ExtOrServerOptions> = {}): ExtOrServer {
  const server = torServer(extra);
  assert.equal(toHex(server.start()), '0100');
  const reply = server.receive(concatBytes(Uint8Array.of(1), TOR_CLIENT_NONCE));
  assert.equal(reply.status, 'running');
  assert.deepEqual(reply.output, TOR_SERVER_REPLY);
  const status = server.receive(TOR_CLIENT_HASH);
  assert.equal(status.status, 'running');
  assert.equal(toHex(status.output), '01');
  assert.equal(server.phase, 'metadata');
  return server;
}

function assertFailed(step: ExtOrServerStep, code: string, output = ''): void {
  assert.equal(step.status, 'failed');
  if (step.status !== 'failed') return;
  assert.equal(step.error.code, code);
  assert.equal(toHex(step.output), output);
}

describe('ExtOrServer: C tor test_ext_or_handshake, step by step', () => {
  it('closes on an auth type other than SAFE_COOKIE, sending nothing', () => {
    const server = torServer();
    server.start();
    assert.deepEqual(server.receive(new Uint8Array(0)), { status: 'running', output: new Uint8Array(0) });
    const step = server.receive(Uint8Array.of(0x99));
    assertFailed(step, 'NO_COMMON_AUTH_TYPE');
    assert.equal(step.status === 'failed' && step.error.kind, 'protocol-violation');
    assert.equal(server.phase, 'failed');
    assert.throws(() => server.receive(Uint8Array.of(1)), InternalError);
  });

  it('closes on AuthType 0 ("the client did not like the authentication types offered")', () => {
    const server = torServer();
    server.start();
    assertFailed(server.receive(Uint8Array.of(0)), 'NO_COMMON_AUTH_TYPE');
  });

  it('waits for a split nonce, answers with the vector reply, then Status 0 and close on a wrong hash', () => {
    const server = torServer();
    server.start();
    const partial = server.receive(concatBytes(Uint8Array.of(1), ascii('But when I look ')));
    assert.deepEqual(partial, { status: 'running', output: new Uint8Array(0) });
    assert.equal(server.phase, 'client-nonce');
    const reply = server.receive(ascii('ahead up the whi'));
    assert.equal(reply.status, 'running');
    assert.deepEqual(reply.output, TOR_SERVER_REPLY);
    const step = server.receive(ascii('not with a bang but a whimper...'));
    assertFailed(step, 'CLIENT_HASH_MISMATCH', '00');
    assert.equal(step.status === 'failed' && step.error.kind, 'crypto-failure');
  });

  it('then: junk command ignored, USERADDR, TRANSPORT, DONE -> OKAY', () => {
    const server = authenticated();
    assert.deepEqual(server.receive(Uint8Array.of(0xff, 0xf0, 0x00, 0x03, ...ascii('ABC'))), {
      status: 'running',
      output: new Uint8Array(0),
    });
    server.receive(concatBytes(Uint8Array.of(0x00, 0x01, 0x00, 0x0c), ascii('1.2.3.4:5678')));
    server.receive(concatBytes(Uint8Array.of(0x00, 0x02, 0x00, 0x07), ascii('rfc1149')));
    const done = server.receive(Uint8Array.of(0, 0, 0, 0));
    assert.equal(done.status, 'accepted');
    if (done.status !== 'accepted') return;
    assert.equal(toHex(done.output), '10000000');
    assert.equal(done.outcome.clientAddress?.address, '1.2.3.4');
    assert.equal(done.outcome.clientAddress?.port, 5678);
    assert.equal(done.outcome.transportName, 'rfc1149');
    assert.equal(done.outcome.ignoredCommands, 1);
    assert.equal(done.outcome.leftover.length, 0);
    assert.equal(server.phase, 'accepted');
  });

  it('then: USERADDR with an extra NUL closes', () => {
    const server = authenticated();
    const body = ascii('1.2.3.4:5678\0');
    assertFailed(server.receive(concatBytes(Uint8Array.of(0, 1, 0, 13), body)), 'BAD_USERADDR');
  });

  it('then: TRANSPORT with an extra NUL, or not a C identifier, closes', () => {
    assertFailed(
      authenticated().receive(concatBytes(Uint8Array.of(0, 2, 0, 8), ascii('rfc1149\0'))),
      'BAD_TRANSPORT',
    );
    assertFailed(
      authenticated().receive(concatBytes(Uint8Array.of(0, 2, 0, 7), ascii('rf*1149'))),
      'BAD_TRANSPORT',
    );
  });
});

describe('ExtOrServer: metadata phase', () => {
  const frame = (command: number, body = '') => encodeExtOrFrame(command, ascii(body));

  it('hands back the bytes after DONE (the Tor link) and takes everything in one read', () => {
    const server = torServer();
    server.start();
    const link = Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00);
    const step = server.receive(
      concatBytes(
        Uint8Array.of(1),
        TOR_CLIENT_NONCE,
        // The real client hash depends on the server nonce, which the
        // scripted Random makes the vector's: so the vector hash is right.
        TOR_CLIENT_HASH,
        frame(1, '[2001:db8::7]:443'),
        frame(2, 'obfs4'),
        frame(0),
        link,
      ),
    );
    assert.equal(step.status, 'accepted');
    if (step.status !== 'accepted') return;
    assert.deepEqual(
      step.output,
      concatBytes(TOR_SERVER_REPLY, Uint8Array.of(1), Uint8Array.of(0x10, 0, 0, 0)),
    );
    assert.equal(step.outcome.clientAddress?.family, 'ipv6');
    assert.equal(step.outcome.clientAddress?.address, '2001:db8::7');
    assert.equal(step.outcome.transportName, 'obfs4');
    assert.deepEqual(step.outcome.leftover, link);
  });

  it('byte-at-a-time delivery gives the same result', () => {
    const wire = concatBytes(
      Uint8Array.of(1),
      TOR_CLIENT_NONCE,
      TOR_CLIENT_HASH,
      frame(1, '127.0.0.1:40000'),
      frame(2, 'obfs4'),
      frame(0),
      ascii('link'),
    );
    const server = torServer();
    server.start();
    const sent: Uint8Array[] = [];
    let last: ExtOrServerStep | undefined;
    for (let i = 0; i < wire.length; i++) {
      last = server.receive(wire.subarray(i, i + 1));
      sent.push(last.output);
      if (last.status !== 'running') {
        assert.equal(last.status, 'accepted');
        if (last.status === 'accepted') {
          // DONE completes on its own last byte; the link bytes have not arrived yet.
          assert.equal(last.outcome.leftover.length, 0);
          assert.equal(i, wire.length - 5);
        }
        break;
      }
    }
    assert.deepEqual(concatBytes(...sent), concatBytes(TOR_SERVER_REPLY, Uint8Array.of(1, 0x10, 0, 0, 0)));
  });

  it('DENY when the policy says so, with the metadata the policy saw', () => {
    const seen: unknown[] = [];
    const server = authenticated({
      admit: (metadata) => {
        seen.push(metadata);
        return metadata.clientAddress?.address === '192.0.2.66' ? 'deny' : 'okay';
      },
    });
    const step = server.receive(
      concatBytes(frame(1, '192.0.2.66:1'), frame(2, 'snowflake'), frame(0), ascii('x')),
    );
    assert.equal(step.status, 'denied');
    if (step.status !== 'denied') return;
    assert.equal(toHex(step.output), '10010000');
    assert.equal(step.metadata.transportName, 'snowflake');
    assert.equal(seen.length, 1);
    assert.equal(server.phase, 'denied');
  });

  it('no USERADDR or TRANSPORT: DONE alone is accepted with both undefined', () => {
    const step = authenticated().receive(frame(0));
    assert.equal(step.status, 'accepted');
    if (step.status !== 'accepted') return;
    assert.equal(step.outcome.clientAddress, undefined);
    assert.equal(step.outcome.transportName, undefined);
  });

  it('a repeated USERADDR or TRANSPORT replaces the first (as C tor)', () => {
    const step = authenticated().receive(
      concatBytes(frame(1, '1.1.1.1:1'), frame(2, 'a'), frame(1, '2.2.2.2:2'), frame(2, 'b'), frame(0)),
    );
    assert.ok(step.status === 'accepted');
    assert.equal(step.outcome.clientAddress?.address, '2.2.2.2');
    assert.equal(step.outcome.transportName, 'b');
  });

  it('bridge-to-transport codes from a transport are ignored like unknown ones', () => {
    const step = authenticated().receive(
      concatBytes(frame(0x1000), frame(0x1001), frame(0x1002, 'c'), frame(0)),
    );
    assert.ok(step.status === 'accepted');
    assert.equal(step.outcome.ignoredCommands, 3);
  });

  it('overlong body: closed on the header', () => {
    assertFailed(authenticated().receive(Uint8Array.of(0x12, 0x34, 0xff, 0xff)), 'FRAME_TOO_LONG');
    assertFailed(
      authenticated({ maxBodyLength: 16 }).receive(frame(2, 'a_transport_name_17')),
      'FRAME_TOO_LONG',
    );
  });

  it('too many commands before DONE', () => {
    const flood = concatBytes(...Array.from({ length: 33 }, () => frame(0x7777)));
    assertFailed(authenticated().receive(flood), 'TOO_MANY_COMMANDS');
    const ok = authenticated({ maxCommands: 3 }).receive(concatBytes(frame(9), frame(9), frame(0)));
    assert.equal(ok.status, 'accepted');
  });

  it('caller bugs: receive before start, start twice, short cookie, bad policy answer', () => {
    const server = torServer();
    assert.throws(() => server.receive(Uint8Array.of(1)), InternalError);
    server.start();
    assert.throws(() => server.start(), InternalError);
    assert.throws(
      () => new ExtOrServer({ cookie: new Uint8Array(16), random: seededRandom('x') }),
      InternalError,
    );
    const odd = authenticated({ admit: () => 'maybe' as 'okay' });
    assert.throws(() => odd.receive(frame(0)), InternalError);
  });

  it('property: random input after start never throws and never reaches OKAY without the cookie', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 8 }), (chunks) => {
        const server = new ExtOrServer({ cookie: TOR_COOKIE, random: seededRandom('prop') });
        server.start();
        for (const chunk of chunks) {
          const step = server.receive(chunk);
          assert.notEqual(step.status, 'accepted');
          assert.notEqual(step.status, 'denied');
          if (step.status === 'failed') break;
        }
      }),
    );
  });

  it('property: after authentication, random frames never throw', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 60 }), { maxLength: 10 }), (chunks) => {
        const server = authenticated();
        for (const chunk of chunks) {
          const step = server.receive(chunk);
          if (step.status !== 'running') break;
        }
      }),
    );
  });
});
