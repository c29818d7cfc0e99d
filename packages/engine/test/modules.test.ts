import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DestroyReason, HandshakeType, type LinkSpecifier, parseIpAddress } from '@relayd/cells';
import { RelayError, utf8 } from '@relayd/common';
import fc from 'fast-check';
import { CircuitIdMap, isAcceptablePeerCircId, MAX_CIRC_ID_ATTEMPTS } from '../src/circuit-id-map.js';
import { CircuitMux } from '../src/circuit-mux.js';
import { CreateQueue } from '../src/create-queue.js';
import { planExtend } from '../src/extend.js';
import { CircuitFlowControl, StreamFlowControl } from '../src/flow-control.js';
import { findHeadEnd, parseHttpRequestHead, resolveEngineOptions } from '../src/index.js';
import { FakeTime } from './support/fake-time.js';
import { TestRandom } from './support/test-random.js';

describe('create queue', () => {
  type Item = { id: number; cancelled: boolean };
  const options = { maxLength: 3, maxHandshakesPerTurn: 2, maxTurnMs: 10, maxWaitMs: 1000 };

  it('is a bounded FIFO drained in deferred turns of at most N items', () => {
    const time = new FakeTime();
    const processed: number[] = [];
    const queue = new CreateQueue<Item>(options, time, time, {
      process: (item) => processed.push(item.id),
      expire: () => assert.fail('nothing expires'),
    });
    const items = [1, 2, 3, 4].map((id) => ({ id, cancelled: false }));
    assert.deepEqual(
      items.map((i) => queue.enqueue(i)),
      [true, true, true, false],
    );
    assert.deepEqual(processed, [], 'nothing runs inside enqueue');
    assert.equal(time.pendingDeferred, 1);
    // One turn: two items, then a new turn is scheduled.
    assert.ok(time.runOneDeferred());
    assert.deepEqual(processed, [1, 2]);
    assert.equal(queue.length, 1);
    time.runDeferred();
    assert.deepEqual(processed, [1, 2, 3]);
    assert.equal(queue.length, 0);
  });

  it('skips cancelled items and expires old ones', () => {
    const time = new FakeTime();
    const processed: number[] = [];
    const expired: number[] = [];
    // A busy event loop: deferred work runs `delay` ms later.
    let delay = 1500;
    const slowLoop = {
      defer: (f: () => void) => {
        time.setTimeout(f, delay);
      },
      setTimeout: time.setTimeout.bind(time),
      clearTimeout: time.clearTimeout.bind(time),
    };
    const queue = new CreateQueue<Item>(options, time, slowLoop, {
      process: (item) => processed.push(item.id),
      expire: (item) => expired.push(item.id),
    });
    const a = { id: 1, cancelled: false };
    const b = { id: 2, cancelled: false };
    const c = { id: 3, cancelled: false };
    queue.enqueue(a);
    queue.enqueue(b);
    b.cancelled = true;
    time.advance(2000);
    assert.deepEqual(processed, []);
    assert.deepEqual(expired, [1], 'the old item expires; the cancelled one is skipped silently');
    delay = 10;
    queue.enqueue(c);
    time.advance(10);
    assert.deepEqual(processed, [3]);
  });

  it('yields after maxTurnMs even below the item limit', () => {
    const time = new FakeTime();
    const processed: number[] = [];
    const waits: number[] = [];
    const queue = new CreateQueue<Item>(
      { ...options, maxHandshakesPerTurn: 100, maxLength: 10 },
      time,
      time,
      {
        process: (item, waitedMs) => {
          processed.push(item.id);
          waits.push(waitedMs);
          time.jump(6);
        },
        expire: () => {},
      },
    );
    for (let id = 1; id <= 5; id++) queue.enqueue({ id, cancelled: false });
    assert.ok(time.runOneDeferred());
    assert.deepEqual(processed, [1, 2], '6 ms each: the turn ends once 10 ms are spent');
    // Each item's wait is measured from its enqueue to the moment it is answered.
    assert.deepEqual(waits, [0, 6]);
  });
});

