import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InternalError, type Logger } from '@relayd/common';
import fc from 'fast-check';
import {
  bridgeStatusText,
  createServiceNotifier,
  NO_SERVICE_NOTIFIER,
  type NotifySend,
  notifyAssignment,
  readyMessage,
  reloadingMessage,
  STATUS_MAX_CHARS,
  SYSTEMD_NOTIFY,
  SystemdNotifier,
  stoppingMessage,
  systemdNotifySend,
  takeNotifyEnvironment,
  WATCHDOG_MESSAGE,
} from '../src/service-notifier.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recordingLogger() {
  const lines: { level: string; msg: string; fields: object }[] = [];
  const at =
    (level: string) =>
    (fields: object, msg: string): void => {
      lines.push({ level, msg, fields });
    };
  const logger: Logger = {
    error: at('err'),
    warn: at('warn'),
    notice: at('notice'),
    info: at('info'),
    debug: at('debug'),
    child: () => logger,
  };
  return { logger, lines };
}

/** A send that records each message and can be told to fail or to take time. */
function fakeSend(opts: { failFirst?: number; delayMs?: number } = {}) {
  const sent: { socket: string; message: readonly string[] }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const send: NotifySend = async (socket, message) => {
    calls += 1;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (opts.delayMs) await sleep(opts.delayMs);
      if (calls <= (opts.failFirst ?? 0)) throw new Error('Failed to notify init system: Connection refused');
      sent.push({ socket, message });
    } finally {
      inFlight -= 1;
    }
  };
  return {
    send,
    sent,
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

describe('notification messages', () => {
  it('are the sd_notify assignments, one state per message', () => {
    assert.deepEqual(readyMessage('serving'), ['READY=1', 'STATUS=serving']);
    assert.deepEqual(reloadingMessage(123_456_789n), [
      'RELOADING=1',
      'MONOTONIC_USEC=123456789',
      'STATUS=reloading the configuration',
    ]);
    assert.deepEqual(stoppingMessage(), ['STOPPING=1', 'STATUS=shutting down']);
    assert.deepEqual(WATCHDOG_MESSAGE, ['WATCHDOG=1']);
  });

  it('never lets a value start another assignment', () => {
    assert.equal(notifyAssignment('STATUS', 'a\nREADY=1\r\nb\0c'), 'STATUS=a READY=1 b c');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const line = notifyAssignment('STATUS', value);
        assert.ok(line.startsWith('STATUS='));
        assert.ok(!/[\n\r\0]/.test(line), JSON.stringify(line));
        assert.ok(line.length <= 'STATUS='.length + STATUS_MAX_CHARS);
      }),
    );
  });

  it('cuts a long status, and only the status', () => {
    const long = 'x'.repeat(STATUS_MAX_CHARS + 10);
    assert.equal(notifyAssignment('STATUS', long), `STATUS=${'x'.repeat(STATUS_MAX_CHARS - 1)}…`);
    assert.equal(notifyAssignment('STATUS', 'x'.repeat(STATUS_MAX_CHARS)).length, 7 + STATUS_MAX_CHARS);
    assert.equal(notifyAssignment('ERRNO', long), `ERRNO=${long}`);
  });

  it('refuses a variable name that is not one (a bug, not input)', () => {
    for (const name of ['', 'ready', 'A=B', 'A\nB', '1X', '-x']) {
      assert.throws(() => notifyAssignment(name, '1'), InternalError, name);
    }
  });

  it('describes the bridge for STATUS=', () => {
    assert.equal(
      bridgeStatusText({ nickname: 'myBridge', workers: 2, bridgeLines: 1 }),
      'serving as bridge myBridge with 2 workers; 1 bridge line',
    );
    assert.equal(
      bridgeStatusText({ nickname: 'myBridge', workers: 1, bridgeLines: 3 }),
      'serving as bridge myBridge with 1 worker; 3 bridge lines',
    );
  });
});

