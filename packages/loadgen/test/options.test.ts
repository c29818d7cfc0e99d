/** Option parsing and checking, the forms operators write, and the report's arithmetic. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBase64Unpadded } from '@relayd/common';
import {
  cellsFor,
  extendLinkSpecifiers,
  LatencyRecorder,
  LoadgenError,
  nextHopFromJson,
  nextHopToJson,
  parseEd25519Identity,
  parseFingerprint,
  parseHostPort,
  resolveLoadOptions,
} from '../src/index.js';

const target = { address: '127.0.0.1', port: 9001, rsaIdentity: new Uint8Array(20).fill(1) };

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof LoadgenError && e.code === 'BAD_OPTION' && pattern.test(e.message),
  );
}

describe('options', () => {
  it('fills in defaults and keeps what was given', () => {
    const options = resolveLoadOptions({ target, connections: 7, durationMs: undefined });
    assert.equal(options.connections, 7);
    assert.equal(options.durationMs, 10_000);
    assert.equal(options.handshake, 'ntor');
    assert.equal(options.nextHop, undefined);
  });

  it('refuses values out of range and inconsistent combinations', () => {
    refused(() => resolveLoadOptions({ target, connections: 0 }), /connections must be/);
    refused(() => resolveLoadOptions({ target, circuitsPerConnection: 1.5 }), /integer/);
    refused(() => resolveLoadOptions({ target, handshake: 'tap' as never }), /handshake must be/);
    refused(() => resolveLoadOptions({ target, warmupMs: 10_000, durationMs: 10_000 }), /warm-up/);
    refused(() => resolveLoadOptions({ target, downloadBytes: 10 }), /next hop/);
    refused(() => resolveLoadOptions({ target: { ...target, rsaIdentity: new Uint8Array(3) } }), /20 bytes/);
    assert.equal(resolveLoadOptions({ target, circuitRate: 2.5 }).circuitRate, 2.5);
  });

  it('counts cells for a byte count', () => {
    assert.deepEqual([cellsFor(0), cellsFor(1), cellsFor(498), cellsFor(499)], [0, 1, 1, 2]);
  });
});

describe('targets', () => {
  it('parses fingerprints as tor prints them, identities in base64 or hex, and addresses', () => {
    const fp = 'ABCD EF01 2345 6789 ABCD EF01 2345 6789 ABCD EF01';
    assert.equal(parseFingerprint(fp).length, 20);
    assert.deepEqual(parseFingerprint(`$${fp.replace(/ /g, '').toLowerCase()}`), parseFingerprint(fp));
    refused(() => parseFingerprint('ABCD'), /40 hex digits/);
    const id = new Uint8Array(32).map((_, i) => i);
    assert.deepEqual(parseEd25519Identity(toBase64Unpadded(id)), id);
    assert.deepEqual(parseEd25519Identity(`${toBase64Unpadded(id)}=`), id);
    assert.deepEqual(parseEd25519Identity(Buffer.from(id).toString('hex')), id);
    refused(() => parseEd25519Identity('AAAA'), /32 bytes/);
    assert.deepEqual(parseHostPort('127.0.0.2:9001'), { address: '127.0.0.2', port: 9001 });
    assert.deepEqual(parseHostPort('[::1]:443'), { address: '::1', port: 443 });
    refused(() => parseHostPort('localhost:9001'), /IPv4 or IPv6/);
    refused(() => parseHostPort('127.0.0.1:0'), /1\.\.65535/);
  });

  it('round-trips a next hop through JSON and names it in EXTEND2 by address and both identities', () => {
    const hop = {
      address: '127.0.0.3',
      port: 5000,
      rsaIdentity: new Uint8Array(20).fill(2),
      ed25519Identity: new Uint8Array(32).fill(3),
      ntorOnionKey: new Uint8Array(32).fill(4),
    };
    assert.deepEqual(nextHopFromJson(JSON.parse(JSON.stringify(nextHopToJson(hop)))), hop);
    refused(() => nextHopFromJson({ ...nextHopToJson(hop), port: 'x' }), /port/);
    const specs = extendLinkSpecifiers(hop);
    assert.deepEqual(
      specs.map((s) => s.kind),
      ['ipv4', 'legacy-id', 'ed25519-id'],
    );
  });
});

describe('latency summary', () => {
  it('takes nearest-rank percentiles', () => {
    const recorder = new LatencyRecorder();
    for (let i = 100; i >= 1; i--) recorder.record(i);
    recorder.record(Number.NaN);
    assert.deepEqual(recorder.summary(), {
      count: 100,
      min: 1,
      mean: 50.5,
      p50: 50,
      p90: 90,
      p99: 99,
      max: 100,
    });
    assert.equal(new LatencyRecorder().summary().count, 0);
  });
});
