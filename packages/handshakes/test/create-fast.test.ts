import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, toHex } from '@relayd/common';
import { sha1 } from '@relayd/crypto';
import {
  CREATE_FAST_LENGTH,
  CREATED_FAST_LENGTH,
  createFastClientCreate,
  createFastClientCreateWithEphemeral,
  createFastClientFinish,
  createFastServerHandshake,
  createFastServerHandshakeWithEphemeral,
} from '../src/index.js';
import { flipBit, h, loadFixture, seededRandom } from './helpers.js';

interface CreateFastVector {
  x: string;
  serverHandshake: string;
  keys: string;
}

const fixture = loadFixture<{ source: string; vectors: CreateFastVector[] }>('create-fast-vectors.json');

describe('CREATE_FAST vectors (generated from C tor, via Arti fast.rs)', () => {
  for (const v of fixture.vectors) {
    it(`replays X = ${v.x}`, () => {
      const start = createFastClientCreateWithEphemeral(h(v.x));
      assert.equal(toHex(start.onionskin), v.x);
      const y = h(v.serverHandshake).subarray(0, 20);
      const server = createFastServerHandshakeWithEphemeral(start.onionskin, y);
      assert.ok(server.ok);
      assert.equal(toHex(server.value.reply), v.serverHandshake);
      assert.equal(toHex(server.value.keys.expand(100)), v.keys);
      const client = createFastClientFinish(start.state, h(v.serverHandshake));
      assert.ok(client.ok);
      assert.equal(toHex(client.value.expand(100)), v.keys);
      assert.equal(toHex(client.value.keyMaterial), v.keys.slice(0, 184));
    });
  }
});

describe('CREATE_FAST', () => {
  it('is KDF-TOR over X | Y with KH first (tor-spec 5.2.1), computed here with SHA-1 directly', () => {
    const x = seededRandom('x').bytes(20);
    const y = seededRandom('y').bytes(20);
    const server = createFastServerHandshakeWithEphemeral(x, y);
    assert.ok(server.ok);
    const block = (i: number) => sha1(concatBytes(x, y, Uint8Array.of(i)));
    assert.deepEqual(server.value.reply, concatBytes(y, block(0)));
    const stream = concatBytes(block(1), block(2), block(3), block(4), block(5));
    assert.deepEqual(server.value.keys.keyMaterial, stream.subarray(0, 92));
  });

  it('round trips with injected randomness', () => {
    const start = createFastClientCreate(seededRandom('c'));
    assert.equal(start.onionskin.length, CREATE_FAST_LENGTH);
    const server = createFastServerHandshake(start.onionskin, seededRandom('s'));
    assert.ok(server.ok);
    assert.equal(server.value.reply.length, CREATED_FAST_LENGTH);
    const client = createFastClientFinish(start.state, server.value.reply);
    assert.ok(client.ok);
    assert.deepEqual(client.value.expand(300), server.value.keys.expand(300));
  });

  it('rejects wrong lengths and any flipped bit in Y or KH', () => {
    for (const n of [0, 19, 21, 40]) {
      const result = createFastServerHandshake(new Uint8Array(n), seededRandom('s'));
      assert.ok(!result.ok && result.error.failure === 'bad-length');
    }
    const start = createFastClientCreate(seededRandom('c'));
    for (const n of [0, 20, 39, 41]) {
      const result = createFastClientFinish(start.state, new Uint8Array(n));
      assert.ok(!result.ok && result.error.failure === 'bad-length');
    }
    const server = createFastServerHandshake(start.onionskin, seededRandom('s'));
    assert.ok(server.ok);
    for (let bit = 0; bit < CREATED_FAST_LENGTH * 8; bit++) {
      const result = createFastClientFinish(start.state, flipBit(server.value.reply, bit));
      assert.ok(!result.ok && result.error.failure === 'bad-auth', `bit ${bit}`);
    }
  });
});
