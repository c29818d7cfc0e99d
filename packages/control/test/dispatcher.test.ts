import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InternalError, RelayError } from '@relayd/common';
import {
  ControlDispatcher,
  type ControlResponse,
  decodeControlResponse,
  encodeControlRequest,
} from '../src/index.js';
import { BRIDGE_LINES, CIRCUITS, FakeTarget, recordingLogger, STATUS, WORKERS } from './fake-target.js';

function setup() {
  const target = new FakeTarget();
  const logger = recordingLogger();
  const dispatcher = new ControlDispatcher(target, { logger });
  const ask = async (
    method: string,
    params: object = {},
    id: number | string = 1,
  ): Promise<ControlResponse> => {
    const line = await dispatcher.answerLine(JSON.stringify({ v: 1, id, method, params }));
    const r = decodeControlResponse(line);
    assert.ok(r.ok, line);
    return r.value;
  };
  return { target, logger, dispatcher, ask };
}

function resultOf(response: ControlResponse): unknown {
  assert.ok(response.ok, response.ok ? '' : `${response.error.code}: ${response.error.message}`);
  return response.result;
}

function errorOf(response: ControlResponse) {
  assert.ok(!response.ok, 'expected an error response');
  return response.error;
}

describe('control dispatcher', () => {
  it('sends each read method to the target and returns its report', async () => {
    const { ask, target } = setup();
    assert.deepEqual(resultOf(await ask('status')), STATUS);
    assert.deepEqual(resultOf(await ask('workers')), WORKERS);
    assert.deepEqual(resultOf(await ask('circuits')), CIRCUITS);
    assert.deepEqual(resultOf(await ask('bridge-lines')), BRIDGE_LINES);
    assert.deepEqual(
      target.calls.map((c) => c.method),
      ['status', 'workers', 'circuits', 'bridgeLines'],
    );
  });

  it('sends actions with their parameters, logs them, and echoes the request id', async () => {
    const { ask, target, logger } = setup();
    const restart = await ask('workers.restart', { worker: 2 }, 'req-9');
    assert.equal(restart.id, 'req-9');
    assert.deepEqual(resultOf(restart), {
      workerId: 2,
      action: 'restart',
      pid: 4302,
      previousPid: 4252,
      message: 'worker 2 restarted: pid 4302 serves, pid 4252 drains',
    });
    assert.equal((resultOf(await ask('workers.drain', { worker: 1 })) as { action: string }).action, 'drain');
    assert.equal((resultOf(await ask('reload')) as { accepted: boolean }).accepted, true);
    await ask('keys.rotate-onion', { force: true });
    assert.deepEqual(
      target.calls.filter((c) => c.method.endsWith(':start')),
      [
        { method: 'restartWorker:start', arg: 2 },
        { method: 'drainWorker:start', arg: 1 },
        { method: 'reload:start', arg: undefined },
        { method: 'rotateOnionKeys:start', arg: { force: true } },
      ],
    );
    assert.deepEqual(
      logger.lines.filter((l) => l.level === 'notice').map((l) => l.message),
      [
        'control: restart of worker 2 requested',
        'control: drain of worker 1 requested',
        'control: configuration reload requested',
        'control: onion key rotation requested (forced)',
      ],
    );
  });

  it('runs actions one at a time, in order, while reads go on', async () => {
    const { ask, target } = setup();
    let open!: () => void;
    target.gate = new Promise((resolve) => {
      open = resolve;
    });
    const first = ask('workers.restart', { worker: 1 });
    const second = ask('reload');
    // Let both requests reach the dispatcher.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(resultOf(await ask('status')), STATUS, 'a read is answered while an action waits');
    assert.deepEqual(
      target.calls.map((c) => c.method),
      ['restartWorker:start', 'status'],
      'the reload has not started while the restart runs',
    );
    open();
    await Promise.all([first, second]);
    assert.deepEqual(
      target.calls.map((c) => c.method),
      ['restartWorker:start', 'status', 'restartWorker:end', 'reload:start', 'reload:end'],
    );
  });

  it("keeps a target's ControlError code, maps other failures, and never rejects", async () => {
    const { ask, target, logger } = setup();
    assert.deepEqual(errorOf(await ask('workers.restart', { worker: 9 })), {
      code: 'no-such-worker',
      message: 'there is no worker 9 (workers: 1-2)',
    });
    // The queue goes on after a failed action.
    assert.equal((resultOf(await ask('workers.restart', { worker: 1 })) as { workerId: number }).workerId, 1);
    target.failWith = new RelayError('io', 'KEY_FILE_UNREADABLE', '/var/lib/relayd/keys: cannot write');
    assert.deepEqual(errorOf(await ask('keys.rotate-onion')), {
      code: 'failed',
      message: '/var/lib/relayd/keys: cannot write',
    });
    target.failWith = new TypeError("Cannot read properties of undefined (reading 'pid')");
    assert.deepEqual(errorOf(await ask('status')), {
      code: 'internal',
      message: "bug: Cannot read properties of undefined (reading 'pid')",
    });
    target.failWith = new InternalError('no such slot');
    assert.deepEqual(errorOf(await ask('reload')), { code: 'internal', message: 'bug: no such slot' });
    const bugs = logger.lines.filter((l) => l.level === 'error').map((l) => l.message);
    assert.deepEqual(bugs, [
      "bug: control request status failed: Cannot read properties of undefined (reading 'pid')",
      'bug: control request reload failed: bug: no such slot',
    ]);
  });

  it('answers undecodable lines with the decoding problem', async () => {
    const { dispatcher, target } = setup();
    const answer = JSON.parse(await dispatcher.answerLine('{"v":1,"id":3,"method":"nope"}'));
    assert.equal(answer.id, 3);
    assert.equal(answer.error.code, 'unknown-method');
    const garbage = JSON.parse(await dispatcher.answerLine('\u0000\u00ff{'));
    assert.deepEqual(garbage, {
      v: 1,
      id: null,
      ok: false,
      error: { code: 'malformed', message: 'the request is not valid JSON' },
    });
    assert.deepEqual(target.calls, []);
  });

  it('answers internal when a target returns something that is not a report', async () => {
    const { ask, target } = setup();
    target.status = () => undefined as never;
    assert.equal(errorOf(await ask('status')).code, 'internal');
    target.workers = () => ({ big: 10n }) as never;
    assert.deepEqual(errorOf(await ask('workers')), {
      code: 'internal',
      message: 'bug: the answer could not be encoded',
    });
  });

  it('never lets client addresses out while SafeLogging is on', async () => {
    for (const safe of ['all', 'relay'] as const) {
      const { ask, target } = setup();
      target.safe = safe;
      const report = resultOf(await ask('connections', { limit: 10 })) as {
        clientAddresses: unknown;
        clientAddressCount: number;
      };
      assert.deepEqual(target.calls.at(-1), {
        method: 'connections',
        arg: { includeClientAddresses: false, limit: 10 },
      });
      assert.equal(
        report.clientAddresses,
        null,
        `SafeLogging ${safe}: addresses dropped even though the target sent them`,
      );
      assert.equal(report.clientAddressCount, 3, 'the number of addresses is not identifying');
    }
    const { ask, target } = setup();
    target.safe = 'none';
    const report = resultOf(await ask('connections', { limit: 2 })) as { clientAddresses: unknown };
    assert.deepEqual(target.calls.at(-1), {
      method: 'connections',
      arg: { includeClientAddresses: true, limit: 2 },
    });
    assert.deepEqual(report.clientAddresses, [
      { address: '198.51.100.7', connections: 5 },
      { address: '2001:db8::1', connections: 3 },
    ]);
  });

  it('encodes requests the way the dispatcher reads them', async () => {
    const { dispatcher } = setup();
    const line = await dispatcher.answerLine(encodeControlRequest(12, 'workers.drain', { worker: 2 }));
    assert.equal(JSON.parse(line).result.pid, 4252);
  });
});
