/**
 * Client-side flow control (tor-spec 7.3, 7.4; proposal 289): which sent
 * DATA cells' tags the hop will echo, SENDME authentication, and when the
 * client owes SENDMEs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HopWindows, StreamWindows } from '../src/client/flow-control.js';

function tag(n: number): Uint8Array {
  const t = new Uint8Array(20);
  new DataView(t.buffer).setUint32(0, n);
  return t;
}

describe('HopWindows', () => {
  it('awaits the tags of the 100th, 200th, ... DATA cell and takes SENDMEs for them in order', () => {
    const hop = new HopWindows();
    for (let i = 1; i <= 1000; i++) hop.noteDataSent(tag(i));
    assert.equal(hop.packageWindow, 0);
    assert.equal(hop.awaitedSendmes, 10);
    assert.equal(hop.acceptSendme({ type: 'sendme', kind: 'v1', digest: tag(100) }), undefined);
    assert.equal(hop.packageWindow, 100);
    assert.equal(hop.acceptSendme({ type: 'sendme', kind: 'v1', digest: tag(300) }), 'digest-mismatch');
  });

  it('refuses unauthenticated, unexpected and overflowing SENDMEs', () => {
    const hop = new HopWindows();
    assert.equal(hop.acceptSendme({ type: 'sendme', kind: 'v1', digest: tag(1) }), 'unexpected');
    for (let i = 1; i <= 100; i++) hop.noteDataSent(tag(i));
    assert.equal(hop.acceptSendme({ type: 'sendme', kind: 'v0' }), 'not-v1');
    const full = new HopWindows();
    for (let i = 1; i <= 100; i++) full.noteDataSent(tag(i));
    full.packageWindow = 1000;
    assert.equal(full.acceptSendme({ type: 'sendme', kind: 'v1', digest: tag(100) }), 'window-overflow');
  });

  it('matches what the hop sends whatever the interleaving of sends and SENDMEs', () => {
    // The hop answers the cell that brought its deliver window down to a multiple of 100 below 1000.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 150 }), { minLength: 1, maxLength: 30 }), (bursts) => {
        const hop = new HopWindows();
        let sent = 0;
        let acknowledged = 0;
        for (const burst of bursts) {
          const n = Math.min(burst, hop.packageWindow);
          for (let i = 0; i < n; i++) hop.noteDataSent(tag(++sent));
          // The hop acknowledges every 100th cell it has received.
          while (acknowledged + 100 <= sent) {
            acknowledged += 100;
            assert.equal(
              hop.acceptSendme({ type: 'sendme', kind: 'v1', digest: tag(acknowledged) }),
              undefined,
            );
          }
        }
        assert.equal(hop.packageWindow, 1000 - (sent - acknowledged));
        assert.equal(hop.awaitedSendmes, 0);
      }),
    );
  });

  it('owes a SENDME after every 100 DATA cells received, and refuses a 1001st unacknowledged one', () => {
    const hop = new HopWindows();
    const due: number[] = [];
    for (let i = 1; i <= 1000; i++) if (hop.noteDataReceived() === 'sendme') due.push(i);
    assert.deepEqual(due, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    const greedy = new HopWindows();
    greedy.deliverWindow = 0;
    assert.equal(greedy.noteDataReceived(), 'overflow');
  });
});

describe('StreamWindows', () => {
  it('owes a stream SENDME every 50 cells and takes SENDMEs of 50 up to the start window', () => {
    const stream = new StreamWindows();
    const due: number[] = [];
    for (let i = 1; i <= 200; i++) if (stream.noteDataReceived() === 'sendme') due.push(i);
    assert.deepEqual(due, [50, 100, 150, 200]);
    assert.equal(stream.acceptSendme(), false);
    for (let i = 0; i < 60; i++) stream.noteDataSent();
    assert.equal(stream.acceptSendme(), true);
    assert.equal(stream.packageWindow, 490);
    assert.equal(stream.acceptSendme(), false);
  });
});
