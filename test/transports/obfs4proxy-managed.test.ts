/**
 * @relayd/transports with the real thing: Debian's obfs4proxy launched and
 * supervised by ServerTransportManager from a parsed configuration,
 * pointed at a small Extended ORPort listener (ext-orport's ExtOrServer
 * over node:net) and its cookie file.
 *
 *   test SOCKS5 client -> obfs4proxy (managed client) =obfs4=> obfs4proxy
 *       (launched by the manager) -> ExtORPort (SAFE_COOKIE, USERADDR,
 *       TRANSPORT, DONE/OKAY) -> echo
 *
 * Proves: the SMETHOD with cert= and iat-mode= reaches the state; the
 * rendered bridge line equals the one obfs4proxy writes itself
 * (obfs4_bridgeline.txt) once its placeholders are filled in; the
 * extra-info transport line is what C tor would write, survives netdoc's
 * builder, parser and python3-stem; a real obfs4 client gets through to the
 * ExtORPort; and SIGKILLing the obfs4proxy PID leads to a relaunch with the
 * same cert and port (its keys are in TOR_PT_STATE_LOCATION).
 *
 * Everything listens on 127.0.0.1, every wait is bounded, and every
 * process is stopped by PID in `after`, even when a test fails.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Logger, utf8 } from '@relayd/common';
import { formatDiagnostic, parseConfig } from '@relayd/config';
import { secureRandom } from '@relayd/crypto';
import { createCookieFile, parseAddressPort, ptClientEnvironment } from '@relayd/ext-orport';
import { type KeyStore, loadOrCreateKeys } from '@relayd/keys';
import { buildBridgeExtraInfo, parseExtraInfo } from '@relayd/netdoc';
import { isPidAlive } from '@relayd/testnet';
import {
  bridgeLines,
  extraInfoTransportLines,
  extraInfoTransports,
  type RunningTransport,
  ServerTransportManager,
} from '@relayd/transports';
import {
  closeServer,
  freeLoopbackPort,
  listenOnLoopback,
  type SocketReader,
} from '../support/loopback-socket.js';
import { ManagedPt, OBFS4PROXY } from '../support/managed-pt.js';
import { pollFor } from '../support/poll.js';
import { complement, connectThroughPtClient, ExtOrEchoListener } from '../support/pt-loopback.js';

const WAIT_MS = 15_000;
const PYTHON = '/usr/bin/python3';
const PUBLISHED = { ipv4: '203.0.113.5' };

/** A logger that keeps lines for failure messages. */
function keepingLogger(lines: string[], bindings: object = {}): Logger {
  const add = (level: string) => (fields: object, message: string) => {
    lines.push(`${level} ${JSON.stringify({ ...bindings, ...fields })} ${message}`);
  };
  return {
    error: add('error'),
    warn: add('warn'),
    notice: add('notice'),
    info: add('info'),
    debug: add('debug'),
    child: (more) => keepingLogger(lines, { ...bindings, ...more }),
  };
}

/** Polls `probe` until it returns a value; fails the test after WAIT_MS with `context()`. */
function waitFor<T>(what: string, probe: () => T | undefined, context = () => ''): Promise<T> {
  return pollFor(what, WAIT_MS, probe, context);
}

