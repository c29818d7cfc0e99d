/**
 * Interop with a real pluggable transport: Debian's obfs4proxy, run as a
 * managed server transport (pt-spec 3.2.3) pointed at a small Extended
 * ORPort listener built from @relayd/ext-orport's ExtOrServer, and a second
 * obfs4proxy as the managed client transport, reached over SOCKS5 with the
 * server's cert as per-connection arguments (pt-spec 3.5).
 *
 *   test SOCKS5 client -> obfs4proxy (client) =obfs4=> obfs4proxy (server)
 *       -> ExtORPort (SAFE_COOKIE, USERADDR, TRANSPORT, DONE/OKAY) -> test link echo
 *
 * Everything listens on 127.0.0.1; each wait is bounded; both obfs4proxy
 * processes are stopped by PID (stdin closed first) even when a test fails.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { secureRandom } from '@relayd/crypto';
import {
  type AddressPort,
  createCookieFile,
  findPtArg,
  type PtMessage,
  parseAddressPort,
  ptClientEnvironment,
  ptServerEnvironment,
} from '@relayd/ext-orport';
import { closeServer, listenOnLoopback, type SocketReader } from '../support/loopback-socket.js';
import { ManagedPt } from '../support/managed-pt.js';
import { pollFor } from '../support/poll.js';
import { complement, connectThroughPtClient, ExtOrEchoListener } from '../support/pt-loopback.js';

const WAIT_MS = 15_000;

type Mode = 'okay' | 'deny' | 'wrong-cookie';

function loopback(port: number): AddressPort {
  const parsed = parseAddressPort(`127.0.0.1:${port}`, 'loopback', { allowZeroPort: true });
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

describe('obfs4proxy (Debian, real) against the ExtORPort server state machine', { timeout: 120_000 }, () => {
  let root = '';
  let cookie: Uint8Array = new Uint8Array(0);
  let nextMode: Mode = 'okay';
  /** The mode each Extended ORPort connection was served in, by arrival. */
  const modes: Mode[] = [];
  let extOrListener: ExtOrEchoListener | undefined;
  let orPortTrap: Server | undefined;
  let orPortTrapConnections = 0;
  let serverPt: ManagedPt | undefined;
  let clientPt: ManagedPt | undefined;
  let serverMethods: PtMessage[] = [];
  let obfs4Address: AddressPort | undefined;
  let cert = '';
  let iatMode = '';
  let socksPort = 0;
  const openSockets = new Set<Socket>();
  const connections = () => extOrListener?.connections ?? [];

  const diagnostics = () =>
    `connections: ${JSON.stringify(connections().map((c, i) => ({ mode: modes[i], ...c, link: c.link.length })))}\n${serverPt?.diagnostics() ?? ''}\n${clientPt?.diagnostics() ?? ''}`;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'relayd-obfs4-'));
    // The cookie file as the supervisor will write it: fresh per start, mode 0600.
    const created = createCookieFile(secureRandom);
    cookie = created.cookie;
    const cookiePath = join(root, 'extended_orport_auth_cookie');
    writeFileSync(cookiePath, created.fileBytes, { mode: 0o600 });
    assert.equal(statSync(cookiePath).mode & 0o777, 0o600);

    extOrListener = new ExtOrEchoListener(() => {
      const mode = nextMode;
      modes.push(mode);
      return {
        // 'wrong-cookie' plays a server that does not hold the transport's cookie.
        cookie: mode === 'wrong-cookie' ? secureRandom.bytes(32) : cookie,
        random: secureRandom,
        admit: () => (mode === 'deny' ? 'deny' : 'okay'),
      };
    });
    const extOrPort = await extOrListener.listen();

    // TOR_PT_ORPORT, as C tor sets it: a transport that speaks ExtORPort must never use it.
    orPortTrap = createServer((socket) => {
      orPortTrapConnections++;
      socket.destroy();
    });
    const orPort = await listenOnLoopback(orPortTrap);

    serverPt = new ManagedPt(
      'obfs4proxy server',
      join(root, 'server-state'),
      ptServerEnvironment({
        stateLocation: join(root, 'server-state'),
        transports: ['obfs4'],
        // Port 0: obfs4proxy binds a free port and reports it in SMETHOD.
        bindAddresses: [{ transport: 'obfs4', address: loopback(0) }],
        orPort: loopback(orPort),
        extendedServerPort: { address: loopback(extOrPort), authCookieFile: cookiePath },
      }),
    );
    serverMethods = await serverPt.waitForMethods('smethods-done', WAIT_MS);
    const smethod = serverMethods.find((m) => m.type === 'smethod');
    assert.ok(smethod && smethod.type === 'smethod', `no SMETHOD\n${serverPt.diagnostics()}`);
    assert.equal(smethod.transport, 'obfs4');
    obfs4Address = smethod.address;
    cert = findPtArg(smethod.args, 'cert') ?? '';
    iatMode = findPtArg(smethod.args, 'iat-mode') ?? '';

    clientPt = new ManagedPt(
      'obfs4proxy client',
      join(root, 'client-state'),
      ptClientEnvironment({ stateLocation: join(root, 'client-state'), transports: ['obfs4'] }),
    );
    const clientMethods = await clientPt.waitForMethods('cmethods-done', WAIT_MS);
    const cmethod = clientMethods.find((m) => m.type === 'cmethod');
    assert.ok(cmethod && cmethod.type === 'cmethod', `no CMETHOD\n${clientPt.diagnostics()}`);
    assert.equal(cmethod.transport, 'obfs4');
    assert.equal(cmethod.socksVersion, 'socks5');
    assert.equal(cmethod.address.address, '127.0.0.1');
    socksPort = cmethod.address.port;
  });

  after(async () => {
    for (const socket of openSockets) socket.destroy();
    const listenersClosed = Promise.all([extOrListener?.close(), closeServer(orPortTrap)]);
    const exits = await Promise.all([clientPt?.stop(), serverPt?.stop()]);
    await listenersClosed;
    if (root) rmSync(root, { recursive: true, force: true });
    // Managed PTs exit cleanly when stdin closes (TOR_PT_EXIT_ON_STDIN_CLOSE=1).
    assert.deepEqual(exits, [0, 0]);
  });

  const waitFor = <T>(what: string, probe: () => T | undefined) => pollFor(what, WAIT_MS, probe, diagnostics);

  /**
   * Opens a connection through obfs4 with the Extended ORPort in `mode`,
   * sends link bytes, and waits for the Extended ORPort connection it made.
   */
  async function connectInMode(mode: Mode, link: Uint8Array) {
    nextMode = mode;
    const before = connections().length;
    const reader = await connectThroughObfs4();
    reader.socket.write(link);
    return { reader, before, record: await waitFor('an ExtORPort connection', () => connections()[before]) };
  }

  /** Waits until obfs4proxy has closed the client's connection without relaying a byte back. */
  async function droppedWithNothingBack(reader: SocketReader): Promise<void> {
    await waitFor('obfs4proxy to close the client connection', () => (reader.ended ? true : undefined));
    assert.equal(reader.available, 0);
  }

  /** Opens a SOCKS5 connection through the obfs4 client to the obfs4 server, authenticating with the obfs4 args. */
  function connectThroughObfs4(): Promise<SocketReader> {
    return connectThroughPtClient({
      socksPort,
      args: [
        { key: 'cert', value: cert },
        { key: 'iat-mode', value: iatMode },
      ],
      target: obfs4Address!,
      openSockets,
      context: diagnostics,
    });
  }

  it('SMETHOD carries the cert and iat-mode a Bridge line needs', () => {
    assert.equal(obfs4Address?.address, '127.0.0.1');
    assert.ok((obfs4Address?.port ?? 0) > 0);
    // obfs4 cert: 52 bytes (node ID + public key), base64 without padding.
    assert.match(cert, /^[A-Za-z0-9+/]{70}$/);
    assert.equal(iatMode, '0');
    assert.equal(serverMethods[0]?.type, 'version');
  });

  it('authenticates with SAFE_COOKIE, receives USERADDR 127.0.0.1 and TRANSPORT obfs4, answers OKAY, and relays bytes both ways', async () => {
    const payload = secureRandom.bytes(48 * 1024);
    const { reader, before, record } = await connectInMode('okay', payload);
    const echoed = await reader.read(payload.length, 'bytes back through obfs4');
    assert.deepEqual(echoed, complement(payload));
    assert.equal(connections().length, before + 1);
    // The machine only reaches 'metadata' after a right ClientHash, and 'accepted' after DONE.
    assert.ok(record.phases.includes('client-hash'), `phases ${record.phases}`);
    assert.equal(record.phases.at(-1), 'accepted');
    assert.equal(record.metadata?.clientAddress?.family, 'ipv4');
    assert.equal(record.metadata?.clientAddress?.address, '127.0.0.1');
    assert.ok((record.metadata?.clientAddress?.port ?? 0) > 0);
    assert.equal(record.metadata?.transportName, 'obfs4');
    assert.equal(record.metadata?.ignoredCommands, 0);
    assert.deepEqual(record.link, payload);
    reader.socket.destroy();
  });

  it('DENY: obfs4proxy drops the client without relaying anything', async () => {
    const { reader, record } = await connectInMode('deny', secureRandom.bytes(100));
    await waitFor('the denied ExtORPort connection to close', () => (record.closed ? true : undefined));
    assert.equal(record.phases.at(-1), 'denied');
    assert.equal(record.metadata?.transportName, 'obfs4');
    assert.equal(record.link.length, 0);
    await droppedWithNothingBack(reader);
  });

  it('obfs4proxy refuses an ExtORPort that does not hold its cookie (ServerHash check) and never proves itself', async () => {
    const { reader, record } = await connectInMode('wrong-cookie', secureRandom.bytes(100));
    await waitFor('obfs4proxy to hang up', () => (record.closed ? true : undefined));
    // It sent AuthType and ClientNonce, got our (wrong) ServerHash, and left without a ClientHash.
    assert.equal(record.closedInPhase, 'client-hash');
    assert.equal(record.metadata, undefined);
    await droppedWithNothingBack(reader);
  });

  it('never used TOR_PT_ORPORT', () => {
    assert.equal(orPortTrapConnections, 0);
  });
});
