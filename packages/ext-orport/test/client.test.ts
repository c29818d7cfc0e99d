import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, InternalError, toHex } from '@relayd/common';
import fc from 'fast-check';
import {
  type AddressPort,
  ExtOrClient,
  type ExtOrClientStep,
  ExtOrServer,
  encodeExtOrFrame,
  parseAddressPort,
} from '../src/index.js';
import { ascii, h, loadFixture, pump, scriptedRandom, seededRandom } from './helpers.js';

const torVector = loadFixture<{ vectors: Array<Record<string, string>> }>('safe-cookie-vectors.json')
  .vectors[0]!;
const COOKIE = h(torVector['cookie']!);
const CLIENT_NONCE = h(torVector['clientNonce']!);
const SERVER_NONCE = h(torVector['serverNonce']!);
const SERVER_HASH = h(torVector['serverHash']!);
const CLIENT_HASH = h(torVector['clientHash']!);

function address(text: string): AddressPort {
  const parsed = parseAddressPort(text, 'test', { allowZeroPort: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

function assertFailed(step: ExtOrClientStep, code: string, output = ''): void {
  assert.equal(step.status, 'failed');
  if (step.status !== 'failed') return;
  assert.equal(step.error.code, code);
  assert.equal(toHex(step.output), output);
}

describe('ExtOrClient against the C tor vector', () => {
  it('sends AuthType 1 and the nonce, checks ServerHash, sends ClientHash, then USERADDR/TRANSPORT/DONE', () => {
    const client = new ExtOrClient({
      cookie: COOKIE,
      random: scriptedRandom(CLIENT_NONCE),
      clientAddress: address('1.2.3.4:5678'),
      transportName: 'rfc1149',
    });
    assert.equal(client.phase, 'auth-types');
    const hello = client.receive(Uint8Array.of(1, 0));
    assert.equal(hello.status, 'running');
    assert.deepEqual(hello.output, concatBytes(Uint8Array.of(1), CLIENT_NONCE));
    const proof = client.receive(concatBytes(SERVER_HASH, SERVER_NONCE));
    assert.deepEqual(proof.output, CLIENT_HASH);
    const metadata = client.receive(Uint8Array.of(1));
    assert.equal(metadata.status, 'running');
    // The exact frames C tor's test feeds its server.
    assert.equal(
      toHex(metadata.output),
      toHex(
        concatBytes(
          Uint8Array.of(0x00, 0x01, 0x00, 0x0c),
          ascii('1.2.3.4:5678'),
          Uint8Array.of(0x00, 0x02, 0x00, 0x07),
          ascii('rfc1149'),
          Uint8Array.of(0, 0, 0, 0),
        ),
      ),
    );
    const okay = client.receive(Uint8Array.of(0x10, 0x00, 0x00, 0x00, 0xaa, 0xbb));
    assert.equal(okay.status, 'accepted');
    if (okay.status === 'accepted') assert.deepEqual(okay.leftover, Uint8Array.of(0xaa, 0xbb));
    assert.throws(() => client.receive(Uint8Array.of(0)), InternalError);
  });

  it('picks SAFE_COOKIE out of a longer list, split across reads', () => {
    const client = new ExtOrClient({ cookie: COOKIE, random: scriptedRandom(CLIENT_NONCE) });
    assert.equal(client.receive(Uint8Array.of(7, 1)).output.length, 0);
    assert.deepEqual(
      client.receive(Uint8Array.of(200, 0)).output,
      concatBytes(Uint8Array.of(1), CLIENT_NONCE),
    );
  });

  it('answers AuthType 0 and closes when SAFE_COOKIE is not offered', () => {
    const client = new ExtOrClient({ cookie: COOKIE, random: seededRandom('c') });
    assertFailed(client.receive(Uint8Array.of(2, 3, 0)), 'NO_COMMON_AUTH_TYPE', '00');
  });

  it('closes on an AuthTypes list with no terminator', () => {
    const client = new ExtOrClient({ cookie: COOKIE, random: seededRandom('c') });
    assertFailed(client.receive(new Uint8Array(300).fill(1)), 'MALFORMED_AUTH_TYPES');
  });

  it('closes without answering a wrong ServerHash', () => {
    const client = new ExtOrClient({ cookie: COOKIE, random: scriptedRandom(CLIENT_NONCE) });
    client.receive(Uint8Array.of(1, 0));
    const bad = SERVER_HASH.slice();
    bad[31]! ^= 1;
    assertFailed(client.receive(concatBytes(bad, SERVER_NONCE)), 'SERVER_HASH_MISMATCH');
  });

  it('closes on Status 0 and on any Status but 1', () => {
    for (const status of [0, 2, 255]) {
      const client = new ExtOrClient({ cookie: COOKIE, random: scriptedRandom(CLIENT_NONCE) });
      client.receive(Uint8Array.of(1, 0));
      client.receive(concatBytes(SERVER_HASH, SERVER_NONCE));
      assertFailed(client.receive(Uint8Array.of(status)), 'AUTH_REJECTED');
    }
  });

  it('skips unknown commands, then DENY', () => {
    const client = new ExtOrClient({ cookie: COOKIE, random: scriptedRandom(CLIENT_NONCE) });
    client.receive(Uint8Array.of(1, 0));
    client.receive(concatBytes(SERVER_HASH, SERVER_NONCE));
    client.receive(Uint8Array.of(1));
    const step = client.receive(
      concatBytes(encodeExtOrFrame(0x1002, ascii('ctl')), encodeExtOrFrame(0x4242), encodeExtOrFrame(0x1001)),
    );
    assert.deepEqual(step, { status: 'denied', output: new Uint8Array(0) });
  });

  it('refuses a bad transport name and a short cookie as caller bugs', () => {
    assert.throws(
      () => new ExtOrClient({ cookie: COOKIE, random: seededRandom('c'), transportName: 'a-b' }),
      InternalError,
    );
    assert.throws(
      () => new ExtOrClient({ cookie: new Uint8Array(31), random: seededRandom('c') }),
      InternalError,
    );
  });

  it('property: random server bytes never throw and never reach OKAY', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 8 }), (chunks) => {
        const client = new ExtOrClient({ cookie: COOKIE, random: seededRandom('p') });
        for (const chunk of chunks) {
          const step = client.receive(chunk);
          assert.notEqual(step.status, 'accepted');
          if (step.status !== 'running') break;
        }
      }),
    );
  });
});

