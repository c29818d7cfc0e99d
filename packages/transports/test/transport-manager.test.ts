/**
 * The manager against a fake transport process (fake-pt.ts): launch and
 * environment, stdout parsing and logging, restarts with backoff on fake
 * timers, the launch timeout, failures that are not retried, remembered
 * ports, and the stop sequence by PID. Every process is stopped in
 * `after`, by PID if the manager could not.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatDiagnostic, parseConfig, type RelaydConfig } from '@relayd/config';
import {
  type RunningTransport,
  ServerTransportManager,
  type ServerTransportManagerOptions,
  type ServerTransportState,
  TRANSPORT_ADDRESSES_FILE,
  type TransportTimers,
} from '../src/index.js';
import { type FakeBehaviour, FakePt, FakeTimers, isAlive, RecordingLogger, waitFor } from './fake-pt.js';

const ENDPOINTS = {
  extOrPort: { address: '127.0.0.1', port: 40123 },
  authCookieFile: '/var/lib/relayd/extended_orport_auth_cookie',
  orPort: { address: '127.0.0.1', port: 9001 },
};
const LAUNCH_TIMEOUT_MS = 7_777;

const fakes: FakePt[] = [];
const managers: ServerTransportManager[] = [];
const pids = new Set<number>();

after(async () => {
  await Promise.all(managers.map((m) => m.stop()));
  for (const fake of fakes) {
    for (let n = 1; n <= fake.launches(); n++) {
      const pid = fake.launch(n)?.pid;
      if (pid !== undefined) pids.add(pid);
    }
  }
  for (const pid of pids) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const fake of fakes) fake.remove();
});

function configFor(fake: FakePt, lines: string[]): RelaydConfig {
  const r = parseConfig(
    [
      'ORPort 9001',
      'ContactInfo ops@example.org',
      'ExtORPort auto',
      `DataDirectory ${fake.dataDirectory}`,
      ...lines,
    ].join('\n'),
    { fileName: 'torrc', cpuCount: 1 },
  );
  assert.ok(r.ok, !r.ok ? r.error.errors.map(formatDiagnostic).join('\n') : '');
  return r.value.config;
}

interface Setup {
  readonly fake: FakePt;
  readonly manager: ServerTransportManager;
  readonly logger: RecordingLogger;
  readonly published: ServerTransportState[][];
}

function setUp(
  behaviour: FakeBehaviour,
  transports: string,
  extraLines: string[] = [],
  options: Partial<ServerTransportManagerOptions> = {},
  timers?: TransportTimers,
): Setup {
  const fake = new FakePt(behaviour);
  fakes.push(fake);
  const logger = new RecordingLogger();
  const manager = new ServerTransportManager(
    {
      config: configFor(fake, [`ServerTransportPlugin ${fake.pluginLine(transports)}`, ...extraLines]),
      endpoints: ENDPOINTS,
      launchTimeoutMs: LAUNCH_TIMEOUT_MS,
      stopGraceMs: 300,
      restartBackoff: { initialMs: 1000, maxMs: 3000, stableAfterMs: 60_000 },
      ...options,
    },
    { logger, ...(timers ? { timers } : {}) },
  );
  managers.push(manager);
  const published: ServerTransportState[][] = [];
  manager.onPublishedChange((states) => published.push([...states]));
  return { fake, manager, logger, published };
}

function stateOf(manager: ServerTransportManager, name: string): ServerTransportState {
  const state = manager.states().find((s) => s.name === name);
  assert.ok(state, `no state for ${name}`);
  return state;
}

function runningOf(manager: ServerTransportManager, name: string): RunningTransport {
  const state = stateOf(manager, name);
  assert.equal(state.status, 'running', JSON.stringify(state));
  return state as RunningTransport;
}

const diagnostics = (s: Setup) => () =>
  `states: ${JSON.stringify(s.manager.states())}\nlog: ${JSON.stringify(s.logger.lines, null, 1)}`;

describe('ServerTransportManager with a fake transport', { timeout: 60_000 }, () => {
  it('launches with the pt-spec environment, parses SMETHOD/ARGS, forwards LOG and stderr, and stops by closing stdin', async () => {
    const s = setUp(
      {
        portBase: 40000,
        launches: [
          {
            extraLines: [
              'LOG SEVERITY=warning MESSAGE="careful: \\"x\\""',
              'LOG SEVERITY=debug MESSAGE=details',
              'STATUS TRANSPORT=obfs4 CONNECT=Success',
              'STATUS TYPE=version IMPLEMENTATION=fakept VERSION=1.2',
              'SOMETHING-NEW x',
            ],
            stderrLine: 'hello from stderr',
          },
        ],
      },
      'obfs4,meek_lite',
      ['ServerTransportListenAddr obfs4 127.0.0.1:4444', 'ServerTransportOptions obfs4 iat-mode=1'],
      { environment: { GOMAXPROCS: '2', TOR_PT_MANAGED_TRANSPORT_VER: 'bogus' }, path: '/usr/bin:/bin' },
    );
    assert.equal(s.manager.empty, false);
    assert.deepEqual(
      s.manager.states().map((t) => t.status),
      ['starting', 'starting'],
    );
    s.manager.start();
    const settled = await s.manager.settled();
    assert.deepEqual(
      settled.map((t) => t.status),
      ['running', 'running'],
      diagnostics(s)(),
    );
    const launch = s.fake.launch(1);
    assert.ok(launch);
    const obfs4 = runningOf(s.manager, 'obfs4');
    assert.equal(obfs4.pid, launch.pid);
    assert.deepEqual(s.manager.pids(), [launch.pid]);
    assert.equal(obfs4.address, '127.0.0.1');
    assert.equal(obfs4.family, 'ipv4');
    assert.equal(obfs4.port, 4444);
    assert.equal(obfs4.argsText, 'cert=fake\\,cert,iat-mode=0');
    assert.deepEqual(obfs4.args, [
      { key: 'cert', value: 'fake,cert' },
      { key: 'iat-mode', value: '0' },
    ]);
    assert.deepEqual(obfs4.implementation, { name: 'fakept', version: '1.2' });
    assert.equal(obfs4.proxy, 'obfs4,meek_lite');
    assert.equal(obfs4.path, process.execPath);
    const meek = runningOf(s.manager, 'meek_lite');
    assert.equal(meek.address, '::');
    assert.equal(meek.port, 40001);

    // Exactly PATH, the extra variables and the TOR_PT_* set.
    assert.deepEqual(launch.env, {
      GOMAXPROCS: '2',
      PATH: '/usr/bin:/bin',
      TOR_PT_MANAGED_TRANSPORT_VER: '1',
      TOR_PT_STATE_LOCATION: `${s.fake.dataDirectory}/pt_state/`,
      TOR_PT_EXIT_ON_STDIN_CLOSE: '1',
      TOR_PT_SERVER_TRANSPORTS: 'obfs4,meek_lite',
      TOR_PT_SERVER_BINDADDR: 'obfs4-127.0.0.1:4444,meek_lite-0.0.0.0:0',
      TOR_PT_SERVER_TRANSPORT_OPTIONS: 'obfs4:iat-mode=1',
      TOR_PT_ORPORT: '127.0.0.1:9001',
      TOR_PT_EXTENDED_SERVER_PORT: '127.0.0.1:40123',
      TOR_PT_AUTH_COOKIE_FILE: '/var/lib/relayd/extended_orport_auth_cookie',
    });
    assert.deepEqual(launch.argv, [s.fake.behaviourFile]);

    const path = process.execPath;
    assert.ok(s.logger.find('warn', new RegExp(`^managed proxy "${path}": careful: "x"$`)), diagnostics(s)());
    assert.ok(s.logger.find('debug', /: details$/));
    assert.ok(s.logger.find('info', /status for obfs4/));
    assert.ok(s.logger.find('info', /is fakept 1\.2/));
    assert.ok(s.logger.find('notice', /ignored a line: unknown line "SOMETHING-NEW"/));
    assert.ok(s.logger.find('notice', /registered server transport 'obfs4' at '127\.0\.0\.1:4444'/));
    await waitFor('the stderr line', () =>
      s.logger.find('info', /reported via standard error: hello from stderr/),
    );
    // Every line carries the proxy it is about.
    assert.ok(
      s.logger.lines.every((l) => (l.fields as { transport?: string }).transport === 'obfs4,meek_lite'),
    );

    // The port of a transport without ServerTransportListenAddr is remembered.
    assert.equal(
      readFileSync(join(s.fake.dataDirectory, TRANSPORT_ADDRESSES_FILE), 'utf8'),
      'TransportProxy meek_lite [::]:40001\n',
    );
    assert.equal(s.published.length, 1);
    assert.deepEqual(
      s.published[0]!.map((t) => t.status),
      ['running', 'running'],
    );

    const started = Date.now();
    await s.manager.stop();
    assert.ok(Date.now() - started < 300, 'stopped by closing stdin, before any signal');
    assert.equal(isAlive(launch.pid), false);
    assert.deepEqual(
      s.manager.states().map((t) => t.status),
      ['stopped', 'stopped'],
    );
    assert.deepEqual(s.manager.pids(), []);
    await waitFor('the exit log line', () => s.logger.find('info', /exited with status 0/));
    assert.equal(s.published.length, 2, 'stopping unpublishes');
  });

  it('relaunches an exited transport with exponential, capped backoff, on the port it had', async () => {
    const timers = new FakeTimers();
    const s = setUp(
      {
        portBase: 41000,
        launches: [{ exitAfterMs: 50, exitCode: 3 }, { exitAfterMs: 50, exitCode: 3 }, { crash: 1 }, {}],
      },
      'obfs4',
      [],
      // Delays unlike any other timer of the manager (launch timeout, exit drain, stop grace).
      { restartBackoff: { initialMs: 1500, maxMs: 5000, stableAfterMs: 60_000 } },
      timers,
    );
    s.manager.start();
    await waitFor(
      'launch 1 running',
      () => stateOf(s.manager, 'obfs4').status === 'running',
      10_000,
      diagnostics(s),
    );
    assert.equal(runningOf(s.manager, 'obfs4').port, 41001);

    const expectFailure = async (error: RegExp) => {
      const failed = await waitFor(
        'the exit',
        () => {
          const st = stateOf(s.manager, 'obfs4');
          return st.status === 'failed' ? st : undefined;
        },
        10_000,
        diagnostics(s),
      );
      assert.match(failed.error, error);
      assert.ok(failed.retryAtMs !== undefined && failed.retryAtMs > Date.now() - 1000);
    };

    await expectFailure(/^exited with status 3$/);
    assert.ok(timers.has(1500), `pending: ${[...timers.pending.values()].map((t) => t.delayMs)}`);
    timers.fire(1500);
    await waitFor(
      'launch 2 running',
      () => stateOf(s.manager, 'obfs4').status === 'running',
      10_000,
      diagnostics(s),
    );
    // Same port: asked for the remembered one.
    assert.equal(runningOf(s.manager, 'obfs4').port, 41001);
    assert.equal(s.fake.launch(2)?.env['TOR_PT_SERVER_BINDADDR'], 'obfs4-0.0.0.0:41001');
    assert.equal(runningOf(s.manager, 'obfs4').restarts, 1);

    await expectFailure(/^exited with status 3$/);
    timers.fire(3000);
    await expectFailure(/^exited with status 1 before finishing its configuration$/);
    assert.equal(s.fake.launches(), 3);
    // 6000 capped at maxMs.
    timers.fire(5000);
    await waitFor(
      'launch 4 running',
      () => stateOf(s.manager, 'obfs4').status === 'running',
      10_000,
      diagnostics(s),
    );
    const last = runningOf(s.manager, 'obfs4');
    assert.equal(last.port, 41001);
    assert.equal(last.restarts, 3);
    assert.equal(last.pid, s.fake.launch(4)?.pid);
    for (let n = 1; n <= 3; n++) assert.equal(isAlive(s.fake.launch(n)!.pid), false);
    assert.deepEqual(
      timers.scheduled.filter((ms) => [1500, 3000, 5000, 6000].includes(ms)),
      [1500, 3000, 5000],
    );
    assert.ok(s.logger.find('warn', /exited with status 3; restarting it in 1500 ms/));
    assert.ok(s.logger.find('warn', /before finishing its configuration; restarting it in 5000 ms/));
    // Published: running, gone, running, gone, (crash: still gone), running.
    assert.deepEqual(
      s.published.map((states) => states.filter((t) => t.status === 'running').length),
      [1, 0, 1, 0, 1],
    );
    await s.manager.stop();
  });

  it('stops and relaunches a transport that does not finish its configuration in time', async () => {
    const timers = new FakeTimers();
    const s = setUp({ portBase: 43000, launches: [{ hang: true }, {}] }, 'obfs4', [], {}, timers);
    s.manager.start();
    await waitFor(
      'VERSION from launch 1',
      () => s.logger.find('debug', /: VERSION 1$/),
      10_000,
      diagnostics(s),
    );
    const first = s.fake.launch(1)!.pid;
    assert.equal(stateOf(s.manager, 'obfs4').status, 'starting');
    timers.fire(LAUNCH_TIMEOUT_MS);
    const failed = await waitFor('the timeout failure', () => {
      const st = stateOf(s.manager, 'obfs4');
      return st.status === 'failed' ? st : undefined;
    });
    assert.match(failed.error, /did not finish its configuration \(SMETHODS DONE\) within 7777 ms/);
    assert.equal(isAlive(first), false, 'stopped (stdin closed) before the relaunch');
    timers.fire(1000);
    await waitFor(
      'launch 2 running',
      () => stateOf(s.manager, 'obfs4').status === 'running',
      10_000,
      diagnostics(s),
    );
    assert.equal(runningOf(s.manager, 'obfs4').port, 43002);
    await s.manager.stop();
  });

  for (const [name, launch, error] of [
    [
      'ENV-ERROR',
      { envError: 'no TOR_PT_SERVER_BINDADDR' },
      /did not understand its environment: no TOR_PT_SERVER_BINDADDR/,
    ],
    ['VERSION-ERROR', { versionLine: 'VERSION-ERROR no-version' }, /supports no protocol version/],
    ['an unknown protocol version', { versionLine: 'VERSION 2' }, /chose protocol version 2/],
  ] as const) {
    it(`${name}: stopped and not relaunched`, async () => {
      const timers = new FakeTimers();
      const s = setUp({ portBase: 44000, launches: [launch] }, 'obfs4', [], {}, timers);
      s.manager.start();
      const states = await s.manager.settled();
      const state = states[0]!;
      assert.equal(state.status, 'failed', diagnostics(s)());
      assert.match((state as { error: string }).error, error);
      assert.equal((state as { retryAtMs: number | undefined }).retryAtMs, undefined);
      await waitFor('the process to be gone', () => !isAlive(s.fake.launch(1)!.pid), 5_000, diagnostics(s));
      assert.equal(timers.has(1000), false, 'no relaunch is scheduled');
      assert.ok(s.logger.find('warn', /will not be restarted/));
      assert.equal(s.fake.launches(), 1);
    });
  }

  it('a transport that cannot be executed fails without relaunch', async () => {
    const timers = new FakeTimers();
    const fake = new FakePt({ portBase: 0, launches: [{}] });
    fakes.push(fake);
    const logger = new RecordingLogger();
    const manager = new ServerTransportManager(
      {
        config: configFor(fake, [`ServerTransportPlugin obfs4 exec ${fake.root}/no-such-transport -x`]),
        endpoints: ENDPOINTS,
      },
      { logger, timers },
    );
    managers.push(manager);
    manager.start();
    const [state] = await manager.settled();
    assert.equal(state?.status, 'failed');
    assert.match((state as { error: string }).error, /cannot execute .*no-such-transport: .*ENOENT/);
    assert.equal((state as { retryAtMs: number | undefined }).retryAtMs, undefined);
    assert.equal(timers.has(1000), false);
    await manager.stop();
    assert.equal(manager.states()[0]?.status, 'stopped');
  });

  it('SMETHOD-ERROR fails only that transport; the process keeps serving the others', async () => {
    const s = setUp(
      { portBase: 45000, launches: [{ methodErrors: { meek_lite: 'no cows available' } }] },
      'obfs4,meek_lite',
    );
    s.manager.start();
    const states = await s.manager.settled();
    assert.equal(states[0]?.status, 'running');
    assert.deepEqual(
      { ...states[1], restarts: 0 },
      {
        name: 'meek_lite',
        proxy: 'obfs4,meek_lite',
        path: process.execPath,
        restarts: 0,
        status: 'failed',
        error: 'SMETHOD-ERROR: no cows available',
        retryAtMs: undefined,
      },
    );
    assert.equal(s.manager.pids().length, 1);
    assert.equal(s.manager.running().length, 1);
    assert.ok(s.logger.find('warn', /server transport 'meek_lite' did not start: no cows available/));
    await s.manager.stop();
  });

  it('a remembered port that is taken now is forgotten, and the transport relaunched on a new port', async () => {
    const timers = new FakeTimers();
    const s = setUp({ portBase: 46000, launches: [{ takenPorts: [41500] }, {}] }, 'obfs4', [], {}, timers);
    mkdirSync(s.fake.dataDirectory, { recursive: true });
    writeFileSync(join(s.fake.dataDirectory, TRANSPORT_ADDRESSES_FILE), 'TransportProxy obfs4 [::]:41500\n');
    s.manager.start();
    const failed = await waitFor(
      'the failure on the taken port',
      () => {
        const st = stateOf(s.manager, 'obfs4');
        return st.status === 'failed' && st.retryAtMs !== undefined ? st : undefined;
      },
      10_000,
      diagnostics(s),
    );
    assert.match(failed.error, /could not listen again on the remembered port of obfs4/);
    assert.equal(s.fake.launch(1)?.env['TOR_PT_SERVER_BINDADDR'], 'obfs4-0.0.0.0:41500');
    timers.fire(1000);
    await waitFor(
      'launch 2 running',
      () => stateOf(s.manager, 'obfs4').status === 'running',
      10_000,
      diagnostics(s),
    );
    assert.equal(s.fake.launch(2)?.env['TOR_PT_SERVER_BINDADDR'], 'obfs4-0.0.0.0:0');
    assert.equal(runningOf(s.manager, 'obfs4').port, 46002);
    assert.equal(
      readFileSync(join(s.fake.dataDirectory, TRANSPORT_ADDRESSES_FILE), 'utf8'),
      'TransportProxy obfs4 [::]:46002\n',
    );
    await s.manager.stop();
  });

  for (const [name, launch, minMs, maxMs, how] of [
    [
      'ignores stdin closing: SIGTERM after the grace period',
      { ignoreStdinClose: true },
      300,
      600,
      /was killed by SIGTERM/,
    ],
    [
      'ignores stdin closing and SIGTERM: SIGKILL after two grace periods',
      { ignoreStdinClose: true, ignoreSigterm: true },
      600,
      900,
      /was killed by SIGKILL/,
    ],
  ] as const) {
    it(`stop, when the transport ${name}, by PID`, async () => {
      const s = setUp({ portBase: 47000, launches: [launch] }, 'obfs4');
      s.manager.start();
      await s.manager.settled();
      const pid = runningOf(s.manager, 'obfs4').pid;
      const started = Date.now();
      await s.manager.stop();
      const took = Date.now() - started;
      assert.ok(took >= minMs - 20 && took < maxMs + 400, `took ${took} ms`);
      assert.equal(isAlive(pid), false);
      await waitFor('the exit log line', () => s.logger.find('info', how), 5_000, diagnostics(s));
      assert.equal(stateOf(s.manager, 'obfs4').status, 'stopped');
      // Stopping twice is harmless.
      await s.manager.stop();
    });
  }

  it('a configuration without exec lines launches nothing and settles at once', async () => {
    const fake = new FakePt({ portBase: 0, launches: [{}] });
    fakes.push(fake);
    const manager = new ServerTransportManager(
      {
        config: configFor(fake, ['ServerTransportPlugin snowflake proxy 127.0.0.1:7000']),
        endpoints: ENDPOINTS,
      },
      { logger: new RecordingLogger() },
    );
    managers.push(manager);
    assert.equal(manager.empty, true);
    manager.start();
    assert.deepEqual(await manager.settled(), []);
    await manager.stop();
  });
});