describe('circuit IDs (tor-spec 5.1.1)', () => {
  it('requires the initiator high bit on link protocol 4+, and accepts any nonzero ID on 3', () => {
    assert.equal(isAcceptablePeerCircId(0x80000001, 5, false), true);
    assert.equal(isAcceptablePeerCircId(0x00000001, 5, false), false);
    assert.equal(isAcceptablePeerCircId(0x00000001, 4, true), true);
    assert.equal(isAcceptablePeerCircId(0x80000001, 4, true), false);
    assert.equal(isAcceptablePeerCircId(0, 5, false), false);
    assert.equal(isAcceptablePeerCircId(0x0001, 3, false), true);
    assert.equal(isAcceptablePeerCircId(0x8001, 3, true), true);
    assert.equal(isAcceptablePeerCircId(0, 3, false), false);
  });

  it('allocates unused IDs with our side high bit, and gives up after 64 collisions', () => {
    const random = new TestRandom(5);
    const map = new CircuitIdMap<string>();
    fc.assert(
      fc.property(fc.boolean(), fc.constantFrom(3, 4, 5), (initiated, link) => {
        const id = map.allocate(link, initiated, random)!;
        assert.ok(id > 0);
        if (link >= 4) {
          assert.equal(id >= 0x80000000, initiated);
          assert.ok(id <= 0xffffffff);
        } else {
          assert.ok(id <= 0xffff);
        }
        assert.equal(map.has(id), false);
        map.set(id, 'x');
      }),
    );
    // A Random that always repeats one value exhausts the attempts.
    let calls = 0;
    const stuck = {
      bytes: (n: number) => {
        calls++;
        return new Uint8Array(n).fill(7);
      },
    };
    const full = new CircuitIdMap<string>();
    full.set(full.allocate(5, true, stuck)!, 'taken');
    calls = 0;
    assert.equal(full.allocate(5, true, stuck), undefined);
    assert.equal(calls, MAX_CIRC_ID_ATTEMPTS);
  });
});

describe('circuit mux', () => {
  it('keeps each circuit in order, serves circuits round robin, and enforces the per-circuit limit', () => {
    const mux = new CircuitMux();
    const cell = (tag: number) => ({ bytes: Uint8Array.of(tag), command: 3 });
    for (const tag of [1, 2, 3]) assert.ok(mux.append(10, cell(tag), 3));
    assert.equal(mux.append(10, cell(4), 3), false);
    for (const tag of [21, 22]) mux.append(20, cell(tag), 3);
    const order: number[] = [];
    for (let c = mux.pop(); c; c = mux.pop()) order.push(c.bytes[0]!);
    assert.deepEqual(order, [1, 21, 2, 22, 3]);
    assert.equal(mux.queuedCells, 0);
  });

  it('forgets a cleared circuit and serves it once when it queues again', () => {
    const mux = new CircuitMux();
    const cell = (tag: number) => ({ bytes: Uint8Array.of(tag), command: 3 });
    mux.append(1, cell(1), 10);
    mux.append(2, cell(2), 10);
    mux.clear(1);
    mux.append(1, cell(3), 10);
    mux.append(1, cell(4), 10);
    const order: number[] = [];
    for (let c = mux.pop(); c; c = mux.pop()) order.push(c.bytes[0]!);
    assert.deepEqual(order, [3, 2, 4]);
    assert.equal(mux.queuedFor(1), 0);
  });
});

