/**
 * The pure pieces: the per-address connection limit, the source-address
 * pool (round-robin, merged ranges) and its port arithmetic.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSourceAddressesLine } from '@relayd/config';
import fc from 'fast-check';
import { ConnectionsPerAddress, isLoopbackIpv4, SourceAddressPool } from '../src/index.js';

function ranges(text: string) {
  const parsed = parseSourceAddressesLine(text);
  assert.ok(parsed.ok, !parsed.ok ? parsed.error : '');
  return parsed.value;
}

describe('ConnectionsPerAddress', () => {
  it('refuses the connection past the limit and takes it again once one is released', () => {
    const limits = new ConnectionsPerAddress(2);
    const a = limits.tryAcquire('198.51.100.7');
    const b = limits.tryAcquire('198.51.100.7');
    assert.ok(a && b);
    assert.equal(limits.tryAcquire('198.51.100.7'), undefined);
    assert.equal(limits.refusals, 1);
    // Another address is counted apart.
    assert.ok(limits.tryAcquire('2001:db8::1'));
    assert.equal(limits.held('198.51.100.7'), 2);
    a.release();
    a.release(); // idempotent: one release per lease
    assert.equal(limits.held('198.51.100.7'), 1);
    assert.ok(limits.tryAcquire('198.51.100.7'));
    assert.equal(limits.addresses, 2);
  });

  it('never limits connections without an address, nor anything with limit 0', () => {
    const limits = new ConnectionsPerAddress(1);
    for (let i = 0; i < 10; i++) assert.ok(limits.tryAcquire(undefined));
    const open = new ConnectionsPerAddress(0);
    const leases = Array.from({ length: 10 }, () => open.tryAcquire('203.0.113.1'));
    assert.ok(leases.every((l) => l !== undefined));
    assert.equal(open.refusals, 0);
    // Without a cap the addresses are still counted (for `relayctl connections` and the metrics).
    open.tryAcquire('2001:db8::2');
    assert.deepEqual(
      [...open.entries()],
      [
        ['203.0.113.1', 10],
        ['2001:db8::2', 1],
      ],
    );
    for (const lease of leases) lease!.release();
    assert.deepEqual([...open.entries()], [['2001:db8::2', 1]]);
  });

  it('property: held counts match the leases outstanding and never exceed the limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 2 }), fc.nat()), { maxLength: 60 }),
        (limit, ops) => {
          const limits = new ConnectionsPerAddress(limit);
          const held: Array<Array<{ release(): void }>> = [[], [], []];
          for (const [acquire, which, pickIndex] of ops) {
            const address = `10.0.0.${which}`;
            if (acquire) {
              const lease = limits.tryAcquire(address);
              if (held[which]!.length < limit) {
                assert.ok(lease);
                held[which]!.push(lease);
              } else assert.equal(lease, undefined);
            } else if (held[which]!.length > 0) {
              const [lease] = held[which]!.splice(pickIndex % held[which]!.length, 1);
              lease!.release();
            }
            for (let k = 0; k < 3; k++) assert.equal(limits.held(`10.0.0.${k}`), held[k]!.length);
          }
        },
      ),
    );
  });
});

describe('SourceAddressPool', () => {
  it('hands addresses out round-robin across merged ranges', () => {
    const pool = new SourceAddressPool(ranges('127.0.1.1-127.0.1.3,127.0.1.2-127.0.1.4,127.0.2.10'));
    assert.equal(pool.size, 5);
    const seen = Array.from({ length: 7 }, () => pool.next());
    assert.deepEqual(seen, [
      '127.0.1.1',
      '127.0.1.2',
      '127.0.1.3',
      '127.0.1.4',
      '127.0.2.10',
      '127.0.1.1',
      '127.0.1.2',
    ]);
  });

  it('walks a CIDR block without expanding it, across octet boundaries', () => {
    const pool = new SourceAddressPool(ranges('127.1.0.0/16'));
    assert.equal(pool.size, 65_536);
    assert.equal(pool.at(0), '127.1.0.0');
    assert.equal(pool.at(255), '127.1.0.255');
    assert.equal(pool.at(256), '127.1.1.0');
    assert.equal(pool.at(65_535), '127.1.255.255');
    assert.equal(pool.at(65_536), '127.1.0.0');
  });

  it('an empty pool (BalancerSourceAddresses 0) leaves the choice to the system', () => {
    const pool = new SourceAddressPool(ranges('0'));
    assert.equal(pool.size, 0);
    assert.equal(pool.next(), undefined);
  });

  it('N addresses spread N times one address’s connections, evenly', () => {
    // The arithmetic the pool exists for: k connections over N addresses put ceil(k/N) on the busiest.
    const pool = new SourceAddressPool(ranges('127.0.1.1-127.0.1.254'));
    const perAddress = new Map<string, number>();
    const connections = 254 * 20 + 7;
    for (let i = 0; i < connections; i++) {
      const a = pool.next()!;
      perAddress.set(a, (perAddress.get(a) ?? 0) + 1);
    }
    assert.equal(perAddress.size, 254);
    assert.equal(Math.max(...perAddress.values()), Math.ceil(connections / 254));
    assert.equal(Math.min(...perAddress.values()), Math.floor(connections / 254));
  });

  it('isLoopbackIpv4 says which backends a 127.x source can reach', () => {
    assert.equal(isLoopbackIpv4('127.0.0.1'), true);
    assert.equal(isLoopbackIpv4('127.255.0.9'), true);
    assert.equal(isLoopbackIpv4('10.0.0.1'), false);
    assert.equal(isLoopbackIpv4('::1'), false);
    assert.equal(isLoopbackIpv4('not an address'), false);
  });
});
