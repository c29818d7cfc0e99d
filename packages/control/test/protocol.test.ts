import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CONTROL_ERROR_CODES,
  CONTROL_METHODS,
  CONTROL_PROTOCOL_VERSION,
  type ControlRequest,
  decodeControlRequest,
  decodeControlResponse,
  encodeControlRequest,
  encodeControlResponse,
  errorResponse,
  LineReader,
  successResponse,
} from '../src/index.js';

function decoded(line: string): ControlRequest {
  const r = decodeControlRequest(line);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function problem(line: string) {
  const r = decodeControlRequest(line);
  assert.ok(!r.ok, `expected ${line} to be refused`);
  return r.error;
}

describe('control protocol: requests', () => {
  it('reads every method, filling defaults', () => {
    assert.deepEqual(decoded('{"v":1,"id":1,"method":"status"}'), { id: 1, method: 'status', params: {} });
    assert.deepEqual(decoded('{"v":1,"id":"a-b","method":"workers","params":{}}'), {
      id: 'a-b',
      method: 'workers',
      params: {},
    });
    assert.deepEqual(decoded('{"v":1,"id":2,"method":"workers.restart","params":{"worker":3}}'), {
      id: 2,
      method: 'workers.restart',
      params: { worker: 3 },
    });
    assert.deepEqual(decoded('{"v":1,"id":2,"method":"workers.drain","params":{"worker":256}}').params, {
      worker: 256,
    });
    assert.deepEqual(decoded('{"v":1,"id":3,"method":"keys.rotate-onion"}').params, { force: false });
    assert.deepEqual(decoded('{"v":1,"id":3,"method":"keys.rotate-onion","params":{"force":true}}').params, {
      force: true,
    });
    assert.deepEqual(decoded('{"v":1,"id":4,"method":"connections"}').params, { limit: 100 });
    assert.deepEqual(decoded('{"v":1,"id":4,"method":"connections","params":{"limit":7}}').params, {
      limit: 7,
    });
    for (const method of ['reload', 'bridge-lines', 'circuits']) {
      assert.equal(decoded(JSON.stringify({ v: 1, id: 9, method })).method, method);
    }
  });

  it('refuses malformed lines with the right code, echoing the id when it can', () => {
    assert.deepEqual(problem('not json'), {
      id: null,
      code: 'malformed',
      message: 'the request is not valid JSON',
    });
    assert.equal(problem('[1,2]').code, 'malformed');
    assert.equal(problem('null').code, 'malformed');
    assert.equal(problem('{"v":1,"method":"status"}').id, null);
    assert.equal(problem('{"v":1,"id":-1,"method":"status"}').code, 'malformed');
    assert.equal(problem('{"v":1,"id":1.5,"method":"status"}').code, 'malformed');
    assert.equal(problem(`{"v":1,"id":"${'x'.repeat(129)}","method":"status"}`).id, null);
    assert.deepEqual(problem('{"id":5,"method":"status"}'), {
      id: 5,
      code: 'malformed',
      message: 'the request needs "v", the protocol version',
    });
    const version = problem('{"v":2,"id":5,"method":"status"}');
    assert.equal(version.code, 'unsupported-version');
    assert.match(version.message, /version 2 is not supported; this relayd speaks version 1/);
    assert.equal(problem('{"v":1,"id":5,"method":"status","extra":1}').code, 'malformed');
    assert.equal(problem('{"v":1,"id":5}').code, 'malformed');
    const unknown = problem('{"v":1,"id":5,"method":"shutdown"}');
    assert.equal(unknown.code, 'unknown-method');
    assert.match(unknown.message, /known: status, workers/);
    // Own properties only: an inherited name is not a method.
    assert.equal(problem('{"v":1,"id":5,"method":"toString"}').code, 'unknown-method');
  });

  it('checks parameters strictly', () => {
    const bad = (params: unknown, method = 'workers.restart') =>
      problem(JSON.stringify({ v: 1, id: 1, method, params }));
    assert.match(bad({}).message, /workers.restart needs the parameter worker/);
    assert.match(bad({ worker: 0 }).message, /worker must be an integer from 1 to 256/);
    assert.equal(bad({ worker: 257 }).code, 'bad-params');
    assert.equal(bad({ worker: 1.5 }).code, 'bad-params');
    assert.equal(bad({ worker: '2' }).code, 'bad-params');
    assert.match(
      bad({ worker: 1, force: true }).message,
      /takes no parameter "force" \(its parameters: worker\)/,
    );
    assert.match(bad({ x: 1 }, 'status').message, /status takes no parameter "x" \(it takes none\)/);
    assert.match(bad([], 'status').message, /params of status must be an object/);
    assert.equal(bad({ force: 'yes' }, 'keys.rotate-onion').code, 'bad-params');
    assert.equal(bad({ limit: 0 }, 'connections').code, 'bad-params');
    assert.equal(bad({ limit: 10_001 }, 'connections').code, 'bad-params');
    // "__proto__" from JSON is an own property, and not a parameter.
    assert.equal(problem('{"v":1,"id":1,"method":"status","params":{"__proto__":{}}}').code, 'bad-params');
  });

  it('round-trips what relayctl sends', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.nat(), fc.string({ maxLength: 128 })),
        fc.integer({ min: 1, max: 256 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 10_000 }),
        (id, worker, force, limit) => {
          assert.deepEqual(decoded(encodeControlRequest(id, 'workers.drain', { worker })), {
            id,
            method: 'workers.drain',
            params: { worker },
          });
          assert.deepEqual(decoded(encodeControlRequest(id, 'keys.rotate-onion', { force })).params, {
            force,
          });
          assert.deepEqual(decoded(encodeControlRequest(id, 'connections', { limit })).params, { limit });
        },
      ),
    );
  });

  it('never throws on any line, and always names a known error code', () => {
    const check = (line: string) => {
      const r = decodeControlRequest(line);
      if (!r.ok) assert.ok(CONTROL_ERROR_CODES.includes(r.error.code));
      else assert.ok(CONTROL_METHODS.includes(r.value.method));
    };
    fc.assert(fc.property(fc.string({ maxLength: 200 }), check), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.jsonValue(), (v) => check(JSON.stringify(v))),
      { numRuns: 2000 },
    );
    const requestLike = fc.record(
      {
        v: fc.oneof(fc.constant(1), fc.jsonValue()),
        id: fc.oneof(fc.nat(), fc.string(), fc.jsonValue()),
        method: fc.oneof(fc.constantFrom(...CONTROL_METHODS), fc.string()),
        params: fc.oneof(
          fc.record(
            { worker: fc.jsonValue(), force: fc.jsonValue(), limit: fc.jsonValue() },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(requestLike, (v) => check(JSON.stringify(v))),
      { numRuns: 3000 },
    );
  });
});

