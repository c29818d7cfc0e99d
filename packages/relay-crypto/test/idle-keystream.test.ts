import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Tor1ClientCrypto, Tor1RelayCrypto } from '../src/index.js';
import { bytesFrom, relayPayload } from './helpers.js';

const DATA = 2;

describe('idle keystream drops between cells', () => {
  it('leave a two-hop circuit working both ways whenever the relay drops between cells', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 60 }), (plan) => {
        const client = new Tor1ClientCrypto();
        client.addHop(bytesFrom('hop 0', 72));
        client.addHop(bytesFrom('hop 1', 92));
        const bridge = Tor1RelayCrypto.fromKeyMaterial(bytesFrom('hop 0', 72));
        const middle = Tor1RelayCrypto.fromKeyMaterial(bytesFrom('hop 1', 92));
        plan.forEach((drops, i) => {
          // 0–3 housekeeping ticks between cells: two in a row without a cell really drop.
          for (let d = 0; d < drops; d++) {
            bridge.dropIdleKeystreams();
            middle.dropIdleKeystreams();
          }
          const data = bytesFrom(`cell ${i}`, 498 - (i % 7));
          const forward = relayPayload(DATA, 1, data);
          client.originateForward(forward, 1);
          assert.equal(bridge.decryptForward(forward), undefined, 'passed on at the bridge');
          assert.ok(middle.decryptForward(forward), 'recognized at the middle');
          assert.deepEqual(forward.subarray(11, 11 + data.length), data);

          const backward = relayPayload(DATA, 1, data);
          middle.originateBackward(backward);
          bridge.encryptBackward(backward);
          const recognized = client.decryptBackward(backward);
          assert.equal(recognized?.hop, 1);
          assert.deepEqual(backward.subarray(11, 11 + data.length), data);
        });
      }),
      { numRuns: 100 },
    );
  });
});