describe('flow control (tor-spec 7.3, 7.4)', () => {
  it('remembers the tag of every 100th DATA cell and checks SENDMEs against them in order', () => {
    const flow = new CircuitFlowControl();
    const tag = (n: number) => new Uint8Array(20).fill(n % 256);
    for (let n = 1; n <= 1000; n++) flow.noteDataOriginated(tag(n));
    assert.equal(flow.packageWindow, 0);
    assert.equal(flow.pendingSendmeTags, 10);
    assert.equal(flow.acceptSendme({ type: 'sendme', kind: 'v1', digest: tag(100) }, 1), undefined);
    assert.equal(flow.packageWindow, 100);
    assert.equal(flow.acceptSendme({ type: 'sendme', kind: 'v1', digest: tag(300) }, 1), 'digest-mismatch');
    assert.equal(flow.acceptSendme({ type: 'sendme', kind: 'v0' }, 1), 'version-too-low');
    assert.equal(flow.acceptSendme({ type: 'sendme', kind: 'v0' }, 0), undefined, 'v0 consumes the next tag');
    assert.equal(
      flow.acceptSendme({ type: 'sendme', kind: 'unknown-version', version: 2, data: new Uint8Array(0) }, 1),
      'version-unsupported',
    );
  });

  it('refuses a SENDME that would overfill the window, or one with nothing outstanding', () => {
    const flow = new CircuitFlowControl();
    assert.equal(flow.acceptSendme({ type: 'sendme', kind: 'v0' }, 0), 'no-digest-expected');
    for (let n = 1; n <= 100; n++) flow.noteDataOriginated(new Uint8Array(20));
    flow.packageWindow = 1000;
    assert.equal(
      flow.acceptSendme({ type: 'sendme', kind: 'v1', digest: new Uint8Array(20) }, 1),
      'window-overflow',
    );
    const stream = new StreamFlowControl();
    assert.equal(stream.acceptSendme(), false);
    stream.packageWindow = 450;
    assert.equal(stream.acceptSendme(), true);
    assert.equal(stream.packageWindow, 500);
  });

  it('owes one circuit SENDME per 100 DATA cells received and one stream SENDME per 50, and goes negative past the window', () => {
    const flow = new CircuitFlowControl();
    let owed = 0;
    for (let n = 1; n <= 1000; n++) {
      assert.ok(flow.noteDataReceived());
      if (flow.takeSendmeDue()) {
        owed++;
        assert.equal(n % 100, 0);
      }
    }
    assert.equal(owed, 10);
    const stingy = new CircuitFlowControl();
    for (let n = 1; n <= 1000; n++) stingy.noteDataReceived();
    assert.equal(stingy.noteDataReceived(), false);
    const stream = new StreamFlowControl();
    let due = 0;
    for (let n = 1; n <= 120; n++) {
      stream.noteDataReceived();
      due += stream.takeSendmesDue();
    }
    assert.equal(due, 2);
  });
});

describe('HTTP request heads', () => {
  it('finds the end of the head and parses a tor client request', () => {
    const bytes = utf8('GET /tor/micro/d/abc-def.z HTTP/1.0\r\nHost: x\r\nX-Or-Diff: y \r\n\r\nBODY');
    const end = findHeadEnd(bytes);
    assert.equal(end, bytes.length - 4);
    const parsed = parseHttpRequestHead(bytes.subarray(0, end));
    assert.ok(parsed.ok);
    assert.equal(parsed.value.method, 'GET');
    assert.equal(parsed.value.target, '/tor/micro/d/abc-def.z');
    assert.equal(parsed.value.version, 'HTTP/1.0');
    assert.deepEqual(parsed.value.headers, [
      ['Host', 'x'],
      ['X-Or-Diff', 'y'],
    ]);
    assert.equal(findHeadEnd(utf8('GET / HTTP/1.0\r\n')), -1);
  });

  it('refuses malformed heads and never throws', () => {
    for (const text of [
      'GET /\r\n\r\n',
      'GET  / HTTP/1.0\r\n\r\n',
      'G(T / HTTP/1.0\r\n\r\n',
      'GET / HTTP/1.0\r\nNoColon\r\n\r\n',
      'GET / HTTP/1.0\r\n',
    ]) {
      assert.equal(parseHttpRequestHead(utf8(text)).ok, false, JSON.stringify(text));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        parseHttpRequestHead(bytes);
        findHeadEnd(bytes);
      }),
    );
  });
});