describe('control protocol: responses', () => {
  it('round-trips success and error responses', () => {
    const ok = decodeControlResponse(encodeControlResponse(successResponse(7, { a: [1, 'x'] })));
    assert.deepEqual(ok, {
      ok: true,
      value: { v: CONTROL_PROTOCOL_VERSION, id: 7, ok: true, result: { a: [1, 'x'] } },
    });
    const failed = decodeControlResponse(encodeControlResponse(errorResponse(null, 'busy', 'too many')));
    assert.deepEqual(failed, {
      ok: true,
      value: { v: 1, id: null, ok: false, error: { code: 'busy', message: 'too many' } },
    });
  });

  it('refuses answers that are not responses of this version', () => {
    const refused = (line: string) => {
      const r = decodeControlResponse(line);
      assert.ok(!r.ok, line);
      return r.error;
    };
    assert.match(refused('{"v":2,"id":1,"ok":true,"result":{}}'), /protocol version 2/);
    assert.match(refused('{"v":1,"id":1,"ok":true}'), /no "result" object/);
    assert.match(refused('{"v":1,"id":1,"ok":true,"result":[]}'), /no "result" object/);
    assert.match(refused('{"v":1,"id":1,"ok":false,"error":{"code":"","message":"x"}}'), /valid "code"/);
    assert.match(refused('{"v":1,"id":1,"ok":"yes"}'), /"ok"/);
    assert.match(refused('{"v":1,"id":{},"ok":true,"result":{}}'), /"id"/);
    assert.match(refused('<html>'), /not valid JSON/);
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        decodeControlResponse(JSON.stringify(v));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('line reader', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  it('splits lines across chunks, accepts CRLF, and keeps the unfinished tail', () => {
    const r = new LineReader(10);
    assert.deepEqual(r.push(bytes('ab')), { lines: [], overflow: false });
    assert.deepEqual(r.push(bytes('c\r\nde\nf')), { lines: ['abc', 'de'], overflow: false });
    assert.equal(r.bufferedBytes, 1);
    assert.equal(r.finish(), 'f');
    assert.equal(new LineReader(10).finish(), undefined);
  });

  it('accepts a line of exactly the bound and overflows one byte past it', () => {
    assert.deepEqual(new LineReader(5).push(bytes('12345\n')), { lines: ['12345'], overflow: false });
    assert.deepEqual(new LineReader(5).push(bytes('12345\r\n')), { lines: ['12345'], overflow: false });
    const r = new LineReader(5);
    assert.deepEqual(r.push(bytes('ok\n123456\nlater\n')), { lines: ['ok'], overflow: true });
    assert.equal(r.hasOverflowed, true);
    assert.deepEqual(r.push(bytes('x\n')), { lines: [], overflow: true });
    // Without a newline the bound holds too, and nothing past it is buffered.
    const s = new LineReader(5);
    assert.deepEqual(s.push(bytes('123')), { lines: [], overflow: false });
    assert.deepEqual(s.push(bytes('4567')), { lines: [], overflow: true });
    assert.equal(s.bufferedBytes, 0);
  });

  it('gives the same lines however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ maxLength: 30 }).filter((s) => !/[\r\n]/.test(s)),
          { maxLength: 10 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lines, cuts) => {
          const data = bytes(lines.map((l) => `${l}\n`).join(''));
          const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
          const reader = new LineReader(200);
          const out: string[] = [];
          let at = 0;
          for (const p of [...points, data.length]) {
            const pushed = reader.push(data.subarray(at, p));
            assert.equal(pushed.overflow, false);
            out.push(...pushed.lines);
            at = p;
          }
          assert.deepEqual(out, lines);
        },
      ),
    );
  });
});