describe('client <-> server in memory', () => {
  it('authenticates, carries USERADDR and TRANSPORT, OKAY, and passes pipelined link bytes through', () => {
    const server = new ExtOrServer({ cookie: COOKIE, random: seededRandom('server') });
    const client = new ExtOrClient({
      cookie: COOKIE,
      random: seededRandom('client'),
      clientAddress: address('[2001:db8::1]:0'),
      transportName: 'webtunnel',
    });
    const link = ascii('\x16\x03\x01 client hello');
    const result = pump(server, client, link);
    assert.equal(result.server.status, 'accepted');
    assert.equal(result.client.status, 'accepted');
    if (result.server.status !== 'accepted') return;
    assert.equal(result.server.outcome.clientAddress?.address, '2001:db8::1');
    assert.equal(result.server.outcome.clientAddress?.port, 0);
    assert.equal(result.server.outcome.transportName, 'webtunnel');
    assert.deepEqual(result.server.outcome.leftover, link);
  });

  it('different cookies: the client refuses the server (ServerHash) before proving anything', () => {
    const server = new ExtOrServer({ cookie: new Uint8Array(32).fill(1), random: seededRandom('s') });
    const client = new ExtOrClient({ cookie: new Uint8Array(32).fill(2), random: seededRandom('c') });
    const result = pump(server, client);
    assert.equal(result.client.status, 'failed');
    if (result.client.status === 'failed') assert.equal(result.client.error.code, 'SERVER_HASH_MISMATCH');
    assert.equal(result.server.status, 'running');
    assert.equal(server.phase, 'client-hash');
  });

  it('DENY reaches the client', () => {
    const server = new ExtOrServer({ cookie: COOKIE, random: seededRandom('s'), admit: () => 'deny' });
    const client = new ExtOrClient({ cookie: COOKIE, random: seededRandom('c'), transportName: 'obfs4' });
    const result = pump(server, client);
    assert.equal(result.server.status, 'denied');
    assert.equal(result.client.status, 'denied');
  });

  it('property: any cookie, addresses and names round-trip through both machines', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.option(fc.tuple(fc.ipV6(), fc.nat(65535)), { nil: undefined }),
        fc.option(fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/), { nil: undefined }),
        fc.string({ maxLength: 8 }),
        (cookie, addr, transportName, seed) => {
          const clientAddress = addr ? address(`[${addr[0]}]:${addr[1]}`) : undefined;
          const server = new ExtOrServer({ cookie, random: seededRandom(`s${seed}`) });
          const client = new ExtOrClient({
            cookie,
            random: seededRandom(`c${seed}`),
            clientAddress,
            transportName,
          });
          const result = pump(server, client);
          assert.equal(result.server.status, 'accepted');
          assert.equal(result.client.status, 'accepted');
          if (result.server.status !== 'accepted') return;
          assert.deepEqual(result.server.outcome.clientAddress, clientAddress);
          assert.equal(result.server.outcome.transportName, transportName);
        },
      ),
      { numRuns: 50 },
    );
  });
});