describe('EXTEND2 planning', () => {
  const ours = { rsa: new Uint8Array(20).fill(1), ed: new Uint8Array(32).fill(2) };
  const target = { rsa: new Uint8Array(20).fill(3), ed: new Uint8Array(32).fill(4) };
  const client = {
    linkVersion: 5,
    initiatedLocally: false,
    rsaIdentity: undefined,
    ed25519Identity: undefined,
    remoteAddress: '192.0.2.1',
    remotePort: 1,
  };
  const context = {
    allowPrivateAddresses: false,
    previousHop: client,
    ourRsaIdentity: ours.rsa,
    ourEd25519Identity: ours.ed,
  };
  const address = (text: string) => parseIpAddress(text) as never;
  const ntor = { handshakeType: HandshakeType.NTOR, handshakeData: new Uint8Array(84) };

  it('keeps the first address of each family, IPv4 first, and passes HTYPE/HDATA through', () => {
    const plan = planExtend(
      {
        type: 'extend2',
        linkSpecifiers: [
          { kind: 'ipv6', address: address('2001:db8::1'), port: 443 },
          { kind: 'legacy-id', rsaIdentity: target.rsa },
          { kind: 'ipv4', address: address('198.51.100.7'), port: 9001 },
          { kind: 'ipv4', address: address('198.51.100.8'), port: 9002 },
          { kind: 'unrecognized', specifierType: 9, body: new Uint8Array(3) },
          { kind: 'ed25519-id', ed25519Identity: new Uint8Array(32) },
        ],
        handshakeType: 0x0777,
        handshakeData: Uint8Array.of(1, 2, 3),
      },
      context,
    );
    assert.ok(plan.ok);
    assert.deepEqual(plan.value.target.addresses, [
      { address: '198.51.100.7', port: 9001 },
      { address: '2001:db8::1', port: 443 },
    ]);
    assert.equal(plan.value.target.ed25519Identity, undefined, 'an all-zero Ed25519 identity means none');
    assert.equal(
      plan.value.create.handshakeType,
      0x0777,
      'unknown handshake types are the next hop’s business',
    );
  });

  it('refuses with the reasons C tor uses', () => {
    const ipv4Spec: LinkSpecifier = { kind: 'ipv4', address: address('198.51.100.7'), port: 9001 };
    const base: LinkSpecifier[] = [ipv4Spec, { kind: 'legacy-id', rsaIdentity: target.rsa }];
    const cases: Array<[string, Parameters<typeof planExtend>[0], number]> = [
      [
        'zero legacy id',
        {
          type: 'extend2',
          linkSpecifiers: [base[0]!, { kind: 'legacy-id', rsaIdentity: new Uint8Array(20) }],
          ...ntor,
        },
        DestroyReason.PROTOCOL,
      ],
      [
        'zero port',
        {
          type: 'extend2',
          linkSpecifiers: [{ kind: 'ipv4', address: address('198.51.100.7'), port: 0 }, base[1]!],
          ...ntor,
        },
        DestroyReason.PROTOCOL,
      ],
      [
        'CREATE_FAST type',
        { type: 'extend2', linkSpecifiers: base, handshakeType: 1, handshakeData: new Uint8Array(20) },
        DestroyReason.PROTOCOL,
      ],
      [
        'short ntor',
        {
          type: 'extend2',
          linkSpecifiers: base,
          handshakeType: HandshakeType.NTOR,
          handshakeData: new Uint8Array(83),
        },
        DestroyReason.PROTOCOL,
      ],
      [
        'TAP wrong length',
        {
          type: 'extend2',
          linkSpecifiers: base,
          handshakeType: HandshakeType.TAP,
          handshakeData: new Uint8Array(84),
        },
        DestroyReason.PROTOCOL,
      ],
      [
        'ourselves by RSA',
        {
          type: 'extend2',
          linkSpecifiers: [base[0]!, { kind: 'legacy-id', rsaIdentity: ours.rsa }],
          ...ntor,
        },
        DestroyReason.CONNECTFAILED,
      ],
      [
        'ourselves by Ed25519',
        {
          type: 'extend2',
          linkSpecifiers: [...base, { kind: 'ed25519-id', ed25519Identity: ours.ed }],
          ...ntor,
        },
        DestroyReason.CONNECTFAILED,
      ],
    ];
    for (const [name, message, reason] of cases) {
      const plan = planExtend(message, context);
      assert.equal(plan.ok, false, name);
      assert.equal(!plan.ok && plan.error.reason, reason, name);
    }
  });
});

describe('options', () => {
  it('fills defaults and refuses out-of-range values with bad-config', () => {
    const options = resolveEngineOptions({ createQueue: { maxLength: 10 } });
    assert.equal(options.createQueue.maxLength, 10);
    assert.equal(options.createQueue.maxWaitMs, 5000);
    assert.equal(options.maxCircuitQueueCells, 2500);
    assert.equal(options.sendmeAcceptMinVersion, 1);
    for (const bad of [
      { maxCircuitQueueCells: 10 },
      { createQueue: { maxLength: 0 } },
      { keepaliveMs: 1.5 },
      { sendmeAcceptMinVersion: 2 as 1 },
    ]) {
      assert.throws(
        () => resolveEngineOptions(bad),
        (e: unknown) => e instanceof RelayError && e.kind === 'bad-config',
      );
    }
  });
});