describe('takeNotifyEnvironment', () => {
  it('is undefined without NOTIFY_SOCKET, and still removes the watchdog variables', () => {
    const env: NodeJS.ProcessEnv = { PATH: '/usr/bin', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '7' };
    assert.equal(takeNotifyEnvironment(env, 7), undefined);
    assert.deepEqual(env, { PATH: '/usr/bin' });
    const empty: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '' };
    assert.equal(takeNotifyEnvironment(empty, 7), undefined);
    assert.deepEqual(empty, {});
  });

  it('reads the socket and removes all three variables, leaving the rest', () => {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', LANG: 'C.UTF-8' };
    assert.deepEqual(takeNotifyEnvironment(env, 42), {
      socket: '/run/systemd/notify',
      watchdogPingMs: undefined,
      notes: [],
    });
    assert.deepEqual(env, { LANG: 'C.UTF-8' });
    const abstract = takeNotifyEnvironment({ NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' }, 42);
    assert.equal(abstract?.socket, '@/org/freedesktop/systemd1/notify');
  });

  it('pings the watchdog at half its interval when it is for this process', () => {
    const mine = { NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' };
    assert.equal(takeNotifyEnvironment(mine, 42)?.watchdogPingMs, 15_000);
    assert.equal(
      takeNotifyEnvironment({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '3000' }, 42)?.watchdogPingMs,
      1,
    );
    assert.equal(takeNotifyEnvironment({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '1' }, 42)?.watchdogPingMs, 1);
  });

  it('sends no pings for another process or a value that is not a duration, and says why', () => {
    const other = takeNotifyEnvironment(
      { NOTIFY_SOCKET: '/n', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '41' },
      42,
    );
    assert.equal(other?.watchdogPingMs, undefined);
    assert.deepEqual(other?.notes, [
      'the systemd watchdog is for PID 41, not this process (42); sending no pings',
    ]);
    for (const bad of ['', '0', '-5', '1e6', '30s', '99999999999999999999']) {
      const target = takeNotifyEnvironment({ NOTIFY_SOCKET: '/n', WATCHDOG_USEC: bad }, 42);
      assert.equal(target?.watchdogPingMs, undefined, bad);
      assert.match(target?.notes[0] ?? '', /is not a number of microseconds/, bad);
    }
  });

  it('leaves no notification variable behind, whatever else the environment holds', () => {
    const name = fc.stringMatching(/^[A-Z_]{1,12}$/);
    fc.assert(
      fc.property(
        fc.dictionary(name, fc.string()),
        fc.option(fc.string()),
        fc.option(fc.string()),
        fc.option(fc.string()),
        (others, socket, usec, pid) => {
          const env: NodeJS.ProcessEnv = { ...others };
          if (socket !== null) env.NOTIFY_SOCKET = socket;
          if (usec !== null) env.WATCHDOG_USEC = usec;
          if (pid !== null) env.WATCHDOG_PID = pid;
          const target = takeNotifyEnvironment(env, 42);
          const expected = { ...others };
          for (const v of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete expected[v];
          assert.deepEqual(env, expected);
          assert.equal(target?.socket, socket === null || socket === '' ? undefined : socket);
        },
      ),
    );
  });
});

describe('SystemdNotifier', () => {
  const target = { socket: '/run/test/notify', watchdogPingMs: undefined, notes: [] };

  it('sends each notification to the socket, in order, one at a time', async () => {
    const fake = fakeSend({ delayMs: 5 });
    const { logger, lines } = recordingLogger();
    const notifier = new SystemdNotifier(target, { logger, send: fake.send });
    notifier.ready('up');
    notifier.reloading();
    notifier.ready('up again');
    notifier.stopping();
    await notifier.close();
    assert.deepEqual(
      fake.sent.map((s) => s.message[0]),
      ['READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1'],
    );
    assert.ok(fake.sent.every((s) => s.socket === '/run/test/notify'));
    assert.deepEqual(fake.sent[2]?.message, ['READY=1', 'STATUS=up again']);
    assert.equal(fake.maxInFlight, 1);
    assert.deepEqual(lines, []);
  });

  it('stamps RELOADING=1 with the monotonic clock now', async () => {
    const fake = fakeSend();
    const notifier = new SystemdNotifier(target, { logger: recordingLogger().logger, send: fake.send });
    const before = process.hrtime.bigint() / 1000n;
    notifier.reloading();
    await notifier.close();
    const after = process.hrtime.bigint() / 1000n;
    const stamp = BigInt(/^MONOTONIC_USEC=(\d+)$/.exec(fake.sent[0]?.message[1] ?? '')?.[1] ?? '-1');
    assert.ok(stamp >= before && stamp <= after, `${before} <= ${stamp} <= ${after}`);
  });

  it('warns once when notifications fail, then goes on sending', async () => {
    const fake = fakeSend({ failFirst: 2 });
    const { logger, lines } = recordingLogger();
    const notifier = new SystemdNotifier(target, { logger, send: fake.send });
    notifier.ready('up');
    notifier.reloading();
    notifier.stopping();
    await notifier.close();
    assert.equal(notifier.failed, 2);
    assert.deepEqual(
      fake.sent.map((s) => s.message[0]),
      ['STOPPING=1'],
    );
    assert.deepEqual(
      lines.map((l) => l.level),
      ['warn', 'info'],
    );
    assert.match(
      lines[0]!.msg,
      /^cannot notify systemd \(READY=1\): Failed to notify init system: Connection refused;/,
    );
    assert.match(lines[1]!.msg, /^cannot notify systemd \(RELOADING=1\)/);
  });

  it('pings the watchdog every half interval until closed', async () => {
    const fake = fakeSend();
    const notifier = new SystemdNotifier(
      { ...target, watchdogPingMs: 20 },
      { logger: recordingLogger().logger, send: fake.send },
    );
    await sleep(170);
    await notifier.close();
    const pings = fake.sent.filter((s) => s.message[0] === 'WATCHDOG=1').length;
    assert.ok(pings >= 4 && pings <= 9, `${pings} pings in 170 ms at 20 ms`);
    await sleep(60);
    assert.equal(fake.sent.length, pings, 'no ping after close');
  });

  it('does not pile up pings while systemd is slow to take them', async () => {
    const fake = fakeSend({ delayMs: 100 });
    const notifier = new SystemdNotifier(
      { ...target, watchdogPingMs: 5 },
      { logger: recordingLogger().logger, send: fake.send },
    );
    await sleep(230);
    await notifier.close();
    assert.ok(fake.sent.length >= 2 && fake.sent.length <= 3, `${fake.sent.length} pings sent`);
  });

  it('close() waits for what is queued, and nothing is sent after it', async () => {
    const fake = fakeSend({ delayMs: 30 });
    const notifier = new SystemdNotifier(target, { logger: recordingLogger().logger, send: fake.send });
    notifier.stopping();
    await notifier.close();
    assert.deepEqual(fake.sent[0]?.message, ['STOPPING=1', 'STATUS=shutting down']);
    notifier.ready('late');
    await sleep(50);
    assert.equal(fake.sent.length, 1);
  });

  it('is a no-op without a target; the target notes go to the log', async () => {
    const { logger, lines } = recordingLogger();
    assert.equal(createServiceNotifier(undefined, { logger }), NO_SERVICE_NOTIFIER);
    const fake = fakeSend();
    const notifier = createServiceNotifier(
      { socket: '/n', watchdogPingMs: undefined, notes: ['the systemd watchdog is for PID 1'] },
      { logger, send: fake.send },
    );
    assert.ok(notifier instanceof SystemdNotifier);
    notifier.ready('up');
    await notifier.close();
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [['warn', 'the systemd watchdog is for PID 1']],
    );
    assert.equal(fake.sent.length, 1);
  });
});

describe('systemdNotifySend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relayd-notify-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('says when the program is missing', async () => {
    await assert.rejects(systemdNotifySend(join(dir, 'no-such-notify'))('/n', ['READY=1']), {
      message: `${join(dir, 'no-such-notify')} is not installed`,
    });
  });

  it('kills a run that does not finish in time', async () => {
    const stuck = join(dir, 'stuck');
    writeFileSync(stuck, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(stuck, 0o755);
    const started = Date.now();
    await assert.rejects(systemdNotifySend(stuck, 200)('/n', ['READY=1']), {
      message: `${stuck} did not finish within 200 ms`,
    });
    assert.ok(Date.now() - started < 5_000);
  });

  it('passes the assignments as arguments and only NOTIFY_SOCKET as the environment', async () => {
    const echo = join(dir, 'echo');
    const out = join(dir, 'echo.out');
    writeFileSync(echo, `#!/bin/sh\n{ env; printf '%s|' "$@"; } > '${out}'\n`);
    chmodSync(echo, 0o755);
    await systemdNotifySend(echo)('/run/x/notify', ['READY=1', 'STATUS=a b']);
    const text = readFileSync(out, 'utf8');
    assert.match(text, /^NOTIFY_SOCKET=\/run\/x\/notify$/m);
    assert.doesNotMatch(text, /^(HOME|PATH|LANG|USER|WATCHDOG_USEC|WATCHDOG_PID)=/m);
    assert.ok(text.endsWith('READY=1|STATUS=a b|'), text);
  });

  it("reports systemd-notify's own error", {
    skip: !existsSync(SYSTEMD_NOTIFY) && 'no systemd-notify',
  }, async () => {
    await assert.rejects(systemdNotifySend()(join(dir, 'nobody-listens'), ['READY=1']), {
      message: 'Failed to notify init system: No such file or directory',
    });
  });
});