describe('obfs4proxy managed by ServerTransportManager', { timeout: 120_000 }, () => {
  let root = '';
  let dataDirectory = '';
  let cookie: Uint8Array = new Uint8Array(0);
  let extOrListener: ExtOrEchoListener | undefined;
  let orPortTrap: Server | undefined;
  let orPortTrapConnections = 0;
  const openSockets = new Set<Socket>();
  const logLines: string[] = [];
  let manager: ServerTransportManager | undefined;
  let clientPt: ManagedPt | undefined;
  let keys: KeyStore | undefined;
  let obfs4Port = 0;
  let socksPort = 0;
  const serverPids = new Set<number>();

  const diagnostics = () =>
    `states: ${JSON.stringify(manager?.states())}\nlog:\n${logLines.join('\n')}\n${clientPt?.diagnostics() ?? ''}`;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'relayd-transports-'));
    dataDirectory = join(root, 'data');
    mkdirSync(dataDirectory, { mode: 0o700 });
    const created = createCookieFile(secureRandom);
    cookie = created.cookie;
    const cookiePath = join(dataDirectory, 'extended_orport_auth_cookie');
    writeFileSync(cookiePath, created.fileBytes, { mode: 0o600 });

    extOrListener = new ExtOrEchoListener(() => ({ cookie, random: secureRandom, admit: () => 'okay' }));
    const extOrPort = await extOrListener.listen();
    orPortTrap = createServer((socket) => {
      orPortTrapConnections++;
      socket.destroy();
    });
    const orPort = await listenOnLoopback(orPortTrap);
    obfs4Port = await freeLoopbackPort();

    const parsed = parseConfig(
      [
        `DataDirectory ${dataDirectory}`,
        'ORPort 127.0.0.1:auto',
        'ExtORPort auto',
        'ContactInfo ops@example.org',
        `ServerTransportPlugin obfs4 exec ${OBFS4PROXY} -enableLogging -logLevel DEBUG`,
        `ServerTransportListenAddr obfs4 127.0.0.1:${obfs4Port}`,
      ].join('\n'),
      { fileName: 'torrc', cpuCount: 1 },
    );
    assert.ok(parsed.ok, !parsed.ok ? parsed.error.errors.map(formatDiagnostic).join('\n') : '');
    manager = new ServerTransportManager(
      {
        config: parsed.value.config,
        endpoints: {
          extOrPort: { address: '127.0.0.1', port: extOrPort },
          authCookieFile: cookiePath,
          orPort: { address: '127.0.0.1', port: orPort },
        },
        launchTimeoutMs: WAIT_MS,
        stopGraceMs: 1_000,
        restartBackoff: { initialMs: 200 },
      },
      { logger: keepingLogger(logLines) },
    );
    manager.onChange(() => {
      for (const pid of manager?.pids() ?? []) serverPids.add(pid);
    });
    manager.start();
    await manager.settled();

    clientPt = new ManagedPt(
      'obfs4proxy client',
      join(root, 'client-state'),
      ptClientEnvironment({ stateLocation: join(root, 'client-state'), transports: ['obfs4'] }),
    );
    const methods = await clientPt.waitForMethods('cmethods-done', WAIT_MS);
    const cmethod = methods.find((m) => m.type === 'cmethod');
    assert.ok(cmethod && cmethod.type === 'cmethod');
    socksPort = cmethod.address.port;

    keys = loadOrCreateKeys(join(root, 'keys-data'), { nowMs: Date.now(), nickname: 'TransportTest' });
  });

  after(async () => {
    for (const socket of openSockets) socket.destroy();
    await Promise.all([manager?.stop(), clientPt?.stop()]);
    for (const pid of serverPids) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
    await Promise.all([extOrListener?.close(), closeServer(orPortTrap)]);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function obfs4(): RunningTransport {
    const state = manager!.states().find((s) => s.name === 'obfs4');
    assert.ok(state && state.status === 'running', diagnostics());
    return state as RunningTransport;
  }

  /** SOCKS5 with the obfs4 ARGS as RFC 1929 credentials (pt-spec 3.5), through the client to the server. */
  function connectThroughObfs4(transport: RunningTransport): Promise<SocketReader> {
    const target = parseAddressPort(`${transport.address}:${transport.port}`);
    assert.ok(target.ok);
    return connectThroughPtClient({
      socksPort,
      args: transport.args,
      target: target.value,
      openSockets,
      context: diagnostics,
    });
  }

  async function roundTrip(transport: RunningTransport): Promise<void> {
    const before = extOrListener!.connections.length;
    const reader = await connectThroughObfs4(transport);
    const payload = secureRandom.bytes(32 * 1024);
    reader.socket.write(payload);
    assert.deepEqual(await reader.read(payload.length, 'bytes back through obfs4'), complement(payload));
    const metadata = await waitFor(
      'the ExtORPort connection',
      () => extOrListener!.connections[before]?.metadata,
      diagnostics,
    );
    assert.equal(metadata.transportName, 'obfs4');
    assert.equal(metadata.clientAddress?.address, '127.0.0.1');
    assert.ok((metadata.clientAddress?.port ?? 0) > 0);
    reader.socket.destroy();
  }

  it('SMETHOD obfs4 with cert= and iat-mode= becomes the running state', () => {
    const t = obfs4();
    assert.equal(t.address, '127.0.0.1');
    assert.equal(t.port, obfs4Port);
    assert.deepEqual(
      t.args.map((a) => a.key),
      ['cert', 'iat-mode'],
    );
    const cert = t.args[0]!.value;
    // 52 bytes (node ID + public key), base64 without padding.
    assert.match(cert, /^[A-Za-z0-9+/]{70}$/);
    assert.equal(t.args[1]!.value, '0');
    assert.equal(t.argsText, `cert=${cert},iat-mode=0`);
    assert.ok(isPidAlive(t.pid));
    const env = readFileSync(`/proc/${t.pid}/environ`, 'utf8').split('\0').filter(Boolean).sort();
    assert.deepEqual(
      env.filter((v) => v.startsWith('TOR_PT_')),
      [
        `TOR_PT_AUTH_COOKIE_FILE=${join(dataDirectory, 'extended_orport_auth_cookie')}`,
        'TOR_PT_EXIT_ON_STDIN_CLOSE=1',
        `TOR_PT_EXTENDED_SERVER_PORT=127.0.0.1:${extOrListener!.port}`,
        'TOR_PT_MANAGED_TRANSPORT_VER=1',
        `TOR_PT_ORPORT=127.0.0.1:${(orPortTrap!.address() as { port: number }).port}`,
        `TOR_PT_SERVER_BINDADDR=obfs4-127.0.0.1:${obfs4Port}`,
        'TOR_PT_SERVER_TRANSPORTS=obfs4',
        `TOR_PT_STATE_LOCATION=${dataDirectory}/pt_state/`,
      ],
    );
  });

  it("the bridge line is obfs4proxy's own (obfs4_bridgeline.txt) with address and fingerprint filled in", () => {
    const t = obfs4();
    const fingerprint = keys!.fingerprint();
    const { lines, skipped } = bridgeLines({
      fingerprint,
      addresses: PUBLISHED,
      orPort: 9001,
      transports: manager!.states(),
    });
    assert.deepEqual(skipped, []);
    assert.equal(lines[0], `Bridge 203.0.113.5:9001 ${fingerprint}`);
    const own = readFileSync(join(dataDirectory, 'pt_state', 'obfs4_bridgeline.txt'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Bridge obfs4'));
    assert.ok(own, 'obfs4proxy wrote no bridge line');
    assert.equal(
      lines[1],
      own
        .replace('<IP ADDRESS>', '127.0.0.1')
        .replace('<PORT>', String(t.port))
        .replace('<FINGERPRINT>', fingerprint),
    );
  });

  it('the extra-info transport line is what C tor writes, and netdoc and stem read it back', () => {
    const t = obfs4();
    const expected = `transport obfs4 127.0.0.1:${t.port} ${t.argsText}`;
    assert.deepEqual(extraInfoTransportLines(manager!.states(), PUBLISHED), [expected]);
    const document = buildBridgeExtraInfo({
      nickname: keys!.nickname,
      published: Math.floor(Date.now() / 1000),
      transports: extraInfoTransports(manager!.states(), PUBLISHED),
      keys: { identityKey: keys!.rsaIdentity, signingKey: keys!.signingKey, signingCert: keys!.signingCert },
    });
    assert.ok(document.split('\n').includes(expected), document);
    const parsed = parseExtraInfo(utf8(document));
    assert.ok(parsed.ok);
    assert.equal(parsed.value.transports.length, 1);
    assert.equal(parsed.value.transports[0]?.argumentsText, t.argsText);
    assert.equal(parsed.value.transports[0]?.address.port, t.port);

    const file = join(root, 'extra-info');
    writeFileSync(file, document);
    const stem = spawnSync(
      PYTHON,
      [
        '-c',
        [
          'import sys, json',
          'from stem.descriptor.extrainfo_descriptor import RelayExtraInfoDescriptor',
          "e = RelayExtraInfoDescriptor(open(sys.argv[1], 'rb').read(), validate=True)",
          'print(json.dumps({k: [a, p, list(args)] for k, (a, p, args) in e.transport.items()}))',
        ].join('\n'),
        file,
      ],
      { encoding: 'utf8', timeout: WAIT_MS },
    );
    if (stem.error || stem.status !== 0) {
      assert.match(`${stem.stderr}`, /No module named 'stem'/, `stem failed: ${stem.stderr}`);
      return;
    }
    assert.deepEqual(JSON.parse(stem.stdout), {
      obfs4: ['127.0.0.1', t.port, [t.argsText]],
    });
  });

  it('a real obfs4 client reaches the ExtORPort through it: USERADDR 127.0.0.1, TRANSPORT obfs4', async () => {
    await roundTrip(obfs4());
  });

  it('SIGKILL of the obfs4proxy PID: relaunched with the same cert and port, and it serves again', async () => {
    const first = obfs4();
    const restartsBefore = first.restarts;
    process.kill(first.pid, 'SIGKILL');
    const second = await waitFor(
      'the relaunched obfs4proxy',
      () => {
        const s = manager!.states().find((x) => x.name === 'obfs4');
        return s?.status === 'running' && s.pid !== first.pid ? s : undefined;
      },
      diagnostics,
    );
    assert.equal(isPidAlive(first.pid), false);
    assert.equal(second.restarts, restartsBefore + 1);
    assert.equal(second.port, first.port);
    assert.equal(
      second.argsText,
      first.argsText,
      'the same cert: obfs4 keeps its keys in TOR_PT_STATE_LOCATION',
    );
    assert.ok(
      logLines.some((l) => /was killed by SIGKILL; restarting it in 200 ms/.test(l)),
      diagnostics(),
    );
    await roundTrip(second);
  });

  it('stops obfs4proxy by closing its stdin; it never used TOR_PT_ORPORT', async () => {
    const pid = obfs4().pid;
    const started = Date.now();
    await manager!.stop();
    assert.ok(Date.now() - started < 1_000, 'exited on stdin close, before SIGTERM');
    assert.equal(isPidAlive(pid), false);
    // The exit is logged when the child's stdio closes, which can trail its 'exit' event.
    await waitFor(
      'the exit log line',
      () => (logLines.some((l) => /exited with status 0/.test(l)) ? true : undefined),
      diagnostics,
    );
    assert.equal(manager!.states()[0]?.status, 'stopped');
    assert.equal(orPortTrapConnections, 0);
  });
});
